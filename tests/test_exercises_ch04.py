"""Chapter 4's checkers against the solutions in the notebook and typical wrong answers.

The reference solutions are read from the notebook's solution cells (so the two cannot
drift apart), executed with the chapter's imports only.
"""

import numpy as np
import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import exercises, train

CHAPTER = ExerciseNotebook("04_loss.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


# ---------------------------------------------------------------------------- ex-loss-l1

def test_ex_loss_l1_passes_the_reference_solution():
    result = exercises.ex_loss_l1(solution("ex-loss-l1", "l1_losses"))
    assert_passes(result)
    assert result.cases == 2


def _squared(net, *, cover, secret, beta):
    import tensorflow as tf
    container, revealed = net({"cover": cover, "secret": secret}, training=True)
    cover_term = tf.reduce_mean((cover - container) ** 2)
    secret_term = tf.reduce_mean((secret - revealed) ** 2)
    return cover_term, secret_term, cover_term + beta * secret_term


def _beta_on_cover(net, *, cover, secret, beta):
    import tensorflow as tf
    container, revealed = net({"cover": cover, "secret": secret}, training=True)
    cover_term = tf.reduce_mean(tf.abs(cover - container))
    secret_term = tf.reduce_mean(tf.abs(secret - revealed))
    return cover_term, secret_term, beta * cover_term + secret_term


def _numpy_values(net, *, cover, secret, beta):
    container, revealed = net({"cover": cover, "secret": secret}, training=True)
    cover_term = np.mean(np.abs(np.asarray(cover) - container.numpy()))
    secret_term = np.mean(np.abs(np.asarray(secret) - revealed.numpy()))
    return cover_term, secret_term, cover_term + beta * secret_term


def _container_copied(net, *, cover, secret, beta):
    """The cover term is computed from a copy of the container outside the graph."""
    import tensorflow as tf
    container, revealed = net({"cover": cover, "secret": secret}, training=True)
    copy = tf.constant(container.numpy())
    cover_term = tf.reduce_mean(tf.abs(cover - copy))
    secret_term = tf.reduce_mean(tf.abs(secret - revealed))
    return cover_term, secret_term, cover_term + beta * secret_term


def _reveal_cut_off(net, *, cover, secret, beta):
    """The reveal network gets a container the tape cannot see through."""
    import tensorflow as tf
    container = net.hide_raw(cover=cover, secret=secret, training=True)
    revealed = net.revealing(tf.stop_gradient(container), training=True)
    cover_term = tf.reduce_mean(tf.abs(cover - container))
    secret_term = tf.reduce_mean(tf.abs(secret - revealed))
    return cover_term, secret_term, cover_term + beta * secret_term


def _cover_from_reveal(net, *, cover, secret, beta):
    """Compares the cover with the revealed secret: its gradient reaches the reveal net."""
    import tensorflow as tf
    container, revealed = net({"cover": cover, "secret": secret}, training=True)
    cover_term = tf.reduce_mean(tf.abs(cover - container)) + 0 * tf.reduce_mean(revealed)
    secret_term = tf.reduce_mean(tf.abs(secret - revealed))
    return cover_term, secret_term, cover_term + beta * secret_term


def _other_names(net, s, c, b):
    """Right, but the checker passes cover=, secret= and beta= by name."""
    import tensorflow as tf
    container, revealed = net({"cover": c, "secret": s}, training=True)
    cover_term = tf.reduce_mean(tf.abs(c - container))
    secret_term = tf.reduce_mean(tf.abs(s - revealed))
    return cover_term, secret_term, cover_term + b * secret_term


def test_ex_loss_l1_takes_the_images_by_name_in_either_order():
    def positional_old_order(net, secret, cover, beta):
        import tensorflow as tf
        container, revealed = net({"cover": cover, "secret": secret}, training=True)
        cover_term = tf.reduce_mean(tf.abs(cover - container))
        secret_term = tf.reduce_mean(tf.abs(secret - revealed))
        return cover_term, secret_term, cover_term + beta * secret_term

    assert_passes(exercises.ex_loss_l1(positional_old_order))


@pytest.mark.parametrize("wrong, words", [
    (_squared, ["the cover term is", "mean *absolute* error"]),
    (_beta_on_cover, ["the total is", "beta weighs the secret term"]),
    (_numpy_values, ["are float32, not TensorFlow tensors", ".numpy()"]),
    (_container_copied, ["no gradient of the cover term reaches the prep network",
                         "not from NumPy values"]),
    (_reveal_cut_off, ["no gradient of the secret term reaches the hiding network"]),
    (_cover_from_reveal, ["the cover term sends a gradient to the reveal network"]),
    (lambda net, *, cover, secret, beta: train.compute_losses(
        net, cover=cover, secret=secret, beta=beta, quantize=False),
     ["expected three values (cover_term, secret_term, total), got Losses"]),
    (_other_names, ["unexpected keyword argument 'cover'",
                    "name the parameters cover, secret and beta"]),
], ids=["squared", "beta-on-cover", "numpy", "container-copied", "reveal-cut-off",
        "cover-from-reveal", "losses-object", "other-names"])
def test_ex_loss_l1_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_loss_l1(wrong), *words)


