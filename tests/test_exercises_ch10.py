"""Chapter 10's exercise checkers: the book's solutions pass, typical mistakes fail in words.

The reference answers are not copied here: each test runs the first code cell of the
exercise's gated solution in ``book/10_channel.ipynb`` (the cell that defines the
answer and calls its checker), so the book and these tests cannot drift apart. The
starters must run and be reported as unfinished, without raising.
"""

import io

import numpy as np
import pytest
from PIL import Image
from scipy import fft

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import channel, exercises
from stegutils.exercises import ch10_channel

CHAPTER = ExerciseNotebook("10_channel.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ---------------------------------------------------------------------------- ex-channel-dct


def _matrix(first_row=True, normalised=True):
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    matrix = np.cos((2 * n + 1) * k * np.pi / 16)
    if normalised:
        matrix = matrix * np.sqrt(2 / 8)
        if first_row:
            matrix[0] /= np.sqrt(2)
    return matrix


D = _matrix()


def _right_inverse(coefficients):
    return D.T @ np.asarray(coefficients, np.float64) @ D


def test_dct_solution_passes_and_agrees_with_scipy_and_the_library():
    namespace = solution("ex-channel-dct")
    assert_passes(exercises.ex_channel_dct(namespace["dct2"], namespace["idct2"]), cases=8)
    blocks = np.random.default_rng(0).normal(0, 50, (3, 2, 8, 8))
    coefficients = namespace["dct2"](blocks)
    np.testing.assert_allclose(coefficients, fft.dctn(blocks, axes=(-2, -1), norm="ortho"),
                               atol=1e-9)
    np.testing.assert_allclose(namespace["dct_basis"](), channel.dct_matrix().numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(namespace["idct2"](coefficients), blocks, atol=1e-9)


def test_dct_starter_runs_and_is_reported_unfinished():
    namespace = starter("ex-channel-dct")
    result = exercises.ex_channel_dct(namespace["dct2"], namespace["idct2"])
    assert_fails_with(result, "returned None")


def test_the_library_dct_passes_in_float32():
    d = channel.dct_matrix().numpy()
    result = exercises.ex_channel_dct(
        lambda b: np.einsum("ij,...jk,lk->...il", d, np.float32(b), d),
        lambda c: np.einsum("ji,...jk,kl->...il", d, np.float32(c), d))
    assert_passes(result, cases=8)


def _with(matrix):
    return lambda blocks: matrix @ np.asarray(blocks, np.float64) @ matrix.T


@pytest.mark.parametrize("wrong, words", [
    (lambda b: D.T @ b @ D, ["dct2 on three random blocks", "the output is wrong",
                             "the matrix is transposed"]),
    (_with(_matrix(first_row=False)), ["a(0) = sqrt(1/N)", "divide row 0 by sqrt(2)"]),
    (_with(_matrix(normalised=False)), ["the matrix is not normalised"]),
    (lambda b: 4 * (D @ b @ D.T), ["every coefficient is 4 times the right one"]),
    (lambda b: D @ b, ["only the columns were transformed"]),
    (lambda b: (D @ b @ D.T).reshape(np.shape(b)[:-2] + (64,)),
     ["have shape", "keep the blocks' shape"]),
], ids=["transposed", "first row", "unnormalised", "factor", "one direction", "flattened"])
def test_dct_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_channel_dct(wrong, _right_inverse), *words)


def test_dct_inverse_mistakes_are_explained():
    def right(blocks):
        return D @ np.asarray(blocks, np.float64) @ D.T

    result = exercises.ex_channel_dct(right, right)  # the forward DCT as its own inverse
    assert_fails_with(result, "idct2 on the coefficients", "the forward DCT again")
    assert "dct2 on three" not in result.message()  # the forward half was right
    no_half = _matrix(first_row=False)
    assert_fails_with(exercises.ex_channel_dct(right, lambda c: no_half.T @ c @ no_half),
                      "idct2 on the coefficients", "needs a(0) = sqrt(1/N)")
    assert_fails_with(exercises.ex_channel_dct(right, lambda c: 2 * _right_inverse(c)),
                      "come back 2 times what they should be")
    assert_fails_with(exercises.ex_channel_dct(right), "idct2 was not given")


def test_a_dct_mistake_is_hinted_once():
    message = exercises.ex_channel_dct(lambda b: D.T @ b @ D, _right_inverse).message()
    assert message.count("the matrix is transposed") == 1
    assert message.count("the output is wrong") == 4


# ------------------------------------------------------------------------- ex-channel-qtable


def _pillow_tables(quality):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buffer, format="JPEG",
                                                          quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        return [np.sort(np.asarray(image.quantization[k])) for k in (0, 1)]


def test_qtable_solution_passes_and_is_what_pillow_writes_at_every_quality():
    function = solution("ex-channel-qtable", "quality_table")
    assert_passes(exercises.ex_channel_qtable(function), cases=len(ch10_channel.QUALITIES))
    for quality in range(1, 101):
        written = _pillow_tables(quality)
        for index, chroma in ((0, False), (1, True)):
            ours = np.sort(np.asarray(function(quality, chroma=chroma)).ravel())
            np.testing.assert_array_equal(ours, written[index], err_msg=f"quality {quality}")


def test_qtable_checker_uses_the_standard_tables():
    np.testing.assert_array_equal(ch10_channel._LUMA, channel.LUMINANCE_TABLE)
    np.testing.assert_array_equal(ch10_channel._CHROMA, channel.CHROMINANCE_TABLE)


def test_qtable_starter_runs_and_is_reported_unfinished():
    function = starter("ex-channel-qtable", "quality_table")
    assert_fails_with(exercises.ex_channel_qtable(function), "returned None")


def _table(quality, chroma=False, *, scale=None, rounding=None, low=1, high=255,
           base=None):
    if base is None:
        base = channel.CHROMINANCE_TABLE if chroma else channel.LUMINANCE_TABLE
    base = np.asarray(base, np.int64)
    if scale is None:
        scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    values = (base * scale + 50) // 100 if rounding is None else rounding(base * scale / 100)
    return np.clip(values, low, high)


@pytest.mark.parametrize("wrong, words", [
    (lambda q, chroma=False: _table(q, chroma, scale=5000 / q if q < 50 else 200 - 2 * q),
     ["quality 30", "integer arithmetic", "5000 // q"]),
    (lambda q, chroma=False: _table(q, chroma, scale=200 - 2 * q),
     ["quality 1,", "below quality 50 the scale is 5000 / quality"]),
    (lambda q, chroma=False: _table(q, chroma, scale=5000 // q),
     ["quality 75", "from quality 50 on the scale is 200 - 2 quality"]),
    (lambda q, chroma=False: _table(q, chroma, low=None, high=None),
     ["quality 1,", "at most 255", "quality 100", "at least 1"]),
    (lambda q, chroma=False: _table(q, chroma, low=1, high=None), ["at most 255"]),
    (lambda q, chroma=False: _table(q, chroma, low=None, high=255),
     ["quality 100", "at least 1"]),
    (lambda q, chroma=False: _table(q, chroma, rounding=np.floor), ["a plain floor"]),
    (lambda q, chroma=False: _table(q, chroma, rounding=np.round),
     ["quality 75", "np.round rounds halves to the even integer"]),
    (lambda q, chroma=False: _table(q, chroma, rounding=lambda x: x),
     ["the table holds integers"]),
    (lambda q, chroma=False: _table(q, False),
     ["the chrominance table", "this is the luminance table"]),
    (lambda q, chroma=False: _table(q, chroma)[:, :4], ["has shape (8, 4)"]),
], ids=["float division", "one branch below 50", "one branch from 50", "no clip",
        "no clip at 255", "no clip at 1", "floor", "np.round", "no rounding", "luma for chroma",
        "wrong shape"])
def test_qtable_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_channel_qtable(wrong), *words)


def test_a_qtable_mistake_is_hinted_once():
    def float_division(quality, chroma=False):
        return _table(quality, chroma, scale=5000 / quality if quality < 50 else 200 - 2 * quality)

    message = exercises.ex_channel_qtable(float_division).message()
    assert message.count("integer arithmetic") == 1
    assert "quality 75" not in message  # right from 50 on
