"""Attacks on containers, leaks, colourfulness, scrambling, detectors and fine-tuning."""

import io

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_FAST, smooth_photos
from stegutils import attacks, pretrained


def _batch(count=3, size=24, seed=0):
    return np.stack(smooth_photos(count, height=size, width=size, seed=seed))


# ------------------------------------------------------------------------------- attacks


def test_jpeg_equals_pillows_own_encode_and_decode_at_that_quality():
    images = _batch(2, size=32)
    for quality in (10, 75, 95):
        expected = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
                buffer, format="JPEG", quality=quality)
            expected.append(np.asarray(Image.open(io.BytesIO(buffer.getvalue())),
                                       np.float32) / 255)
        np.testing.assert_array_equal(attacks.jpeg(images, quality), np.stack(expected))
        np.testing.assert_array_equal(attacks.jpeg(images[0], quality), expected[0])


def test_jpeg_without_chroma_subsampling_equals_pillows_4_4_4_encoding():
    image = _batch(1, size=32)[0]
    buffer = io.BytesIO()
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=90, subsampling=0)
    expected = np.asarray(Image.open(io.BytesIO(buffer.getvalue())), np.float32) / 255
    full = attacks.jpeg(image, 90, chroma_subsampling=False)
    np.testing.assert_array_equal(full, expected)
    assert not np.array_equal(full, attacks.jpeg(image, 90))


def test_lower_jpeg_quality_changes_the_image_more():
    image = _batch(1, size=32)[0]
    errors = [np.abs(attacks.jpeg(image, q) - image).mean() for q in (95, 50, 10)]
    assert errors[0] < errors[1] < errors[2]


def test_noise_has_the_requested_standard_deviation_and_is_seeded():
    grey = np.full((4, 32, 32, 3), 0.5, np.float32)  # far from 0 and 1: no clipping
    noisy = attacks.gaussian_noise(grey, 0.05, seed=1)
    difference = noisy - grey
    # 12288 draws: the sample std is within 2% of 0.05 with overwhelming probability.
    assert abs(difference.std() - 0.05) < 0.001
    assert abs(difference.mean()) < 0.002
    np.testing.assert_array_equal(noisy, attacks.gaussian_noise(grey, 0.05, seed=1))
    assert not np.array_equal(noisy, attacks.gaussian_noise(grey, 0.05, seed=2))
    np.testing.assert_array_equal(attacks.gaussian_noise(grey, 0.0), grey)
    clipped = attacks.gaussian_noise(np.zeros((8, 8, 3), np.float32), 0.5, seed=0)
    assert clipped.shape == (8, 8, 3) and clipped.min() >= 0 and clipped.max() <= 1


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8])
def test_bit_depth_reduction_to_k_bits_leaves_2_to_the_k_levels(bits):
    ramp = np.repeat(np.arange(256, dtype=np.float32)[:, None] / 255, 4, axis=1)
    image = np.repeat(ramp[:, :, None], 3, axis=2)  # every 8-bit level appears
    reduced = attacks.reduce_bit_depth(image, bits)
    levels = np.unique(reduced)
    assert len(levels) == 2**bits
    np.testing.assert_allclose(levels, np.arange(2**bits) / (2**bits - 1), atol=1e-7)
    # Each 8-bit value keeps its top bits: 8-bit level v -> v >> (8 - bits).
    np.testing.assert_allclose(reduced[:, 0, 0] * (2**bits - 1),
                               np.arange(256) >> (8 - bits), atol=1e-4)


def test_downscale_gives_back_the_original_shape_and_loses_detail():
    images = _batch(2, size=32)
    for factor in (0.25, 0.5, 0.9, 1.0):
        out = attacks.downscale(images, factor)
        assert out.shape == images.shape and out.dtype == np.float32
    assert attacks.downscale(images[0], 0.5).shape == images[0].shape
    np.testing.assert_array_equal(attacks.downscale(images, 1.0), images)
    checker = (np.indices((16, 16)).sum(axis=0) % 2).astype(np.float32)
    checker = np.repeat(checker[:, :, None], 3, axis=2)
    assert np.abs(attacks.downscale(checker, 0.5) - checker).mean() > 0.3


