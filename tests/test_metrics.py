"""Metrics against hand-worked values and against TensorFlow's own SSIM."""

import numpy as np
import pytest
import tensorflow as tf

from stegutils import metrics, models


def test_mean_pixel_error_against_a_hand_worked_value():
    a = np.zeros((2, 2, 3), np.float32)
    b = a.copy()
    b[0, 0, 0] = 12 / 255  # one value off by 12 levels of 12 values
    assert metrics.mean_pixel_error(a, b) == pytest.approx([1.0])


def test_psnr_against_a_hand_worked_value():
    a = np.zeros((4, 4, 3), np.float32)
    b = np.full((4, 4, 3), 0.1, np.float32)  # MSE 0.01 -> 20 dB
    assert metrics.psnr(a, b) == pytest.approx([20.0], abs=1e-4)
    assert metrics.psnr(a * 255, b * 255, data_range=255) == pytest.approx([20.0], abs=1e-4)
    assert metrics.psnr(a, a)[0] == np.inf


def test_psnr_is_per_image_in_a_batch():
    a = np.zeros((2, 4, 4, 3), np.float32)
    b = a.copy()
    b[0] += 0.1
    b[1] += 0.01
    np.testing.assert_allclose(metrics.psnr(a, b), [20.0, 40.0], atol=1e-3)


def test_ssim_equals_tensorflow_ssim():
    rng = np.random.default_rng(0)
    a = rng.random((2, 32, 32, 3), dtype=np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    expected = tf.image.ssim(tf.constant(a), tf.constant(b), max_val=1.0).numpy()
    np.testing.assert_allclose(metrics.ssim(a, b), expected, rtol=1e-6)
    assert metrics.ssim(a, a) == pytest.approx([1.0, 1.0])


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="height, width, 3"):
        metrics.psnr(np.zeros((4, 4)), np.zeros((4, 4)))


def test_evaluate_measures_8_bit_containers():
    net = models.build("fast", seed=0, width=8, prep_depth=1, hide_depth=1,
                       reveal_depth=1, reveal_width=8)
    rng = np.random.default_rng(1)
    secrets = rng.random((3, 16, 16, 3), dtype=np.float32)
    covers = rng.random((3, 16, 16, 3), dtype=np.float32)
    report = metrics.evaluate(net, covers=covers, secrets=secrets)
    containers = net.hide(covers, secrets)
    np.testing.assert_allclose(report["cover_psnr"], metrics.psnr(covers, containers), rtol=1e-6)
    revealed = net.reveal(containers)
    np.testing.assert_allclose(report["secret_psnr"], metrics.psnr(secrets, revealed), rtol=1e-6)
    with pytest.raises(TypeError, match="positional"):
        metrics.evaluate(net, secrets, covers)
    summary = metrics.summarize(report)
    assert summary["images"] == 3
    assert summary["cover_psnr"] == pytest.approx(float(np.mean(report["cover_psnr"])))
    assert set(summary) >= {"cover_mpe", "secret_mpe", "cover_ssim", "secret_ssim_std"}
