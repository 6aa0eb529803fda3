"""What bfloat16 costs in dB: the command line's ``--precision``, measured.

    python benchmarks/precision.py [--models fast invertible ...] [--pairs 16] [--size 64]

For each shipped model (or run folder): held-out pairs of crops from the BSDS500 *test*
photos (the built-in test photos without it), hidden and revealed once with the model
in float32 and once in bfloat16 (mixed precision: float32 weights, 16-bit
convolutions), the containers saved as real 8-bit PNG files in between, as ``stegutils
hide`` and ``reveal`` do. The figures are the cover and secret PSNR in each precision
and the drop from float32 to bfloat16, pair by pair (mean and standard deviation).
Results go to ``benchmarks/results/precision.json``; ``stegutils hide --help`` reads
them. Small on purpose: a few seconds of CPU.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import data, metrics, models, pretrained, train  # noqa: E402

from quality import png_round_trip  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "precision.json"


def measure(name, secrets, covers, precision):
    """Per-pair cover and secret PSNR with the model in ``precision``."""
    net, card = pretrained.load(name, precision=precision)
    containers = png_round_trip(net.hide(cover=covers, secret=secrets, quantize=True))
    revealed = net.reveal(containers)
    return card, {"cover_psnr": metrics.psnr(covers, containers),
                  "secret_psnr": metrics.psnr(secrets, revealed)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help="shipped model names or run folders (default: every shipped model)")
    parser.add_argument("--pairs", type=int, default=16, help="held-out pairs (16)")
    parser.add_argument("--size", type=int, default=64, help="crop side (64)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the crops")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    photos, source = data.photos_or_builtin("bsds500", "test")
    secrets, covers = data.heldout_pairs(photos, size=args.size, count=args.pairs,
                                         seed=args.seed)
    result = {"command": "python benchmarks/precision.py " + " ".join(argv),
              "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": models.machine_description(),
              "data": source, "split": "test", "pairs": args.pairs, "size": args.size,
              "crop_seed": args.seed, "containers": "8-bit PNG",
              "auto_resolves_to": models.resolve_precision("auto"),
              "native_bfloat16": models.cpu_supports_bfloat16(), "models": {}}
    for name in args.models or pretrained.list():
        card, base = measure(name, secrets, covers, "float32")
        _, low = measure(name, secrets, covers, "bfloat16")
        entry = {"variant": card.get("variant"), "sha256": card.get("sha256"),
                 "float32": {key: float(np.mean(values)) for key, values in base.items()}}
        drops = {key: base[key] - low[key] for key in base}
        entry["bfloat16"] = {
            **{key: float(np.mean(values)) for key, values in low.items()},
            **{f"{key}_drop": float(np.mean(d)) for key, d in drops.items()},
            **{f"{key}_drop_std": float(np.std(d, ddof=1)) for key, d in drops.items()},
        }
        key = card.get("name", str(name))
        result["models"][key] = entry
        cost = entry["bfloat16"]
        print(f"{key:12} float32: cover {entry['float32']['cover_psnr']:6.2f} dB, secret "
              f"{entry['float32']['secret_psnr']:6.2f} dB; bfloat16 costs "
              f"{cost['cover_psnr_drop']:.3f} dB of cover and {cost['secret_psnr_drop']:.3f} "
              f"dB of secret ({args.pairs} pairs at {args.size} px, {source})", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