def test_crop_cuts_the_centre_or_the_given_offset():
    images = _batch(2, size=24)
    np.testing.assert_array_equal(attacks.crop(images, 10), images[:, 7:17, 7:17])
    np.testing.assert_array_equal(attacks.crop(images[0], (8, 12), offset=(1, 3)),
                                  images[0, 1:9, 3:15])


def test_amplified_residual_equals_absolute_difference_times_gain_clipped():
    rng = np.random.default_rng(0)
    cover = rng.random((2, 8, 8, 3)).astype(np.float32)
    container = np.clip(cover + rng.normal(0, 0.05, cover.shape), 0, 1).astype(np.float32)
    for gain in (1.0, 10.0, 50.0):
        expected = np.minimum(np.abs(container - cover) * gain, 1.0)
        np.testing.assert_allclose(attacks.amplify_residual(container, cover, gain=gain),
                                   expected, atol=1e-6)
    assert attacks.amplify_residual(container[0], cover[0]).shape == (8, 8, 3)


def test_residual_leak_is_high_when_the_residual_traces_the_secret_edges():
    secret = np.zeros((32, 32, 3), np.float32)
    secret[8:24, 8:24] = 1.0  # a white square: edges on its outline
    cover = np.full((32, 32, 3), 0.5, np.float32)
    edges = attacks.edge_map(secret)
    leaky = cover + 0.01 * edges[:, :, None] / edges.max()
    rng = np.random.default_rng(0)
    unrelated = cover + rng.uniform(0, 0.01, cover.shape).astype(np.float32)
    assert attacks.residual_leak(leaky, cover, secret, sigma=0) > 0.99
    assert attacks.residual_leak(leaky, cover, secret) > 0.99
    assert abs(attacks.residual_leak(unrelated, cover, secret)) < 0.1


def test_residual_leak_smooths_both_maps_before_correlating():
    from scipy import ndimage

    rng = np.random.default_rng(1)
    cover = rng.random((2, 16, 16, 3)).astype(np.float32) * 0.5
    container = cover + rng.random(cover.shape).astype(np.float32) * 0.1
    secret = rng.random(cover.shape).astype(np.float32)
    residual = ndimage.gaussian_filter(np.abs(container - cover).mean(-1), (0, 3, 3),
                                       mode="nearest")
    edges = ndimage.gaussian_filter(attacks.edge_map(secret), (0, 3, 3), mode="nearest")
    expected = [np.corrcoef(r.ravel(), e.ravel())[0, 1] for r, e in zip(residual, edges)]
    np.testing.assert_allclose(attacks.residual_leak(container, cover, secret, sigma=3),
                               expected, rtol=1e-4)


def test_edge_map_is_the_sobel_magnitude_of_the_luminance():
    from scipy import ndimage

    image = _batch(1, size=20)[0]
    luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
    expected = np.hypot(ndimage.sobel(luma, axis=0, mode="nearest"),
                        ndimage.sobel(luma, axis=1, mode="nearest"))
    np.testing.assert_allclose(attacks.edge_map(image), expected, atol=1e-5)


def test_correlation_matches_numpy_corrcoef():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 50)), rng.random((3, 50))
    b[1] = 2 * a[1] + 1
    expected = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    np.testing.assert_allclose(attacks.correlation(a, b), expected)
    assert attacks.correlation(a[1], b[1]) == pytest.approx(1.0)
    assert attacks.correlation(np.ones(5), np.arange(5.0)) == 0.0


# --------------------------------------------------------------------------- colourful


def test_colourfulness_of_a_grey_image_is_zero():
    assert attacks.colourfulness(np.full((8, 8, 3), 0.3, np.float32)) == pytest.approx(0.0)
    ramp = np.repeat(np.linspace(0, 1, 16, dtype=np.float32)[:, None, None], 3, axis=2)
    assert attacks.colourfulness(np.repeat(ramp, 4, axis=1)) == pytest.approx(0.0, abs=1e-4)


