"""Held-out quality of the shipped models (or any run folder), written for the book.

    python benchmarks/quality.py [--models fast seed RUN_DIR ...] [--update-cards]

For each model: pairs of crops from the BSDS500 *test* photos (never trained on; the
shipped models train on BSDS500 train), hidden, saved as real 8-bit PNG files (encoded
and decoded with Pillow in memory), revealed, and measured: mean pixel error (0-255),
PSNR and SSIM for the cover and for the secret, at 64 and at 256 pixels. Results go to
``benchmarks/results/quality.json`` (with this exact command); ``--update-cards`` also
writes them into each shipped model's card. Needs BSDS500: set ``STEGUTILS_DATA`` to a
folder holding ``bsds500/test`` or let the library download it.
"""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import data, metrics, pretrained, train  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "quality.json"
COUNTS = {64: 200, 256: 50}


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
    containers = png_round_trip(net.hide(covers, secrets, quantize=True))
    revealed = net.reveal(containers)
    return metrics.summarize(metrics.image_report(covers, containers, secrets, revealed))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help="shipped model names or run folders (default: every shipped model)")
    parser.add_argument("--sizes", nargs="+", type=int, default=sorted(COUNTS))
    parser.add_argument("--seed", type=int, default=1234, help="seed of the test crops")
    parser.add_argument("--update-cards", action="store_true",
                        help="write the figures into the shipped models' cards")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    names = args.models or pretrained.list()
    if not names:
        parser.error("no shipped models yet; name a run folder with --models")
    test_photos = data.photos("bsds500", "test")
    command = "python benchmarks/quality.py " + " ".join(argv)
    results = {"command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "data": {"source": "bsds500", "split": "test", "photos": len(test_photos),
                        "crop_seed": args.seed, "containers": "8-bit PNG"},
               "models": {}}
    if args.out.exists():
        import json

        previous = json.loads(args.out.read_text())
        results["models"].update(previous.get("models", {}))
    for name in names:
        net, card = pretrained.load(name)
        per_size = {}
        for size in args.sizes:
            count = COUNTS.get(size, 50)
            secrets, covers = data.heldout_pairs(test_photos, size=size, count=count,
                                                 seed=args.seed)
            summary = measure(net, covers=covers, secrets=secrets)
            per_size[str(size)] = summary
            print(f"{card.get('name', name):12} {size:4d}px  {summary['images']:4d} pairs  "
                  f"cover {summary['cover_psnr']:6.2f} dB  mpe {summary['cover_mpe']:5.2f}  "
                  f"ssim {summary['cover_ssim']:.4f}   secret {summary['secret_psnr']:6.2f} dB  "
                  f"mpe {summary['secret_mpe']:5.2f}  ssim {summary['secret_ssim']:.4f}",
                  flush=True)
        key = card.get("name", str(name))
        results["models"][key] = {"variant": card["variant"], "sizes": per_size,
                                  "command": command}
        if args.update_cards and name in pretrained.list():
            updated = pretrained.card(name)
            updated["heldout"] = {"data": results["data"], "sizes": per_size,
                                  "command": command}
            train.write_json_atomic(pretrained.WEIGHTS_DIR / f"{name}.json", updated)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
