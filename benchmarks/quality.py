"""Held-out quality of the shipped models (or any run folder), written for the book.

    python benchmarks/quality.py [--models fast seed RUN_DIR ...] [--update-cards]
                                 [--compare invertible fast] [--quick --out FILE]

For each model: pairs of crops from the BSDS500 *test* photos (never trained on; the
shipped models train on BSDS500 train), hidden, saved as real 8-bit PNG files (encoded
and decoded with Pillow in memory), revealed, and measured: mean pixel error (0-255),
PSNR and SSIM for the cover and for the secret, at 64 and at 256 pixels. Each figure is
the mean over pairs with its 95% confidence interval (Student's t over the per-pair
values, :func:`stegutils.verdicts.interval_of_values`).

Then the same on photos from *other collections*: the built-in photos that the
dependencies ship (scikit-image, scikit-learn, matplotlib; none of them is in BSDS500,
and the shipped models never saw one), at 64 px, so that a model that only learned
BSDS500 shows a drop. The drop (built-in minus BSDS500 test) has its own interval
(unpaired: different photos). The built-in collection holds a dozen photos, so its
pairs reuse them: the interval over pairs is narrower than one over photos would be.

``--compare A B`` (default ``invertible fast``, when both are measured in the run):
the paired difference A minus B on the same pairs, with intervals, and a verdict per
term (the cover and the secret): A is better only where the PSNR difference's interval
lies above zero *and* the mean pixel error difference's below it. Each model is also
held against the paper's mean pixel errors (:data:`stegutils.reproduction.
PAPER_MEAN_PIXEL_ERROR`): below them only where the whole interval is.

Results go to ``benchmarks/results/quality.json`` (with this exact command);
``--update-cards`` also writes them into each shipped model's card. ``--quick`` measures
a few pairs only, to check that the script runs (it needs ``--out`` and never updates
cards). Needs BSDS500: set ``STEGUTILS_DATA`` to a folder holding ``bsds500/test`` or
let the library download it.
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
from stegutils import cards, data, metrics, pretrained, reproduction, train, verdicts  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "quality.json"
COUNTS = {64: 200, 256: 50}
QUICK_COUNTS = {64: 12, 256: 4}
#: The cross-collection measurement: built-in photos, all of them, at this size.
CROSS_SIZE = 64
CROSS_COUNT = 120
QUICK_CROSS_COUNT = 12
TERMS = ("cover", "secret")
CONFIDENCE = (
    "95% intervals over pairs: Student's t on the per-pair values for each figure and "
    "for the paired difference of two models on the same pairs; normal approximation "
    "with unequal variances for the drop from BSDS500 test to the built-in photos "
    "(different photos, unpaired)")


def png_round_trip(images):
    """Encode each image as an 8-bit PNG and decode it again, as a file would."""
    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(data.to_uint8(image)).save(buffer, format="PNG")
        buffer.seek(0)
        out.append(np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255.0)
    return np.stack(out)


def measure(net, *, covers, secrets):
    """The per-pair report (:func:`stegutils.metrics.image_report`) of PNG containers."""
    containers = png_round_trip(net.hide(cover=covers, secret=secrets, quantize=True))
    revealed = net.reveal(containers)
    return metrics.image_report(covers, containers, secrets, revealed)


def _flat(key, interval):
    return {key: interval.value, f"{key}_low": interval.low, f"{key}_high": interval.high}


def summarise(report):
    """Means, standard deviations and 95% intervals (``KEY_low``, ``KEY_high``)."""
    summary = metrics.summarize(report)
    for key, values in report.items():
        summary.update(_flat(key, verdicts.interval_of_values(values)))
    return summary


def paired_difference(report_a, report_b):
    """``a - b`` per pair (the same pairs), each figure's mean with its 95% interval."""
    out = {"images": int(len(next(iter(report_a.values()))))}
    for key in report_a:
        a = np.asarray(report_a[key], np.float64)
        b = np.asarray(report_b[key], np.float64)
        if a.shape != b.shape:
            raise ValueError(f"paired_difference needs the same pairs, got {a.size} and "
                             f"{b.size} values of {key}")
        out.update(_flat(key, verdicts.interval_of_values(a - b)))
    return out


def unpaired_difference(report_a, report_b):
    """``mean(a) - mean(b)`` over different pairs, each figure with its 95% interval."""
    out = {}
    for key in report_a:
        a = np.asarray(report_a[key], np.float64)
        b = np.asarray(report_b[key], np.float64)
        interval = verdicts.difference_interval(a.mean(), a.std(ddof=1), a.size,
                                                b.mean(), b.std(ddof=1), b.size)
        out.update(_flat(key, interval))
    return out


