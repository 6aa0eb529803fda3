"""Checkers for chapter 6 (Autodiff against manual, dilated backprop)."""

from __future__ import annotations

from .. import backprop
from ._core import checker

__all__ = ["ex_backprop_conv"]


@checker("ex-backprop-conv")
def ex_backprop_conv(student, *, report):
    """Check ``conv_backward_loops(x, kernel, upstream) -> (dx, dkernel)``.

    The gradients of ``tf.nn.conv2d(x, kernel, strides=1, padding="SAME")`` with a 4x4
    kernel, on three small float64 cases, against automatic differentiation (the cases
    and messages of :func:`stegutils.backprop.check_conv_backprop`).
    """
    cases = len(backprop._conv_cases())
    try:
        backprop.check_conv_backprop(student)
    except AssertionError as error:
        report(str(error))
    return cases
