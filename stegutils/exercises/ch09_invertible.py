"""Checkers for chapter 9 (Beyond Baluja: invertible hiding)."""

from __future__ import annotations

import numpy as np

from ._core import (Case, HintOnce, call_student, checker, compare_array, float_array,
                    missing, returned_none)

__all__ = ["ex_inv_coupling", "ex_inv_haar"]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pair(case_name, got, what, report):
    """The reader's ``(first, second)`` result as two float64 arrays, or None after a report.

    A result of None (an unfinished function) is reported and stops the checker.
    """
    returned_none(case_name, got, what, report, stop=True)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        kind = type(got).__name__
        length = f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
        report(f"{case_name}: expected {what}, got a {kind}{length}")
        return None
    first = float_array(case_name, "the first result", got[0], report)
    second = float_array(case_name, "the second result", got[1], report)
    if first is None or second is None:
        return None
    return first, second


# -------------------------------------------------------------------------- ex-inv-coupling


def _subnet(rng, channels, scale):
    """A small smooth function of the channels (a 1x1 convolution and tanh): a stand-in
    for a coupling block's sub-network, cheap and deterministic."""
    weights = rng.normal(0.0, scale, (channels, channels))
    bias = rng.normal(0.0, scale, channels)

    def subnet(x):
        return np.tanh(np.asarray(x, np.float64) @ weights + bias)

    return subnet


def _forward(x1, x2, phi, rho, eta, clamp):
    """The book's coupling block, forward (written out again, independent of the library)."""
    y1 = x1 + phi(x2)
    log_scale = clamp * (2.0 * _sigmoid(rho(y1)) - 1.0)
    y2 = x2 * np.exp(log_scale) + eta(y1)
    return y1, y2


def _inverse(y1, y2, phi, rho, eta, clamp):
    log_scale = clamp * (2.0 * _sigmoid(rho(y1)) - 1.0)
    x2 = (y2 - eta(y1)) * np.exp(-log_scale)
    return y1 - phi(x2), x2


def _coupling_mistakes(y1, y2, phi, rho, eta, clamp):
    """What common wrong inverses return, with the hint each deserves."""
    log_scale = clamp * (2.0 * _sigmoid(rho(y1)) - 1.0)
    right_x2 = (y2 - eta(y1)) * np.exp(-log_scale)
    mistakes = []
    # The cover stream undone first, from the *updated* secret stream.
    early_x1 = y1 - phi(y2)
    early_scale = clamp * (2.0 * _sigmoid(rho(early_x1)) - 1.0)
    mistakes.append(((early_x1, (y2 - eta(early_x1)) * np.exp(-early_scale)),
                     "undo the updates in the reverse order: x2 was updated last, from the "
                     "new x1 (which is y1), so recover x2 first, then x1 = y1 - phi(x2)"))
    flipped = (y2 - eta(y1)) * np.exp(log_scale)
    mistakes.append(((y1 - phi(flipped), flipped),
                     "the forward pass multiplied by exp(s); undo it by multiplying by "
                     "exp(-s)"))
    mistakes.append(((y1 - phi(y2 * np.exp(-log_scale) - eta(y1)),
                      y2 * np.exp(-log_scale) - eta(y1)),
                     "eta was added after the scaling, so subtract it before you undo the "
                     "scaling: (y2 - eta(y1)) * exp(-s)"))
    unclamped = -(2.0 * _sigmoid(rho(y1)) - 1.0)
    plain = (y2 - eta(y1)) * np.exp(unclamped)
    mistakes.append(((y1 - phi(plain), plain),
                     "the log-scale is clamp * (2 sigmoid(rho(y1)) - 1): multiply by clamp"))
    raw = (y2 - eta(y1)) * np.exp(-rho(y1))
    mistakes.append(((y1 - phi(raw), raw),
                     "the log-scale is not rho(y1) itself but clamp * (2 sigmoid(rho(y1)) - "
                     "1), which keeps every scale within exp(-clamp) to exp(clamp)"))
    mistakes.append(((y1 + phi(right_x2), right_x2),
                     "the forward pass added phi(x2) to x1, so subtract it: x1 = y1 - phi(x2)"))
    return mistakes


