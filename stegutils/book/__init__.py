"""The book's machinery: what the chapters need beyond the library itself.

The library (the rest of :mod:`stegutils`) hides, reveals, trains and measures; this
subpackage serves the pages that show it, the way d2l keeps its book tooling apart from
the ``d2l`` package:

- :func:`fast_mode`: whether ``STEGUTILS_FAST`` asks for the fast build (a few training
  steps, small images), read as the Makefile reads it;
- :mod:`stegutils.book.results`: finding ``benchmarks/results/*.json`` from a checkout,
  a Colab clone or an installed wheel;
- :mod:`stegutils.book.timings`: how long each chapter takes, in a sentence;
- :mod:`stegutils.book.reproduction`: the reproduction table of the back matter.

Nothing here imports TensorFlow, and the library imports nothing from here but
:mod:`stegutils.book.results` (the command line's ``--precision`` help quotes a
measured cost). The old names (``stegutils.results``, ``stegutils.timings``,
``stegutils.reproduction``, ``stegutils.train.fast_mode``) still work.

Introduced in chapter 1 (Introduction).
"""

from __future__ import annotations

import os

__all__ = ["FAST_ENV", "FULL_MODE_VALUES", "fast_mode", "results", "timings", "reproduction"]

#: The environment variable that switches every chapter to its fast mode.
FAST_ENV = "STEGUTILS_FAST"

#: The values of :data:`FAST_ENV` (stripped, any case) that mean the full mode; any other
#: value means the fast one. The Makefile's ``book`` target reads the variable the same
#: way (``tests/test_book_machinery.py`` keeps the two in step).
FULL_MODE_VALUES = ("", "0", "false", "no", "off")


def fast_mode(value: str | None = None) -> bool:
    """Whether ``STEGUTILS_FAST`` asks for the book's fast mode (few steps, small images).

    Parameters
    ----------
    value : str, optional
        Read this instead of the environment variable.

    Returns
    -------
    bool
        False when the variable is unset or one of :data:`FULL_MODE_VALUES` ("", "0",
        "false", "no", "off", in any case), True for anything else ("1", "yes", ...).

    Introduced in chapter 1 (Introduction).
    """
    if value is None:
        value = os.environ.get(FAST_ENV, "")
    return str(value).strip().lower() not in FULL_MODE_VALUES


def __getattr__(name):
    # The submodules on first use: ``from stegutils import book; book.timings``.
    if name in ("results", "timings", "reproduction"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