def test_colourfulness_of_half_red_half_blue_matches_the_hand_computed_value():
    image = np.zeros((4, 4, 3), np.float32)
    image[:, :2, 0] = 1.0  # red (255, 0, 0)
    image[:, 2:, 2] = 1.0  # blue (0, 0, 255)
    # rg = R - G: red 255, blue 0            -> mean 127.5, std 127.5
    # yb = (R + G)/2 - B: red 127.5, blue -255 -> mean -63.75, std 191.25
    # M = sqrt(127.5^2 + 191.25^2) + 0.3 sqrt(127.5^2 + 63.75^2)
    #   = 229.8539 + 0.3 * 142.5493 = 272.6187
    assert attacks.colourfulness(image) == pytest.approx(272.6187, abs=1e-3)
    values = attacks.colourfulness(np.stack([image, np.full_like(image, 0.5)]))
    np.testing.assert_allclose(values, [272.6187, 0.0], atol=1e-3)


# ------------------------------------------------------------------------- scrambling


@pytest.mark.parametrize("block", [1, 4])
def test_scramble_then_unscramble_is_the_identity(block):
    images = _batch(2, size=16)
    scrambled = attacks.scramble(images, 42, block=block)
    assert not np.array_equal(scrambled, images)
    np.testing.assert_array_equal(np.sort(scrambled.ravel()), np.sort(images.ravel()))
    np.testing.assert_array_equal(attacks.unscramble(scrambled, 42, block=block), images)
    np.testing.assert_array_equal(
        attacks.unscramble(attacks.scramble(images[0], 7), 7), images[0])


def test_unscrambling_with_a_wrong_key_does_not_recover_the_image():
    image = _batch(1, size=16)[0]
    wrong = attacks.unscramble(attacks.scramble(image, 42), 43)
    assert np.abs(wrong - image).mean() > 0.05


def test_scrambling_moves_whole_pixels():
    image = np.random.default_rng(0).random((4, 4, 3)).astype(np.float32)
    scrambled = attacks.scramble(image, 1)
    original = {tuple(p) for p in image.reshape(-1, 3)}
    assert {tuple(p) for p in scrambled.reshape(-1, 3)} == original


# ---------------------------------------------------------------------------- detection


def test_roc_auc_matches_a_hand_example_and_scikit_learn():
    from sklearn.metrics import roc_auc_score

    # Positives 0.8, 0.4; negatives 0.5, 0.1, 0.4. Pairs (pos > neg): 0.8 beats all 3,
    # 0.4 beats 0.1 and ties 0.4 (half): (3 + 1.5) / 6 = 0.75.
    labels = [1, 1, 0, 0, 0]
    scores = [0.8, 0.4, 0.5, 0.1, 0.4]
    assert attacks.roc_auc(labels, scores) == pytest.approx(0.75)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * labels, 1)  # rounded: many ties
    assert attacks.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_roc_curve_runs_from_zero_to_one_and_threshold_separates_separable_scores():
    labels = [0, 0, 1, 1]
    fpr, tpr = attacks.roc_curve(labels, [0.1, 0.2, 0.7, 0.9])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    threshold = attacks.fit_threshold(labels, [0.1, 0.2, 0.7, 0.9])
    assert 0.2 < threshold <= 0.7
    assert attacks.accuracy(labels, [0.1, 0.2, 0.7, 0.9], threshold) == 1.0
    with pytest.raises(ValueError, match="both classes"):
        attacks.roc_auc([1, 1], [0.2, 0.3])


def test_high_pass_cancels_smooth_images():
    y, x = np.mgrid[0:12, 0:12].astype(np.float32) / 24
    plane = np.repeat((0.2 + x + 0.5 * y)[:, :, None], 3, axis=2)
    np.testing.assert_allclose(attacks.high_pass(plane), 0.0, atol=1e-6)
    assert attacks.high_pass(plane).shape == (10, 10, 3)
    assert attacks.residual_energy(plane)[0] == pytest.approx(0.0, abs=1e-6)


