"""The differentiable channel: JPEG against Pillow's encoder, gradients, the curriculum,
training through it, and the robust variant's shift equivariance."""

import dataclasses
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from scipy import fft

from conftest import smooth_photos
from stegutils import attacks, channel, metrics, models, train


def _photos(count=4, height=48, width=64, seed=0):
    """Smooth colour images with some fine texture (JPEG has something to remove)."""
    rng = np.random.default_rng(seed)
    images = np.stack(smooth_photos(count, height=height, width=width, seed=seed))
    images = np.clip(images + rng.normal(0, 0.03, images.shape), 0, 1).astype(np.float32)
    return np.round(images * 255) / 255


def _pillow_tables(quality, subsampling=2):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(
        buffer, format="JPEG", quality=quality, subsampling=subsampling)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        return {k: np.asarray(v, np.float32) for k, v in image.quantization.items()}


# --------------------------------------------------------------------------- the pieces


def test_quantization_table_is_the_standard_table_at_50_and_ones_at_100():
    np.testing.assert_array_equal(channel.quantization_table(50), channel.LUMINANCE_TABLE)
    np.testing.assert_array_equal(channel.quantization_table(50, chroma=True),
                                  channel.CHROMINANCE_TABLE)
    np.testing.assert_array_equal(channel.quantization_table(100), np.ones((8, 8)))


def test_quantization_tables_are_the_ones_pillow_writes_into_the_file_at_every_quality():
    # Pillow lists the tables in the file's (zigzag) order; compare the sorted values,
    # which do not depend on the order, and the DC entry, which is first.
    for quality in range(1, 101):
        written = _pillow_tables(quality)
        for index, chroma in ((0, False), (1, True)):
            ours = channel.quantization_table(quality, chroma=chroma).numpy()
            np.testing.assert_array_equal(np.sort(ours.ravel()), np.sort(written[index]),
                                          err_msg=f"quality {quality}, chroma {chroma}")
            assert ours[0, 0] == written[index][0]


def test_a_batch_of_qualities_gives_one_table_per_image():
    tables = channel.quantization_table(tf.constant([30.0, 75.0]))
    assert tables.shape == (2, 8, 8)
    np.testing.assert_array_equal(tables[1], channel.quantization_table(75))


def test_dct_matrix_is_orthonormal_and_is_the_standard_2d_dct():
    dct = channel.dct_matrix(8).numpy()
    np.testing.assert_allclose(dct @ dct.T, np.eye(8), atol=1e-6)
    block = np.random.default_rng(0).normal(size=(8, 8)).astype(np.float32)
    np.testing.assert_allclose(dct @ block @ dct.T, fft.dctn(block, norm="ortho"), atol=1e-5)


def test_ycbcr_round_trip_and_grey_has_no_colour():
    pixels = tf.constant(np.random.default_rng(1).uniform(0, 255, (2, 5, 5, 3)), tf.float32)
    back = channel.ycbcr_to_rgb(channel.rgb_to_ycbcr(pixels))
    np.testing.assert_allclose(back, pixels, atol=1e-3)
    grey = channel.rgb_to_ycbcr(tf.fill([1, 2, 2, 3], 100.0)).numpy()
    np.testing.assert_allclose(grey[..., 0], 100.0, atol=1e-4)
    np.testing.assert_allclose(grey[..., 1:], 128.0, atol=1e-4)


def test_cubic_rounding_is_close_to_rounding_with_the_cubic_gradient():
    x = tf.Variable(np.linspace(-3, 3, 61, dtype=np.float32))
    with tf.GradientTape() as tape:
        y = channel.round_cubic(x)
    gradient = tape.gradient(y, x).numpy()
    rounded = np.round(x.numpy())
    assert np.max(np.abs(y.numpy() - rounded)) <= 0.125 + 1e-6
    np.testing.assert_allclose(gradient, 3 * (x.numpy() - rounded) ** 2, atol=1e-5)
    with tf.GradientTape() as tape:
        z = channel.round_straight_through(x)
    np.testing.assert_array_equal(z.numpy(), rounded)
    np.testing.assert_array_equal(tape.gradient(z, x).numpy(), np.ones(61))


