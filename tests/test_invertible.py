"""The invertible variant: the Haar transform, the coupling inverse, the StegoNet interface."""

import json

import numpy as np
import pytest
import tensorflow as tf

from stegutils import cli, data, invertible, models, pretrained, train

TINY = {"blocks": 2, "width": 8, "depth": 1}


def tiny(precision="float32", seed=0, **options):
    net = models.build("invertible", precision=precision, seed=seed, **{**TINY, **options})
    probe = tf.zeros([1, 4, 4, 3])
    net({"cover": probe, "secret": probe})
    return net


def randomise(net, scale=0.1, seed=0):
    """Random weights everywhere: a fresh model is the identity, which inverts trivially."""
    rng = np.random.default_rng(seed)
    for variable in net.trainable_variables:
        variable.assign(rng.normal(0.0, scale, variable.shape).astype(np.float32))


def numpy_haar(x):
    """The Haar sub-bands straight from the definition, block by block."""
    n, h, w, c = x.shape
    out = np.zeros((n, h // 2, w // 2, 4 * c), np.float64)
    for i in range(h // 2):
        for j in range(w // 2):
            a = x[:, 2 * i, 2 * j].astype(np.float64)          # top left
            b = x[:, 2 * i, 2 * j + 1].astype(np.float64)      # top right
            cc = x[:, 2 * i + 1, 2 * j].astype(np.float64)     # bottom left
            d = x[:, 2 * i + 1, 2 * j + 1].astype(np.float64)  # bottom right
            out[:, i, j, 0:c] = (a + b + cc + d) / 2           # LL
            out[:, i, j, c:2 * c] = (b + d - a - cc) / 2        # HL: right - left
            out[:, i, j, 2 * c:3 * c] = (cc + d - a - b) / 2    # LH: bottom - top
            out[:, i, j, 3 * c:] = (a + d - b - cc) / 2         # HH: diagonal
    return out


# ------------------------------------------------------------------------------ wavelet


def test_haar_transform_matches_an_independent_computation():
    x = np.random.default_rng(0).random((2, 6, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(invertible.haar_dwt(x).numpy(), numpy_haar(x), atol=1e-6)


def test_haar_transform_is_orthonormal_and_exactly_inverted():
    x = tf.random.uniform([3, 8, 12, 3], seed=1)
    bands = invertible.haar_dwt(x)
    assert bands.shape == (3, 4, 6, 12)
    np.testing.assert_allclose(invertible.haar_iwt(bands).numpy(), x.numpy(), atol=1e-6)
    np.testing.assert_allclose(float(tf.reduce_sum(bands ** 2)), float(tf.reduce_sum(x ** 2)),
                               rtol=1e-5)
    y = tf.random.normal([2, 3, 5, 12], seed=2)
    np.testing.assert_allclose(invertible.haar_dwt(invertible.haar_iwt(y)).numpy(), y.numpy(),
                               atol=1e-5)


def test_a_flat_image_has_only_a_low_band():
    bands = invertible.haar_dwt(tf.fill([1, 4, 4, 3], 0.25)).numpy()
    np.testing.assert_allclose(bands[..., :3], 0.5)  # twice the block mean
    np.testing.assert_allclose(bands[..., 3:], 0.0)


# ----------------------------------------------------------------------------- coupling


def test_the_coupling_blocks_invert_to_float_round_off():
    net = tiny()
    randomise(net)
    cover = invertible.haar_dwt(tf.random.uniform([2, 8, 10, 3], seed=3))
    secret = invertible.haar_dwt(tf.random.uniform([2, 8, 10, 3], seed=4))
    container, lost = net.forward_bands(cover, secret)
    assert float(tf.reduce_max(tf.abs(container - cover))) > 0.05  # not the identity
    cover_back, secret_back = net.inverse_bands(container, lost)
    np.testing.assert_allclose(cover_back.numpy(), cover.numpy(), atol=1e-5)
    np.testing.assert_allclose(secret_back.numpy(), secret.numpy(), atol=1e-5)


def test_in_bfloat16_the_inverse_is_close_and_the_arithmetic_float32():
    # The convolutions round their inputs to bfloat16, so recomputing them on a
    # recovered (not bit-identical) input differs a little; the rest is float32.
    net = tiny("bfloat16")
    randomise(net, scale=0.05)
    cover = invertible.haar_dwt(tf.random.uniform([2, 8, 8, 3], seed=5))
    secret = invertible.haar_dwt(tf.random.uniform([2, 8, 8, 3], seed=6))
    container, lost = net.forward_bands(cover, secret)
    assert container.dtype == tf.float32 and lost.dtype == tf.float32
    cover_back, secret_back = net.inverse_bands(container, lost)
    np.testing.assert_allclose(cover_back.numpy(), cover.numpy(), atol=2e-2)
    np.testing.assert_allclose(secret_back.numpy(), secret.numpy(), atol=2e-2)


def test_a_fresh_model_hides_nothing_and_the_reveal_is_the_inverse_pass():
    net = tiny()
    secret = tf.random.uniform([2, 8, 8, 3], seed=7)
    cover = tf.random.uniform([2, 8, 8, 3], seed=8)
    container, revealed = net({"cover": cover, "secret": secret})
    np.testing.assert_allclose(container.numpy(), cover.numpy(), atol=1e-6)
    np.testing.assert_allclose(revealed.numpy(), 0.0, atol=1e-6)  # the lost branch: zeros
    randomise(net)
    container = net.hide_raw(cover=cover, secret=secret)
    _, lost = net.forward_bands(invertible.haar_dwt(cover), invertible.haar_dwt(secret))
    cover_back, secret_back = net.inverse_bands(invertible.haar_dwt(container), tf.zeros_like(lost))
    np.testing.assert_allclose(net.revealing(container).numpy(),
                               invertible.haar_iwt(secret_back).numpy(), atol=1e-5)


def test_the_clamp_bounds_every_scale():
    step = invertible.AffineStep(clamp=1.5)
    x = tf.ones([1, 2, 2, 12])
    huge = tf.fill([1, 2, 2, 12], 1e4)
    out = step([x, huge, tf.zeros_like(x)]).numpy()
    np.testing.assert_allclose(out, np.exp(1.5), rtol=1e-6)
    back = invertible.AffineStep(clamp=1.5, inverse=True)([tf.constant(out), huge, tf.zeros_like(x)])
    np.testing.assert_allclose(back.numpy(), 1.0, rtol=1e-6)


# ---------------------------------------------------------------------------- interface


@pytest.mark.parametrize("shape", [(17, 23), (9, 8), (1, 1)])
def test_hide_and_reveal_take_odd_sizes(shape):
    net = tiny()
    randomise(net, scale=0.02)
    rng = np.random.default_rng(0)
    cover = rng.random((*shape, 3)).astype(np.float32)
    secret = rng.random((*shape, 3)).astype(np.float32)
    container = net.hide(cover, secret)
    assert container.shape == cover.shape
    np.testing.assert_allclose(container * 255, np.round(container * 255), atol=1e-4)
    revealed = net.reveal(container)
    assert revealed.shape == secret.shape and revealed.min() >= 0 and revealed.max() <= 1


def test_counts_fields_and_prep_features():
    net = tiny()
    counts = models.count_params(net)
    # each sub-network: one 3x3 conv 12 -> 8 and the zero-initialised 3x3 conv 8 -> 12
    subnet = (9 * 12 * 8 + 8) + (9 * 8 * 12 + 12)
    assert counts["total"] == 2 * 3 * subnet
    assert counts["prep"] == 0 and counts["reveal"] == 2 * subnet  # the last rho and eta
    assert counts["total"] == sum(int(tf.size(v)) for v in net.trainable_variables)
    flops = models.count_flops(net, 32)
    macs = 9 * 12 * 8 + 9 * 8 * 12  # multiplies of one sub-network at one position
    positions = 16 * 16  # the blocks run at half resolution
    # hiding: phi, rho, eta of block 1 and phi of block 2 (block 2's rho and eta only
    # change the lost branch); revealing: all but block 1's phi (which only changes the
    # recovered cover)
    assert flops["hide"] == 2 * positions * 4 * macs
    assert flops["reveal"] == 2 * positions * 5 * macs
    fields = models.receptive_field(net)
    # three sub-networks of two 3x3 convolutions in a row, at half resolution
    assert fields["reveal"] == fields["hide"] == 2 * (1 + 2 * 6) and fields["prep"] == 2
    features = net.prep_features(np.zeros((6, 7, 3), np.float32))
    assert features.shape == (3, 4, 12)


def test_options_are_checked_and_recorded():
    with pytest.raises(ValueError, match="blocks"):
        models.build("invertible", blocks=0)
    with pytest.raises(ValueError, match="clamp"):
        models.build("invertible", clamp=-1.0)
    net = tiny(clamp=1.0)
    assert net.get_config() == {"variant": "invertible",
                                "options": {**TINY, "clamp": 1.0, "low_weight": 1.0}}
    rebuilt = type(net).from_config(net.get_config())
    assert isinstance(rebuilt, invertible.InvertibleNet) and rebuilt.options == net.options


def test_weights_save_and_load(tmp_path):
    net = tiny(seed=1)
    randomise(net, scale=0.05, seed=2)
    path = tmp_path / "inv.weights.h5"
    net.save_weights(path)
    other = tiny(seed=5)
    other.load_weights(path)
    secret = tf.random.uniform([1, 8, 8, 3], seed=9)
    cover = tf.random.uniform([1, 8, 8, 3], seed=10)
    pair = {"cover": cover, "secret": secret}
    for a, b in zip(net(pair), other(pair)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_the_low_frequency_term_enters_the_loss():
    net = tiny(low_weight=2.0)
    randomise(net, scale=0.05)
    secret = tf.random.uniform([2, 8, 8, 3], seed=11)
    cover = tf.random.uniform([2, 8, 8, 3], seed=12)
    container = net.hide_raw(cover=cover, secret=secret)
    expected = 2.0 * np.mean((numpy_haar(container.numpy())[..., :3]
                              - numpy_haar(cover.numpy())[..., :3]) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(net.auxiliary_loss(cover, container).numpy(), expected, rtol=1e-4)
    losses = train.compute_losses(net, cover=cover, secret=secret, beta=0.5, quantize=False)
    np.testing.assert_allclose(float(losses.total),
                               float(losses.cover) + 0.5 * float(losses.secret) + expected.mean(),
                               rtol=1e-4)


# ------------------------------------------------------------------ training, command line


def test_a_tiny_training_run_improves_and_loads(tmp_path, photo_folder):
    config = train.Config(variant="invertible", variant_options=TINY, size=16, batch_size=4,
                          steps=6, seed=1, lr=1e-3, precision="float32", clipnorm=1.0,
                          data=str(photo_folder), val_photos=2, log_every=3, eval_every=3,
                          checkpoint_every=3)
    trainer = train.Trainer(config, tmp_path / "run")
    history = trainer.fit(progress=False)
    assert [r["step"] for r in history] == [3, 6]
    assert all(np.isfinite(r["loss"]) for r in history)
    assert (tmp_path / "run" / "best.weights.h5").exists()
    net, card = pretrained.load(tmp_path / "run")
    assert card["variant"] == "invertible" and isinstance(net, invertible.InvertibleNet)
    # Trained a little: the reveal is no longer the zero image of a fresh model.
    secrets, covers = trainer.validation_pairs()
    assert net.reveal(net.hide(covers, secrets)).mean() > 0.01


def test_the_command_line_trains_and_uses_it(capsys, tmp_path, photo_folder):
    run_dir = tmp_path / "cli-run"
    status = cli.main(["--quiet", "train", "--run-dir", str(run_dir), "--variant", "invertible",
                       "--variant-options", json.dumps(TINY), "--size", "16",
                       "--batch-size", "2", "--steps", "2", "--precision", "float32",
                       "--clipnorm", "1", "--data", str(photo_folder), "--val-photos", "2",
                       "--log-every", "1", "--eval-every", "2"])
    assert status == 0, capsys.readouterr().err
    cover, secret = photo_folder / "photo0.png", photo_folder / "photo1.png"
    container = tmp_path / "container.png"
    assert cli.main(["--quiet", "hide", "--cover", str(cover), "--secret", str(secret),
                     "--out", str(container), "--model", str(run_dir)]) == 0
    revealed = tmp_path / "revealed.png"
    assert cli.main(["--quiet", "reveal", str(container), "--out", str(revealed),
                     "--model", str(run_dir)]) == 0
    assert data.load_image(revealed).shape == data.load_image(cover).shape
    capsys.readouterr()
    assert cli.main(["models"]) == 0
    assert "invertible" in capsys.readouterr().out
