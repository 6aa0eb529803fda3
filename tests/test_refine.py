"""Refining a container against the fixed reveal network (stegutils.refine)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from stegutils import cli, data, metrics, models, refine
from tests.conftest import smooth_photos


@pytest.fixture(scope="module")
def net():
    return models.build_ready("robust", seed=0, width=8, hide_width=8, reveal_width=8,
                              dilations=(1, 2, 1))


@pytest.fixture(scope="module")
def pair():
    photos = np.stack(smooth_photos(4, height=32, width=32, seed=5)).astype(np.float32)
    return photos[:2], photos[2:]


def _mean_objective(net, cover, secret, container, spec, seeds=range(6)):
    """The refinement's objective, averaged over several draws of the channel."""
    cover, secret = tf.constant(cover), tf.constant(secret)
    delta = tf.constant(container) - cover
    values = [refine._objective(net.revealing, cover, secret, delta, spec,
                                tf.constant([99, s], tf.int64))[2] for s in seeds]
    return float(tf.reduce_mean(values))


def test_zero_steps_is_the_hiding_networks_container(net, pair):
    cover, secret = pair
    result = refine.refine(net, cover, secret, spec=refine.RefineSpec(steps=0))
    np.testing.assert_array_equal(data.to_uint8(result), data.to_uint8(net.hide(cover, secret)))


def test_refining_raises_its_objective_and_moves_only_the_container(net, pair):
    cover, secret = pair
    spec = refine.RefineSpec(steps=30, lr=3e-3, crop=4)
    weights = [w.numpy().copy() for w in net.weights]
    start = net.hide(cover, secret, quantize=False)
    result = refine.refine(net, cover, secret, spec=spec, quantize=False)
    assert result.shape == cover.shape and result.dtype == np.float32
    assert 0.0 <= result.min() and result.max() <= 1.0
    assert not np.allclose(result, start)
    assert _mean_objective(net, cover, secret, result, spec) > \
        _mean_objective(net, cover, secret, start, spec) + 0.5
    for before, after in zip(weights, net.weights):
        np.testing.assert_array_equal(before, after.numpy())


def test_refining_is_repeatable_and_rounds_to_8_bits(net, pair):
    cover, secret = pair
    spec = refine.RefineSpec(steps=3)
    first = refine.refine(net, cover, secret, spec=spec, seed=4)
    second = refine.refine(net, cover, secret, spec=spec, seed=4)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first * 255, np.round(first * 255), atol=1e-4)
    single = refine.refine(net, cover[0], secret[0], spec=spec, seed=4)
    assert single.shape == cover[0].shape


def test_the_views_are_the_rounded_container_a_jpeg_and_a_resize(net, pair):
    cover, _ = pair
    spec = refine.RefineSpec(crop=0)
    views = refine._views(tf.constant(cover), tf.constant(cover), spec,
                          tf.constant([1, 2], tf.int64))
    assert len(views) == 3
    for view, target in views:
        assert view.shape == (2, 32, 32, 3) and target.shape == (2, 32, 32, 3)
    (clean, _), (jpeg, _), (resized, _) = views
    np.testing.assert_allclose(clean, np.round(cover * 255) / 255, atol=1e-6)
    for view in (jpeg, resized):
        assert not np.allclose(view, clean, atol=1 / 255)
        np.testing.assert_allclose(view * 255, np.round(view * 255), atol=1e-3)


def test_only_the_jpeg_view_is_cropped_and_its_secret_with_it(pair):
    cover, secret = pair
    spec = refine.RefineSpec(crop=4)
    for step in range(6):  # several draws of the offset
        views = refine._views(tf.constant(cover), tf.constant(secret), spec,
                              tf.constant([7, step], tf.int64))
        (clean, clean_secret), (jpeg, jpeg_secret), (resized, resized_secret) = views
        assert clean.shape == resized.shape == (2, 32, 32, 3)
        np.testing.assert_array_equal(clean_secret, secret)
        np.testing.assert_array_equal(resized_secret, secret)
        assert jpeg.shape == jpeg_secret.shape == (2, 28, 28, 3)
        # The JPEG's secret is the secret cropped at one of the offsets 0..4.
        assert any(np.array_equal(jpeg_secret, secret[:, top:top + 28, left:left + 28])
                   for top in range(5) for left in range(5))