def term_verdict(difference, term):
    """"better", "worse" or "no clear difference" for ``term`` of a difference a - b.

    Better: the PSNR difference's interval above zero and the mean pixel error
    difference's below zero (both say a is closer); worse: both the other way.
    """
    psnr_low, psnr_high = difference[f"{term}_psnr_low"], difference[f"{term}_psnr_high"]
    mpe_low, mpe_high = difference[f"{term}_mpe_low"], difference[f"{term}_mpe_high"]
    if psnr_low > 0 and mpe_high < 0:
        return "better"
    if psnr_high < 0 and mpe_low > 0:
        return "worse"
    return "no clear difference"


def compare(name_a, name_b, difference):
    """The verdicts of one paired difference, per term and for both at once."""
    terms = {term: term_verdict(difference, term) for term in TERMS}
    return {"terms": terms, "both_terms_better": all(v == "better" for v in terms.values())}


def against_paper(summary):
    """Each term's mean pixel error against the paper's: "below", "above" or "within"."""
    out = {}
    for term in TERMS:
        reference = reproduction.PAPER_MEAN_PIXEL_ERROR[term]
        low, high = summary[f"{term}_mpe_low"], summary[f"{term}_mpe_high"]
        out[term] = ("below" if high < reference else "above" if low > reference
                     else "within the spread")
    out["both_terms_below"] = all(out[term] == "below" for term in TERMS)
    return out


