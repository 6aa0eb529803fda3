"""Checkers for chapter 10 (Surviving the channel)."""

from __future__ import annotations

import numpy as np

from ._core import (Case, HintOnce, call_student, checker, compare_array, float_array,
                    missing, returned_none)

__all__ = ["ex_channel_dct", "ex_channel_qtable"]


# ----------------------------------------------------------------------------- ex-channel-dct

# Pixels and coefficients are in the hundreds: float32 arithmetic (a reader's matrix in
# float32, or the library's) is within these, every mistake far outside.
_TOL = {"rtol": 1e-5, "atol": 1e-4}


def _dct_by_the_formula(blocks):
    """The JPEG standard's forward DCT (ITU T.81, A.3.3), summed term by term.

    ``F(u, v) = 1/4 C(u) C(v) sum_x sum_y f(x, y) cos((2x + 1) u pi / 16)
    cos((2y + 1) v pi / 16)`` with ``C(0) = 1 / sqrt(2)`` and ``C(k) = 1`` otherwise;
    ``x`` and ``u`` index rows. No matrix: an independent reference for the reader's.
    """
    blocks = np.asarray(blocks, np.float64)
    out = np.zeros(blocks.shape)
    index = np.arange(8)
    for u in range(8):
        for v in range(8):
            basis = np.outer(np.cos((2 * index + 1) * u * np.pi / 16),
                             np.cos((2 * index + 1) * v * np.pi / 16))
            scale = 0.25 * (1 / np.sqrt(2) if u == 0 else 1.0) * (1 / np.sqrt(2) if v == 0 else 1.0)
            out[..., u, v] = scale * np.sum(blocks * basis, axis=(-2, -1))
    return out


def _matrix(*, first_row=True, normalised=True, half_angle=True):
    """The DCT matrix, or one of the wrong ones a reader may build."""
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    angle = (2 * n + 1) * k * np.pi / (16 if half_angle else 8)
    matrix = np.cos(angle)
    if normalised:
        matrix = matrix * np.sqrt(2 / 8)
        if first_row:
            matrix[0] /= np.sqrt(2)
    return matrix


def _dct_mistakes(blocks):
    """Wrong coefficients a reader may compute, each with its hint."""
    blocks = np.asarray(blocks, np.float64)
    d = _matrix()
    no_half = _matrix(first_row=False)
    plain = _matrix(normalised=False)
    wrong_angle = _matrix(half_angle=False)
    return [
        (d.T @ blocks @ d,
         "the matrix is transposed: the rows of D are the basis functions (row k is "
         "frequency k), so the coefficients are D X D^T; D^T X D is the inverse"),
        (no_half @ blocks @ no_half.T,
         "the first row (k = 0, the block's mean) needs a(0) = sqrt(1/N), not sqrt(2/N): "
         "divide row 0 by sqrt(2), or D is not orthonormal and the DC coefficients come "
         "out too large"),
        (plain @ blocks @ plain.T,
         "the matrix is not normalised: scale row k by a(k), sqrt(1/N) for k = 0 and "
         "sqrt(2/N) otherwise, so that its rows have length one"),
        (d @ blocks,
         "only the columns were transformed: the 2-D DCT transforms the rows too, "
         "D X D^T"),
        (blocks @ d.T,
         "only the rows were transformed: the 2-D DCT transforms the columns too, "
         "D X D^T"),
        (wrong_angle @ blocks @ wrong_angle.T,
         "the angle is (2n + 1) k pi / (2N), with 2N = 16 for 8x8 blocks"),
    ]


def _dct_cases():
    rng = np.random.default_rng(1010)
    index = np.arange(8)
    one_basis = np.outer(np.cos((2 * index + 1) * 2 * np.pi / 16),
                         np.cos((2 * index + 1) * 3 * np.pi / 16)) * 40.0
    return [
        Case("three random blocks (3, 8, 8) of level-shifted pixels",
             (rng.integers(-128, 128, (3, 8, 8)).astype(np.float64),)),
        Case("a flat block of 100 (1, 8, 8)", (np.full((1, 8, 8), 100.0),)),
        Case("one block (8, 8) that is a single basis pattern (u = 2, v = 3)",
             (one_basis,)),
        Case("a (2, 4, 8, 8) batch of blocks", (rng.normal(0.0, 40.0, (2, 4, 8, 8)),)),
    ]


def _constant_factor(got, want):
    """The factor ``got / want`` if one factor (not 1) fits every entry, else None."""
    scale = np.abs(want).max()
    if scale == 0 or got.shape != want.shape:
        return None
    big = np.abs(want) > 1e-3 * scale
    ratios = got[big] / want[big]
    factor = float(np.median(ratios))
    if abs(factor - 1) < 1e-3 or not np.allclose(got, factor * want, rtol=1e-4,
                                                 atol=1e-6 * scale):
        return None
    return factor