def test_the_secret_weights_choose_the_views(net, pair):
    cover, secret = pair
    delta = tf.zeros_like(tf.constant(cover))
    seed = tf.constant([3, 1], tf.int64)
    clean_only = refine.RefineSpec(weights=(1, 0, 0), crop=0)
    _, secret_db, _ = refine._objective(net.revealing, tf.constant(cover),
                                        tf.constant(secret), delta, clean_only, seed)
    revealed = net.revealing(tf.constant(np.round(cover * 255) / 255), training=False)
    errors = np.mean((revealed.numpy() - secret) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(secret_db, -10 * np.log10(errors + metrics.DECIBEL_FLOOR), rtol=1e-4)


def test_tiled_refining_of_one_tile_is_refining(net, pair):
    cover, secret = pair
    spec = refine.RefineSpec(steps=2)
    cover8, secret8 = data.to_uint8(cover[0]), data.to_uint8(secret[0])
    tiled = refine.refine_tiled(net, cover8, secret8, spec=spec, tile=256)
    whole = refine.refine(net, data.to_float(cover8), data.to_float(secret8), spec=spec,
                          batch_size=1)
    assert tiled.dtype == np.uint8
    np.testing.assert_array_equal(tiled, data.to_uint8(whole))


def test_tiled_refining_covers_an_image_of_several_tiles(net):
    rng = np.random.default_rng(0)
    cover = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    secret = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    result = refine.refine_tiled(net, cover, secret, spec=refine.RefineSpec(steps=1), tile=32)
    assert result.shape == cover.shape and result.dtype == np.uint8
    # Each tile starts from the hiding network's container and moves a little from it.
    start = data.to_uint8(net.hide(data.to_float(cover), data.to_float(secret)))
    assert np.abs(result.astype(int) - start.astype(int)).max() <= 4


@pytest.mark.parametrize("options, message", [
    ({"steps": -1}, "steps must be a whole number"),
    ({"steps": 2.5}, "steps must be a whole number"),
    ({"beta": 0}, "beta must be a number above 0"),
    ({"lr": float("nan")}, "lr must be a number above 0"),
    ({"jpeg_quality": (90, 50)}, "jpeg_quality must be (low, high)"),
    ({"resize_factor": 0}, "resize_factor must be in (0, 1]"),
    ({"crop": -2}, "crop must be a whole number"),
    ({"weights": (0, 0, 0)}, "weights must be three numbers"),
    ({"weights": (1, 1)}, "weights must be three numbers"),
])
def test_bad_settings_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        refine.RefineSpec(**options)


def test_bad_inputs_are_refused(net, pair):
    cover, secret = pair
    with pytest.raises(ValueError, match="cover and secret must have the same shape"):
        refine.refine(net, cover, secret[:, :16])
    with pytest.raises(ValueError, match="multiples of 2"):
        refine.refine(net, cover[:, :31], secret[:, :31])
    with pytest.raises(ValueError, match="container must have the cover's shape"):
        refine.refine(net, cover, secret, container=cover[:1])
    with pytest.raises(ValueError, match="same shape"):
        refine.refine_tiled(net, data.to_uint8(cover[0]), data.to_uint8(secret[0, :16]))


def test_spec_to_dict_round_trips():
    spec = refine.RefineSpec(steps=7, weights=(1, 2, 3))
    assert refine.RefineSpec.from_dict(spec.to_dict()) == spec


# ------------------------------------------------------------------------ command line


def _run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_hide_refine_writes_the_refined_container(capsys, tiny_run, photo_folder, tmp_path):
    from stegutils import pretrained

    cover, secret = photo_folder / "photo0.png", photo_folder / "photo1.png"
    out = tmp_path / "refined.png"
    status, _, err = _run(capsys, "hide", "--cover", str(cover), "--secret", str(secret),
                          "--out", str(out), "--model", str(tiny_run), "--refine", "3")
    assert status == 0, err
    assert "refined for 3 steps" in err
    net, _ = pretrained.load(tiny_run)
    expected = refine.refine_tiled(net, data.load_image(cover, dtype="uint8"),
                                   data.load_image(secret, dtype="uint8"),
                                   spec=refine.RefineSpec(steps=3))
    np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)


