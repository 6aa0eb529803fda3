"""The book's static figures, made from the shipped model (committed with the book).

    python benchmarks/figures.py [--model fast] [--out book/images/five_panel.png]

Draws the blog post's five-panel figure (secret, cover, prep output, container, revealed
secret, with PSNRs) for four held-out pairs of 128x128 crops of the BSDS500 *test*
photos, the same pairs that chapter 5 draws live (``data.heldout_pairs(..., size=128,
count=4, seed=3)``), with the containers rounded to 8 bits. The README and the book's
landing page show it. Needs BSDS500 (``STEGUTILS_DATA``, the cache or a download);
without it, it says so and uses the built-in test photos.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from stegutils import data, metrics, plot, pretrained  # noqa: E402

FIVE_PANEL = ROOT / "book" / "images" / "five_panel.png"


def five_panel(model, out):
    """Write the five-panel figure of ``model`` to ``out``; return the PSNR report."""
    net, card = pretrained.load(model)
    test_photos, source = data.photos_or_builtin("bsds500", "test")
    secrets, covers = data.heldout_pairs(test_photos, size=128, count=4, seed=3)
    containers = net.hide(covers, secrets)
    revealed = net.reveal(containers)
    report = metrics.image_report(covers, containers, secrets, revealed)
    fig = plot.five_panel(cover=covers, secret=secrets,
                          prep_output=net.prep_features(secrets), container=containers,
                          revealed=revealed, metrics=report)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, pil_kwargs={"optimize": True})
    print(f"wrote {out} (model {card.get('name', model)}, {source} test photos; "
          f"cover PSNR {report['cover_psnr'].mean():.2f} dB, "
          f"secret PSNR {report['secret_psnr'].mean():.2f} dB over the 4 pairs)")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The figure shows the prep network's output: fast's (chapter 5 draws the same one
    # live), whatever the default model is.
    parser.add_argument("--model", default="fast",
                        help="a shipped model name or a run folder (default: %(default)s)")
    parser.add_argument("--out", type=pathlib.Path, default=FIVE_PANEL,
                        help="where to write the five-panel figure (default: %(default)s)")
    args = parser.parse_args(argv)
    five_panel(args.model, args.out)


if __name__ == "__main__":
    main()
