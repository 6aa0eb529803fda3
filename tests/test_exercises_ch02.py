"""Chapter 2's checkers against the solutions in the notebook and typical wrong answers.

The reference solutions are read from the notebook's solution cells (so the two cannot
drift apart), executed with the chapter's imports only.
"""

import numpy as np
import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import exercises

CHAPTER = ExerciseNotebook("02_data.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ------------------------------------------------------------------------ ex-data-square

def test_ex_data_square_passes_the_reference_solution():
    result = exercises.ex_data_square(solution("ex-data-square", "square_then_resize"))
    assert_passes(result)
    assert result.cases == 4


def _squeeze(photo, size=80):
    from stegutils import data
    return data.resize(photo, size)


def _crop_only(photo, size=80):
    from stegutils import data
    return data.center_crop(photo, size)


def _bilinear(photo, size=80):
    import tensorflow as tf
    from stegutils import data
    square = data.center_crop(photo, min(photo.shape[:2]))
    return tf.image.resize(square, (size, size), method="bilinear").numpy()


def _largest_side(photo, size=80):
    from stegutils import data
    return data.resize(data.center_crop(photo, max(photo.shape[:2])), size)


@pytest.mark.parametrize("wrong, words", [
    (_squeeze, ["squeezed", "min(height, width)"]),
    (_crop_only, ["only the middle 16x16 pixels"]),
    (_bilinear, ["is wrong at", "data.resize"]),
    (_largest_side, ["raised ValueError", "cannot crop"]),
], ids=["squeeze", "crop-only", "bilinear", "largest-side"])
def test_ex_data_square_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_data_square(wrong), *words)


# ---------------------------------------------------------------------- ex-data-prefetch

def test_ex_data_prefetch_passes_the_reference_solution():
    result = exercises.ex_data_prefetch(solution("ex-data-prefetch", "crop_pipeline"))
    assert_passes(result)
    assert result.cases == 2


def _pipeline(images, size, batch_size, *, repeat=True, batch=True, how="random"):
    import tensorflow as tf

    def crop(image):
        if how == "random":
            return tf.image.random_crop(image, [size, size, 3])
        if how == "centre":
            return tf.image.resize_with_crop_or_pad(image, size, size)
        return tf.image.resize(image, (size, size))

    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = (dataset.repeat() if repeat else dataset).map(crop)
    return dataset.batch(batch_size) if batch else dataset


@pytest.mark.parametrize("wrong, words", [
    (lambda i, s, b, parallel=False: _pipeline(i, s, b, repeat=False),
     ["ended after", ".repeat()"]),
    (lambda i, s, b, parallel=False: _pipeline(i, s, b, batch=False),
     ["has shape (8, 8, 3)", ".batch(batch_size)"]),
    (lambda i, s, b, parallel=False: _pipeline(i, s, b, how="resize"),
     ["is not a window of 8x8 pixels", "tf.image.random_crop"]),
    (lambda i, s, b, parallel=False: _pipeline(i, s, b, how="centre"),
     ["from the same place", "random"]),
    (lambda i, s, b, parallel=False: [i[:b, :s, :s]],
     ["expected a tf.data.Dataset, got list"]),
], ids=["no-repeat", "no-batch", "resize", "centre-crop", "not-a-dataset"])
def test_ex_data_prefetch_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_data_prefetch(wrong), *words)


# --------------------------------------------------------------------- ex-data-own-split

def test_ex_data_own_split_passes_the_reference_solution():
    result = exercises.ex_data_own_split(solution("ex-data-own-split", "split"))
    assert_passes(result)


def _by_position(photos, test_fraction=0.2, seed=0):
    order = np.random.default_rng(seed).permutation(len(photos))
    count = max(1, round(test_fraction * len(photos)))
    return [photos[i] for i in order[count:]], [photos[i] for i in order[:count]]


def _last_ones(photos, test_fraction=0.2, seed=0):
    count = max(1, round(test_fraction * len(photos)))
    return list(photos[:-count]), list(photos[-count:])


_shared_rng = np.random.default_rng(0)


def _stateful(photos, test_fraction=0.2, seed=0):
    order = _shared_rng.permutation(len(photos))
    count = max(1, round(test_fraction * len(photos)))
    return [photos[i] for i in order[count:]], [photos[i] for i in order[:count]]


def _indices(photos, test_fraction=0.2, seed=0):
    order = np.random.default_rng(seed).permutation(len(photos))
    count = max(1, round(test_fraction * len(photos)))
    return list(order[count:]), list(order[:count])


def _loses_one(photos, test_fraction=0.2, seed=0):
    train, test = _by_position(photos, test_fraction, seed)
    return train[1:], test


@pytest.mark.parametrize("wrong, words", [
    (_by_position, ["is in both lists", "group identical photos"]),
    (_last_ones, ["all chose the same test photos", "default_rng(seed)"]),
    (_stateful, ["same seed chose different test photos"]),
    (_indices, ["did you return indices"]),
    (_loses_one, ["in neither list"]),
], ids=["by-position", "not-random", "stateful", "indices", "loses-one"])
def test_ex_data_own_split_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_data_own_split(wrong), *words)


# ------------------------------------------------------------------------- the starters

@pytest.mark.parametrize("label, name, checker", [
    ("ex-data-square", "square_then_resize", exercises.ex_data_square),
    ("ex-data-prefetch", "crop_pipeline", exercises.ex_data_prefetch),
    ("ex-data-own-split", "split", exercises.ex_data_own_split),
])
def test_the_unfinished_starters_are_reported_once(label, name, checker):
    result = checker(starter(label, name))
    assert_fails_with(result, "returned None")
    assert len(result.problems) == 1