def _coupling_cases():
    cases = []
    for index, (shape, clamp, scale) in enumerate([((2, 4, 5, 12), 2.0, 0.4),
                                                   ((1, 3, 3, 12), 0.5, 0.8),
                                                   ((3, 2, 6, 4), 1.5, 1.2)]):
        rng = np.random.default_rng(900 + index)
        channels = shape[-1]
        phi, rho, eta = (_subnet(rng, channels, scale) for _ in range(3))
        x1 = rng.random(shape)
        x2 = rng.normal(0.0, 0.5, shape)
        y1, y2 = _forward(x1, x2, phi, rho, eta, clamp)
        name = (f"case {index + 1}: a block on {shape} bands, clamp {clamp:g}, random "
                "sub-networks")
        cases.append((Case(name, (y1, y2, phi, rho, eta), {"clamp": clamp}), (x1, x2)))
    return cases


@checker("ex-inv-coupling")
def ex_inv_coupling(student, *, report):
    """Check ``coupling_inverse(y1, y2, phi, rho, eta, clamp) -> (x1, x2)``.

    The block's forward pass is ``y1 = x1 + phi(x2)``, then
    ``y2 = x2 * exp(clamp * (2 sigmoid(rho(y1)) - 1)) + eta(y1)``; the inverse must give
    back ``x1`` and ``x2`` to float round-off. The sub-networks are random smooth
    functions of the channels (NumPy in, NumPy out), on three shapes and three clamps.
    A wrong answer is compared with the usual mistakes (the wrong order, the wrong sign
    of the scale, eta subtracted after the scaling, the clamp left out).
    """
    cases = _coupling_cases()
    hint_once = HintOnce()
    for case, (x1, x2) in cases:
        y1, y2, phi, rho, eta = case.args
        clamp = case.kwargs["clamp"]
        copies = Case(case.name, (y1.copy(), y2.copy(), phi, rho, eta), dict(case.kwargs))
        got = call_student(student, copies, report)
        if missing(got):
            continue
        pair = _pair(case.name, got, "the pair (x1, x2)", report)
        if pair is None:
            continue
        got_x1, got_x2 = pair
        if got_x1.shape != x1.shape or got_x2.shape != x2.shape:
            report(f"{case.name}: x1 and x2 have shapes {got_x1.shape} and {got_x2.shape}, "
                   f"expected {x1.shape} for both (the shapes of y1 and y2)")
            continue
        hint = ""
        right = (np.allclose(got_x1, x1, rtol=1e-5, atol=1e-6)
                 and np.allclose(got_x2, x2, rtol=1e-5, atol=1e-6))
        for (wrong_x1, wrong_x2), words in ([] if right else
                                            _coupling_mistakes(y1, y2, phi, rho, eta, clamp)):
            if (np.allclose(got_x1, wrong_x1, rtol=1e-5, atol=1e-6)
                    and np.allclose(got_x2, wrong_x2, rtol=1e-5, atol=1e-6)):
                hint = hint_once(words)
                break
        if compare_array(case.name, "x2", got_x2, x2, report, rtol=1e-5, atol=1e-6,
                         hint=hint):
            compare_array(case.name, "x1", got_x1, x1, report, rtol=1e-5, atol=1e-6,
                          hint=hint)
    return len(cases)


# ----------------------------------------------------------------------------- ex-inv-haar