# ------------------------------------------------------------------- against the encoder


@pytest.mark.parametrize("subsampling", [True, False])
@pytest.mark.parametrize("quality", [50, 75, 95])
def test_differentiable_jpeg_is_close_to_pillows_real_encoding(quality, subsampling):
    images = _photos(4, height=40, width=56)  # not multiples of 16: the padding counts
    real = attacks.jpeg(images, quality, chroma_subsampling=subsampling)
    for rounding in ("straight-through", "cubic"):
        ours = channel.differentiable_jpeg(images, quality, chroma_subsampling=subsampling,
                                           rounding=rounding).numpy()
        assert ours.shape == images.shape
        np.testing.assert_array_equal(np.round(ours * 255), ours * 255)  # 8-bit output
        to_real = metrics.psnr(real, ours).mean()
        # Far closer to the real encoder's output than either is to the input (the
        # JPEG's own loss), and within about 1.5 grey levels RMS of it.
        assert to_real > 40.0, (quality, subsampling, rounding, to_real)
        assert to_real > metrics.psnr(real, images).mean() + 3.0


def test_4_2_0_loses_colour_detail_that_4_4_4_keeps():
    rng = np.random.default_rng(2)
    checker = np.indices((32, 32)).sum(axis=0) % 2  # colour that alternates every pixel
    images = np.full((1, 32, 32, 3), 0.5, np.float32)
    images[0, ..., 0] = 0.3 + 0.4 * checker
    images[0, ..., 2] = 0.7 - 0.4 * checker
    images += rng.normal(0, 0.001, images.shape).astype(np.float32)
    full = channel.differentiable_jpeg(images, 95, chroma_subsampling=False).numpy()
    half = channel.differentiable_jpeg(images, 95, chroma_subsampling=True).numpy()
    assert metrics.psnr(images, full).mean() > metrics.psnr(images, half).mean() + 6


def test_lower_quality_removes_more_and_per_image_qualities_match_single_calls():
    images = _photos(2)
    errors = [float(np.abs(channel.differentiable_jpeg(images, q).numpy() - images).mean())
              for q in (95, 75, 30)]
    assert errors[0] < errors[1] < errors[2]
    both = channel.differentiable_jpeg(images, tf.constant([30.0, 95.0])).numpy()
    np.testing.assert_array_equal(both[0], channel.differentiable_jpeg(images[:1], 30).numpy()[0])
    np.testing.assert_array_equal(both[1], channel.differentiable_jpeg(images[1:], 95).numpy()[0])


@pytest.mark.parametrize("rounding", ["straight-through", "cubic"])
def test_gradients_through_the_jpeg_exist_are_finite_and_reach_every_pixel(rounding):
    images = tf.Variable(_photos(2, height=32, width=32))
    with tf.GradientTape() as tape:
        out = channel.differentiable_jpeg(images, tf.constant([50.0, 90.0]), rounding=rounding)
        loss = tf.reduce_sum(out * tf.random.stateless_normal(tf.shape(out), [1, 2]))
    gradient = tape.gradient(loss, images).numpy()
    assert np.all(np.isfinite(gradient))
    assert np.count_nonzero(gradient) > 0.9 * gradient.size


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="rounding must be one of"):
        channel.differentiable_jpeg(_photos(1), 75, rounding="floor")
    with pytest.raises(ValueError, match="expected images of shape"):
        channel.differentiable_jpeg(np.zeros((8, 8, 3), np.float32), 75)


# ---------------------------------------------------------------------------- curriculum


