"""Chapter 5's exercise checkers: the book's solutions pass, typical mistakes fail in words.

The reference answers are not copied here: each test runs the first code cell of the
exercise's gated solution in ``book/05_training.ipynb`` (the cell that defines the answer
and calls its checker), so the book and these tests cannot drift apart. The starters
must run and be reported as unfinished, without raising.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import exercises

CHAPTER = ExerciseNotebook("05_training.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ------------------------------------------------------------------------ ex-train-round


def test_round_levels_solution_passes():
    result = exercises.ex_train_round(solution("ex-train-round")["round_levels"])
    assert_passes(result, cases=3)


def test_round_levels_starter_runs_and_is_reported_unfinished():
    result = exercises.ex_train_round(starter("ex-train-round")["round_levels"])
    assert_fails_with(result, "returned None", "Is it finished")


def _plain_rounding(images, levels):
    return tf.round(tf.clip_by_value(images, 0.0, 1.0) * (levels - 1)) / (levels - 1)


def _clip_inside_the_stop_gradient(images, levels):
    rounded = tf.round(tf.clip_by_value(images, 0.0, 1.0) * (levels - 1)) / (levels - 1)
    return images + tf.stop_gradient(rounded - images)


def _levels_not_steps(images, levels):
    clipped = tf.clip_by_value(images, 0.0, 1.0)
    return clipped + tf.stop_gradient(tf.round(clipped * levels) / levels - clipped)


def _no_clip(images, levels):
    rounded = tf.round(images * (levels - 1)) / (levels - 1)
    return images + tf.stop_gradient(rounded - images)


def _in_numpy(images, levels):
    return np.round(np.clip(images.numpy(), 0, 1) * (levels - 1)) / (levels - 1)


@pytest.mark.parametrize("wrong, words", [
    (_plain_rounding, ["no gradient reaches the input", "straight-through"]),
    (_clip_inside_the_stop_gradient, ["the gradient is wrong", "where the clip holds"]),
    (_levels_not_steps, ["the rounded value is wrong", "steps apart"]),
    (_no_clip, ["the rounded value is wrong", "not clipped"]),
    (_in_numpy, ["NumPy array"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_round_levels_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_train_round(wrong), *words)


# ----------------------------------------------------------------------- ex-train-cosine


def test_cosine_solution_passes_and_matches_the_trainers_schedule():
    cosine_lr = solution("ex-train-cosine")["cosine_lr"]
    result = exercises.ex_train_cosine(cosine_lr)
    assert_passes(result)
    # The trainer's own schedule, as Trainer builds it, at the last step and after.
    schedule = tf.keras.optimizers.schedules.CosineDecay(1e-3, 40, alpha=0.01)
    for step in (0, 20, 40, 60):
        assert math.isclose(cosine_lr(step, 1e-3, 40), float(schedule(step)), rel_tol=1e-5)


def test_cosine_starter_runs_and_is_reported_unfinished():
    result = exercises.ex_train_cosine(starter("ex-train-cosine")["cosine_lr"])
    assert_fails_with(result, "returned None")


def _to_zero(step, lr, steps, alpha=0.01):
    return lr * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))


def _not_clamped(step, lr, steps, alpha=0.01):
    return lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / steps)) + alpha)


def _full_cosine(step, lr, steps, alpha=0.01):
    return lr * ((1 - alpha) * math.cos(math.pi * min(step, steps) / steps) + alpha)


@pytest.mark.parametrize("wrong, words", [
    (_to_zero, ["wrong at step", "expected", "alpha * lr"]),
    (_not_clamped, ["wrong at step 150", "Clamp"]),
    (_full_cosine, ["0.5 * (1 + cos"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_cosine_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_train_cosine(wrong), *words)