def _haar_loops(images):
    """The four sub-bands from their definition, block by block (band-major channels)."""
    images = np.asarray(images, np.float64)
    batch, height, width, channels = images.shape
    bands = np.zeros((batch, height // 2, width // 2, 4 * channels))
    c = channels
    for i in range(height // 2):
        for j in range(width // 2):
            a = images[:, 2 * i, 2 * j]            # top left
            b = images[:, 2 * i, 2 * j + 1]        # top right
            cc = images[:, 2 * i + 1, 2 * j]       # bottom left
            d = images[:, 2 * i + 1, 2 * j + 1]    # bottom right
            bands[:, i, j, 0:c] = (a + b + cc + d) / 2          # LL
            bands[:, i, j, c:2 * c] = (b + d - a - cc) / 2       # HL: right - left
            bands[:, i, j, 2 * c:3 * c] = (cc + d - a - b) / 2   # LH: bottom - top
            bands[:, i, j, 3 * c:] = (a + d - b - cc) / 2        # HH: the diagonal
    return bands


def _haar_mistakes(images, channels):
    """Wrong sub-bands a reader may compute, each with its hint."""
    right = _haar_loops(images)
    split = [right[..., k * channels:(k + 1) * channels] for k in range(4)]
    ll, hl, lh, hh = split
    mistakes = [
        (right / 2, "these are block averages (divided by 4); the orthonormal transform "
                    "divides by 2, so that it keeps the sum of squares and its transpose "
                    "inverts it"),
        (right * 2, "the sums and differences of the four pixels must be halved"),
        (np.concatenate([ll, lh, hl, hh], axis=-1),
         "HL and LH are swapped: HL is the right column minus the left one (a horizontal "
         "change, so vertical edges), LH the bottom row minus the top one"),
        (np.concatenate([ll, -hl, -lh, hh], axis=-1),
         "the signs of HL and LH are flipped: right minus left, bottom minus top"),
        (np.stack(split, axis=-1).reshape(right.shape),
         "the channels are in colour-major order; the book keeps each band's colours "
         "together: [LL r, LL g, LL b, HL r, ...], bands[..., b * C + c]"),
    ]
    return mistakes


def _haar_cases():
    rng = np.random.default_rng(909)
    photos = rng.random((2, 6, 8, 3))
    flat = np.full((1, 4, 4, 3), 0.25)
    grey = rng.random((1, 4, 6, 1))
    return [Case("two random images (2, 6, 8, 3)", (photos,)),
            Case("a flat image of 0.25 (1, 4, 4, 3)", (flat,)),
            Case("one single-channel image (1, 4, 6, 1)", (grey,))]


@checker("ex-inv-haar")
def ex_inv_haar(student, haar_iwt=None, *, report):
    """Check ``haar_dwt(images) -> bands`` and ``haar_iwt(bands) -> images``.

    Called as ``ex_inv_haar(haar_dwt, haar_iwt)``. ``haar_dwt`` takes ``(batch, height,
    width, C)`` (height and width even) and returns ``(batch, height / 2, width / 2,
    4 C)``: the orthonormal Haar sub-bands LL, HL, LH and HH, each ``C`` channels wide,
    in that order; ``haar_iwt`` undoes it. Each function is checked on its own, against
    sub-bands computed block by block here: ``haar_iwt`` gets correct bands, and must
    give the images back exactly (to float round-off).
    """
    cases = _haar_cases()
    hint_once = HintOnce()
    for case in cases:
        images = case.args[0]
        channels = images.shape[-1]
        want = _haar_loops(images)
        got = call_student(student, Case(f"haar_dwt on {case.name}", (images.copy(),)),
                           report)
        if missing(got):
            continue
        name = f"haar_dwt on {case.name}"
        returned_none(name, got, f"the sub-bands, an array of shape {want.shape}", report,
                      stop=True)
        array = float_array(name, "the sub-bands", got, report)
        if array is None:
            continue
        if array.shape != want.shape:
            hint = ""
            if array.shape[:3] == want.shape[:3] and array.shape[-1] == channels:
                hint = (". Hint: all four sub-bands go side by side in the last axis, "
                        "4 C channels")
            elif array.shape[1:3] == images.shape[1:3]:
                hint = ". Hint: the sub-bands are at half the height and width"
            report(f"{name}: the sub-bands have shape {array.shape}, expected "
                   f"{want.shape}{hint_once(hint)}")
            continue
        hint = ""
        right = np.allclose(array, want, rtol=1e-5, atol=1e-6)
        for wrong, words in ([] if right else _haar_mistakes(images, channels)):
            if np.allclose(array, wrong, atol=1e-6):
                hint = hint_once(words)
                break
        compare_array(name, "the output", array, want, report, rtol=1e-5, atol=1e-6,
                      hint=hint)
    if haar_iwt is None:
        report("haar_iwt was not given: call exercises.ex_inv_haar(haar_dwt, haar_iwt)")
        return len(cases) + 1
    if not callable(haar_iwt):
        report(f"expected your haar_iwt function second, got {type(haar_iwt).__name__}")
        return len(cases) + 1
    for case in cases:
        images = case.args[0]
        bands = _haar_loops(images)
        name = f"haar_iwt on the sub-bands of {case.name}"
        got = call_student(haar_iwt, Case(name, (bands.copy(),)), report)
        if missing(got):
            continue
        returned_none(name, got, f"the images, an array of shape {images.shape}", report,
                      stop=True)
        hint = ("each pixel is a signed half-sum of the four bands at its block, with the "
                "signs of its column of the analysis matrix (the transpose inverts an "
                "orthonormal matrix)")
        array = float_array(name, "the images", got, report)
        if array is None:
            continue
        if array.shape == images.shape and np.allclose(array, images / 2, atol=1e-6):
            hint = "the images come back halved: the synthesis halves only once"
        elif array.shape == images.shape and np.allclose(array, images * 2, atol=1e-6):
            hint = ("the images come back doubled: the synthesis also divides by 2 (the "
                    "transform is orthonormal both ways)")
        if not (array.shape == images.shape and np.allclose(array, images, atol=1e-6)):
            hint = hint_once(hint)
        compare_array(name, "the output", array, images, report, rtol=1e-5, atol=1e-6,
                      hint=hint)
    return 2 * len(cases)