def test_detector_and_baseline_train_and_score_on_tiny_data():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    clean = np.stack(smooth_photos(48, height=16, width=16, seed=3))
    # "Containers": photos with a faint, busy pattern added, as hiding adds.
    stego = np.clip(np.stack(smooth_photos(48, height=16, width=16, seed=4))
                    + rng.normal(0, 0.02, (48, 16, 16, 3)), 0, 1).astype(np.float32)
    result = attacks.run_steganalysis(clean[:32], stego[:32], clean[32:], stego[32:],
                                      steps=40, batch_size=16, width=4, depth=1, seed=0)
    assert result["train_images"] == 64 and result["test_images"] == 32
    for name in ("cnn", "energy"):
        entry = result[name]
        assert entry["auc"] == pytest.approx(roc_auc_score(entry["labels"], entry["scores"]))
        assert entry["auc"] > 0.9, name
        assert 0 <= entry["accuracy"] <= 1
    assert result["cnn"]["loss"][-1] < result["cnn"]["loss"][0]
    scores = attacks.detector_scores(result["cnn"]["model"], clean[:3])
    assert scores.shape == (3,) and ((scores > 0) & (scores < 1)).all()


# -------------------------------------------------------------------- models and tuning


def test_reveal_clean_and_finetune_a_copy_of_a_tiny_model(tiny_run):
    net, _ = pretrained.load(tiny_run)
    photos = smooth_photos(4, height=24, width=24, seed=5)
    revealed = attacks.reveal_clean(net, photos[0])
    assert revealed.shape == photos[0].shape
    before = [w.copy() for w in net.get_weights()]
    tuned, history = attacks.finetune(net, photos, steps=2, noise=0.02, size=16,
                                      batch_size=2, lr=1e-3)
    assert len(history) == 2 and np.isfinite(history[-1]["loss"])
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(before, tuned.get_weights()))
    tuned_jpeg, _ = attacks.finetune(net, photos, steps=1, jpeg_quality=50, size=16,
                                     batch_size=2)
    assert tuned_jpeg.reveal(photos[0]).shape == photos[0].shape
    assert TINY_FAST["width"] == net.options["width"]


def test_attack_curve_measures_the_secret_after_each_attack_strength(tiny_run):
    from stegutils import metrics

    net, _ = pretrained.load(tiny_run)
    secrets, covers = _batch(2, size=16, seed=1), _batch(2, size=16, seed=2)
    containers = net.hide(covers, secrets)
    curve = attacks.attack_curve(net, attacks.jpeg, [90, 30], covers=covers, secrets=secrets)
    expected = metrics.psnr(secrets, net.reveal(attacks.jpeg(containers, 30))).mean()
    assert curve["values"] == [90, 30] and curve["images"] == 2
    assert curve["secret_psnr"][1] == pytest.approx(expected, rel=1e-5)
    # Swapped, the curve would measure another pair: the comparison above catches it.
    swapped = metrics.psnr(covers, net.reveal(attacks.jpeg(net.hide(secrets, covers), 30)))
    assert curve["secret_psnr"][1] != pytest.approx(swapped.mean(), rel=1e-3)
    with pytest.raises(ValueError, match="changed the image size"):
        attacks.attack_curve(net, attacks.crop, [8], covers=covers, secrets=secrets,
                             containers=containers)


def test_attack_curve_takes_covers_and_secrets_by_name_only(tiny_run):
    net, _ = pretrained.load(tiny_run)
    secrets, covers = _batch(2, size=16, seed=1), _batch(2, size=16, seed=2)
    with pytest.raises(TypeError, match="positional"):
        attacks.attack_curve(net, secrets, covers, attacks.jpeg, [90])
    with pytest.raises(TypeError, match="multiple values"):
        attacks.attack_curve(net, secrets, covers, attack=attacks.jpeg, values=[90])