@checker("ex-channel-dct")
def ex_channel_dct(student, idct2=None, *, report):
    """Check ``dct2(blocks) -> coefficients`` and ``idct2(coefficients) -> blocks``.

    Called as ``ex_channel_dct(dct2, idct2)``. ``dct2`` takes blocks of shape ``(..., 8,
    8)`` (any number of batch axes, none included) and returns the orthonormal 2-D DCT
    of every block, ``D X D^T`` with the JPEG standard's DCT matrix ``D``; ``idct2``
    undoes it. Both are compared with the standard's formula summed term by term here
    (no matrix); ``idct2`` gets correct coefficients and must give the blocks back. A
    wrong answer is compared with the usual mistakes (a transposed matrix, the first
    row without its ``sqrt(1/2)``, no normalisation, one direction only, a wrong angle).
    """
    cases = _dct_cases()
    hint_once = HintOnce()
    for case in cases:
        blocks = case.args[0]
        want = _dct_by_the_formula(blocks)
        name = f"dct2 on {case.name}"
        got = call_student(student, Case(name, (blocks.copy(),)), report)
        if missing(got):
            continue
        returned_none(name, got, f"the coefficients, an array of shape {want.shape}",
                      report, stop=True)
        array = float_array(name, "the coefficients", got, report)
        if array is None:
            continue
        if array.shape != want.shape:
            hint = ""
            if array.size == want.size:
                hint = (". Hint: keep the blocks' shape, (..., 8, 8): coefficient (u, v) "
                        "of a block sits where its pixel (u, v) was")
            report(f"{name}: the coefficients have shape {array.shape}, expected "
                   f"{want.shape}{hint_once(hint)}")
            continue
        hint = ""
        if not np.allclose(array, want, **_TOL):
            for wrong, words in _dct_mistakes(blocks):
                if np.allclose(array, wrong, **_TOL):
                    hint = hint_once(words)
                    break
            else:
                factor = _constant_factor(array, want)
                if factor is not None:
                    hint = hint_once(f"every coefficient is {factor:.4g} times the right "
                                     "one: the orthonormal DCT scales row k of D by a(k) "
                                     "(sqrt(1/N) for k = 0, sqrt(2/N) otherwise) and "
                                     "nothing else")
        compare_array(name, "the output", array, want, report, **_TOL,
                      hint=hint)
    if idct2 is None:
        report("idct2 was not given: call exercises.ex_channel_dct(dct2, idct2)")
        return len(cases) + 1
    if not callable(idct2):
        report(f"expected your idct2 function second, got {type(idct2).__name__}")
        return len(cases) + 1
    d = _matrix()
    for case in cases:
        blocks = case.args[0]
        coefficients = _dct_by_the_formula(blocks)
        name = f"idct2 on the coefficients of {case.name}"
        got = call_student(idct2, Case(name, (coefficients.copy(),)), report)
        if missing(got):
            continue
        returned_none(name, got, f"the blocks, an array of shape {blocks.shape}", report,
                      stop=True)
        array = float_array(name, "the blocks", got, report)
        if array is None:
            continue
        hint = ""
        if array.shape == blocks.shape and not np.allclose(array, blocks, **_TOL):
            no_half = _matrix(first_row=False)
            if np.allclose(array, d @ coefficients @ d.T, **_TOL):
                hint = ("that is D C D^T, the forward DCT again (or D is transposed): D is "
                        "orthonormal, so its inverse is its transpose and the blocks are "
                        "D^T C D")
            elif np.allclose(array, blocks.swapaxes(-1, -2), **_TOL):
                hint = "the blocks come back transposed: D^T C D, in that order"
            elif np.allclose(array, no_half.T @ coefficients @ no_half, **_TOL):
                hint = ("the first row of D (k = 0) needs a(0) = sqrt(1/N), not sqrt(2/N): "
                        "divide it by sqrt(2)")
            else:
                factor = _constant_factor(array, blocks)
                if factor is not None:
                    hint = (f"the blocks come back {factor:.4g} times what they should be: "
                            "with an orthonormal D the inverse needs no extra factor")
            hint = hint_once(hint) if hint else ""
        compare_array(name, "the output", array, blocks, report, **_TOL,
                      hint=hint)
    return 2 * len(cases)


# -------------------------------------------------------------------------- ex-channel-qtable

#: The JPEG standard's tables (ITU T.81, Annex K.1 and K.2), natural order, typed here
#: again so that the checker does not depend on the library's copy.
_LUMA = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=np.int64)
_CHROMA = np.full((8, 8), 99, dtype=np.int64)
_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]

QUALITIES = (1, 5, 10, 30, 45, 49, 50, 51, 75, 100)


