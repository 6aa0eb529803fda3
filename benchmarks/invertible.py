"""How much of an invertible model's quality survives a real PNG: with and without rounding.

    python benchmarks/invertible.py [--models invertible RUN_DIR ...] [--sizes 64 256]
                                    [--photos test|validation] [--out FILE]
                                    [--compare A B [--compare C D ...]]

Published invertible hiding figures (HiNet and its successors) reveal the secret from the
hiding network's *floating-point* container. A container that leaves the computer is a
file: an 8-bit PNG. For each model this script measures both on the same held-out
pairs:

``float``
    the container exactly as the hiding network computes it (no clipping, no rounding),
    revealed directly, as those papers measure;
``png``
    the container clipped, rounded to 8 bits, encoded and decoded as a PNG (in memory),
    then revealed, as ``benchmarks/quality.py`` and the book measure every model.

Each figure is a mean over pairs with a 95% confidence interval (mean +- 1.96 standard
errors); the difference png - float is measured per pair (paired), with its own interval.
``--photos test`` (default) takes the crops from the BSDS500 *test* photos, never
trained on; ``--photos validation`` from the photos a run held out of the *train* split
(its ``val_photos``), for choosing between runs without looking at the test split.
``--compare A B`` (model names as the results file keys them: a shipped model's name,
or a run folder's name) adds the paired difference A - B over the same pairs, for each
container kind and size, to the file's ``comparisons``: how the rounding experiment's
twin runs (the same config, seed and data order, trained with and without 8-bit
rounding) differ. Both must be measured in the same invocation.
Results go to ``benchmarks/results/invertible.json`` with the exact command.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import data, metrics, pretrained, train  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "invertible.json"
COUNTS = {64: 200, 256: 50}
Z95 = 1.96


def png_round_trip(images):
    """Clip, round to 8 bits, encode as PNG and decode again, as a saved file would."""
    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(data.to_uint8(np.clip(image, 0.0, 1.0))).save(buffer, format="PNG")
        buffer.seek(0)
        out.append(np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255.0)
    return np.stack(out)


def interval(values):
    """Mean and the half-width of its 95% confidence interval (normal approximation)."""
    values = np.asarray(values, np.float64)
    half = Z95 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return {"mean": float(values.mean()), "ci95": float(half), "n": int(len(values))}


def raw_pass(net, *, covers, secrets, batch_size=16):
    """Containers straight from the hiding network and the secrets revealed from them."""
    import tensorflow as tf

    containers, revealed = [], []
    for start in range(0, len(covers), batch_size):
        s = tf.constant(secrets[start:start + batch_size])
        c = tf.constant(covers[start:start + batch_size])
        container = net.hide_raw(cover=c, secret=s)
        containers.append(container.numpy())
        revealed.append(tf.cast(net.revealing(container), tf.float32).numpy())
    return np.concatenate(containers), np.concatenate(revealed)


def measure(net, *, covers, secrets):
    """Per-pair reports for the float and the PNG container, on the same pairs."""
    if secrets.shape[1] % net.multiple or secrets.shape[2] % net.multiple:
        raise ValueError(f"crop sizes must be multiples of {net.multiple} for the raw pass")
    containers, revealed = raw_pass(net, covers=covers, secrets=secrets)
    reports = {"float": metrics.image_report(covers, containers, secrets, revealed)}
    stored = png_round_trip(net.hide(covers, secrets, quantize=True))
    reports["png"] = metrics.image_report(covers, stored, secrets, net.reveal(stored))
    return reports


def summarise(reports):
    out = {mode: {key: interval(values) for key, values in report.items()}
           for mode, report in reports.items()}
    out["png_minus_float"] = {
        key: interval(np.asarray(reports["png"][key], np.float64)
                      - np.asarray(reports["float"][key], np.float64))
        for key in reports["png"]
    }
    return out


def compare(reports_a, reports_b):
    """Paired differences A - B per container kind and figure, over the same pairs."""
    out = {}
    for mode in ("float", "png"):
        a, b = reports_a[mode], reports_b[mode]
        if len(a["secret_psnr"]) != len(b["secret_psnr"]):
            raise ValueError("the two models were measured on different pairs")
        out[mode] = {key: interval(np.asarray(a[key], np.float64)
                                   - np.asarray(b[key], np.float64)) for key in a}
    return out


def training_of(card):
    """How the model was trained, as the results file records it."""
    config = card["config"]
    chosen = (card.get("validation") or {}).get("step")
    return {"quantize_in_training": config.get("quantize"), "steps": config.get("steps"),
            "chosen_step": chosen}


def photos_for(kind, card):
    if kind == "test":
        return data.photos("bsds500", "test"), {"source": "bsds500", "split": "test"}
    config = train.Config.from_dict(card["config"])
    photos = data.photos(config.data, "train")
    count = min(config.val_photos, len(photos) // 5)
    if not count:
        raise ValueError("the model's run held out no validation photos (val_photos 0)")
    return photos[-count:], {"source": config.data, "split": "train",
                             "photos": f"the last {count} (held out from training)"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["invertible"],
                        help="shipped model names or run folders (default: invertible)")
    parser.add_argument("--sizes", nargs="+", type=int, default=sorted(COUNTS))
    parser.add_argument("--photos", choices=["test", "validation"], default="test")
    parser.add_argument("--count", type=int, default=None,
                        help="pairs per size (default 200 at 64 px, 50 at 256 px)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the crops")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--compare", nargs=2, action="append", default=[],
                        metavar=("A", "B"),
                        help="also record the paired difference A - B (names as keyed in "
                             "the results file; both measured in this invocation)")
    args = parser.parse_args(argv)

    command = "python benchmarks/invertible.py " + " ".join(argv)
    results = {"command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "confidence": "95%: mean +- 1.96 standard errors over pairs",
               "modes": {"float": "the hiding network's float container, unclipped, "
                                  "unrounded",
                         "png": "the container as an 8-bit PNG file"},
               "models": {}}
    results["comparisons"] = []
    if args.out.exists():
        previous = json.loads(args.out.read_text())
        results["models"].update(previous.get("models", {}))
        results["comparisons"] = [c for c in previous.get("comparisons", [])
                                  if [c["a"], c["b"]] not in args.compare]
    keys = [pretrained.model_name(name) for name in args.models]
    for a, b in args.compare:
        missing = [n for n in (a, b) if n not in keys]
        if missing:
            parser.error(f"--compare {a} {b}: {', '.join(missing)} not among --models "
                         f"(as keyed: {', '.join(keys)})")
    per_pair = {}
    for name, key in zip(args.models, keys):
        net, card = pretrained.load(name)
        photos, source = photos_for(args.photos, card)
        per_size = {}
        for size in args.sizes:
            count = args.count or COUNTS.get(size, 50)
            secrets, covers = data.heldout_pairs(photos, size=size, count=count,
                                                 seed=args.seed)
            reports = measure(net, covers=covers, secrets=secrets)
            per_pair[(key, size)] = (reports, source)
            summary = summarise(reports)
            per_size[str(size)] = summary
            for mode in ("float", "png", "png_minus_float"):
                s = summary[mode]
                print(f"{key:14} {size:4d}px {count:4d} pairs {mode:16}"
                      f" cover {s['cover_psnr']['mean']:7.2f} +- {s['cover_psnr']['ci95']:.2f} dB"
                      f"   secret {s['secret_psnr']['mean']:7.2f} +- "
                      f"{s['secret_psnr']['ci95']:.2f} dB   secret mpe "
                      f"{s['secret_mpe']['mean']:6.2f} +- {s['secret_mpe']['ci95']:.2f}",
                      flush=True)
        results["models"][key] = {"variant": card["variant"], "photos": source,
                                  "crop_seed": args.seed, **training_of(card),
                                  "sizes": per_size, "command": command}
    for a, b in args.compare:
        for size in args.sizes:
            (reports_a, source_a), (reports_b, source_b) = per_pair[(a, size)], per_pair[(b, size)]
            if source_a != source_b:
                raise SystemExit(f"--compare {a} {b}: measured on different photos "
                                 f"({source_a} and {source_b}), so not paired")
            difference = compare(reports_a, reports_b)
            results["comparisons"].append({"a": a, "b": b, "size": size,
                                           "difference": difference, "command": command})
            for mode in ("float", "png"):
                d = difference[mode]
                print(f"{a} - {b} {size:4d}px {mode:6} cover "
                      f"{d['cover_psnr']['mean']:+6.2f} +- {d['cover_psnr']['ci95']:.2f} dB"
                      f"   secret {d['secret_psnr']['mean']:+6.2f} +- "
                      f"{d['secret_psnr']['ci95']:.2f} dB", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