def test_ex_loss_l1_leaves_the_global_random_state_alone():
    state = np.random.get_state()[1].copy()
    exercises.ex_loss_l1(solution("ex-loss-l1", "l1_losses"))
    assert np.array_equal(np.random.get_state()[1], state)


# -------------------------------------------------------------------------- ex-loss-psnr

def test_ex_loss_psnr_passes_the_reference_solution():
    result = exercises.ex_loss_psnr(solution("ex-loss-psnr", "psnr_from_mse"))
    assert_passes(result)
    assert result.cases == 6


def test_ex_loss_psnr_reference_agrees_with_metrics_psnr():
    from stegutils import metrics

    psnr_from_mse = solution("ex-loss-psnr", "psnr_from_mse")
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 3, 8, 8, 3), dtype=np.float32)
    mse = np.mean((a.astype(np.float64) - b) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(psnr_from_mse(mse), metrics.psnr(a, b), rtol=1e-5)


def _math_log(mse, data_range=1.0):
    import math
    return 10 * math.log10(data_range ** 2 / float(mse))


@pytest.mark.parametrize("wrong, words", [
    (lambda mse, data_range=1.0: 20 * np.log10(data_range ** 2 / np.asarray(mse)),
     ["10 * log10 of a ratio of squared values"]),
    (lambda mse, data_range=1.0: 10 * np.log(data_range ** 2 / np.asarray(mse)),
     ["base 10"]),
    (lambda mse, data_range=1.0: 10 * np.log10(np.asarray(mse) / data_range ** 2),
     ["the MSE goes in the denominator"]),
    (lambda mse, data_range=1.0: 10 * np.log10(data_range / np.asarray(mse)),
     ["data_range=255", "square the data range"]),
    (lambda mse, data_range=1.0: 10 * np.log10(1 / np.asarray(mse)),
     ["data_range=255", "use data_range"]),
    (_math_log, ["an array of three values", "raised TypeError", "raised ZeroDivisionError",
                "should give inf"]),
], ids=["20-log10", "natural-log", "upside-down", "range-not-squared", "range-ignored",
        "math-module"])
def test_ex_loss_psnr_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_loss_psnr(wrong), *words)


@pytest.mark.parametrize("label, name, checker", [
    ("ex-loss-l1", "l1_losses", exercises.ex_loss_l1),
    ("ex-loss-psnr", "psnr_from_mse", exercises.ex_loss_psnr),
])
def test_the_unfinished_starters_are_reported_once(label, name, checker):
    result = checker(starter(label, name))
    assert_fails_with(result, "returned None")
    assert len(result.problems) == 1
