"""Chapter 8's exercise checkers: the book's solutions pass, typical mistakes fail in words.

The reference answers are not copied here: each test runs the first code cell of the
exercise's gated solution in ``book/08_playground.ipynb`` (the cell that defines the
answer and calls its checker), so the book and these tests cannot drift apart. The
starters must run and be reported as unfinished, without raising.
"""

import numpy as np
import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import attacks, exercises, metrics, plot, widgets

CHAPTER = ExerciseNotebook("08_playground.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ------------------------------------------------------------ ex-playground-jpeg-quality


def test_jpeg_quality_solution_passes():
    function = solution("ex-playground-jpeg-quality")["lowest_jpeg_quality"]
    result = exercises.ex_playground_jpeg_quality(function)
    assert_passes(result, cases=4)


def test_jpeg_quality_starter_runs_and_is_reported_unfinished():
    function = starter("ex-playground-jpeg-quality")["lowest_jpeg_quality"]
    assert_fails_with(exercises.ex_playground_jpeg_quality(function), "got None",
                      "Is the function finished")


def _first_failing_quality(net, cover, secret, threshold=20.0):
    container = net.hide(cover, secret)
    for quality in range(100, 0, -5):
        revealed = net.reveal(widgets.apply_attack(container, "jpeg", quality))
        if metrics.psnr(secret, revealed)[0] < threshold:
            return quality
    return None


def _always_20_db(net, cover, secret, threshold=20.0):
    container = net.hide(cover, secret)
    lowest = None
    for quality in range(100, 0, -5):
        if metrics.psnr(secret, net.reveal(attacks.jpeg(container, quality)))[0] < 20:
            break
        lowest = quality
    return lowest


def _measures_the_container(net, cover, secret, threshold=20.0):
    container = net.hide(cover, secret)
    lowest = None
    for quality in range(100, 0, -5):
        if metrics.psnr(container, attacks.jpeg(container, quality))[0] < threshold:
            break
        lowest = quality
    return lowest


def _starts_at_100(net, cover, secret, threshold=20.0):
    container = net.hide(cover, secret)
    lowest = 100
    for quality in range(100, 0, -5):
        if metrics.psnr(secret, net.reveal(attacks.jpeg(container, quality)))[0] < threshold:
            break
        lowest = quality
    return lowest


@pytest.mark.parametrize("wrong, words", [
    (_first_failing_quality, ["expected 50", "got 45", "first quality that fails"]),
    (_always_20_db, ["threshold=", "use the threshold argument"]),
    (_measures_the_container, ["default threshold", "revealed secret against the secret"]),
    (_starts_at_100, ["expected None", "got 100", "lowest = None"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_jpeg_quality_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_playground_jpeg_quality(wrong), *words)


# ---------------------------------------------------------------- ex-playground-residual


def test_residual_solution_passes_and_is_the_panels_residual():
    residual = solution("ex-playground-residual")["residual"]
    result = exercises.ex_playground_residual(residual)
    assert_passes(result)
    rng = np.random.default_rng(3)
    cover = rng.random((5, 7, 3)).astype(np.float32)
    container = np.clip(cover + rng.normal(0, 0.02, cover.shape), 0, 1).astype(np.float32)
    np.testing.assert_allclose(residual(container, cover, 20.0),
                               plot.residual_image(container, cover, gain=20.0), atol=1e-6)


def test_residual_starter_runs_and_is_reported_unfinished():
    residual = starter("ex-playground-residual")["residual"]
    assert_fails_with(exercises.ex_playground_residual(residual), "returned None")


@pytest.mark.parametrize("wrong, words", [
    (lambda container, cover, gain: np.clip((container - cover) * gain, 0, 1),
     ["residual is wrong", "np.abs(container - cover)"]),
    (lambda container, cover, gain: np.abs(container - cover) * gain,
     ["gain=60", "clip to [0, 1]"]),
    (lambda container, cover, gain: np.clip(0.5 + (container - cover) * gain, 0, 1),
     ["signed residual around grey"]),
], ids=["no absolute value", "no clip", "signed"])
def test_residual_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_playground_residual(wrong), *words)
