"""Checkers for the book's code exercises, one function per exercise.

Each checker is named after its exercise's label in the book (``ex-backprop-conv`` is
checked by ``exercises.ex_backprop_conv``), takes the reader's function, runs it on
cases of its own and returns a :class:`CheckResult` that says in words what is wrong:
which case, which output, which shape or value. A wrong answer never raises, so a
notebook with unfinished exercises still runs; graders call
``result.raise_for_failure()`` or read ``result.passed``.

>>> from stegutils import exercises
>>> exercises.ex_backprop_conv(my_conv_backward)      # doctest: +SKIP
ex-backprop-conv: all 3 cases pass.

``exercises.CHECKERS`` maps every checker's name to the function; ``exercises.grade``
runs several at once and returns a table for an instructor.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._core import CHECKERS, Case, CheckResult, checker, compare_array, compare_scalar

__all__ = ["CHECKERS", "Case", "CheckResult", "checker", "compare_array", "compare_scalar",
           "grade"]

# Import every chapter module (chNN_*.py): each registers its checkers in CHECKERS, and
# their names become attributes of this package.
for _module in sorted(info.name for info in pkgutil.iter_modules(__path__)
                      if info.name.startswith("ch")):
    _loaded = importlib.import_module(f"{__name__}.{_module}")
    for _name in getattr(_loaded, "__all__", ()):
        globals()[_name] = getattr(_loaded, _name)
        __all__.append(_name)
del _module, _loaded, _name


def grade(answers: dict) -> dict:
    """Run several checkers: ``{checker name: student function}`` -> ``{name: CheckResult}``.

    Raises
    ------
    KeyError
        For a name with no checker (the message lists the known names).
    """
    unknown = sorted(set(answers) - set(CHECKERS))
    if unknown:
        raise KeyError(f"no checker called {', '.join(unknown)}; known: "
                       f"{', '.join(sorted(CHECKERS))}")
    return {name: CHECKERS[name](function) for name, function in answers.items()}
