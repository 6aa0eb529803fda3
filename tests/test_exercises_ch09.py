"""Chapter 9's exercise checkers: the book's solutions pass, typical mistakes fail in words.

The reference answers are not copied here: each test runs the first code cell of the
exercise's gated solution in ``book/09_invertible.ipynb`` (the cell that defines the
answer and calls its checker), so the book and these tests cannot drift apart. The
starters must run and be reported as unfinished, without raising.
"""

import numpy as np
import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import exercises, invertible

CHAPTER = ExerciseNotebook("09_invertible.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- ex-inv-haar


def test_haar_solution_passes_and_agrees_with_the_library():
    namespace = solution("ex-inv-haar")
    result = exercises.ex_inv_haar(namespace["haar_dwt"], namespace["haar_iwt"])
    assert_passes(result, cases=6)
    images = np.random.default_rng(0).random((2, 8, 6, 3)).astype(np.float32)
    bands = namespace["haar_dwt"](images)
    np.testing.assert_allclose(bands, invertible.haar_dwt(images).numpy(), atol=1e-6)
    np.testing.assert_allclose(namespace["haar_iwt"](bands), images, atol=1e-6)


def test_haar_starter_runs_and_is_reported_unfinished():
    namespace = starter("ex-inv-haar")
    result = exercises.ex_inv_haar(namespace["haar_dwt"], namespace["haar_iwt"])
    assert_fails_with(result, "returned None")


def test_the_library_transform_passes_in_float32():
    result = exercises.ex_inv_haar(lambda x: invertible.haar_dwt(x).numpy(),
                                   lambda b: invertible.haar_iwt(b).numpy())
    assert_passes(result, cases=6)


def _library_dwt(images):
    return invertible.haar_dwt(np.asarray(images, np.float32)).numpy().astype(np.float64)


def _averages(images):
    return _library_dwt(images) / 2


def _bands_swapped(images):
    ll, hl, lh, hh = np.split(_library_dwt(images), 4, axis=-1)
    return np.concatenate([ll, lh, hl, hh], axis=-1)


def _colour_major(images):
    bands = _library_dwt(images)
    batch, height, width, channels4 = bands.shape
    split = np.split(bands, 4, axis=-1)
    return np.stack(split, axis=-1).reshape(batch, height, width, channels4)


def _full_size(images):
    return np.concatenate([images] * 4, axis=-1)


@pytest.mark.parametrize("wrong, words", [
    (_averages, ["haar_dwt on two random images", "the output is wrong", "block averages"]),
    (_bands_swapped, ["HL and LH are swapped"]),
    (_colour_major, ["colour-major order"]),
    (_full_size, ["have shape", "half the height and width"]),
], ids=["averages", "HL and LH swapped", "colour-major", "full size"])
def test_haar_mistakes_are_explained(wrong, words):
    def iwt(bands):
        return invertible.haar_iwt(np.asarray(bands, np.float32)).numpy()
    assert_fails_with(exercises.ex_inv_haar(wrong, iwt), *words)


def test_haar_inverse_mistakes_are_explained():
    def dwt(images):
        return _library_dwt(images)

    def doubled(bands):
        return 2 * invertible.haar_iwt(np.asarray(bands, np.float32)).numpy()

    result = exercises.ex_inv_haar(dwt, doubled)
    assert_fails_with(result, "haar_iwt on the sub-bands", "come back doubled")
    assert "haar_dwt on" not in result.message()  # the forward half was right
    assert_fails_with(exercises.ex_inv_haar(dwt), "haar_iwt was not given")


# ----------------------------------------------------------------------- ex-inv-coupling


def test_coupling_solution_passes():
    function = solution("ex-inv-coupling")["coupling_inverse"]
    assert_passes(exercises.ex_inv_coupling(function), cases=3)


def test_coupling_solution_inverts_the_library_block():
    # The book's answer undoes the library's AffineStep and AdditiveStep too.
    function = solution("ex-inv-coupling")["coupling_inverse"]
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.3, (12, 12)) for _ in range(3)]
    phi, rho, eta = (lambda x, w=w: np.tanh(np.asarray(x, np.float64) @ w) for w in weights)
    x1, x2 = rng.random((2, 3, 3, 12)), rng.random((2, 3, 3, 12))
    y1 = invertible.AdditiveStep(+1)([x1.astype(np.float32), phi(x2).astype(np.float32)])
    y1 = y1.numpy().astype(np.float64)
    y2 = invertible.AffineStep(clamp=2.0)([x2.astype(np.float32), rho(y1).astype(np.float32),
                                           eta(y1).astype(np.float32)]).numpy()
    got1, got2 = function(y1, y2.astype(np.float64), phi, rho, eta, 2.0)
    np.testing.assert_allclose(got2, x2, atol=1e-5)
    np.testing.assert_allclose(got1, x1, atol=1e-5)


def test_coupling_starter_runs_and_is_reported_unfinished():
    function = starter("ex-inv-coupling")["coupling_inverse"]
    assert_fails_with(exercises.ex_inv_coupling(function), "returned None")


def _wrong_order(y1, y2, phi, rho, eta, clamp):
    x1 = y1 - phi(y2)
    return x1, (y2 - eta(x1)) * np.exp(-clamp * (2 * _sigmoid(rho(x1)) - 1))


def _scale_not_undone(y1, y2, phi, rho, eta, clamp):
    x2 = (y2 - eta(y1)) * np.exp(clamp * (2 * _sigmoid(rho(y1)) - 1))
    return y1 - phi(x2), x2


def _shift_after_scale(y1, y2, phi, rho, eta, clamp):
    x2 = y2 * np.exp(-clamp * (2 * _sigmoid(rho(y1)) - 1)) - eta(y1)
    return y1 - phi(x2), x2


def _no_clamp(y1, y2, phi, rho, eta, clamp):
    x2 = (y2 - eta(y1)) * np.exp(-(2 * _sigmoid(rho(y1)) - 1))
    return y1 - phi(x2), x2


def _phi_added(y1, y2, phi, rho, eta, clamp):
    x2 = (y2 - eta(y1)) * np.exp(-clamp * (2 * _sigmoid(rho(y1)) - 1))
    return y1 + phi(x2), x2


def _one_array(y1, y2, phi, rho, eta, clamp):
    return y1


@pytest.mark.parametrize("wrong, words", [
    (_wrong_order, ["case 1", "x2 is wrong", "reverse order"]),
    (_scale_not_undone, ["x2 is wrong", "exp(-s)"]),
    (_shift_after_scale, ["x2 is wrong", "subtract it before you undo the scaling"]),
    (_no_clamp, ["x2 is wrong", "multiply by clamp"]),
    (_phi_added, ["x1 is wrong", "subtract it"]),
    (_one_array, ["expected the pair (x1, x2)"]),
], ids=["order", "scale sign", "shift after scale", "no clamp", "phi added", "one array"])
def test_coupling_mistakes_are_explained(wrong, words):
    assert_fails_with(exercises.ex_inv_coupling(wrong), *words)


def test_a_mistake_is_hinted_once():
    message = exercises.ex_inv_coupling(_wrong_order).message()
    assert message.count("reverse order") == 1 and message.count("x2 is wrong") == 3
    message = exercises.ex_inv_haar(_full_size, lambda bands: None).message()
    assert message.count("half the height") == 1 and message.count("have shape") == 3
