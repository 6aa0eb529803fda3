"""Surviving the channel, measured (chapter 10): the real encoder, resizing, crops, noise.

    python benchmarks/channel.py [--models robust fast seed ...] [--count 100]
                                 [--update-cards] [--quick]

For each model (shipped names or run folders; missing ones are skipped with a note), on
held-out pairs of 64 px crops of the BSDS500 *test* photos (the models train on BSDS500
train) and, as a second collection, of the built-in photos (never trained on):

- the clean figures: cover and secret PSNR of 8-bit PNG containers;
- the secret's PSNR after the **real** JPEG encoder (Pillow, 4:2:0 and 4:4:4 chroma,
  qualities 50 to 95), after shrinking and enlarging back (factors 0.9 to 0.5), after
  a crop at every offset 0-7 (the crop is 8 pixels smaller; the secret is cropped the
  same way), after Gaussian noise, and after a crop followed by a JPEG;

every figure with its 95% interval over pairs (Student's t), every difference (crop
against no crop, a model against another) paired on the same pairs. Also how close the
differentiable JPEG of :mod:`stegutils.channel` comes to the real encoder on the same
photos. The issue's targets are printed as met or not, from the figures.

Results go to ``benchmarks/results/channel.json`` (with the command, the machine and wall
times); chapter 10 reads them. ``--update-cards`` also writes each shipped model's
figures after the channel into its model card (``channel``). Needs BSDS500 (``STEGUTILS_DATA``).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import attacks, cards, channel, data, metrics, models, pretrained, train  # noqa: E402
from stegutils import verdicts  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "channel.json"

JPEG_QUALITIES = [95, 90, 85, 80, 75, 70, 60, 50]
RESIZE_FACTORS = [1.0, 0.9, 0.75, 0.5]
CROP_OFFSETS = list(range(8))
NOISE_LEVELS = [0, 2, 4, 8, 16]  # standard deviations in grey levels (of 255)
DIFFERENTIABLE_QUALITIES = [50, 75, 95]

#: The issue's targets (held-out BSDS500 test, 64 px, real encoder), and the first step.
TARGETS = {
    "jpeg75_secret": (24.0, 20.0),
    "clean_cover": (32.0, 30.0),
    "crop_within_db": 1.0,
    "halved_secret": 22.0,
    "clean_secret": 28.0,
}


def _log(message):
    print(message, flush=True)


def _interval(values):
    estimate = verdicts.interval_of_values(values)
    return {"mean": estimate.value, "low": estimate.low, "high": estimate.high}


def _available(name):
    return pathlib.Path(name).is_dir() or name in pretrained.list()


def add_pair_options(parser, *, count_help="test pairs (100)"):
    """The options that choose the benchmark pairs (:func:`heldout_collections`)."""
    parser.add_argument("--count", type=int, default=100, help=count_help)
    parser.add_argument("--size", type=int, default=64, help="side of the crops (64)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the crops")
    parser.add_argument("--builtin-count", type=int, default=40,
                        help="pairs of the built-in photos, the second collection (40)")


def add_output_options(parser, results):
    """``--quick`` (a few pairs, into a temporary file) and ``--out`` (default ``results``)."""
    parser.add_argument("--quick", action="store_true",
                        help="a few pairs, to check that the script runs (written to a "
                        "temporary file, not the results)")
    parser.add_argument("--out", type=pathlib.Path, default=results)


def quick_settings(args, results, name):
    """With ``--quick``: six pairs and four built-in ones, written to a temporary ``name``
    unless ``--out`` names a file."""
    if args.quick:
        args.count, args.builtin_count = 6, 4
        if args.out == results:
            args.out = pathlib.Path(tempfile.gettempdir()) / name


def heldout_collections(photos="test", *, size=64, count=100, seed=1234, builtin_count=40):
    """The pairs the channel's benchmarks measure on, and what they are.

    ``photos="test"``: ``count`` pairs of ``size`` px crops of the BSDS500 *test* photos
    (the held-out figures) and, as a second collection, ``builtin_count`` pairs of the
    built-in photos (none if 0). ``photos="validation"``: pairs of the photos a run holds
    out of the training split (the trainer's own rule: the last of them, never trained
    on), for choosing between runs; no second collection. Crops seeded by ``seed``.

    Returns ``(collections, described)``: ``{"bsds500": (secrets, covers), ...}`` and a
    JSON-ready description of each collection.
    """
    if photos == "test":
        chosen = data.photos("bsds500", "test")
        source = "bsds500 test"
    elif photos == "validation":
        chosen = data.photos("bsds500", "train")
        kept = min(train.Config().val_photos, len(chosen) // 5)
        chosen = chosen[-kept:]
        source = f"bsds500 train, the last {kept} photos (validation)"
    else:
        raise ValueError(f"photos must be 'test' or 'validation', got {photos!r}")
    collections = {"bsds500": data.heldout_pairs(chosen, size=size, count=count, seed=seed)}
    described = {"bsds500": {"source": source, "photos": len(chosen), "pairs": count,
                             "size": size, "crop_seed": seed}}
    if photos == "test" and builtin_count:
        builtin = data.photos("builtin", "test")
        collections["builtin"] = data.heldout_pairs(builtin, size=size, count=builtin_count,
                                                    seed=seed)
        described["builtin"] = {"source": "built-in photos, test side", "photos": len(builtin),
                                "pairs": builtin_count, "size": size, "crop_seed": seed}
    return collections, described


def measure(net, secrets, covers, containers=None):
    """Every figure for one model on one set of pairs (per-pair values kept).

    ``containers``: 8-bit containers made another way (refined, :mod:`stegutils.refine`)
    to measure instead of the model's own; its reveal network reads them all the same.
    """
    if containers is None:
        containers = net.hide(covers, secrets, quantize=True)
    revealed = net.reveal(containers)
    per_pair = {"cover": metrics.psnr(covers, containers),
                "secret": metrics.psnr(secrets, revealed)}
    entry = {"clean": {"cover_psnr": _interval(per_pair["cover"]),
                       "secret_psnr": _interval(per_pair["secret"]),
                       "cover_mpe": _interval(metrics.mean_pixel_error(covers, containers)),
                       "secret_mpe": _interval(metrics.mean_pixel_error(secrets, revealed))}}

    def secret_after(attacked, target=secrets):
        return metrics.psnr(target, net.reveal(attacked))

    curves = {}
    for key, subsampling in (("jpeg", True), ("jpeg_444", False)):
        curves[key] = {"values": JPEG_QUALITIES, "secret_psnr": []}
        for quality in JPEG_QUALITIES:
            values = secret_after(attacks.jpeg(containers, quality,
                                               chroma_subsampling=subsampling))
            per_pair[f"{key}{quality}"] = values
            curves[key]["secret_psnr"].append(_interval(values))
    curves["resize"] = {"values": RESIZE_FACTORS, "secret_psnr": []}
    for factor in RESIZE_FACTORS:
        values = secret_after(attacks.downscale(containers, factor))
        per_pair[f"resize{factor}"] = values
        curves["resize"]["secret_psnr"].append(_interval(values))
    curves["noise"] = {"values_255": NOISE_LEVELS, "secret_psnr": []}
    for level in NOISE_LEVELS:
        values = secret_after(attacks.gaussian_noise(containers, level / 255, seed=0))
        curves["noise"]["secret_psnr"].append(_interval(values))

    size = secrets.shape[1] - 8
    crops = {"size": size, "offsets": CROP_OFFSETS, "secret_psnr": [],
             "minus_offset_0": [], "then_jpeg75": []}
    base = None
    for offset in CROP_OFFSETS:
        where = (offset, offset)
        cropped = attacks.crop(containers, size, offset=where)
        target = attacks.crop(secrets, size, offset=where)
        values = secret_after(cropped, target)
        if base is None:
            base = values
        crops["secret_psnr"].append(_interval(values))
        crops["minus_offset_0"].append(_interval(values - base) if offset else
                                       {"mean": 0.0, "low": 0.0, "high": 0.0})
        crops["then_jpeg75"].append(_interval(secret_after(attacks.jpeg(cropped, 75), target)))
        per_pair[f"crop{offset}"] = values
    curves["crop"] = crops
    entry["attacks"] = curves
    return entry, per_pair


def differentiable_fidelity(images):
    """PSNR of the differentiable JPEG's output against Pillow's, per quality."""
    report = {}
    for key, subsampling in (("4:2:0", True), ("4:4:4", False)):
        report[key] = {}
        for quality in DIFFERENTIABLE_QUALITIES:
            real = attacks.jpeg(images, quality, chroma_subsampling=subsampling)
            row = {"real_vs_original": _interval(metrics.psnr(images, real))}
            for rounding in ("straight-through", "cubic"):
                ours = channel.differentiable_jpeg(images, quality,
                                                   chroma_subsampling=subsampling,
                                                   rounding=rounding).numpy()
                row[rounding] = _interval(metrics.psnr(real, ours))
            report[key][str(quality)] = row
    return report


def targets_report(entry):
    """The issue's targets, met or not, from one model's BSDS500 figures."""
    clean = entry["clean"]
    jpeg75 = entry["attacks"]["jpeg"]["secret_psnr"][JPEG_QUALITIES.index(75)]["mean"]
    halved = entry["attacks"]["resize"]["secret_psnr"][RESIZE_FACTORS.index(0.5)]["mean"]
    crop_drops = [-d["mean"] for d in entry["attacks"]["crop"]["minus_offset_0"][1:]]
    goal, first = TARGETS["jpeg75_secret"]
    cover_goal, cover_first = TARGETS["clean_cover"]
    cover = clean["cover_psnr"]["mean"]
    return {
        "jpeg75_secret_psnr": jpeg75, "clean_cover_psnr": cover,
        "jpeg75_target_met": jpeg75 >= goal and cover >= cover_goal,
        "jpeg75_first_step_met": jpeg75 >= first and cover >= cover_first,
        "largest_crop_drop_db": max(crop_drops),
        "crop_target_met": max(crop_drops) <= TARGETS["crop_within_db"],
        "halved_secret_psnr": halved,
        "halved_target_met": halved >= TARGETS["halved_secret"],
        "clean_secret_psnr": clean["secret_psnr"]["mean"],
        "clean_secret_target_met": clean["secret_psnr"]["mean"] >= TARGETS["clean_secret"],
    }


def targets_line(report):
    """One line: each of the issue's targets (:data:`TARGETS`), met or not, from a
    :func:`targets_report`."""
    def met(key):
        return "met" if report[key] else "not met"

    (goal, first), (cover_goal, cover_first) = TARGETS["jpeg75_secret"], TARGETS["clean_cover"]
    return (f"targets: JPEG q75 >= {goal:g} dB with cover >= {cover_goal:g}: "
            f"{met('jpeg75_target_met')} (first step {first:g} / {cover_first:g}: "
            f"{met('jpeg75_first_step_met')}); crops within {TARGETS['crop_within_db']:g} dB: "
            f"{met('crop_target_met')}; halved >= {TARGETS['halved_secret']:g} dB: "
            f"{met('halved_target_met')}; clean secret >= {TARGETS['clean_secret']:g} dB: "
            f"{met('clean_secret_target_met')}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["robust", "fast", "seed"],
                        help="shipped model names or run folders; missing ones are skipped")
    add_pair_options(parser)
    parser.add_argument("--photos", choices=["test", "validation"], default="test",
                        help="BSDS500 test (the held-out figures), or the validation photos "
                        "a run held out of the training split (for choosing a checkpoint)")
    parser.add_argument("--update-cards", action="store_true",
                        help="write each shipped model's channel figures into its card")
    add_output_options(parser, RESULTS)
    args = parser.parse_args(argv)
    quick_settings(args, RESULTS, "channel-quick.json")
    started = time.perf_counter()
    names = [name for name in args.models if _available(name)]
    for name in args.models:
        if name not in names:
            _log(f"note: no model {name!r} (shipped: {pretrained.list()}); skipping it")
    if not names:
        parser.error("none of the models named exists")

    collections, described = heldout_collections(
        args.photos, size=args.size, count=args.count, seed=args.seed,
        builtin_count=args.builtin_count)
    secrets, covers = collections["bsds500"]
    results = {
        "command": "python benchmarks/channel.py " + " ".join(argv),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": models.machine_description(),
        "data": described,
        "containers": "rounded to 8 bits (as a PNG stores them), then attacked",
        "targets": TARGETS,
        "skipped": [name for name in args.models if name not in names],
        "models": {},
    }
    results["differentiable_jpeg"] = differentiable_fidelity(
        np.concatenate([secrets, covers])[: max(8, min(64, 2 * args.count))])

    per_pair_by_model = {}
    for name in names:
        net, card = pretrained.load(name)
        key = card.get("name", str(name))
        start = time.perf_counter()
        entry = {"variant": card["variant"], "card_sha256": card.get("sha256"),
                 "trained_steps": (card.get("training") or {}).get("step"),
                 "collections": {}}
        for collection, (s, c) in collections.items():
            measured, per_pair = measure(net, s, c)
            entry["collections"][collection] = measured
            per_pair_by_model.setdefault(key, {})[collection] = per_pair
        entry["targets"] = targets_report(entry["collections"]["bsds500"])
        entry["seconds"] = round(time.perf_counter() - start, 1)
        results["models"][key] = entry
        bsds = entry["collections"]["bsds500"]
        if args.update_cards and not args.quick and args.photos == "test" \
                and name in pretrained.list():
            updated = pretrained.card(name)
            attacked = bsds["attacks"]
            updated["channel"] = {
                "command": results["command"], "data": results["data"]["bsds500"],
                "containers": results["containers"],
                "clean": bsds["clean"],
                "jpeg_420_secret_psnr": dict(zip(map(str, JPEG_QUALITIES),
                                                 attacked["jpeg"]["secret_psnr"])),
                "jpeg_444_secret_psnr": dict(zip(map(str, JPEG_QUALITIES),
                                                 attacked["jpeg_444"]["secret_psnr"])),
                "resize_secret_psnr": dict(zip(map(str, RESIZE_FACTORS),
                                               attacked["resize"]["secret_psnr"])),
                "crop_secret_psnr": dict(zip(map(str, CROP_OFFSETS),
                                             attacked["crop"]["secret_psnr"])),
                "targets": entry["targets"],
            }
            updated.update(cards.describe(updated))  # its limitations quote these figures
            train.write_json_atomic(pretrained.WEIGHTS_DIR / f"{name}.json", updated)
        t = entry["targets"]
        _log(f"{key}: clean cover {t['clean_cover_psnr']:.2f} dB, secret "
             f"{t['clean_secret_psnr']:.2f} dB; real JPEG q75 4:2:0 secret "
             f"{t['jpeg75_secret_psnr']:.2f} dB; halved {t['halved_secret_psnr']:.2f} dB; "
             f"largest crop drop {t['largest_crop_drop_db']:.2f} dB")
        _log("  JPEG 4:2:0 " + ", ".join(
            f"q{q} {p['mean']:.1f}" for q, p in zip(JPEG_QUALITIES,
                                                    bsds["attacks"]["jpeg"]["secret_psnr"])))
        _log("  JPEG 4:4:4 " + ", ".join(
            f"q{q} {p['mean']:.1f}" for q, p in zip(JPEG_QUALITIES,
                                                    bsds["attacks"]["jpeg_444"]["secret_psnr"])))
        _log("  crops " + ", ".join(
            f"{o}: {p['mean']:.1f}" for o, p in zip(CROP_OFFSETS,
                                                    bsds["attacks"]["crop"]["secret_psnr"])))
        _log("  " + targets_line(t))
        if "builtin" in entry["collections"]:
            b = entry["collections"]["builtin"]
            _log(f"  built-in photos: clean secret {b['clean']['secret_psnr']['mean']:.2f} dB,"
                 f" JPEG q75 {b['attacks']['jpeg']['secret_psnr'][JPEG_QUALITIES.index(75)]['mean']:.2f} dB")

    # Paired differences against the first model, on the same pairs.
    first = next(iter(per_pair_by_model), None)
    results["differences"] = {}
    for key in per_pair_by_model:
        if key == first:
            continue
        rows = {}
        for measure_name in ("cover", "secret", "jpeg75", "jpeg_44475", "resize0.5", "crop1"):
            a = per_pair_by_model[first]["bsds500"][measure_name]
            b = per_pair_by_model[key]["bsds500"][measure_name]
            rows[measure_name] = _interval(a - b)
        results["differences"][f"{first} - {key}"] = rows
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    _log(f"wrote {args.out} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
