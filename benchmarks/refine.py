"""Refining the container (chapter 10): what gradient descent on the container buys.

    python benchmarks/refine.py [--model robust] [--steps 200] [--count 100] [--quick]

:func:`stegutils.refine.refine` starts from the hiding network's container and moves its
pixels, pair by pair, to raise ``cover dB + beta * secret dB``, the secret read by the
model's own (fixed) reveal network from the rounded container, a differentiable JPEG of
it (cropped by ``0..crop`` pixels per step) and a resized copy. This script:

1. **chooses** the setting on the *validation* pairs (the last photos of the training
   split, as ``benchmarks/channel.py --photos validation`` draws them), over the grid
   (:data:`GRID`) ``beta`` in {1, 1.25, 1.5, 2} with ``crop`` 8, and beta 1.25 with no crop
   (to show what the crop is for), at ``--steps`` steps, by a rule fixed here before any
   result (:data:`RULE`): every secret figure measured on validation (clean; after the
   real JPEG at quality 75 with 4:2:0; halved and restored; cropped at offsets 1-7 and
   then the JPEG) at least as good on average as the hiding network's own container,
   paired over the same pairs; of those settings, the largest mean cover gain. If none
   qualifies, nothing is chosen and the held-out part is skipped.
2. **measures** the chosen setting on the *held-out* pairs (BSDS500 test, and the
   built-in photos as a second collection) with every figure of ``benchmarks/channel.py``
   (real encoder, resizing, crops at every offset, noise), beside the network's own
   containers of the same pairs, the paired differences, and the issue's targets for
   both, printed as met or not.

Every figure has its 95% interval over pairs; the time refining takes on this machine is
recorded per pair and step. Results go to ``benchmarks/results/refine.json``; chapter 10
reads them. Needs BSDS500 (``STEGUTILS_DATA``).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from stegutils import attacks, metrics, models, pretrained, refine, train  # noqa: E402

RESULTS = HERE / "results" / "refine.json"

#: The settings tried on the validation pairs: (beta, crop).
GRID = [(1.0, 8), (1.25, 8), (1.5, 8), (2.0, 8), (1.25, 0)]

#: The secret figures a setting must not lose on average (validation, paired).
SECRET_MEASURES = ("secret_psnr", "jpeg75_secret_psnr", "halved_secret_psnr",
                   "crop_jpeg75_secret_psnr")
MEASURES = ("cover_psnr",) + SECRET_MEASURES

RULE = ("on the validation pairs, a setting qualifies when its mean paired difference "
        "against the hiding network's own container is at least 0 in every secret figure "
        "(clean; real JPEG q75 4:2:0; halved and restored; cropped at offsets 1-7, then "
        "the JPEG); of the settings that qualify, the one with the largest mean cover "
        "gain is chosen; if none qualifies, none is")


# The channel benchmark, beside this file: its pairs, measures, targets and options.
sys.path.insert(0, str(HERE))
import channel as CHANNEL  # noqa: E402

_log, _interval = CHANNEL._log, CHANNEL._interval


def per_pair(net, secrets, covers, containers):
    """Each pair's cover PSNR and its four secret figures (crop-then-JPEG averaged over
    the offsets 1-7, the crop 8 pixels smaller)."""
    def secret_after(attacked, target=secrets):
        return metrics.psnr(target, net.reveal(attacked))

    size = secrets.shape[1] - 8
    crops = []
    for offset in range(1, 8):
        cropped = attacks.crop(containers, size, offset=(offset, offset))
        target = attacks.crop(secrets, size, offset=(offset, offset))
        crops.append(secret_after(attacks.jpeg(cropped, 75), target))
    return {
        "cover_psnr": metrics.psnr(covers, containers),
        "secret_psnr": secret_after(containers),
        "jpeg75_secret_psnr": secret_after(attacks.jpeg(containers, 75)),
        "halved_secret_psnr": secret_after(attacks.downscale(containers, 0.5)),
        "crop_jpeg75_secret_psnr": np.mean(crops, axis=0),
    }


def timed_refine(net, covers, secrets, spec, batch_size):
    """The refined containers and the seconds per pair and step it took."""
    start = time.perf_counter()
    containers = refine.refine(net, covers, secrets, spec=spec, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return containers, seconds / max(1, spec.steps * len(covers))


def choose(rows):
    """The label the rule picks from ``{label: {"differences": ...}}``, or None."""
    qualified = [label for label, row in rows.items()
                 if all(row["differences"][m]["mean"] >= 0 for m in SECRET_MEASURES)]
    if not qualified:
        return None
    return max(qualified, key=lambda label: rows[label]["differences"]["cover_psnr"]["mean"])


def _label(beta, crop):
    return f"beta {beta:g}, crop {crop}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="robust",
                        help="a shipped model name or a run folder (robust)")
    parser.add_argument("--steps", type=int, default=refine.RefineSpec().steps,
                        help="refinement steps of every setting (the default of RefineSpec)")
    parser.add_argument("--batch-size", type=int, default=50,
                        help="pairs refined at once (changes the speed only)")
    parser.add_argument("--validation-count", type=int, default=50,
                        help="validation pairs the settings are chosen on (50)")
    CHANNEL.add_pair_options(parser)
    CHANNEL.add_output_options(parser, RESULTS)
    args = parser.parse_args(argv)
    CHANNEL.quick_settings(args, RESULTS, "refine-quick.json")
    if args.quick:
        args.steps, args.validation_count = min(args.steps, 3), 6
    started = time.perf_counter()
    net, card = pretrained.load(args.model)
    results = {
        "command": "python benchmarks/refine.py " + " ".join(argv),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": models.machine_description(),
        "model": {"name": card.get("name", str(args.model)), "variant": card["variant"],
                  "card_sha256": card.get("sha256")},
        "containers": "rounded to 8 bits (as a PNG stores them), then attacked",
        "rule": RULE,
        "targets": CHANNEL.TARGETS,
    }

    # 1. The choice, on validation pairs.
    collections, described = CHANNEL.heldout_collections(
        "validation", size=args.size, count=args.validation_count, seed=args.seed,
        builtin_count=0)
    secrets, covers = collections["bsds500"]
    own = per_pair(net, secrets, covers, net.hide(covers, secrets))
    validation = {"data": described["bsds500"],
                  "network": {m: _interval(v) for m, v in own.items()}, "settings": {}}
    for beta, crop in GRID:
        spec = refine.RefineSpec(steps=args.steps, beta=beta, crop=crop)
        containers, per_step = timed_refine(net, covers, secrets, spec, args.batch_size)
        values = per_pair(net, secrets, covers, containers)
        row = {"spec": spec.to_dict(),
               "figures": {m: _interval(v) for m, v in values.items()},
               "differences": {m: _interval(values[m] - own[m]) for m in MEASURES},
               "seconds_per_pair_step": per_step}
        label = _label(beta, crop)
        validation["settings"][label] = row
        d = row["differences"]
        _log(f"validation, {label}: cover {d['cover_psnr']['mean']:+.2f} dB, secret "
             f"{d['secret_psnr']['mean']:+.2f}, JPEG q75 {d['jpeg75_secret_psnr']['mean']:+.2f}"
             f", halved {d['halved_secret_psnr']['mean']:+.2f}, crop then JPEG "
             f"{d['crop_jpeg75_secret_psnr']['mean']:+.2f} ({per_step * 1000:.0f} ms per "
             "pair and step)")
    chosen = choose(validation["settings"])
    validation["chosen"] = chosen
    results["validation"] = validation
    _log(f"chosen on validation: {chosen or 'none (no setting qualifies)'}")

    # 2. The chosen setting on the held-out pairs.
    if chosen is not None:
        spec = refine.RefineSpec.from_dict(validation["settings"][chosen]["spec"])
        collections, described = CHANNEL.heldout_collections(
            "test", size=args.size, count=args.count, seed=args.seed,
            builtin_count=args.builtin_count)
        heldout = {"data": described, "setting": chosen, "spec": spec.to_dict(),
                   "collections": {}}
        for collection, (s, c) in collections.items():
            network, network_pairs = CHANNEL.measure(net, s, c)
            containers, per_step = timed_refine(net, c, s, spec, args.batch_size)
            refined, refined_pairs = CHANNEL.measure(net, s, c, containers=containers)
            keys = ("cover", "secret", "jpeg75", "jpeg_44475", "resize0.5", "crop1")
            heldout["collections"][collection] = {
                "network": network, "refined": refined,
                "differences": {k: _interval(refined_pairs[k] - network_pairs[k])
                                for k in keys},
                "seconds_per_pair_step": per_step,
            }
        bsds = heldout["collections"]["bsds500"]
        heldout["targets"] = {"network": CHANNEL.targets_report(bsds["network"]),
                              "refined": CHANNEL.targets_report(bsds["refined"])}
        results["heldout"] = heldout
        for which in ("network", "refined"):
            t = heldout["targets"][which]
            _log(f"held-out BSDS500 test, {which}: clean cover {t['clean_cover_psnr']:.2f} "
                 f"dB, secret {t['clean_secret_psnr']:.2f} dB; real JPEG q75 4:2:0 secret "
                 f"{t['jpeg75_secret_psnr']:.2f} dB; halved {t['halved_secret_psnr']:.2f} "
                 f"dB; largest crop drop {t['largest_crop_drop_db']:.2f} dB")
            _log("  " + CHANNEL.targets_line(t))
        for collection, entry in heldout["collections"].items():
            d = entry["differences"]
            _log(f"  refined minus network, {collection}: " + ", ".join(
                f"{k} {v['mean']:+.2f} ({v['low']:+.2f} to {v['high']:+.2f})"
                for k, v in d.items()))
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    _log(f"wrote {args.out} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
