"""Counting each pair in decibels (chapter 10): the cover term's two forms, compared.

    python benchmarks/cover_loss.py --models LABEL=MODEL [LABEL=MODEL ...]
                                    [--count 100] [--quick]

The book reports a model's cover quality as the *mean PSNR* over pairs, but the paper's
loss is the mean squared error, which weighs a pair by its error: the pairs whose
container is already far from the cover pull hardest. ``stegutils train --cover-loss
decibels`` keeps the error's value and gives the cover term the gradient of the mean
PSNR instead (:func:`stegutils.train.decibel_weighted`). This script measures what that
does, on models given as ``LABEL=MODEL`` (a shipped name or a run folder; the label keys
the results, so that a comparison keeps its names after a model is shipped):

- on the **validation** pairs (the photos the runs held out of the training split, as
  ``benchmarks/channel.py --photos validation`` draws them: what a run is chosen on) and
  on the **held-out** pairs (BSDS500 test, and the built-in photos as a second
  collection: what is reported), with 8-bit PNG containers:
  the clean cover PSNR, the clean secret PSNR and the secret's PSNR after the real JPEG
  encoder (Pillow) at quality 75 with 4:2:0, each a mean with its 95% interval over pairs;
- how the cover PSNR spreads over the pairs (percentiles, and every pair's value);
- every model minus every model listed after it, paired over the same pairs;
- each model's training settings (``cover_loss``, ``beta``, steps, warm start), from its
  card or run folder, and the SHA-256 of the weights measured.

Results go to ``benchmarks/results/cover_loss.json`` (with the command, the machine and
the wall time); chapter 10 reads them. Needs BSDS500 (``STEGUTILS_DATA``).
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
from stegutils import attacks, files, metrics, models, pretrained, train  # noqa: E402

RESULTS = HERE / "results" / "cover_loss.json"
JPEG_QUALITY = 75
PERCENTILES = [10, 25, 50, 75, 90]
MEASURES = ("cover_psnr", "secret_psnr", "jpeg75_secret_psnr")


# The channel benchmark, beside this file: its pairs, measures, targets and options.
sys.path.insert(0, str(HERE))
import channel as CHANNEL  # noqa: E402

_log, _interval = CHANNEL._log, CHANNEL._interval


def parse_models(items):
    """``["LABEL=MODEL", ...]`` as ``{label: model}``, in order; a bare name labels itself."""
    chosen = {}
    for item in items:
        label, sep, model = item.partition("=")
        if not sep:
            label, model = item, item
        if not label or not model:
            raise ValueError(f"expected LABEL=MODEL or a model name, got {item!r}")
        if label in chosen:
            raise ValueError(f"the label {label!r} is given twice")
        chosen[label] = model
    return chosen


def per_pair(net, secrets, covers):
    """Each pair's clean cover, clean secret and JPEG-75 secret PSNR."""
    containers = net.hide(covers, secrets, quantize=True)
    received = attacks.jpeg(containers, JPEG_QUALITY, chroma_subsampling=True)
    return {"cover_psnr": metrics.psnr(covers, containers),
            "secret_psnr": metrics.psnr(secrets, net.reveal(containers)),
            "jpeg75_secret_psnr": metrics.psnr(secrets, net.reveal(received))}


def summarise(values):
    """Means with intervals, the cover's percentiles and every pair's cover PSNR."""
    entry = {key: _interval(values[key]) for key in MEASURES}
    cover = np.asarray(values["cover_psnr"], np.float64)
    entry["cover_psnr_percentiles"] = {str(p): float(np.percentile(cover, p))
                                       for p in PERCENTILES}
    entry["cover_psnr_per_pair"] = [round(float(v), 3) for v in cover]
    return entry


def differences(by_label):
    """Every model minus every model after it, paired over the same pairs."""
    labels = list(by_label)
    rows = {}
    for i, first in enumerate(labels):
        for second in labels[i + 1:]:
            rows[f"{first} - {second}"] = {
                key: _interval(np.asarray(by_label[first][key]) - np.asarray(by_label[second][key]))
                for key in MEASURES}
    return rows


def training_settings(card):
    """How a model was trained: its last run's settings, and the step it was chosen at (a
    run folder's best) or the steps of its whole chain of runs (a shipped model's card)."""
    config = card.get("config") or {}
    return {"cover_loss": config.get("cover_loss", "mse"), "beta": config.get("beta"),
            "lr": config.get("lr"), "steps": config.get("steps"),
            "init_from": config.get("init_from"), "channel": config.get("channel"),
            "variant_options": config.get("variant_options"),
            "step_chosen": (card.get("validation") or {}).get("step"),
            "steps_in_all": (card.get("training") or {}).get("step")}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True,
                        help="LABEL=MODEL, each a shipped name or a run folder")
    CHANNEL.add_pair_options(parser, count_help="pairs per photo set (100)")
    CHANNEL.add_output_options(parser, RESULTS)
    args = parser.parse_args(argv)
    try:
        chosen = parse_models(args.models)
    except ValueError as error:
        parser.error(f"--models: {error}")
    missing = [model for model in chosen.values() if not CHANNEL._available(model)]
    if missing:
        parser.error(f"--models: no model {missing[0]!r} (shipped: {pretrained.list()}, "
                     "or a run folder)")
    CHANNEL.quick_settings(args, RESULTS, "cover-loss-quick.json")
    started = time.perf_counter()
    photo_sets = {}
    described = {}
    for kind in ("validation", "test"):
        collections, about = CHANNEL.heldout_collections(
            kind, size=args.size, count=args.count, seed=args.seed,
            builtin_count=args.builtin_count)
        for name, pairs in collections.items():
            key = "validation" if kind == "validation" else name
            photo_sets[key] = pairs
            described[key] = about[name]
    results = {
        "command": "python benchmarks/cover_loss.py " + " ".join(argv),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": models.machine_description(),
        "data": described,
        "containers": "rounded to 8 bits (as a PNG stores them)",
        "jpeg": {"quality": JPEG_QUALITY, "chroma": "4:2:0", "encoder": "Pillow"},
        "models": {},
        "differences": {},
    }
    measured = {key: {} for key in photo_sets}
    for label, model in chosen.items():
        net, card = pretrained.load(model)
        shipped = not pathlib.Path(model).is_dir()
        entry = {"model": pretrained.model_name(model), "variant": card["variant"],
                 "shipped": shipped,
                 # The weights measured, so that a page can tell which run a shipped
                 # model came from.
                 "weights_sha256": card.get("sha256") if shipped
                 else files.sha256(card["weights"]),
                 "card_sha256": card.get("sha256"), "training": training_settings(card),
                 "photo_sets": {}}
        for key, (secrets, covers) in photo_sets.items():
            values = per_pair(net, secrets, covers)
            measured[key][label] = values
            entry["photo_sets"][key] = summarise(values)
        results["models"][label] = entry
        _log(f"{label} ({entry['model']}, cover loss {entry['training']['cover_loss']}): " + "; ".join(
            f"{key} cover {s['cover_psnr']['mean']:.2f} / secret {s['secret_psnr']['mean']:.2f}"
            f" / JPEG75 {s['jpeg75_secret_psnr']['mean']:.2f}"
            for key, s in entry["photo_sets"].items()))
    for key, by_label in measured.items():
        results["differences"][key] = differences(by_label)
        for pair, rows in results["differences"][key].items():
            _log(f"  {key}, {pair}: " + ", ".join(
                f"{m} {r['mean']:+.2f} ({r['low']:+.2f} to {r['high']:+.2f})"
                for m, r in rows.items()))
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    _log(f"wrote {args.out} in {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
