"""Rewrite the shipped model cards' descriptive fields from their measured ones.

    python benchmarks/cards.py [--models fast invertible ...] [--check]

A model card holds what a command measured (``heldout`` from ``benchmarks/quality.py``,
``channel`` from ``benchmarks/channel.py``, the detector's card, chapter 7's
``benchmarks/results/failures.json``) and, made from those, what it is for, how it fails
and the data it learnt from (:func:`stegutils.cards.describe`: ``intended_use``,
``limitations``, ``training_data``). Those commands rewrite the text when they update a
card; this one rewrites it alone, for every shipped model (or those named), and changes
nothing else: no figure, no weights, no hash. ``--check`` only says which cards are out
of date (exit status 1 if any). Measures nothing.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import cards, pretrained, runs  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help="shipped model names (default: every shipped model)")
    parser.add_argument("--check", action="store_true",
                        help="only report the cards whose text is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name in args.models or pretrained.list():
        card = pretrained.card(name)
        described = cards.describe(card)
        if all(card.get(field) == described[field] for field in cards.FIELDS):
            print(f"{name}: up to date")
            continue
        stale.append(name)
        if args.check:
            print(f"{name}: out of date (python benchmarks/cards.py --models {name})")
            continue
        runs.write_json_atomic(pretrained.WEIGHTS_DIR / f"{name}.json", {**card, **described})
        print(f"{name}: rewrote {', '.join(cards.FIELDS)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
