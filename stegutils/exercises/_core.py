"""What every checker shares: the result it returns and comparisons that explain themselves.

A checker runs a reader's function on cases of its own and collects, in words, what
went wrong (which case, which output, which shape, which value). It never raises for a
wrong answer, so that a notebook with unfinished exercises still runs from top to
bottom; it returns a :class:`CheckResult`, which prints as a short report and is falsy
when something failed. ``result.raise_for_failure()`` turns a failure into an
``AssertionError`` for graders and tests.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import sysconfig
import traceback
from typing import Callable

import numpy as np

__all__ = ["CheckResult", "Case", "checker", "CHECKERS", "compare_array", "compare_scalar",
           "call_student", "returned_none", "float_array", "HintOnce"]

#: Every checker, by name (the exercise's label with ``-`` written as ``_``).
CHECKERS: dict[str, Callable] = {}


@dataclasses.dataclass
class CheckResult:
    """What a checker found.

    Attributes
    ----------
    exercise : str
        The exercise's label in the book (``ex-backprop-conv``).
    cases : int
        How many cases the checker ran.
    problems : list of str
        One sentence per problem found; empty when every case passed.
    """

    exercise: str
    cases: int
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.passed

    def message(self) -> str:
        if self.passed:
            return f"{self.exercise}: all {self.cases} cases pass."
        counted = f" in {self.cases} case{'s' if self.cases != 1 else ''}" if self.cases else ""
        lines = [f"{self.exercise}: {len(self.problems)} problem"
                 f"{'s' if len(self.problems) != 1 else ''}{counted}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)

    __str__ = message

    def __repr__(self) -> str:
        return self.message()

    def raise_for_failure(self) -> "CheckResult":
        """Raise ``AssertionError`` with the report if anything failed; return self."""
        if not self.passed:
            raise AssertionError(self.message())
        return self


@dataclasses.dataclass
class Case:
    """One case: a name for the report and the arguments to call the function with."""

    name: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)


class _Stop(Exception):
    """Raised inside a checker to end it early (the remaining cases cannot be judged)."""


def checker(label: str):
    """Register a checker for the exercise ``label`` and make it never raise on wrong answers.

    The decorated function takes the reader's function first and a ``report``
    callable (keyword ``report``) that records one problem per call; it returns how
    many cases it ran. The wrapper returns a :class:`CheckResult`. A checker may call
    ``report(..., stop=True)`` to skip the remaining cases.
    """

    def decorate(function):
        name = label.replace("-", "_")
        if function.__name__ != name:
            raise ValueError(f"checker for {label!r} must be called {name}, "
                             f"not {function.__name__}")

        @functools.wraps(function)
        def wrapper(student, *args, **kwargs):
            if not callable(student):
                return CheckResult(label, 0, [
                    f"expected your function, got {type(student).__name__} "
                    f"({student!r:.60})"])
            problems: list[str] = []

            def report(problem: str, stop: bool = False):
                problems.append(problem)
                if stop:
                    raise _Stop

            try:
                cases = function(student, *args, report=report, **kwargs)
            except _Stop:
                cases = None
            if cases is None:
                cases = max(1, len(problems))
            return CheckResult(label, int(cases), problems)

        wrapper.label = label
        CHECKERS[name] = wrapper
        return wrapper

    return decorate


_MISSING = object()


def call_student(student, case: Case, report) -> object:
    """Call the reader's function on a case; report an exception and return ``_MISSING``."""
    try:
        return student(*case.args, **case.kwargs)
    except Exception as error:  # noqa: BLE001 (the reader's code may raise anything)
        where = _last_frame(error)
        report(f"{case.name}: your function raised {type(error).__name__}: {error}{where}")
        return _MISSING


