"""Checkers for chapter 1 (Introduction: the classic bit-plane baseline)."""

from __future__ import annotations

import numpy as np

from ._core import (Case, HintOnce, call_student, checker, compare_array, missing,
                    returned_none)

__all__ = ["ex_intro_centre"]


def _centred_reveal(container8, bits):
    """The reference: the low ``bits`` bits moved to the top, plus half a step."""
    low = container8.astype(np.int32) & ((1 << bits) - 1)
    return ((low << (8 - bits)) + (1 << (7 - bits))) / 255.0


def _plain_reveal(container8, bits):
    """The chapter's ``lsb_reveal``: the bottom of the range, no half step."""
    low = container8.astype(np.int32) & ((1 << bits) - 1)
    return (low << (8 - bits)) / 255.0


def _full_step_reveal(container8, bits):
    """A whole step added instead of half, wrapped around as ``uint8`` arithmetic does."""
    low = container8.astype(np.int32) & ((1 << bits) - 1)
    return (((low << (8 - bits)) + (1 << (8 - bits))) % 256) / 255.0


def _intro_cases():
    rng = np.random.default_rng(101)
    cases = []
    for bits, shape in ((1, (6, 7, 3)), (2, (5, 4, 3)), (4, (8, 8, 3)), (7, (3, 5, 3)),
                        (3, (2, 4, 6, 3))):
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        # Both ends of the range, where an overflow or a missing clip shows.
        pixels.reshape(-1, 3)[0] = 255
        pixels.reshape(-1, 3)[1] = 0
        name = (f"bits={bits}, a batch of shape {shape}" if len(shape) == 4
                else f"bits={bits}, an image of shape {shape}")
        cases.append((Case(name, (pixels.astype(np.float32) / 255.0, bits)), pixels))
    return cases


@checker("ex-intro-centre")
def ex_intro_centre(student, *, report):
    """Check ``lsb_reveal_centred(container, bits) -> revealed``.

    ``container`` is a float image (or batch) in ``[0, 1]`` whose values are multiples
    of 1/255; the answer keeps the low ``bits`` bits of each 8-bit value, moves them to
    the top and adds half a step, ``1 << (7 - bits)``, and returns a float image in
    ``[0, 1]`` of the same shape. Five cases: 1, 2, 3, 4 and 7 bits, one of them a batch.
    """
    cases = _intro_cases()
    hint_once = HintOnce()
    for case, pixels in cases:
        bits = case.args[1]
        got = call_student(student, case, report)
        if missing(got):
            continue
        if returned_none(case.name, got, "a float image of the container's shape", report):
            break
        want = _centred_reveal(pixels, bits)
        try:
            array = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is not None and array.shape == want.shape:
            if np.all(np.isfinite(array)) and array.max() > 1.5:
                report(f"{case.name}: the revealed image has values up to {array.max():g}"
                       + hint_once("; expected a float image in [0, 1] (divide by 255, or "
                                   "use data.to_float on the uint8 values)"))
                continue
            if np.allclose(array, _plain_reveal(pixels, bits), atol=1e-4):
                report(f"{case.name}: every value is at the bottom of the range it "
                       "stands for, as lsb_reveal returns it"
                       + hint_once(f". Hint: add half a step, 1 << (7 - bits) = "
                                   f"{1 << (7 - bits)} on the 8-bit scale for bits={bits}"))
                continue
            if np.allclose(array, _full_step_reveal(pixels, bits), atol=1e-4):
                report(f"{case.name}: you added a whole step, 1 << (8 - bits)"
                       + hint_once("; half a step is 1 << (7 - bits)"))
                continue
        compare_array(case.name, "the revealed image", got, want, report, rtol=0,
                      atol=1e-4, hint=hint_once(
                          "keep the low bits (value & ((1 << bits) - 1)), shift them up by "
                          "8 - bits, add 1 << (7 - bits), in a type that cannot overflow "
                          "(np.int32), then divide by 255"))
    return len(cases)
