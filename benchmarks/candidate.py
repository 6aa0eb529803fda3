"""Should a trained run replace a shipped model? Paired figures on validation photos.

    python benchmarks/candidate.py RUN [--against robust] [--refine]

measures the run's weights (a run folder's best, as ``stegutils export`` would ship them)
and the shipped model's on the same *validation* pairs (the last photos of the training
split, which no run trains on; the pairs ``benchmarks/refine.py`` chooses its setting on),
pair by pair: the cover and the four secret figures of ``benchmarks/refine.py`` (clean;
real JPEG q75 4:2:0; halved and restored; cropped at offsets 1-7, then the JPEG). The
verdict follows :data:`RULE`, fixed before any run is judged: the run replaces the
shipped model only if it loses nothing on average, cover included. With ``--refine``
the refined containers (``RefineSpec()``'s setting) of both are measured too, and
reported beside; they do not decide.

The held-out test photos are never read here: a run is chosen on validation, and only
the model that ships is then measured on test (``benchmarks/channel.py``).

Writes ``benchmarks/results/candidates/NAME.json`` (NAME: the run folder's name).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import refine as REFINE  # noqa: E402  (benchmarks/refine.py, beside this file)

from stegutils import files, models, pretrained, refine  # noqa: E402

CHANNEL = REFINE.CHANNEL
MEASURES = REFINE.MEASURES
RESULTS = HERE / "results" / "candidates"

RULE = ("on the validation pairs, the run replaces the shipped model only if its mean "
        "paired difference against the shipped model's containers is at least 0 in every "
        "figure: the cover and each secret figure (clean; real JPEG q75 4:2:0; halved and "
        "restored; cropped at offsets 1-7, then the JPEG); the refined figures are "
        "reported, not used")


def verdict(differences):
    """``(replaces, losing figures)`` from ``{measure: {"mean": ...}}`` by :data:`RULE`."""
    losing = [m for m in MEASURES if differences[m]["mean"] < 0]
    return not losing, losing


def compare(candidate, baseline, secrets, covers, *, with_refine=False):
    """Per kind ("network", and "refined" with ``with_refine``): each model's figures and
    the candidate's paired differences, as intervals."""
    measured = {"network": {}, "refined": {}} if with_refine else {"network": {}}
    for name, net in (("candidate", candidate), ("shipped", baseline)):
        containers = net.hide(covers, secrets)
        measured["network"][name] = REFINE.per_pair(net, secrets, covers, containers)
        if with_refine:
            refined = refine.refine(net, covers, secrets, container=containers)
            measured["refined"][name] = REFINE.per_pair(net, secrets, covers, refined)
    out = {}
    for kind, values in measured.items():
        out[kind] = {
            name: {m: REFINE._interval(v[m]) for m in MEASURES} for name, v in values.items()}
        out[kind]["differences"] = {
            m: REFINE._interval(values["candidate"][m] - values["shipped"][m])
            for m in MEASURES}
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=pathlib.Path, help="a run folder")
    parser.add_argument("--against", default="robust", help="the shipped model (robust)")
    parser.add_argument("--refine", action="store_true",
                        help="also measure both models' refined containers (slow)")
    parser.add_argument("--count", type=int, default=50, help="validation pairs (50)")
    parser.add_argument("--size", type=int, default=64, help="side of the crops (64)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the crops")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="the results file (benchmarks/results/candidates/NAME.json)")
    args = parser.parse_args(argv)
    if not args.run.is_dir():
        parser.error(f"expected a run folder, got {str(args.run)!r}")
    started = time.perf_counter()
    candidate, card = pretrained.load(str(args.run))
    baseline, shipped = pretrained.load(args.against)
    collections, described = CHANNEL.heldout_collections(
        "validation", size=args.size, count=args.count, seed=args.seed, builtin_count=0)
    secrets, covers = collections["bsds500"]
    figures = compare(candidate, baseline, secrets, covers, with_refine=args.refine)
    replaces, losing = verdict(figures["network"]["differences"])
    name = card["name"]
    results = {
        "command": "python benchmarks/candidate.py " + " ".join(
            [name] + [a for a in argv if a != str(args.run)]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": models.machine_description(),
        "candidate": {"run": name, "weights_sha256": files.sha256(card["weights"]),
                      "config": card["config"]},
        "shipped": {"name": args.against, "card_sha256": shipped.get("sha256")},
        "data": described["bsds500"],
        "containers": "rounded to 8 bits (as a PNG stores them), then attacked",
        "rule": RULE,
        "figures": figures,
        "replaces": replaces,
        "losing": losing,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = args.out or RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    files.write_text_atomic(out, json.dumps(results, indent=1) + "\n")
    for kind, rows in figures.items():
        d = rows["differences"]
        print(f"{kind}, {name} minus {args.against}: " + ", ".join(
            f"{m} {d[m]['mean']:+.2f} ({d[m]['low']:+.2f} to {d[m]['high']:+.2f})"
            for m in MEASURES))
    print(f"verdict: {name} " + ("replaces " + args.against if replaces else
                                 f"does not replace {args.against} (loses {', '.join(losing)})"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
