"""Checkers for chapter 7 (When hiding fails)."""

from __future__ import annotations

import numpy as np

from .. import data
from ._core import (Case, call_student, checker, compare_array, float_array, missing,
                    returned_none)

__all__ = ["ex_fail_colourfulness", "ex_fail_lsb", "ex_fail_scramble"]


def _result_array(case_name, got, expected, what, report):
    """The reader's result as a float64 array, or None after a report that it is not one.

    A result of None (an unfinished function) is reported and stops the checker.
    """
    returned_none(case_name, got, expected, report, stop=True)
    return float_array(case_name, what, got, report)


# ------------------------------------------------------------------ ex-fail-colourfulness


def _colourfulness(images):
    """Hasler and Suesstrunk's M, written out again (independent of the library's)."""
    values = []
    for image in np.asarray(images, np.float64) * 255.0:
        red, green, blue = image[..., 0].ravel(), image[..., 1].ravel(), image[..., 2].ravel()
        rg, yb = red - green, (red + green) / 2.0 - blue
        values.append(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    return np.array(values)


def _colour_cases():
    rng = np.random.default_rng(701)
    photos = rng.random((3, 8, 10, 3)).astype(np.float32)
    grey = np.repeat(rng.random((1, 6, 6, 1)), 3, axis=-1).astype(np.float32)
    red = np.zeros((1, 4, 4, 3), np.float32)
    red[..., 0] = 1.0
    tinted = np.clip(photos[:1] * [1.0, 0.6, 0.3], 0, 1).astype(np.float32)
    mixed = np.concatenate([grey[:, :4, :4], red, tinted[:, :4, :4]])
    return [Case("three random images (3, 8, 10, 3)", (photos,)),
            Case("one grey image (1, 6, 6, 3)", (grey,)),
            Case("one flat pure red image (1, 4, 4, 3)", (red,)),
            Case("a batch of grey, flat red and orange-tinted images (3, 4, 4, 3)", (mixed,))]


@checker("ex-fail-colourfulness")
def ex_fail_colourfulness(student, *, report):
    """Check ``colourfulness(images) -> array of shape (batch,)``.

    Hasler and Suesstrunk's M on the 0-255 scale, one value per image, against the
    formula written out in this checker: random images, a grey image (0), a flat pure
    red one (only the mean term), and a batch that mixes them.
    """
    cases = _colour_cases()
    for case in cases:
        images = case.args[0]
        got = call_student(student, Case(case.name, (images.copy(),)), report)
        if missing(got):
            continue
        array = _result_array(case.name, got, f"an array of shape ({len(images)},)",
                              "the result", report)
        if array is None:
            continue
        want = _colourfulness(images)
        if array.shape != want.shape:
            hint = ""
            if array.size == 1 and len(images) > 1:
                hint = (". Hint: one value per image: the means and standard deviations "
                        "are over each image's pixels (reshape to (batch, -1), axis=1), "
                        "not over the whole batch")
            report(f"{case.name}: the result has shape {array.shape}, expected "
                   f"{want.shape}{hint}")
            continue
        hint = "M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2)"
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.median(array[want > 1] / want[want > 1]) if np.any(want > 1) else 0
        if np.isclose(ratio, 1 / 255, rtol=1e-3):
            hint = "the values are 255 times too small: M is defined on the 0-255 scale"
        elif case.name.startswith("one flat pure red") and np.allclose(array, 0, atol=1e-6):
            hint = ("a flat red image has no spread, but it is colourful: the second term, "
                    "0.3 * sqrt(mean(rg)^2 + mean(yb)^2), counts its colour")
        elif case.name.startswith("three random"):
            images64 = np.asarray(images, np.float64) * 255
            rg = (images64[..., 0] - images64[..., 1]).reshape(len(images), -1)
            yb = (0.5 * (images64[..., 0] + images64[..., 1]) - images64[..., 2]).reshape(
                len(images), -1)
            plain_sum = rg.std(axis=1) + yb.std(axis=1) + 0.3 * np.hypot(rg.mean(axis=1),
                                                                       yb.mean(axis=1))
            variance = rg.var(axis=1) + yb.var(axis=1) + 0.3 * np.hypot(rg.mean(axis=1),
                                                                      yb.mean(axis=1))
            if np.allclose(array, plain_sum, rtol=1e-4):
                hint = ("the two standard deviations are added; M takes the root of the "
                        "sum of their squares, sqrt(std(rg)^2 + std(yb)^2)")
            elif np.allclose(array, variance, rtol=1e-4):
                hint = "std(rg)^2 is a variance: take the square root of their sum"
        compare_array(case.name, "M", array, want, report, rtol=1e-4, atol=1e-3, hint=hint)
    return len(cases)


# ---------------------------------------------------------------------------- ex-fail-lsb


def _lsb_pairs():
    rng = np.random.default_rng(702)
    covers = rng.integers(0, 256, (2, 6, 8, 3), dtype=np.uint8)
    secrets = rng.integers(0, 256, (2, 6, 8, 3), dtype=np.uint8)
    # Values at the edges of the bins too: 0, 63, 64, 191, 192, 255.
    secrets[0, 0, :6, 0] = [0, 63, 64, 191, 192, 255]
    covers[0, 0, :6, 0] = [0, 3, 252, 255, 128, 1]
    return covers.astype(np.float32) / 255, secrets.astype(np.float32) / 255


@checker("ex-fail-lsb")
def ex_fail_lsb(student, lsb_reveal=None, *, report):
    """Check ``lsb_hide(cover, secret) -> container`` and ``lsb_reveal(container) -> secret``.

    Called as ``ex_fail_lsb(lsb_hide, lsb_reveal)``. The container keeps the top 6 bits
    of each cover value and holds the top 2 bits of the secret's value in its bottom 2
    bits; the reveal shifts those 2 bits back up and returns the middle of each of the
    4 bins (``(bits << 6) + 32``). Float images in ``[0, 1]`` in and out, on the 8-bit
    grid. The reveal is checked on a correct container, so that each function is
    judged on its own.
    """
    covers, secrets = _lsb_pairs()
    cover8, secret8 = data.to_uint8(covers), data.to_uint8(secrets)
    want8 = (cover8 & 0b11111100) | (secret8 >> 6)
    want_container = want8.astype(np.float64) / 255
    for single in (False, True):
        index = (0 if single else slice(None))
        what = "one pair (6, 8, 3)" if single else "a batch of two pairs (2, 6, 8, 3)"
        case = Case(f"lsb_hide on {what}", (covers[index].copy(), secrets[index].copy()))
        got = call_student(student, case, report)
        if missing(got):
            continue
        array = _result_array(case.name, got, "the container, float in [0, 1]",
                              "the container", report)
        if array is None:
            continue
        want = want_container[index]
        if array.shape != want.shape:
            report(f"{case.name}: the container has shape {array.shape}, expected "
                   f"{want.shape}, the cover's")
            continue
        if array.max() > 1.0 + 1e-6 and array.max() <= 255:
            report(f"{case.name}: the container has values up to {array.max():g}; "
                   "expected a float image in [0, 1]. Hint: data.to_float turns uint8 "
                   "back into floats")
            continue
        got8 = np.round(np.clip(array, 0, 1) * 255).astype(np.int64)
        if not np.allclose(array * 255, got8, atol=1e-3):
            report(f"{case.name}: the container is not on the 8-bit grid (a multiple of "
                   "1/255); it stands for a file")
            continue
        top = (got8 >> 2) != (cover8[index] >> 2)
        if np.any(top):
            report(f"{case.name}: the container changes the top 6 bits of the cover at "
                   f"{int(top.sum())} of {top.size} values; only the bottom 2 may change. "
                   "Hint: clear them with cover & 0b11111100, then | the secret's bits")
            continue
        low = got8 & 0b11
        if not np.array_equal(low, secret8[index] >> 6):
            hint = "the bottom 2 bits should hold the secret's top 2 bits, secret >> 6"
            if np.array_equal(low, secret8[index] & 0b11):
                hint = ("these are the secret's bottom 2 bits (secret & 0b11), which carry "
                        "almost nothing of the picture; hide its top 2 bits, secret >> 6")
            elif np.array_equal(low, (cover8[index] & 0b11) | (secret8[index] >> 6)):
                hint = ("the cover's own bottom 2 bits are still there, mixed with the "
                        "secret's: clear them first (cover & 0b11111100), then | "
                        "(secret >> 6)")
            elif np.array_equal(low, cover8[index] & 0b11):
                hint = "these are still the cover's own bits: nothing was hidden"
            bad = low != (secret8[index] >> 6)
            report(f"{case.name}: the container's bottom 2 bits are wrong at "
                   f"{int(bad.sum())} of {bad.size} values. Hint: {hint}")
    if lsb_reveal is None:
        report("lsb_reveal was not given: call exercises.ex_fail_lsb(lsb_hide, lsb_reveal)")
        return 3
    if not callable(lsb_reveal):
        report(f"expected your lsb_reveal function second, got {type(lsb_reveal).__name__}")
        return 3
    bits = want8 & 0b11
    want = ((bits.astype(np.int64) << 6) + 32) / 255
    case = Case("lsb_reveal on a correct container (2, 6, 8, 3)",
                (want_container.astype(np.float32),))
    got = call_student(lsb_reveal, case, report)
    if missing(got):
        return 3
    array = _result_array(case.name, got, "the revealed secret, float in [0, 1]",
                          "the revealed secret", report)
    if array is None:
        return 3
    hint = "(bits << 6) + 32, over 255: the middle of each of the 4 bins of 64 levels"
    if array.shape == want.shape:
        if np.allclose(array, (bits << 6) / 255, atol=1e-6):
            hint = ("these are the bottoms of the bins (bits << 6); the middle, + 32, "
                    "halves the largest error")
        elif np.allclose(array, bits / 255, atol=1e-6):
            hint = "the 2 bits must go back to the top: shift them up by 6 (bits << 6)"
        elif np.allclose(array, (bits << 6) + 32, atol=1e-3):
            hint = "these are levels 0-255; return a float image in [0, 1] (data.to_float)"
    compare_array(case.name, "the revealed secret", array, want, report, rtol=0, atol=1e-5,
                  hint=hint)
    return 3


# ------------------------------------------------------------------------ ex-fail-scramble


def _rows(image):
    return np.asarray(image, np.float64).reshape(-1, image.shape[-1])


def _sorted_rows(image):
    rows = _rows(image)
    return rows[np.lexsort(rows.T[::-1])]


@checker("ex-fail-scramble")
def ex_fail_scramble(student, unscramble_pixels=None, *, report):
    """Check ``scramble_pixels(image, key)`` and ``unscramble_pixels(image, key)``.

    Called as ``ex_fail_scramble(scramble_pixels, unscramble_pixels)`` on ``(H, W, 3)``
    images. Any permutation will do, but it must move whole pixels (the 3 values of a
    pixel stay together), move most of them, depend on the key alone (the same key
    gives the same order, on any image, so that a revealed secret, which is not the
    hidden one, can be unscrambled; another key another order), and
    ``unscramble_pixels`` must undo it exactly.
    """
    rng = np.random.default_rng(703)
    height, width = 6, 10
    image = rng.random((height, width, 3)).astype(np.float32)
    # The position of every pixel written into its first channel: reveals the order.
    positions = image.copy()
    positions[..., 0] = np.arange(height * width).reshape(height, width) / (height * width)
    other = rng.random((height, width, 3)).astype(np.float32)
    key = 2017
    checks = 0

    def scrambled(picture, k, what):
        case = Case(f"scramble_pixels({what}, key={k})", (picture.copy(), k))
        got = call_student(student, case, report)
        if missing(got):
            return None
        array = _result_array(case.name, got, f"an image of shape {picture.shape}",
                              "the result", report)
        if array is not None and array.shape != picture.shape:
            report(f"{case.name}: the result has shape {array.shape}, expected "
                   f"{picture.shape}, the image's")
            return None
        return array

    checks += 1
    first = scrambled(image, key, "a 6x10 image")
    if first is None:
        return checks
    if not np.allclose(_sorted_rows(first), _sorted_rows(image), atol=1e-7):
        if np.allclose(np.sort(first, axis=None), np.sort(image.astype(np.float64), axis=None),
                       atol=1e-7):
            report("scramble_pixels: the values are all there, but the three colours of a "
                   "pixel were separated. Hint: permute whole pixels: reshape to (H * W, "
                   "3), index the rows with the permutation, reshape back")
        else:
            report("scramble_pixels: the result is not a rearrangement of the image's "
                   "pixels (values were changed, lost or repeated). Hint: a permutation "
                   "of the H * W pixels, np.random.default_rng(key).permutation(H * W)")
        return checks
    checks += 1
    staying = np.all(np.isclose(_rows(first), _rows(image)), axis=1).mean()
    if staying > 0.5:
        report(f"scramble_pixels: {staying:.0%} of the pixels stay where they were; a "
               "scramble should move almost all of them")

    checks += 1
    again = scrambled(image, key, "the same image")
    if again is not None and not np.array_equal(again, first):
        report("scramble_pixels: the same image and the same key gave two different "
               "results. Hint: draw the permutation from np.random.default_rng(key), not "
               "from the global generator")
        return checks

    checks += 1
    order = scrambled(positions, key, "another 6x10 image")
    second = scrambled(other, key, "a third 6x10 image")
    if order is not None and second is not None:
        moved = np.rint(order[..., 0].ravel() * height * width).astype(int)
        if not (np.array_equal(np.sort(moved), np.arange(height * width))
                and np.allclose(_rows(first), _rows(image)[moved])
                and np.allclose(_rows(second), _rows(other)[moved])):
            report("scramble_pixels: the same key moved the pixels of different images "
                   "differently. The order must depend on the key alone: the receiver "
                   "unscrambles the revealed secret, which is not the image that was "
                   "scrambled")

    checks += 1
    different = scrambled(image, key + 1, "the first image")
    if different is not None and np.array_equal(different, first):
        report(f"scramble_pixels: keys {key} and {key + 1} give the same order; the key "
               "should choose the permutation")

    checks += 1
    if unscramble_pixels is None:
        report("unscramble_pixels was not given: call exercises.ex_fail_scramble("
               "scramble_pixels, unscramble_pixels)")
        return checks
    if not callable(unscramble_pixels):
        report("expected your unscramble_pixels function second, got "
               f"{type(unscramble_pixels).__name__}")
        return checks
    for picture, what in ((image, "the first image"), (other, "a third image")):
        mixed = scrambled(picture, key, what)
        if mixed is None:
            return checks
        case = Case(f"unscramble_pixels(scramble_pixels({what}, key={key}), key={key})",
                    (mixed.astype(np.float32), key))
        got = call_student(unscramble_pixels, case, report)
        if missing(got):
            continue
        array = _result_array(case.name, got, f"an image of shape {picture.shape}",
                              "the result", report)
        if array is None:
            continue
        if array.shape != picture.shape:
            report(f"{case.name}: the result has shape {array.shape}, expected "
                   f"{picture.shape}")
            continue
        if not np.allclose(array, picture, atol=1e-7):
            hint = ("put each pixel back where it came from: restored[order] = "
                    "scrambled, or scrambled[np.argsort(order)]")
            twice = scrambled(mixed.astype(np.float32), key, f"scramble_pixels({what})")
            if twice is not None and np.allclose(array, twice, atol=1e-7):
                hint = ("this applies the permutation a second time instead of its "
                        "inverse. P" + hint[1:])
            wrong = int((~np.all(np.isclose(array, picture, atol=1e-7), axis=-1)).sum())
            report(f"{case.name}: does not give the image back ({wrong} of "
                   f"{height * width} pixels are in the wrong place). Hint: {hint}")
            break
    return checks