def test_channel_spec_validates_and_round_trips():
    spec = channel.ChannelSpec(jpeg_quality=(40, 90), ramp=10)
    assert channel.ChannelSpec.from_dict(spec.to_dict()) == spec
    for bad, message in [({"jpeg_quality": (90, 40)}, "jpeg_quality"),
                         ({"clean": 1.5}, "clean must be"),
                         ({"crop": -1}, "crop must be"),
                         ({"weights": (0, 0, 0)}, "weights must be"),
                         ({"rounding": "x"}, "rounding must be"),
                         ({"crop_mode": "trim"}, "crop_mode must be one of crop, shift, mix")]:
        with pytest.raises(ValueError, match=message):
            channel.ChannelSpec(**bad)
    with pytest.raises(ValueError, match=r"unknown channel field\(s\) \['jpg'\]"):
        channel.ChannelSpec.from_dict({"jpg": 1})


def test_strength_rises_to_one_over_the_ramp():
    assert [float(channel.strength(s, 10)) for s in (0, 5, 10, 50)] == [0.0, 0.5, 1.0, 1.0]
    assert float(channel.strength(0, 0)) == 1.0


def test_at_strength_zero_the_channel_only_crops_and_rounds_and_secrets_match():
    images = tf.constant(_photos(4, height=32, width=32))
    spec = channel.ChannelSpec(ramp=100, crop=5)
    out, target = channel.simulate(images + 0.001, images, spec, step=0, seed=[3, 4])
    assert out.shape == target.shape == (4, 27, 27, 3)
    # The container is the secret here, so the crop must match pixel for pixel.
    np.testing.assert_allclose(out.numpy(), target.numpy(), atol=0.5 / 255 + 0.0011)
    again, _ = channel.simulate(images + 0.001, images, spec, step=0, seed=[3, 4])
    np.testing.assert_array_equal(out.numpy(), again.numpy())


def test_shifting_the_grid_keeps_every_pixel_and_moves_the_jpeg_blocks():
    images = tf.constant(_photos(2, height=32, width=48))

    def code(x):
        return channel.differentiable_jpeg(x, 50.0, chroma_subsampling=False)

    np.testing.assert_array_equal(
        channel.shifted_grid(lambda x: x, images, tf.constant([3, 5])), images)
    np.testing.assert_array_equal(channel.shifted_grid(code, images, tf.constant([0, 0])),
                                  code(images))
    # 4:4:4 JPEG codes 8x8 blocks on their own: a shift by whole blocks changes nothing.
    np.testing.assert_allclose(channel.shifted_grid(code, images, tf.constant([8, 8])),
                               code(images), atol=1e-5)
    moved = channel.shifted_grid(code, images, tf.constant([3, 5]))
    assert moved.shape == images.shape
    assert np.abs(moved.numpy() - code(images).numpy()).max() > 2 / 255


def test_the_shift_mode_crops_nothing_and_shifts_only_the_jpeg():
    images = tf.constant(_photos(8, height=32, width=32))
    spec = channel.ChannelSpec(ramp=0, clean=0.0, weights=(1, 0, 0), crop=6,
                               crop_mode="shift", subsampling=1.0)
    out, target = channel.simulate(images, images, spec, step=0, seed=[5, 6])
    assert out.shape == target.shape == images.shape
    np.testing.assert_array_equal(target, images)
    # Every pair was coded (a JPEG of itself, border included: nothing was cut off).
    changed = np.abs(out.numpy() - images.numpy()).reshape(8, -1).max(axis=1)
    assert (changed > 1.5 / 255).all()
    lowest = metrics.psnr(images.numpy(), channel.differentiable_jpeg(images, 50.0).numpy())
    assert metrics.psnr(images.numpy(), out.numpy()).min() > lowest.min() - 1.0
    border = np.abs(out.numpy()[:, :4] - images.numpy()[:, :4]).mean()
    assert border < 0.05
    gradient_images = tf.Variable(images)
    with tf.GradientTape() as tape:
        coded, _ = channel.simulate(gradient_images, images, spec, step=0, seed=[5, 6])
        loss = tf.reduce_sum(coded)
    grad = tape.gradient(loss, gradient_images)
    assert grad is not None and np.isfinite(grad.numpy()).all()


