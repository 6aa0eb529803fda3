"""Chapter 7's exercise checkers: the book's solutions pass, typical mistakes fail in words.

The reference answers are not copied here: each test runs the first code cell of the
exercise's gated solution in ``book/07_failures.ipynb`` (the cell that defines the answer
and calls its checker), so the book and these tests cannot drift apart. The starters
must run and be reported as unfinished, without raising.
"""

import numpy as np
import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import attacks, data, exercises

CHAPTER = ExerciseNotebook("07_failures.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ----------------------------------------------------------------- ex-fail-colourfulness


def test_colourfulness_solution_passes_and_agrees_with_the_library():
    colourfulness = solution("ex-fail-colourfulness")["colourfulness"]
    result = exercises.ex_fail_colourfulness(colourfulness)
    assert_passes(result, cases=4)
    images = np.random.default_rng(0).random((4, 9, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(colourfulness(images), attacks.colourfulness(images),
                               rtol=1e-10)


def test_colourfulness_starter_runs_and_is_reported_unfinished():
    colourfulness = starter("ex-fail-colourfulness")["colourfulness"]
    assert_fails_with(exercises.ex_fail_colourfulness(colourfulness), "returned None")


def _opponents(images):
    images = np.asarray(images, np.float64) * 255
    rg = (images[..., 0] - images[..., 1]).reshape(len(images), -1)
    yb = (0.5 * (images[..., 0] + images[..., 1]) - images[..., 2]).reshape(len(images), -1)
    return rg, yb


def _on_the_unit_scale(images):
    rg, yb = _opponents(images)
    rg, yb = rg / 255, yb / 255
    return np.hypot(rg.std(axis=1), yb.std(axis=1)) + 0.3 * np.hypot(rg.mean(axis=1),
                                                                     yb.mean(axis=1))


def _without_the_mean_term(images):
    rg, yb = _opponents(images)
    return np.hypot(rg.std(axis=1), yb.std(axis=1))


def _over_the_whole_batch(images):
    rg, yb = _opponents(images)
    return np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())


def _standard_deviations_added(images):
    rg, yb = _opponents(images)
    return rg.std(axis=1) + yb.std(axis=1) + 0.3 * np.hypot(rg.mean(axis=1), yb.mean(axis=1))


@pytest.mark.parametrize("wrong, words", [
    (_on_the_unit_scale, ["M is wrong", "255 times too small"]),
    (_without_the_mean_term, ["flat pure red", "0.3 * sqrt(mean(rg)^2"]),
    (_over_the_whole_batch, ["has shape ()", "one value per image"]),
    (_standard_deviations_added, ["M is wrong", "sum of their squares"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_colourfulness_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_fail_colourfulness(wrong), *words)


# --------------------------------------------------------------------------- ex-fail-lsb


def test_lsb_solution_passes():
    answer = solution("ex-fail-lsb")
    result = exercises.ex_fail_lsb(answer["lsb_hide"], answer["lsb_reveal"])
    assert_passes(result, cases=3)


def test_lsb_starter_runs_and_is_reported_unfinished():
    answer = starter("ex-fail-lsb")
    assert_fails_with(exercises.ex_fail_lsb(answer["lsb_hide"], answer["lsb_reveal"]),
                      "returned None")


def _hide(cover, secret):
    return data.to_float((data.to_uint8(cover) & 0b11111100) | (data.to_uint8(secret) >> 6))


def _reveal(container):
    return data.to_float(((data.to_uint8(container) & 0b11) << 6) + 32)


def _hide_the_low_bits(cover, secret):
    return data.to_float((data.to_uint8(cover) & 0b11111100) | (data.to_uint8(secret) & 0b11))


def _hide_without_clearing(cover, secret):
    return data.to_float(data.to_uint8(cover) | (data.to_uint8(secret) >> 6))


def _reveal_the_bottom_of_the_bin(container):
    return data.to_float((data.to_uint8(container) & 0b11) << 6)


def _reveal_without_shifting(container):
    return data.to_float(data.to_uint8(container) & 0b11)


@pytest.mark.parametrize("hide, reveal, words", [
    (_hide_the_low_bits, _reveal, ["bottom 2 bits are wrong", "secret's bottom 2 bits"]),
    (_hide_without_clearing, _reveal, ["bottom 2 bits are wrong", "clear them first"]),
    (_hide, _reveal_the_bottom_of_the_bin, ["revealed secret is wrong", "+ 32"]),
    (_hide, _reveal_without_shifting, ["revealed secret is wrong", "bits << 6"]),
    (_hide, None, ["lsb_reveal was not given"]),
], ids=["low bits hidden", "not cleared", "bottom of the bin", "not shifted", "one function"])
def test_lsb_mistakes_are_explained(hide, reveal, words):
    assert_fails_with(exercises.ex_fail_lsb(hide, reveal), *words)


# ---------------------------------------------------------------------- ex-fail-scramble


def test_scramble_solution_passes_and_undoes_the_librarys_order_too():
    answer = solution("ex-fail-scramble")
    result = exercises.ex_fail_scramble(answer["scramble_pixels"], answer["unscramble_pixels"])
    assert_passes(result, cases=6)
    image = np.random.default_rng(1).random((8, 4, 3)).astype(np.float32)
    # The book's order is attacks.scramble's: numpy.random.default_rng(key).permutation.
    np.testing.assert_array_equal(answer["scramble_pixels"](image, 5),
                                  attacks.scramble(image, 5))


def test_scramble_starter_runs_and_is_reported_unfinished():
    answer = starter("ex-fail-scramble")
    result = exercises.ex_fail_scramble(answer["scramble_pixels"], answer["unscramble_pixels"])
    assert_fails_with(result, "returned None")


def _order(image, key):
    height, width, _ = image.shape
    return np.random.default_rng(key).permutation(height * width)


def _scramble(image, key):
    return image.reshape(-1, 3)[_order(image, key)].reshape(image.shape)


def _unscramble(image, key):
    restored = np.empty_like(image.reshape(-1, 3))
    restored[_order(image, key)] = image.reshape(-1, 3)
    return restored.reshape(image.shape)


def _scramble_single_values(image, key):
    order = np.random.default_rng(key).permutation(image.size)
    return image.ravel()[order].reshape(image.shape)


def _scramble_with_the_global_generator(image, key):
    return image.reshape(-1, 3)[np.random.permutation(image.shape[0] * image.shape[1])
                                ].reshape(image.shape)


def _scramble_by_brightness(image, key):
    return image.reshape(-1, 3)[np.argsort(image.sum(axis=-1).ravel())].reshape(image.shape)


@pytest.mark.parametrize("scramble, unscramble, words", [
    (_scramble, _scramble, ["does not give the image back", "a second time"]),
    (_scramble_single_values, _unscramble, ["colours of a pixel were separated"]),
    (_scramble_with_the_global_generator, _unscramble,
     ["same key gave two different results", "default_rng(key)"]),
    (_scramble_by_brightness, _unscramble, ["must depend on the key alone"]),
    (lambda image, key: image, lambda image, key: image, ["stay where they were"]),
], ids=["scrambled twice", "single values", "global generator", "by brightness", "identity"])
def test_scramble_mistakes_are_explained(scramble, unscramble, words):
    assert_fails_with(exercises.ex_fail_scramble(scramble, unscramble), *words)
