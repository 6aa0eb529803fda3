"""Checkers for chapter 6 (Autodiff against manual, dilated backprop)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import backprop
from ._core import Case, call_student, checker, compare_array, float_array, missing

__all__ = ["ex_backprop_conv", "ex_backprop_relu_layer", "ex_backprop_dilated"]


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


def _as_array(case, name, value, report):
    """``value`` as a float64 array, or None after a report."""
    if value is None:
        report(f"{case}: {name} is None (is the function finished?)")
        return None
    return float_array(case, name, value, report)


def _compare(case, name, array, want, report, *, hint=""):
    """compare_array, with the hint also for a wrong shape."""
    if array.shape != want.shape:
        report(f"{case}: {name} has shape {array.shape}, expected {want.shape}"
               + (f". Hint: {hint}" if hint else ""))
        return False
    return compare_array(case, name, array, want, report, rtol=1e-5, atol=1e-9, hint=hint)


def _unpack(case, got, names, report):
    """The reader's tuple of results, checked for length; None after a report.

    A result of None (an unfinished function) is reported and stops the checker.
    """
    if got is None:
        report(f"{case}: your function returned None; expected ({', '.join(names)}). Is it "
               "finished? The other cases were skipped", stop=True)
    count = len(names)
    if not (isinstance(got, (tuple, list)) and len(got) == count):
        length = f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
        report(f"{case}: your function must return {count} values ({', '.join(names)}), "
               f"got {type(got).__name__}{length}")
        return None
    return got


# -------------------------------------------------------------------- ex-backprop-relu-layer


def _relu_layer_cases():
    rng = np.random.default_rng(61)
    shapes = [((1, 5, 5, 2), 4, 3), ((2, 6, 7, 3), 4, 4), ((2, 5, 4, 3), 3, 2)]
    cases = []
    for x_shape, k, out in shapes:
        x = rng.standard_normal(x_shape)
        kernel = rng.standard_normal((k, k, x_shape[-1], out)) / k
        # Biases around 0, so that about half the units are inactive.
        bias = 0.5 * rng.standard_normal(out)
        upstream = rng.standard_normal(x_shape[:3] + (out,))
        name = (f"x {x_shape}, kernel {(k, k, x_shape[-1], out)}, bias ({out},), "
                f"upstream {x_shape[:3] + (out,)}")
        cases.append(Case(name, tuple(tf.constant(a) for a in (x, kernel, bias, upstream))))
    return cases


def _relu_layer_reference(x, kernel, bias, upstream):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel, bias])
        y = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias)
        inner = tf.reduce_sum(y * upstream)
    return [g.numpy() for g in tape.gradient(inner, [x, kernel, bias])], y.numpy()


@checker("ex-backprop-relu-layer")
def ex_backprop_relu_layer(student, *, report):
    """Check ``relu_conv_backward(x, kernel, bias, upstream) -> (dx, dkernel, dbias)``.

    The gradients of ``sum(upstream * relu(conv2d(x, kernel, "SAME") + bias))``, on
    three float64 cases (4x4 and 3x3 kernels, about half the units inactive), against
    automatic differentiation; hints for a missing ReLU mask, a mask on the wrong
    tensor, and a bias gradient that is averaged or not summed over every pixel.
    """
    cases = _relu_layer_cases()
    for case in cases:
        x, kernel, bias, upstream = case.args
        got = call_student(student, case, report)
        if missing(got):
            continue
        got = _unpack(case.name, got, ("dx", "dkernel", "dbias"), report)
        if got is None:
            continue
        (dx, dkernel, dbias), y = _relu_layer_reference(x, kernel, bias, upstream)
        active = y > 0
        grad_z = np.where(active, upstream.numpy(), 0.0)
        # What the usual mistakes give: no mask, or a mask from the upstream gradient.
        wrong = {}
        for mistake, g in (("no mask", upstream.numpy()),
                           ("mask from upstream", np.maximum(upstream.numpy(), 0.0))):
            wrong_dx, wrong_dkernel = backprop.conv_backward(x, kernel, tf.constant(g))
            wrong[mistake] = {"dx": wrong_dx.numpy(), "dkernel": wrong_dkernel.numpy(),
                              "dbias": g.sum(axis=(0, 1, 2))}
        mistakes = {
            "no mask": "the ReLU passes the gradient only where its output is positive: "
                       "first dL/dz = upstream * (y > 0), then the bias and convolution "
                       "rules use dL/dz",
            "mask from upstream": "the mask comes from the ReLU's output (y > 0), not "
                                  "from the sign of the upstream gradient",
        }
        for name, value, want in (("dx", got[0], dx), ("dkernel", got[1], dkernel),
                                  ("dbias", got[2], dbias)):
            array = _as_array(case.name, name, value, report)
            if array is None:
                break
            hint = ""
            for mistake, text in mistakes.items():
                if array.shape == want.shape and np.allclose(array, wrong[mistake][name],
                                                             rtol=1e-6, atol=1e-10):
                    hint = text
            if name == "dbias" and not hint:
                if array.shape == want.shape and np.allclose(
                        array, grad_z.mean(axis=(0, 1, 2)), rtol=1e-6):
                    hint = ("b was added at every pixel of every image, so its gradient "
                            "is the sum of dL/dz over batch, height and width, not the mean")
                elif array.shape != want.shape:
                    hint = ("sum dL/dz over batch, height and width (axes 0, 1, 2): the "
                            "bias gradient has one value per output channel")
            if array.shape != want.shape and not hint:
                hint = f"the gradient of {name[1:]} has {name[1:]}'s shape"
            if not _compare(case.name, name, array, want, report, hint=hint):
                break  # one problem per case: the others usually share its cause
    return len(cases)


# ----------------------------------------------------------------------- ex-backprop-dilated


def _layer(rng, name, k, c_in, c_out, relu):
    kernel = rng.standard_normal((k, k, c_in, c_out)) / (k * np.sqrt(c_in))
    # Positive biases keep most units active, so the skips carry something everywhere.
    bias = 0.2 + 0.1 * rng.standard_normal(c_out)
    return backprop.ConvLayer(name, tf.constant(kernel), tf.constant(bias), relu)


def _dilated_cases():
    rng = np.random.default_rng(62)
    widths = {
        "a network 3 -> 4 -> 4 -> 4 -> 3 channels (ReLU layers of width 4, then an "
        "output convolution)": [(3, 4, True), (4, 4, True), (4, 4, True), (4, 3, False)],
        "a network 3 -> 5 -> 5 -> 6 -> 3 channels (the third layer changes the width)":
            [(3, 5, True), (5, 5, True), (5, 6, True), (6, 3, False)],
        "a network 6 -> 6 -> 3 channels (the first layer's input is as wide as its "
        "output, but is no ReLU layer's output)": [(6, 6, True), (6, 3, False)],
    }
    cases = []
    for number, (what, spec) in enumerate(widths.items()):
        layers = [_layer(rng, f"conv{i + 1}", 3, c_in, c_out, relu)
                  for i, (c_in, c_out, relu) in enumerate(spec)]
        x = tf.constant(rng.uniform(0.0, 1.0, (1, 5, 6, spec[0][0])))
        upstream = tf.constant(rng.standard_normal((1, 5, 6, spec[-1][1])))
        activations = backprop.network_forward(layers, x)
        cases.append(Case(what, (layers, activations, upstream)))
    return cases


def _dilated_reference(layers, x, upstream, *, dilated=True):
    """Autodiff of the network whose skip layers compute f(a) + (a - stop_gradient(a)).

    The same numbers forward; backward, each such layer adds the gradient at its
    output to the gradient it sends back: the dilated rule, independent of
    :func:`stegutils.backprop.network_backward`.
    """
    watched = [x] + [t for layer in layers for t in (layer.kernel, layer.bias)]
    with tf.GradientTape() as tape:
        tape.watch(watched)
        a = x
        for index, layer in enumerate(layers):
            out = tf.nn.conv2d(a, layer.kernel, strides=1, padding="SAME") + layer.bias
            if layer.relu:
                out = tf.nn.relu(out)
            skip = (index >= 1 and layer.relu and layers[index - 1].relu
                    and layer.kernel.shape[-2] == layer.kernel.shape[-1])
            if dilated and skip:
                out = out + (a - tf.stop_gradient(a))
            a = out
        inner = tf.reduce_sum(a * upstream)
    grads = [g.numpy() for g in tape.gradient(inner, watched)]
    return [(grads[1 + 2 * i], grads[2 + 2 * i]) for i in range(len(layers))], grads[0]


@checker("ex-backprop-dilated")
def ex_backprop_dilated(student, *, report):
    """Check ``dilated_backward(layers, activations, upstream) -> (grads, input_grad)``.

    ``grads`` is one ``(dkernel, dbias)`` pair per layer, in forward order, and
    ``input_grad`` the gradient at the network's input, under the dilated rule: every
    ReLU layer whose input is the output of the previous ReLU layer, of the same width,
    sends back the chain-rule step plus the gradient at its own output. The reference is
    automatic differentiation of a network whose skip layers compute
    ``f(a) + (a - stop_gradient(a))``. Three small networks: one with skips at layers 2
    and 3, one whose third layer changes the width (no skip there), one whose first
    layer is as wide as its input (no skip either).
    """
    cases = _dilated_cases()
    for case in cases:
        layers, activations, upstream = case.args
        got = call_student(student, case, report)
        if missing(got):
            continue
        got = _unpack(case.name, got, ("grads", "input_grad"), report)
        if got is None:
            continue
        grads, input_grad = got
        want_grads, want_input = _dilated_reference(layers, activations[0], upstream)
        true_grads, true_input = _dilated_reference(layers, activations[0], upstream,
                                                    dilated=False)
        try:
            grads = list(grads)
        except TypeError:
            report(f"{case.name}: grads must be a list of (dkernel, dbias) pairs, got "
                   f"{type(grads).__name__}")
            continue
        if len(grads) != len(layers):
            report(f"{case.name}: grads has {len(grads)} entries, expected one "
                   f"(dkernel, dbias) pair per layer, {len(layers)}")
            continue
        failed = False
        # From the last layer down, as the gradient travels: the first wrong layer is
        # where the mistake is.
        for index in reversed(range(len(layers))):
            pair = grads[index]
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                report(f"{case.name}: grads[{index}] should be a pair (dkernel, dbias), "
                       f"got {type(pair).__name__}")
                failed = True
                break
            for name, value, want, true in (
                    ("dkernel", pair[0], want_grads[index][0], true_grads[index][0]),
                    ("dbias", pair[1], want_grads[index][1], true_grads[index][1])):
                array = _as_array(case.name, f"layer {index + 1}'s {name}", value, report)
                if array is None:
                    failed = True
                    break
                hint = ("the dilated rule changes the gradient sent back from a ReLU "
                        "layer l whose input is the previous ReLU layer's output, of the "
                        "same width: ĝ(l-1) = Jᵀ ĝ(l) + ĝ(l), with ĝ(l) the gradient at "
                        "layer l's output before the ReLU mask")
                if array.shape == true.shape and np.allclose(array, true, rtol=1e-5,
                                                             atol=1e-9):
                    hint = ("this is the true gradient: the skip ĝ(l-1) += ĝ(l) is "
                            "missing for a layer above this one")
                if not _compare(f"{case.name}, layer {index + 1} of {len(layers)}",
                                name, array, want, report, hint=hint):
                    failed = True
                    break
            if failed:
                break
        if failed:
            continue
        array = _as_array(case.name, "input_grad", input_grad, report)
        if array is not None:
            _compare(case.name, "input_grad", array, want_input, report,
                     hint="the first layer gets no skip: its input is the image, not a "
                          "ReLU layer's output")
    return len(cases)