@pytest.mark.parametrize("value", ["-1", "1.5", "many"])
def test_hide_refuses_a_refine_that_is_not_a_whole_number(capsys, tiny_run, photo_folder,
                                                          tmp_path, value):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["hide", "--cover", str(photo_folder / "photo0.png"), "--secret",
                  str(photo_folder / "photo1.png"), "--out", str(tmp_path / "c.png"),
                  "--model", str(tiny_run), "--refine", value])
    assert exit_info.value.code == 2
    assert "argument --refine: expected a whole number of steps" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_hide_refuses_refine_with_strength(capsys, tiny_run, photo_folder, tmp_path):
    status, _, err = _run(capsys, "hide", "--cover", str(photo_folder / "photo0.png"),
                          "--secret", str(photo_folder / "photo1.png"), "--out",
                          str(tmp_path / "c.png"), "--model", str(tiny_run),
                          "--refine", "2", "--strength", "0.5")
    assert status != 0
    assert "give --refine or --strength, not both" in err
    assert not (tmp_path / "c.png").exists()


def test_compiling_the_step_prints_no_native_notes(capfd, monkeypatch):
    # The shipped invertible model's gradient makes TensorFlow's graph optimiser print
    # "remapper failed" from native code when the step compiles; refine keeps it quiet.
    from stegutils import pretrained

    monkeypatch.delenv("STEGUTILS_DEBUG", raising=False)
    net, _ = pretrained.load("invertible")
    rng = np.random.default_rng(1)
    cover, secret = rng.random((2, 1, 32, 32, 3)).astype(np.float32)
    capfd.readouterr()
    refine.refine(net, cover, secret, spec=refine.RefineSpec(steps=2))
    err = capfd.readouterr().err
    assert "remapper" not in err and "E0000" not in err


def test_hide_refine_in_folder_mode_matches_one_pair_at_a_time(capsys, tiny_run, photo_folder,
                                                               tmp_path):
    covers, secrets = tmp_path / "covers", tmp_path / "secrets"
    covers.mkdir()
    secrets.mkdir()
    for index, stem in enumerate("ab"):
        (covers / f"{stem}.png").write_bytes((photo_folder / f"photo{index}.png").read_bytes())
        (secrets / f"{stem}.png").write_bytes(
            (photo_folder / f"photo{index + 3}.png").read_bytes())
    out = tmp_path / "containers"
    status, _, err = _run(capsys, "hide", "--cover-dir", str(covers), "--secret-dir",
                          str(secrets), "--out-dir", str(out), "--model", str(tiny_run),
                          "--refine", "2")
    assert status == 0, err
    assert "wrote 2 containers to" in err and "refined for 2 steps" in err
    single = tmp_path / "b.png"
    status, _, err = _run(capsys, "hide", "--cover", str(covers / "b.png"), "--secret",
                          str(secrets / "b.png"), "--out", str(single), "--model",
                          str(tiny_run), "--refine", "2")
    assert status == 0, err
    assert single.read_bytes() == (out / "b.png").read_bytes()
    plain = tmp_path / "plain.png"
    _run(capsys, "hide", "--cover", str(covers / "b.png"), "--secret", str(secrets / "b.png"),
         "--out", str(plain), "--model", str(tiny_run))
    assert plain.read_bytes() != single.read_bytes()


def test_the_written_line_counts_the_steps_in_words():
    import argparse

    def note(steps):
        return cli._strength_note(argparse.Namespace(refine=steps, strength=1.0))

    assert note(1) == ", refined for 1 step"
    assert note(200) == ", refined for 200 steps"
    assert note(0) == ""