def test_copy_model_has_the_same_weights_and_outputs(tiny_run):
    net, _ = pretrained.load(tiny_run)
    copy = attacks.copy_model(net)
    image = _batch(1, size=16)[0]
    assert copy is not net and copy.variant == net.variant
    np.testing.assert_allclose(copy.reveal(image), net.reveal(image), atol=1e-6)


# --------------------------------------------------------------------------------- plots


def test_chapter_7_figures_draw_what_they_are_given():
    import matplotlib

    matplotlib.use("Agg")
    from stegutils import plot

    fig = plot.attack_curves({"a": ([1, 2, 3], [30, 20, 10], [1, 1, 1]),
                              "b": ([1, 2, 3], [25, 24, 23])},
                             xlabel="strength", reference=12.0, invert_x=True)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "no secret hidden"]
    assert ax.xaxis_inverted() and fig.patch.get_alpha() == 1.0
    fig = plot.scatter_fit([0, 1, 2, 3], [1, 3, 5, 7], xlabel="x", ylabel="y")
    assert "r = 1.00 (4 images)" in fig.axes[0].get_legend().get_texts()[0].get_text()
    fig = plot.roc_curves({"cnn": (np.array([0, 0, 1]), np.array([0, 1, 1]), 1.0)})
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "cnn (AUC 1.000)"
    with pytest.raises(ValueError, match="same length"):
        plot.scatter_fit([1, 2], [1, 2, 3], xlabel="x", ylabel="y")


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,message", [
    (lambda x: attacks.jpeg(x, 0), r"quality must be an int from 1 to 100, got 0"),
    (lambda x: attacks.jpeg(x, 101), r"quality must be an int from 1 to 100, got 101"),
    (lambda x: attacks.gaussian_noise(x, -0.1), r"std must be >= 0.*got -0.1"),
    (lambda x: attacks.downscale(x, 0), r"factor must be in \(0, 1\].*got 0"),
    (lambda x: attacks.downscale(x, -0.5), r"factor must be in \(0, 1\].*got -0.5"),
    (lambda x: attacks.downscale(x, 1.5), r"factor must be in \(0, 1\].*got 1.5"),
    (lambda x: attacks.crop(x, 17), r"cannot crop 17x17 out of a 16x16 image"),
    (lambda x: attacks.crop(x, (4, 20)), r"cannot crop 4x20 out of a 16x16 image"),
    (lambda x: attacks.crop(x, 8, offset=(10, 0)), r"does not fit.*0 <= top <= 8"),
    (lambda x: attacks.reduce_bit_depth(x, 0), r"bits must be an int from 1 to 8, got 0"),
    (lambda x: attacks.reduce_bit_depth(x, 9), r"bits must be an int from 1 to 8, got 9"),
    (lambda x: attacks.amplify_residual(x, x, gain=0), r"gain must be > 0.*got 0"),
    (lambda x: attacks.amplify_residual(x, x, gain=-2), r"gain must be > 0.*got -2"),
    (lambda x: attacks.amplify_residual(x, x[:8]), r"same shape"),
    (lambda x: attacks.scramble(x, 1, block=5), r"block must divide"),
    (lambda x: attacks.jpeg(x[..., 0], 90), r"shape \(height, width, 3\)"),
    (lambda x: attacks.jpeg(x * 255, 90), r"\[0, 1\]"),
])
def test_bad_parameters_raise_value_errors_that_say_the_valid_range(call, message):
    image = _batch(1, size=16)[0]
    with pytest.raises(ValueError, match=message):
        call(image)


def test_non_integer_quality_and_bits_are_type_errors():
    image = _batch(1, size=16)[0]
    with pytest.raises(TypeError, match="quality must be an int"):
        attacks.jpeg(image, 90.5)
    with pytest.raises(TypeError, match="bits must be an int"):
        attacks.reduce_bit_depth(image, "4")