def _line(label, summary):
    parts = []
    for term in TERMS:
        for figure, unit, spec in (("psnr", " dB", ".2f"), ("mpe", "", ".2f"),
                                   ("ssim", "", ".4f")):
            key = f"{term}_{figure}"
            parts.append(f"{term} {figure} {summary[key]:{spec}}{unit} "
                         f"[{summary[key + '_low']:{spec}}, {summary[key + '_high']:{spec}}]")
    return f"{label}  " + "  ".join(parts)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help="shipped model names or run folders (default: every shipped model)")
    parser.add_argument("--sizes", nargs="+", type=int, default=sorted(COUNTS))
    parser.add_argument("--seed", type=int, default=1234, help="seed of the test crops")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        default=["invertible", "fast"],
                        help="paired difference A - B when both are measured "
                             "(default: invertible fast)")
    parser.add_argument("--no-cross-collection", action="store_true",
                        help="skip the built-in photos")
    parser.add_argument("--quick", action="store_true",
                        help="a few pairs only, to check that it runs (needs --out)")
    parser.add_argument("--update-cards", action="store_true",
                        help="write the figures into the shipped models' cards")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help=f"JSON to write (default {RESULTS.relative_to(RESULTS.parents[2])})")
    args = parser.parse_args(argv)
    if args.quick and (args.out is None or args.update_cards):
        parser.error("--quick measures too few pairs for the book: give --out, and no "
                     "--update-cards")
    out_path = args.out or RESULTS
    counts = QUICK_COUNTS if args.quick else COUNTS
    cross_count = QUICK_CROSS_COUNT if args.quick else CROSS_COUNT

    names = args.models or pretrained.list()
    if not names:
        parser.error("no shipped models yet; name a run folder with --models")
    test_photos = data.photos("bsds500", "test")
    command = "python benchmarks/quality.py " + " ".join(argv)
    results = {"command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "data": {"source": "bsds500", "split": "test", "photos": len(test_photos),
                        "crop_seed": args.seed, "containers": "8-bit PNG"},
               "confidence": CONFIDENCE,
               "paper_mean_pixel_error": dict(reproduction.PAPER_MEAN_PIXEL_ERROR),
               "models": {}, "comparisons": {}}
    cross_photos = None
    if not args.no_cross_collection:
        cross_photos = data.photos("builtin", "all")
        entries = [entry for entry in data.BUILTIN_PHOTOS
                   if entry["name"] in data.builtin_photos(named=True)]
        results["cross_collection_data"] = {
            "source": "builtin", "split": "all", "photos": len(cross_photos),
            "names": [entry["name"] for entry in entries],
            "packages": sorted({entry["file"].split("/", 1)[0] for entry in entries}),
            "size": CROSS_SIZE, "crop_seed": args.seed, "containers": "8-bit PNG",
            "note": ("photos from other collections than BSDS500; few photos, so the pairs "
                     "reuse them and the interval over pairs is narrower than one over "
                     "photos would be")}
    previous = json.loads(out_path.read_text()) if out_path.exists() else {}
    results["models"].update(previous.get("models", {}))

    reports = {}  # name -> {"bsds500 SIZE" / "builtin SIZE": per-pair report}
    for name in names:
        net, card = pretrained.load(name)
        key = card.get("name", str(name))
        own = reports[key] = {}
        per_size = {}
        for size in args.sizes:
            count = counts.get(size, 50 if not args.quick else 4)
            secrets, covers = data.heldout_pairs(test_photos, size=size, count=count,
                                                 seed=args.seed)
            own[f"bsds500 {size}"] = measure(net, covers=covers, secrets=secrets)
            per_size[str(size)] = summarise(own[f"bsds500 {size}"])
            print(_line(f"{key:12} BSDS500 test {size:4d}px {count:4d} pairs",
                        per_size[str(size)]), flush=True)
        entry = {"variant": card["variant"], "sizes": per_size, "command": command,
                 "paper": {f"bsds500 {size}": against_paper(per_size[str(size)])
                           for size in args.sizes}}
        if cross_photos is not None:
            secrets, covers = data.heldout_pairs(cross_photos, size=CROSS_SIZE,
                                                 count=cross_count, seed=args.seed)
            own[f"builtin {CROSS_SIZE}"] = measure(net, covers=covers, secrets=secrets)
            cross = summarise(own[f"builtin {CROSS_SIZE}"])
            entry["cross_collection"] = {str(CROSS_SIZE): cross}
            entry["paper"][f"builtin {CROSS_SIZE}"] = against_paper(cross)
            print(_line(f"{key:12} built-in     {CROSS_SIZE:4d}px {cross_count:4d} pairs",
                        cross), flush=True)
            if f"bsds500 {CROSS_SIZE}" in own:
                drop = unpaired_difference(own[f"builtin {CROSS_SIZE}"],
                                           own[f"bsds500 {CROSS_SIZE}"])
                entry["cross_collection_drop"] = {str(CROSS_SIZE): drop}
                print(f"{key:12} built-in minus BSDS500 test at {CROSS_SIZE}px: cover "
                      f"{drop['cover_psnr']:+.2f} dB [{drop['cover_psnr_low']:+.2f}, "
                      f"{drop['cover_psnr_high']:+.2f}], secret {drop['secret_psnr']:+.2f} dB "
                      f"[{drop['secret_psnr_low']:+.2f}, {drop['secret_psnr_high']:+.2f}]",
                      flush=True)
        for where, verdict in entry["paper"].items():
            print(f"{key:12} against the paper's mean pixel errors on {where} px: cover "
                  f"{verdict['cover']}, secret {verdict['secret']}", flush=True)
        results["models"][key] = entry
        if args.update_cards and name in pretrained.list():
            updated = pretrained.card(name)
            updated["heldout"] = {"data": results["data"], "sizes": per_size,
                                  "confidence": CONFIDENCE, "command": command}
            if "cross_collection" in entry:
                updated["heldout"]["cross_collection"] = {
                    "data": results["cross_collection_data"],
                    "sizes": entry["cross_collection"]}
            updated.update(cards.describe(updated))  # its limitations quote these figures
            train.write_json_atomic(pretrained.WEIGHTS_DIR / f"{name}.json", updated)

    # A comparison from an earlier run stays only while neither of its models changed.
    for label, record in previous.get("comparisons", {}).items():
        if not set(record.get("models", [])) & set(reports):
            results["comparisons"][label] = record
    name_a, name_b = args.compare
    if name_a in reports and name_b in reports:
        label = f"{name_a} - {name_b}"
        record = {"models": [name_a, name_b], "command": command}
        for where in reports[name_a]:
            if where not in reports[name_b]:
                continue
            difference = paired_difference(reports[name_a][where], reports[name_b][where])
            record[where] = {"difference": difference,
                             **compare(name_a, name_b, difference)}
            print(f"{label} on {where} px, paired over {difference['images']} pairs: cover "
                  f"{difference['cover_psnr']:+.2f} dB [{difference['cover_psnr_low']:+.2f}, "
                  f"{difference['cover_psnr_high']:+.2f}] ({record[where]['terms']['cover']}), "
                  f"secret {difference['secret_psnr']:+.2f} dB "
                  f"[{difference['secret_psnr_low']:+.2f}, "
                  f"{difference['secret_psnr_high']:+.2f}] ({record[where]['terms']['secret']})",
                  flush=True)
        held_out = [where for where in record if where.startswith("bsds500 ")]
        record["both_terms_better_on_bsds500_test"] = bool(held_out) and all(
            record[where]["both_terms_better"] for where in held_out)
        print(f"{name_a} better than {name_b} on both terms at every size of the held-out "
              f"BSDS500 test split: {record['both_terms_better_on_bsds500_test']}")
        results["comparisons"][label] = record
    out_path.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(out_path, results)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
