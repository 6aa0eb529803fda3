"""Chapter 3's checkers against the solutions in the notebook and typical wrong answers.

The reference solutions are read from the notebook's solution cells (so the two cannot
drift apart), executed with the chapter's imports only.
"""

import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import exercises

CHAPTER = ExerciseNotebook("03_networks.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


def test_ex_nets_field_passes_the_reference_solution():
    result = exercises.ex_nets_field(solution("ex-nets-field", "receptive_field"))
    assert_passes(result)
    assert result.cases == 8


def test_ex_nets_field_agrees_with_the_library_on_every_variant():
    from stegutils import models

    receptive_field = solution("ex-nets-field", "receptive_field")
    for variant in models.variant_names():
        net = models.build(variant, **({"channels": 4} if variant == "seed" else {}))
        specs = net.specs
        for name in ("prep", "hide", "reveal"):
            assert receptive_field(specs[name].kernels, specs[name].factor) == \
                models.receptive_field(net)[name], (variant, name)


@pytest.mark.parametrize("wrong, words", [
    (lambda kernels, factor=1: sum(kernels) * factor, ["adds k - 1 pixels, not k"]),
    (lambda kernels, factor=1: sum(k - 1 for k in kernels) * factor, ["start from 1"]),
    (lambda kernels, factor=1: 1 + sum(k - 1 for k in kernels),
     ["factor=2", "multiply by factor"]),
    (lambda kernels, factor=1: sum(k - 1 for k in kernels) * factor + 1,
     ["factor=2", "whole blocks"]),
    (lambda kernels, factor=1: kernels[0], ["no convolution at all", "raised IndexError"]),
], ids=["whole-kernels", "no-one", "no-factor", "one-pixel-blocks", "raises"])
def test_ex_nets_field_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_nets_field(wrong), *words)


def test_ex_nets_flops_passes_the_reference_solution():
    result = exercises.ex_nets_flops(solution("ex-nets-flops", "conv_cost"))
    assert_passes(result)
    assert result.cases == 5


def test_ex_nets_flops_parameters_agree_with_keras():
    import keras

    conv_cost = solution("ex-nets-flops", "conv_cost")
    layer = keras.layers.Conv2D(7, 3, padding="same")
    layer.build((None, 9, 11, 5))
    assert conv_cost(9, 11, 3, 5, 7)[0] == layer.count_params()


@pytest.mark.parametrize("wrong, words", [
    (lambda h, w, k, i, o: (k * k * i * o, 2 * h * w * k * k * i * o),
     ["parameter count", "also has a bias"]),
    (lambda h, w, k, i, o: (k * k * i * o + o, h * w * k * k * i * o),
     ["FLOP count", "a multiply and an add"]),
    (lambda h, w, k, i, o: (k * i * o + o, 2 * h * w * k * i * o), ["k * k weights"]),
    (lambda h, w, k, i, o: (k * k * i * o + o, 2 * h * w * (k * k * i * o + o)),
     ["leave the bias additions out"]),
    (lambda h, w, k, i, o: 2 * h * w * k * k * i * o, ["expected a pair (params, flops)"]),
], ids=["no-bias", "no-factor-two", "k-not-squared", "bias-flops", "flops-only"])
def test_ex_nets_flops_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_nets_flops(wrong), *words)


def test_ex_nets_s2d_passes_the_reference_solution():
    result = exercises.ex_nets_s2d(solution("ex-nets-s2d", "space_to_depth"))
    assert_passes(result)
    assert result.cases == 4


def _plain_reshape(images, factor):
    b, h, w, c = images.shape
    return images.reshape(b, h // factor, w // factor, factor * factor * c)


def _channels_first_in_block(images, factor):
    b, h, w, c = images.shape
    x = images.reshape(b, h // factor, factor, w // factor, factor, c)
    return x.transpose(0, 1, 3, 5, 2, 4).reshape(b, h // factor, w // factor, -1)


def _no_last_reshape(images, factor):
    b, h, w, c = images.shape
    x = images.reshape(b, h // factor, factor, w // factor, factor, c)
    return x.transpose(0, 1, 3, 2, 4, 5)


def _columns_first(images, factor):
    b, h, w, c = images.shape
    x = images.reshape(b, h // factor, factor, w // factor, factor, c)
    return x.transpose(0, 1, 3, 4, 2, 5).reshape(b, h // factor, w // factor, -1)


@pytest.mark.parametrize("wrong, words", [
    (_plain_reshape, ["plain reshape mixes pixels"]),
    (_channels_first_in_block, ["in the wrong order", "then channel"]),
    (_columns_first, ["in the wrong order"]),
    (_no_last_reshape, ["has shape (1, 2, 2, 2, 2, 1)", "factor * factor * channels"]),
], ids=["plain-reshape", "channels-first", "columns-first", "no-last-reshape"])
def test_ex_nets_s2d_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_nets_s2d(wrong), *words)


@pytest.mark.parametrize("label, name, checker", [
    ("ex-nets-field", "receptive_field", exercises.ex_nets_field),
    ("ex-nets-flops", "conv_cost", exercises.ex_nets_flops),
    ("ex-nets-s2d", "space_to_depth", exercises.ex_nets_s2d),
])
def test_the_unfinished_starters_are_reported_once(label, name, checker):
    result = checker(starter(label, name))
    assert_fails_with(result, "returned None")
    assert len(result.problems) == 1
