"""Chapter 6's exercise checkers: the book's solutions pass, typical mistakes fail in words.

The reference answers are not copied here: each test runs the first code cell of the
exercise's gated solution in ``book/06_backprop.ipynb`` (the cell that defines the answer
and calls its checker), so the book and these tests cannot drift apart. The starters
must run and be reported as unfinished, without raising.
"""

import numpy as np
import pytest
import tensorflow as tf

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import backprop, exercises

CHAPTER = ExerciseNotebook("06_backprop.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ---------------------------------------------------------------------- ex-backprop-conv


def test_conv_loops_solution_passes():
    result = exercises.ex_backprop_conv(solution("ex-backprop-conv")["conv_backward_loops"])
    assert_passes(result, cases=3)


def test_conv_loops_starter_runs_and_is_reported_wrong():
    result = exercises.ex_backprop_conv(starter("ex-backprop-conv")["conv_backward_loops"])
    assert_fails_with(result, "dx is wrong")


def _padded_the_wrong_way(x, kernel, upstream):
    # The book's loops with 2 rows and columns before and 1 after.
    k = kernel.shape[0]
    before, after = k // 2, (k - 1) // 2
    padded = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    dpadded, dkernel = np.zeros_like(padded), np.zeros_like(kernel)
    height, width = x.shape[1:3]
    for i in range(height):
        for j in range(width):
            patch, g = padded[:, i:i + k, j:j + k, :], upstream[:, i, j, :]
            dkernel += np.einsum("bpqc,bo->pqco", patch, g)
            dpadded[:, i:i + k, j:j + k, :] += np.einsum("pqco,bo->bpqc", kernel, g)
    return dpadded[:, before:before + height, before:before + width, :], dkernel


def _kernel_gradient_of_the_first_output_channel_only(x, kernel, upstream):
    dx, dkernel = backprop.conv_backward(tf.constant(x), tf.constant(kernel),
                                         tf.constant(upstream))
    return dx, dkernel[..., :1]


@pytest.mark.parametrize("wrong, words", [
    (_padded_the_wrong_way, ["case 1", "dx is wrong", "1 row", "2 after"]),
    (_kernel_gradient_of_the_first_output_channel_only, ["case 3", "dkernel has shape"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_conv_loops_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_backprop_conv(wrong), *words)


# ---------------------------------------------------------------- ex-backprop-relu-layer


def test_relu_layer_solution_passes():
    function = solution("ex-backprop-relu-layer")["relu_conv_backward"]
    result = exercises.ex_backprop_relu_layer(function)
    assert_passes(result, cases=3)


def test_relu_layer_starter_runs_and_is_reported_unfinished():
    function = starter("ex-backprop-relu-layer")["relu_conv_backward"]
    assert_fails_with(exercises.ex_backprop_relu_layer(function), "dx is None")


def _forward(x, kernel, bias):
    return tf.nn.relu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias)


def _no_mask(x, kernel, bias, upstream):
    dx, dkernel = backprop.conv_backward(x, kernel, upstream)
    return dx, dkernel, tf.reduce_sum(upstream, axis=[0, 1, 2])


def _mask_from_the_upstream_gradient(x, kernel, bias, upstream):
    grad_z = tf.nn.relu(upstream)
    dx, dkernel = backprop.conv_backward(x, kernel, grad_z)
    return dx, dkernel, tf.reduce_sum(grad_z, axis=[0, 1, 2])


def _bias_averaged(x, kernel, bias, upstream):
    grad_z = tf.where(_forward(x, kernel, bias) > 0, upstream, tf.zeros_like(upstream))
    dx, dkernel = backprop.conv_backward(x, kernel, grad_z)
    return dx, dkernel, tf.reduce_mean(grad_z, axis=[0, 1, 2])


def _bias_summed_over_the_batch_only(x, kernel, bias, upstream):
    grad_z = tf.where(_forward(x, kernel, bias) > 0, upstream, tf.zeros_like(upstream))
    dx, dkernel = backprop.conv_backward(x, kernel, grad_z)
    return dx, dkernel, tf.reduce_sum(grad_z, axis=0)


@pytest.mark.parametrize("wrong, words", [
    (_no_mask, ["dx is wrong", "(y > 0)"]),
    (_mask_from_the_upstream_gradient, ["dx is wrong", "not from the sign of the upstream"]),
    (_bias_averaged, ["dbias is wrong", "not the mean"]),
    (_bias_summed_over_the_batch_only, ["dbias has shape", "one value per output channel"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_relu_layer_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_backprop_relu_layer(wrong), *words)


# ------------------------------------------------------------------- ex-backprop-dilated


def test_dilated_solution_passes_and_agrees_with_the_library():
    function = solution("ex-backprop-dilated")["dilated_backward"]
    result = exercises.ex_backprop_dilated(function)
    assert_passes(result, cases=3)
    # And with stegutils.backprop.network_backward(dilated=True) on a seed-like network.
    rng = np.random.default_rng(0)
    layers = [backprop.ConvLayer(f"conv{i}", tf.constant(rng.normal(0, 0.3, (4, 4, a, b))),
                                 tf.constant(rng.normal(0.1, 0.1, b)), relu)
              for i, (a, b, relu) in enumerate([(3, 6, True), (6, 6, True), (6, 6, True),
                                                (6, 3, False)])]
    activations = backprop.network_forward(layers, tf.constant(rng.random((2, 8, 8, 3))))
    upstream = tf.constant(rng.normal(size=(2, 8, 8, 3)))
    mine, mine_input = function(layers, activations, upstream)
    theirs, theirs_input = backprop.network_backward(layers, activations, upstream,
                                                     dilated=True)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-10)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-10)
    np.testing.assert_allclose(mine_input, theirs_input, rtol=1e-10)


def test_dilated_starter_runs_and_is_reported_unfinished():
    function = starter("ex-backprop-dilated")["dilated_backward"]
    assert_fails_with(exercises.ex_backprop_dilated(function), "dkernel is None")


def _backward(shortcut):
    """The book's loop, with the shortcut decided and added by ``shortcut``."""
    def dilated_backward(layers, activations, upstream):
        grads, grad = [None] * len(layers), upstream
        for index in reversed(range(len(layers))):
            layer = layers[index]
            x, y = activations[index], activations[index + 1]
            grad_z = backprop.relu_backward(y, grad) if layer.relu else grad
            dx, dkernel = backprop.conv_backward(x, layer.kernel, grad_z)
            grads[index] = (dkernel, tf.reduce_sum(grad_z, axis=[0, 1, 2]))
            grad = shortcut(layers, index, dx, grad, grad_z)
        return grads, grad
    return dilated_backward


def _same_width(layer):
    return layer.kernel.shape[2] == layer.kernel.shape[3]


_true_gradient = _backward(lambda layers, i, dx, grad, grad_z: dx)
_masked_shortcut = _backward(
    lambda layers, i, dx, grad, grad_z: dx + grad_z
    if i >= 1 and layers[i].relu and layers[i - 1].relu and _same_width(layers[i]) else dx)
_shortcut_on_the_first_layer = _backward(
    lambda layers, i, dx, grad, grad_z: dx + grad
    if layers[i].relu and _same_width(layers[i]) else dx)
_shortcut_whatever_the_width = _backward(
    lambda layers, i, dx, grad, grad_z: dx + grad
    if i >= 1 and layers[i].relu and layers[i - 1].relu else dx)


@pytest.mark.parametrize("wrong, words", [
    (_true_gradient, ["layer 2 of 4", "dkernel is wrong", "this is the true gradient"]),
    (_masked_shortcut, ["dkernel is wrong", "before the ReLU mask"]),
    (_shortcut_on_the_first_layer, ["6 -> 6 -> 3", "input_grad is wrong",
                                    "the first layer gets no skip"]),
    (_shortcut_whatever_the_width, ["changes the width", "raised", "Incompatible shapes"]),
], ids=["true gradient", "masked shortcut", "first layer", "any width"])
def test_dilated_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_backprop_dilated(wrong), *words)