def test_the_mix_mode_crops_some_batches_and_shifts_the_others_as_those_modes_would():
    images = tf.constant(_photos(4, height=32, width=32))
    secrets = tf.constant(_photos(4, height=32, width=32, seed=9))
    spec = channel.ChannelSpec(ramp=0, clean=0.0, weights=(1, 0, 0), crop=6, crop_mode="mix")
    sizes = set()
    for seed in range(12):
        out, target = channel.simulate(images, secrets, spec, step=0, seed=[seed, 1])
        sizes.add(out.shape[1])
        mode = "crop" if out.shape[1] == 26 else "shift"
        single = dataclasses.replace(spec, crop_mode=mode)
        expected, expected_target = channel.simulate(images, secrets, single, step=0,
                                                     seed=[seed, 1])
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(target, expected_target)
    assert sizes == {26, 32}  # both modes were drawn
    # Without a crop there is nothing to mix: the container keeps its size.
    flat = dataclasses.replace(spec, crop=0)
    out, _ = channel.simulate(images, secrets, flat, step=0, seed=[0, 1])
    assert out.shape == images.shape


def test_at_full_strength_most_pairs_are_attacked_and_the_seed_decides():
    images = tf.constant(_photos(16, height=32, width=32))
    spec = channel.ChannelSpec(ramp=10, clean=0.0, crop=0)
    out, _ = channel.simulate(images, images, spec, step=10, seed=[1, 7])
    changed = np.abs(out.numpy() - images.numpy()).reshape(16, -1).max(axis=1) > 1.5 / 255
    assert changed.sum() >= 12
    other, _ = channel.simulate(images, images, spec, step=10, seed=[2, 7])
    assert not np.array_equal(out.numpy(), other.numpy())


# ---------------------------------------------------------------------- training with it


def test_config_channel_is_validated_and_stored_with_defaults():
    config = train.Config(channel={"ramp": 5})
    assert config.channel["ramp"] == 5 and config.channel["crop"] == 8
    assert train.Config.from_dict(config.to_dict()).channel == config.channel
    with pytest.raises(ValueError, match="unknown channel field"):
        train.Config(channel={"ramps": 5})


TINY_ROBUST = {"width": 8, "prep_depth": 1, "hide_depth": 1, "hide_width": 8,
               "reveal_width": 8, "dilations": [1, 2, 1]}