def _libjpeg_scale(quality):
    # jpeg_quality_scaling in libjpeg's jcparam.c, in C's integer arithmetic.
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def _libjpeg_table(quality, chroma):
    # jpeg_add_quant_table: (base * scale + 50) / 100 in integers, then 1..255 (baseline).
    base = _CHROMA if chroma else _LUMA
    return np.clip((base * _libjpeg_scale(quality) + 50) // 100, 1, 255)


def _qtable_mistakes(quality, chroma):
    """Wrong tables a reader may compute, each with its hint (first match wins)."""
    base = (_CHROMA if chroma else _LUMA).astype(np.float64)
    scale = _libjpeg_scale(quality)
    exact = base * scale / 100

    def clip(table):
        return np.clip(table, 1, 255)

    mistakes = []
    if chroma:
        mistakes.append((_libjpeg_table(quality, False),
                         "this is the luminance table: chroma=True scales the chrominance "
                         "table (Annex K.2, mostly 99), which quantises colour more coarsely"))
    mistakes += [
        (clip(np.floor((base * (5000 / quality if quality < 50 else 200 - 2 * quality)
                        + 50) / 100)),
         "below quality 50 libjpeg computes the scale 5000 / quality in integer arithmetic "
         "(5000 // q in Python): 5000 / 30 is 166, not 166.67"),
        (clip(np.floor((base * (200 - 2 * quality) + 50) / 100)),
         "below quality 50 the scale is 5000 / quality percent, not 200 - 2 quality"),
        (clip(np.floor((base * (5000 // quality) + 50) / 100)),
         "from quality 50 on the scale is 200 - 2 quality percent (5000 / quality is only "
         "for qualities below 50)"),
        # No clip shows at one end at a time (large steps at low qualities, zeros at 100).
        (np.clip(np.floor((base * scale + 50) / 100), 1, None),
         "a baseline JPEG stores 8-bit steps: clip the entries to at most 255"),
        (np.clip(np.floor((base * scale + 50) / 100), None, 255),
         "no step may be 0 (the decoder multiplies by it, the encoder divides by it): clip "
         "the entries to at least 1, so that quality 100 gives all ones"),
        (clip(np.floor(exact)),
         "libjpeg rounds to the nearest integer, (base * scale + 50) // 100; a plain floor "
         "(or int()) of base * scale / 100 rounds down"),
        (clip(np.round(exact)),
         "np.round rounds halves to the even integer (2.5 to 2); libjpeg adds 50 and "
         "divides with integer division, so halves go up: (base * scale + 50) // 100"),
        (clip(np.ceil(exact)),
         "libjpeg rounds to the nearest integer, (base * scale + 50) // 100, not up"),
        (clip(exact),
         "the table holds integers: round each scaled entry, (base * scale + 50) // 100"),
        (clip(np.floor((base * scale + 50) / 100) * 100),
         "the scale is a percentage: divide by 100 after multiplying"),
        (clip(np.floor(base * scale + 0.5)),
         "the scale is a percentage: (base * scale + 50) // 100"),
    ]
    return mistakes


@checker("ex-channel-qtable")
def ex_channel_qtable(student, *, report):
    """Check ``quality_table(quality, chroma=False) -> (8, 8) table``.

    The table a JPEG encoder (libjpeg, and so Pillow) writes at an integer ``quality``
    from 1 to 100: the standard luminance table (or, with ``chroma=True``, the
    chrominance one) scaled by ``5000 // quality`` percent below quality 50 and by
    ``200 - 2 quality`` from 50 on, each entry ``(base * scale + 50) // 100``, kept in
    ``[1, 255]``. Compared, for ten qualities and both tables, with libjpeg's integer
    arithmetic written out here; a wrong table is compared with the usual mistakes (no
    or the wrong rounding, no clip, the wrong branch below 50, the wrong table).
    """
    hint_once = HintOnce()
    for quality in QUALITIES:
        for chroma in (False, True):
            which = "chrominance" if chroma else "luminance"
            name = f"quality {quality}, the {which} table"
            want = _libjpeg_table(quality, chroma)
            got = call_student(student, Case(name, (quality,), {"chroma": chroma}), report)
            if missing(got):
                break
            returned_none(name, got, "an (8, 8) table of integers", report, stop=True)
            array = float_array(name, "the table", got, report)
            if array is None:
                break
            if array.shape != (8, 8):
                report(f"{name}: the table has shape {array.shape}, expected (8, 8)")
                break
            hint = ""
            if not np.array_equal(array, want):
                for wrong, words in _qtable_mistakes(quality, chroma):
                    if wrong.shape == array.shape and np.allclose(array, wrong, atol=1e-9):
                        hint = hint_once(words)
                        break
            if not compare_array(name, "the table", array, want, report, rtol=0.0,
                                 atol=1e-9, hint=hint):
                break  # one problem per quality: the chrominance table waits its turn
    return len(QUALITIES)