def _last_frame(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    # The reader's own line, not one deep inside a library their code called.
    own = [frame for frame in frames if not _in_a_library(frame.filename)]
    if not (own or frames):
        return ""
    frame = (own or frames)[-1]
    return f" (line {frame.lineno}: {frame.line})" if frame.line else ""


_LIBRARY_PATHS = tuple(str(pathlib.Path(path).resolve()) for path in {
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
    sysconfig.get_paths()["platlib"], pathlib.Path(__file__).parents[1]})


def _in_a_library(filename: str) -> bool:
    if "site-packages" in filename or "dist-packages" in filename:
        return True
    try:
        resolved = str(pathlib.Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return resolved.startswith(_LIBRARY_PATHS)


def missing(value) -> bool:
    """Whether :func:`call_student` failed."""
    return value is _MISSING


def returned_none(case: str, got, expected: str, report, *, stop: bool = False) -> bool:
    """Report an unfinished function (it returned None) once; True if it did.

    The report says what was ``expected`` and that the other cases were skipped: the
    caller stops after it, or ``stop=True`` ends the checker from here.
    """
    if got is not None:
        return False
    message = (f"{case}: your function returned None; expected {expected}. Is it "
               "finished (does it reach its return statement)? The other cases were skipped")
    if stop:
        report(message, stop=True)
    else:
        report(message)
    return True


def float_array(case: str, name: str, got, report):
    """``got`` as a float64 array, or None after a report that it is not one."""
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as error:
        report(f"{case}: {name} is not an array of numbers ({error})")
        return None


class HintOnce:
    """Gives each hint once per checker: ``hint_once(hint)`` is "" for a hint already given.

    A hint repeated for every case that makes the same mistake adds nothing.
    """

    def __init__(self):
        self._given: set[str] = set()

    def __call__(self, hint: str) -> str:
        if hint in self._given:
            return ""
        self._given.add(hint)
        return hint


def compare_array(case: str, name: str, got, want, report, *, rtol: float = 1e-4,
                  atol: float = 1e-6, hint: str = "") -> bool:
    """Compare an array the reader returned with the expected one; report the first problem.

    Reports, in this order: not an array of numbers, a wrong shape, NaN or infinity, and
    the largest difference with its index and both values. Returns whether it matched.
    """
    want = np.asarray(want, dtype=np.float64)
    if got is None:
        report(f"{case}: {name} is None; expected an array of shape {want.shape}"
               " (did the function reach its return statement?)")
        return False
    got = float_array(case, name, got, report)
    if got is None:
        return False
    if got.shape != want.shape:
        report(f"{case}: {name} has shape {got.shape}, expected {want.shape}")
        return False
    if not np.all(np.isfinite(got)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        report(f"{case}: {name} has NaN or infinite values (first at index {index})")
        return False
    if got.size == 0:
        return True
    difference = np.abs(got - want)
    allowed = atol + rtol * np.abs(want)
    bad = difference > allowed
    if np.any(bad):
        worst = np.unravel_index(int(np.argmax(np.where(bad, difference, -1))), want.shape)
        worst_index = tuple(int(i) for i in worst)
        report(
            f"{case}: {name} is wrong at {int(bad.sum())} of {want.size} entries; the "
            f"largest difference is {difference[worst]:.3g} at index {worst_index} "
            f"(expected {want[worst]:.6g}, got {got[worst]:.6g})"
            + (f". Hint: {hint}" if hint else "")
        )
        return False
    return True


def compare_scalar(case: str, name: str, got, want: float, report, *, rtol: float = 1e-4,
                   atol: float = 1e-6, hint: str = "") -> bool:
    """Compare one number; report what was expected and what came back."""
    try:
        value = float(np.asarray(got, dtype=np.float64))
    except (TypeError, ValueError):
        shape = getattr(got, "shape", None)
        report(f"{case}: {name} should be one number, got {type(got).__name__}"
               + (f" of shape {tuple(shape)}" if shape is not None else ""))
        return False
    if not np.isfinite(value) or abs(value - want) > atol + rtol * abs(want):
        report(f"{case}: {name} is {value:.6g}, expected {want:.6g}"
               + (f". Hint: {hint}" if hint else ""))
        return False
    return True