def test_a_run_trains_through_the_channel_and_is_chosen_after_a_real_jpeg(tmp_path):
    photos = smooth_photos(6, height=40, width=40, seed=5)
    config = train.Config(variant="robust", variant_options=TINY_ROBUST, size=24,
                          batch_size=4, steps=4, seed=1, precision="float32",
                          channel={"ramp": 2, "crop": 4}, log_every=2, eval_every=2,
                          checkpoint_every=2, val_photos=2)
    trainer = train.Trainer(config, tmp_path / "run", train_images=photos[:4],
                            val_images=photos[4:])
    trainer.fit(progress=False)
    history = trainer.history()
    assert [r["step"] for r in history] == [2, 4]
    assert all(np.isfinite(r["loss"]) for r in history)
    assert "val_jpeg_secret_psnr" in history[-1]
    # The same steps again give the same weights: the channel's draws are seeded by step.
    again = train.Trainer(config, tmp_path / "again", train_images=photos[:4],
                          val_images=photos[4:])
    again.fit(progress=False)
    for a, b in zip(trainer.net.get_weights(), again.net.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_run_trains_through_the_mixed_channel(tmp_path):
    # Crops and shifts give batches of two sizes: the compiled step takes both.
    photos = smooth_photos(6, height=40, width=40, seed=5)
    config = train.Config(variant="robust", variant_options=TINY_ROBUST, size=24,
                          batch_size=4, steps=6, seed=1, precision="float32",
                          channel={"ramp": 0, "crop": 4, "crop_mode": "mix"}, log_every=2,
                          eval_every=6, checkpoint_every=6, val_photos=2)
    trainer = train.Trainer(config, tmp_path / "run", train_images=photos[:4],
                            val_images=photos[4:])
    # Step i draws with the seed (config seed, i): both sizes are among these steps.
    spec = channel.ChannelSpec.from_dict(config.channel)
    probe = tf.zeros([4, 24, 24, 3])
    assert {channel.simulate(probe, probe, spec, step=i, seed=[1, i])[0].shape[1]
            for i in range(6)} == {20, 24}
    trainer.fit(progress=False)
    history = trainer.history()
    assert [r["step"] for r in history] == [2, 4, 6]
    assert all(np.isfinite(r["loss"]) for r in history)


@pytest.mark.parametrize("crop_mode", channel.CROP_MODES)
def test_compute_losses_through_the_jpeg_channel_has_finite_gradients(crop_mode):
    net = models.build("robust", seed=0, **TINY_ROBUST)
    secret = tf.constant(_photos(2, height=24, width=24, seed=1))
    cover = tf.constant(_photos(2, height=24, width=24, seed=2))
    spec = channel.ChannelSpec(crop=4, crop_mode=crop_mode, weights=(1.0, 0.0, 0.0),
                               clean=0.0)
    with tf.GradientTape() as tape:
        losses = train.compute_losses(net, cover=cover, secret=secret, beta=1.0,
                                      channel=spec, step=0, seed=tf.constant([0, 0], tf.int64))
    assert np.isfinite(float(losses.total)) and float(losses.secret) > 0
    grads = tape.gradient(losses.total, net.trainable_variables)
    assert all(g is not None and np.all(np.isfinite(g.numpy())) for g in grads)


# -------------------------------------------------------------------- the robust variant


def test_the_robust_reveal_network_commutes_with_a_crop_at_any_offset():
    net = models.build("robust", seed=0)
    container = _photos(1, height=64, width=64, seed=3)
    revealed = net.reveal(container)
    margin = models.receptive_field(net)["reveal"] // 2 + 1
    for offset in range(1, 8):
        crop = attacks.crop(container, 48, offset=(offset, offset))
        shifted = net.reveal(crop)
        expected = revealed[:, offset:offset + 48, offset:offset + 48]
        inner = slice(margin, 48 - margin)
        np.testing.assert_allclose(shifted[:, inner, inner], expected[:, inner, inner],
                                   atol=1e-5)


def test_the_robust_variant_counts_its_dilated_field():
    net = models.build("robust", seed=0)
    # Seven dilated 3x3 layers (1, 2, 4, 8, 4, 2, 1) and the output 3x3: 1 + 2 * 23.
    assert models.receptive_field(net)["reveal"] == 1 + 2 * (1 + 2 + 4 + 8 + 4 + 2 + 1 + 1)


# ------------------------------------------------------------------ the shipped model


def _builtin_pairs(count=6, size=64):
    from stegutils import data

    photos = data.photos("builtin", "test")
    return data.heldout_pairs(photos, size=size, count=count, seed=1234)


def test_the_shipped_robust_model_works_from_the_command_line(tmp_path, capsys):
    from stegutils import cli, data, pretrained

    assert "robust" in pretrained.list()
    secrets, covers = _builtin_pairs(1, size=96)
    data.save_image(tmp_path / "cover.png", covers[0])
    data.save_image(tmp_path / "secret.png", secrets[0])
    assert cli.main(["--quiet", "hide", "--cover", str(tmp_path / "cover.png"), "--secret",
                     str(tmp_path / "secret.png"), "--out", str(tmp_path / "container.png"),
                     "--model", "robust"]) == 0
    container = data.load_image(tmp_path / "container.png")
    # The channel in between: a real JPEG at quality 75 with 4:2:0, then reveal.
    Image.fromarray(np.round(container * 255).astype(np.uint8)).save(
        tmp_path / "sent.jpg", quality=75)
    assert cli.main(["--quiet", "reveal", str(tmp_path / "sent.jpg"), "--out",
                     str(tmp_path / "revealed.png"), "--model", "robust"]) == 0
    revealed = data.load_image(tmp_path / "revealed.png")
    assert revealed.shape == secrets[0].shape
    capsys.readouterr()


def test_the_shipped_robust_model_keeps_more_of_the_secret_through_jpeg_than_fast():
    # Photos no model trained on (the built-in ones): after a real JPEG at quality 75
    # with 4:2:0 subsampling, fast is at the nothing-recovered floor and robust is not.
    from stegutils import pretrained

    secrets, covers = _builtin_pairs(8)
    after = {}
    for name in ("robust", "fast"):
        net, _ = pretrained.load(name)
        containers = net.hide(covers, secrets)
        after[name] = metrics.psnr(secrets, net.reveal(attacks.jpeg(containers, 75))).mean()
    assert after["robust"] > after["fast"] + 3.0, after


def test_strength_benchmark_finds_where_targets_are_met_and_the_best_at_each_cover():
    from scripts import load_script

    strength = load_script("benchmarks/strength.py", "strength_benchmark")

    def point(value):
        return {"mean": value, "low": value - 0.5, "high": value + 0.5}

    rows = [{"strength": s, "cover_psnr": point(c), "secret_psnr": point(0.0),
             "jpeg75_secret_psnr": point(j)}
            for s, c, j in ((0.5, 33.0, 19.0), (0.8, 31.0, 20.5), (1.0, 29.0, 22.0),
                            (1.2, 27.0, 21.0))]
    targets = {"jpeg75_secret": (24.0, 20.0), "clean_cover": (32.0, 30.0)}
    summary = strength.summarise(rows, targets)
    assert summary["first_step_strengths"] == [0.8]
    assert summary["target_strengths"] == []
    best = summary["best_jpeg75_with_cover_at_least"]
    assert best["30"]["strength"] == 0.8 and best["30"]["jpeg75_secret_psnr"]["mean"] == 20.5
    assert best["32"]["strength"] == 0.5
    assert strength.summarise(rows[2:], targets)["best_jpeg75_with_cover_at_least"]["30"] is None


def test_the_channel_benchmarks_share_one_choice_of_held_out_and_validation_pairs(monkeypatch):
    from scripts import load_script

    from stegutils import data

    bench = load_script("benchmarks/channel.py", "channel_benchmark")
    rng = np.random.default_rng(0)
    made = {("bsds500", "test"): [rng.random((40, 48, 3), np.float32) for _ in range(6)],
            ("bsds500", "train"): [np.full((40, 48, 3), i / 60, np.float32)
                                   for i in range(60)],
            ("builtin", "test"): [rng.random((40, 48, 3), np.float32) for _ in range(3)]}
    monkeypatch.setattr(data, "photos", lambda name, split: made[(name, split)])

    collections, described = bench.heldout_collections("test", size=16, count=5, seed=3,
                                                       builtin_count=4)
    assert sorted(collections) == ["bsds500", "builtin"]
    assert collections["bsds500"][0].shape == (5, 16, 16, 3)
    assert collections["builtin"][1].shape == (4, 16, 16, 3)
    assert described["bsds500"] == {"source": "bsds500 test", "photos": 6, "pairs": 5,
                                    "size": 16, "crop_seed": 3}
    assert described["builtin"]["photos"] == 3
    again, _ = bench.heldout_collections("test", size=16, count=5, seed=3, builtin_count=0)
    assert list(again) == ["bsds500"]
    np.testing.assert_array_equal(again["bsds500"][0], collections["bsds500"][0])

    # Validation: the trainer's last photos of the training split (flat grey levels here,
    # so the crops tell which photos they came from), and no second collection.
    collections, described = bench.heldout_collections("validation", size=16, count=8)
    assert list(collections) == ["bsds500"] and described["bsds500"]["photos"] == 10
    levels = np.unique(np.round(np.concatenate(collections["bsds500"]) * 60))
    assert set(levels) <= set(range(50, 60)), levels
    with pytest.raises(ValueError, match="'test' or 'validation'"):
        bench.heldout_collections("train")
