"""Checkers for chapter 3 (Designing the networks)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ._core import (Case, HintOnce, call_student, checker, compare_array, compare_scalar,
                    missing, returned_none)

__all__ = ["ex_nets_field", "ex_nets_flops", "ex_nets_s2d"]


def _as_int(value):
    """``value`` as an int if it is one number, else None."""
    try:
        number = float(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


# ------------------------------------------------------------------------- ex-nets-field


@checker("ex-nets-field")
def ex_nets_field(student, *, report):
    """Check ``receptive_field(kernels, factor=1) -> int``.

    The side of the square of input pixels that one output pixel depends on, for a stack
    of stride-1 convolutions with the given kernel sizes that runs after a
    space-to-depth step by ``factor``: ``(1 + sum(k - 1)) * factor``. Eight cases, from
    no convolution at all to the ``fast`` reveal network.
    """
    cases = [
        ("one 3x3 convolution", [3], 1),
        ("the seed prep network, five 3x3", [3] * 5, 1),
        ("the seed reveal network, six 5x5", [5] * 6, 1),
        ("the seed prep and hiding networks, five 3x3 then six 4x4", [3] * 5 + [4] * 6, 1),
        ("three 1x1 convolutions", (1, 1, 1), 1),
        ("no convolution at all", [], 1),
        ("the fast reveal network, seven 3x3 at half resolution", [3] * 7, 2),
        ("two 3x3 after space-to-depth by 4", [3, 3], 4),
    ]
    hint_once = HintOnce()
    for name, kernels, factor in cases:
        args = (list(kernels) if isinstance(kernels, list) else kernels,)
        kwargs = {} if factor == 1 else {"factor": factor}
        label = f"{name} (kernels={list(kernels)}" + (f", factor={factor})" if kwargs else ")")
        got = call_student(student, Case(label, args, kwargs), report)
        if missing(got):
            continue
        if returned_none(label, got, "one number, a side in pixels", report):
            break
        grid = 1 + sum(k - 1 for k in kernels)
        want = grid * factor
        value = _as_int(got)
        hint = ""
        if value is not None and value != want:
            if kernels and value == sum(kernels) * factor:
                hint = "each layer adds k - 1 pixels, not k (a 1x1 convolution adds none)"
            elif value == (grid - 1) * factor:
                hint = "start from 1: the output pixel itself, before any layer widens it"
            elif factor > 1 and value == grid:
                hint = ("after space-to-depth by factor, one step of the grid is factor "
                        "pixels of the image: multiply by factor")
            elif factor > 1 and value == (grid - 1) * factor + 1:
                hint = ("one position of the grid is a whole factor x factor block, so "
                        "the field covers whole blocks: (1 + sum(k - 1)) * factor")
        compare_scalar(label, "the receptive field", got, want, report, rtol=0, atol=0,
                       hint=hint_once(hint))
    return len(cases)


# ------------------------------------------------------------------------- ex-nets-flops


@checker("ex-nets-flops")
def ex_nets_flops(student, *, report):
    """Check ``conv_cost(height, width, kernel, c_in, c_out) -> (params, flops)``.

    One ``kernel`` x ``kernel`` convolution with stride 1, ``padding="same"`` and a bias,
    on a ``height`` x ``width`` image: ``k*k*c_in*c_out + c_out`` parameters and
    ``2*h*w*k*k*c_in*c_out`` FLOPs (a multiply and an add per weight per position;
    biases and activations left out, as ``models.count_flops`` does). Five cases.
    """
    cases = [(256, 256, 4, 53, 50), (8, 8, 3, 3, 50), (16, 12, 1, 65, 3),
             (32, 32, 5, 50, 50), (7, 9, 3, 12, 64)]
    hint_once = HintOnce()
    for height, width, kernel, c_in, c_out in cases:
        name = (f"a {kernel}x{kernel} convolution from {c_in} to {c_out} channels on "
                f"{height}x{width}")
        got = call_student(student, Case(name, (height, width, kernel, c_in, c_out)),
                           report)
        if missing(got):
            continue
        if returned_none(name, got, "a pair (params, flops)", report):
            break
        try:
            params, flops = got
        except (TypeError, ValueError):
            report(f"{name}: expected a pair (params, flops), got {type(got).__name__}"
                   f" ({got!r:.60}). The other cases were skipped")
            break
        weights = kernel * kernel * c_in * c_out
        want_params = weights + c_out
        want_flops = 2 * height * width * weights
        value = _as_int(params)
        hint = ""
        if value == weights and c_out:
            hint = "each of the c_out filters also has a bias"
        elif value == kernel * c_in * c_out + c_out:
            hint = "a k x k kernel has k * k weights for each pair of channels"
        hint = hint_once(hint)
        compare_scalar(name, "the parameter count", params, want_params, report, rtol=0,
                       atol=0, hint=hint)
        value = _as_int(flops)
        hint = ""
        if value == want_flops // 2:
            hint = "count two operations per weight per position, a multiply and an add"
        elif value == 2 * height * width * (weights + c_out):
            hint = "leave the bias additions out, as models.count_flops does"
        elif value == 2 * height * width * kernel * c_in * c_out:
            hint = "a k x k kernel has k * k weights for each pair of channels"
        elif value == 2 * weights:
            hint = "the kernel is applied at every one of the height x width positions"
        hint = hint_once(hint)
        compare_scalar(name, "the FLOP count", flops, want_flops, report, rtol=0, atol=0,
                       hint=hint)
    return len(cases)


# --------------------------------------------------------------------------- ex-nets-s2d


@checker("ex-nets-s2d")
def ex_nets_s2d(student, *, report):
    """Check ``space_to_depth(images, factor) -> array`` written with NumPy.

    ``images`` is ``(batch, height, width, channels)`` with height and width divisible by
    ``factor``; the answer must equal ``tf.nn.space_to_depth(images, factor)``: shape
    ``(batch, height / factor, width / factor, factor * factor * channels)``, the values
    of each block ordered by row in the block, then column, then channel. Four cases.
    """
    rng = np.random.default_rng(303)
    cases = [
        ("the 4x4 toy image of the chapter, factor 2",
         np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1), 2),
        ("a batch of 2 RGB images of 4x6, factor 2",
         rng.random((2, 4, 6, 3), dtype=np.float32), 2),
        ("a 6x6 image with 2 channels, factor 3", rng.random((1, 6, 6, 2), dtype=np.float32),
         3),
        ("factor 1 (nothing to rearrange)", rng.random((1, 2, 2, 3), dtype=np.float32), 1),
    ]
    hint_once = HintOnce()
    for name, images, factor in cases:
        got = call_student(student, Case(name, (images.copy(), factor)), report)
        if missing(got):
            continue
        if returned_none(name, got, "an array", report):
            break
        want = (images if factor == 1
                else tf.nn.space_to_depth(images, factor).numpy())
        try:
            array = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        hint = ""
        if array is not None and array.shape == want.shape and not np.allclose(array, want):
            if np.allclose(array, images.reshape(want.shape)):
                hint = ("a plain reshape mixes pixels from different blocks: split height "
                        "and width into (blocks, factor) first, move the two factor axes "
                        "next to the channels, then reshape")
            elif np.allclose(np.sort(array, axis=-1), np.sort(want, axis=-1)):
                hint = ("each output pixel holds the right values in the wrong order: "
                        "TensorFlow orders them by row in the block, then column, then "
                        "channel (transpose to batch, h/f, w/f, row, column, channel)")
        elif array is not None and array.shape != want.shape:
            report(f"{name}: the output has shape {array.shape}, expected "
                   f"{want.shape}: (batch, height / factor, width / factor, "
                   "factor * factor * channels)")
            continue
        hint = hint_once(hint)
        compare_array(name, "the output", got, want, report, rtol=0, atol=1e-6,
                      hint=hint)
    return len(cases)
