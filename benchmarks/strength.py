"""One model, many trade-offs (chapter 10): the residual's strength against the channel.

    python benchmarks/strength.py [--models robust fast seed invertible]
                                  [--strengths 0.5 0.7 ... 1.5] [--count 100] [--quick]

A trained model's container is the cover plus a residual. Scaling that residual
(:func:`stegutils.models.scale_residual`, no retraining) trades the container's
likeness to the cover against the strength of the hidden signal. For each model
(shipped names or run folders; missing ones are skipped with a note) and each strength,
on the held-out pairs of ``benchmarks/channel.py`` (64 px crops of the BSDS500 *test*
photos, and of the built-in photos as a second collection), with 8-bit PNG containers:

- the clean cover PSNR and the clean secret PSNR;
- the secret's PSNR after the real JPEG encoder (Pillow) at quality 75 with 4:2:0;
- each of these minus its value at strength 1 (the model as trained), paired over the
  same pairs.

Every figure is a mean with its 95% interval over pairs (Student's t). From the BSDS500
figures, per model: the strengths at which the issue's JPEG targets (``channel.TARGETS``)
are met on the means, and the best JPEG secret among the strengths whose cover reaches
each cover threshold. Results go to ``benchmarks/results/strength.json`` (with the
command, the machine and the wall time); chapter 10 reads them. Needs BSDS500
(``STEGUTILS_DATA``).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from stegutils import attacks, metrics, models, pretrained, train  # noqa: E402

RESULTS = HERE / "results" / "strength.json"
STRENGTHS = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5]
JPEG_QUALITY = 75


# The channel benchmark, beside this file: its pairs, measures, targets and options.
sys.path.insert(0, str(HERE))
import channel as CHANNEL  # noqa: E402

_log, _interval = CHANNEL._log, CHANNEL._interval


def curve(net, secrets, covers, strengths):
    """Clean cover, clean secret and JPEG-75 secret figures at each strength."""
    raw = net.hide(covers, secrets, quantize=False)
    per_pair = {}
    for strength in strengths:
        containers = models.scale_residual(covers, raw, strength)
        received = attacks.jpeg(containers, JPEG_QUALITY)
        per_pair[strength] = {
            "cover_psnr": metrics.psnr(covers, containers),
            "secret_psnr": metrics.psnr(secrets, net.reveal(containers)),
            "jpeg75_secret_psnr": metrics.psnr(secrets, net.reveal(received)),
        }
    reference = per_pair[1.0]
    rows = []
    for strength, figures in per_pair.items():
        row = {"strength": float(strength)}
        row.update({key: _interval(values) for key, values in figures.items()})
        # Paired over the same pairs: this strength minus the model as trained.
        row["minus_strength_1"] = {key: _interval(values - reference[key])
                                   if strength != 1.0 else {"mean": 0.0, "low": 0.0, "high": 0.0}
                                   for key, values in figures.items()}
        rows.append(row)
    return rows


def summarise(rows, targets):
    """Where on one model's curve the JPEG targets are met, and the best at each cover."""
    (goal, first), (cover_goal, cover_first) = targets["jpeg75_secret"], targets["clean_cover"]

    def meeting(secret_goal, cover_threshold):
        return [r["strength"] for r in rows if r["jpeg75_secret_psnr"]["mean"] >= secret_goal
                and r["cover_psnr"]["mean"] >= cover_threshold]

    best = {}
    for threshold in sorted({cover_first, cover_goal}):
        reaching = [r for r in rows if r["cover_psnr"]["mean"] >= threshold]
        top = max(reaching, key=lambda r: r["jpeg75_secret_psnr"]["mean"], default=None)
        best[f"{threshold:g}"] = None if top is None else {
            "strength": top["strength"], "cover_psnr": top["cover_psnr"],
            "jpeg75_secret_psnr": top["jpeg75_secret_psnr"]}
    return {"target_strengths": meeting(goal, cover_goal),
            "first_step_strengths": meeting(first, cover_first),
            "best_jpeg75_with_cover_at_least": best}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["robust", "fast", "seed", "invertible"],
                        help="shipped model names or run folders; missing ones are skipped")
    parser.add_argument("--strengths", nargs="+", type=float, default=STRENGTHS,
                        help="factors of the residual (1 is the model as trained)")
    CHANNEL.add_pair_options(parser, count_help="test pairs (100)")
    CHANNEL.add_output_options(parser, RESULTS)
    args = parser.parse_args(argv)
    for strength in args.strengths:
        if not strength > 0:
            parser.error(f"--strengths: each must be above 0, got {strength:g}")
    if 1.0 not in args.strengths:
        parser.error("--strengths must include 1 (the model as trained), the reference")
    CHANNEL.quick_settings(args, RESULTS, "strength-quick.json")
    strengths = sorted(set(args.strengths))
    targets = CHANNEL.TARGETS
    started = time.perf_counter()
    names = [n for n in args.models if CHANNEL._available(n)]
    for name in args.models:
        if name not in names:
            _log(f"note: no model {name!r} (shipped: {pretrained.list()}); skipping it")
    if not names:
        parser.error("none of the models named exists")

    collections, described = CHANNEL.heldout_collections(
        "test", size=args.size, count=args.count, seed=args.seed,
        builtin_count=args.builtin_count)
    results = {
        "command": "python benchmarks/strength.py " + " ".join(argv),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": models.machine_description(),
        "data": described,
        "containers": "cover + strength * (container - cover), rounded to 8 bits "
                      "(as a PNG stores them)",
        "jpeg": {"quality": JPEG_QUALITY, "chroma": "4:2:0", "encoder": "Pillow"},
        "strengths": strengths,
        "targets": targets,
        "skipped": [n for n in args.models if n not in names],
        "models": {},
    }
    for name in names:
        net, card = pretrained.load(name)
        key = card.get("name", str(name))
        start = time.perf_counter()
        entry = {"variant": card["variant"], "card_sha256": card.get("sha256"),
                 "trained_steps": (card.get("training") or {}).get("step"),
                 "collections": {c: curve(net, s, v, strengths)
                                 for c, (s, v) in collections.items()}}
        entry["summary"] = summarise(entry["collections"]["bsds500"], targets)
        entry["seconds"] = round(time.perf_counter() - start, 1)
        results["models"][key] = entry
        _log(f"{key}: " + "; ".join(
            f"x{r['strength']:g} cover {r['cover_psnr']['mean']:.2f} / secret "
            f"{r['secret_psnr']['mean']:.2f} / JPEG75 {r['jpeg75_secret_psnr']['mean']:.2f}"
            for r in entry["collections"]["bsds500"]))
        s = entry["summary"]
        _log(f"  first step (JPEG75 >= {targets['jpeg75_secret'][1]:g} dB with cover >= "
             f"{targets['clean_cover'][1]:g} dB) met at strengths: "
             f"{s['first_step_strengths'] or 'none'}; target met at: "
             f"{s['target_strengths'] or 'none'}")
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    _log(f"wrote {args.out} in {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
