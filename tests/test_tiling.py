"""Tiled hide and reveal equal whole-image inference, for every variant, at odd sizes."""

import numpy as np
import pytest
import tensorflow as tf

from stegutils import models, tiling

VARIANTS = {
    # Small but complete versions of every shipped design, weights perturbed so that no
    # network is the identity (the invertible blocks start as one).
    "seed": {"channels": 8, "depth": 3},
    "paper": {},
    "fast": {"width": 16, "prep_depth": 1, "hide_depth": 2, "reveal_depth": 3,
             "reveal_width": 16},
    "invertible": None,
    "robust": {"width": 8, "prep_depth": 1, "hide_depth": 2, "hide_width": 8,
               "reveal_width": 8, "dilations": [1, 4, 2]},
}


_NETS = {}


def _net(variant):
    if variant not in _NETS:
        _NETS[variant] = _build(variant)
    return _NETS[variant]


def _build(variant):
    options = VARIANTS[variant]
    if options is None:
        net = models.build(variant, seed=0, precision="float32")
    else:
        net = models.build(variant, seed=0, precision="float32", **options)
    probe = tf.zeros([1, 2 * net.multiple, 2 * net.multiple, 3])
    net({"cover": probe, "secret": probe})
    rng = np.random.default_rng(1)
    for weight in net.weights:
        value = weight.numpy()
        weight.assign(value + 0.05 * rng.standard_normal(value.shape).astype(value.dtype))
    return net


def _pair(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((height, width, 3), dtype=np.float32),
            rng.random((height, width, 3), dtype=np.float32))


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def net(request):
    return _net(request.param)


@pytest.mark.parametrize("height,width", [(37, 53), (66, 29)])
def test_tiled_hide_and_reveal_equal_whole_image_inference(net, height, width):
    cover, secret = _pair(height, width)
    tile = 2 * net.multiple * 4  # small tiles: many seams, all inside the image
    whole = net.hide(cover, secret, quantize=False)
    tiled = tiling.hide(net, cover, secret, quantize=False, tile=tile)
    assert tiled.shape == cover.shape and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=2e-5, rtol=0)
    container = net.hide(cover, secret)
    np.testing.assert_allclose(tiling.reveal(net, container, tile=tile),
                               net.reveal(container), atol=2e-5, rtol=0)


def test_tiled_hide_with_a_strength_equals_whole_image_inference():
    net = _net("fast")
    cover, secret = _pair(37, 53, seed=2)
    tile = 2 * net.multiple * 4
    whole = net.hide(cover, secret, quantize=False, strength=0.7)
    tiled = tiling.hide(net, cover, secret, quantize=False, tile=tile, strength=0.7)
    np.testing.assert_allclose(tiled, whole, atol=2e-5, rtol=0)
    assert not np.allclose(whole, net.hide(cover, secret, quantize=False), atol=1e-3)


def test_invertible_tiles_with_seams_inside_its_wide_field():
    # Its field is hundreds of pixels wide: an image large enough that halos end inside it.
    net = _net("invertible")
    margin = tiling.halo(net, "hide")
    cover, secret = _pair(2 * margin + 40, 70, seed=5)
    tiled = tiling.hide(net, cover, secret, quantize=False, tile=64)
    np.testing.assert_allclose(tiled, net.hide(cover, secret, quantize=False), atol=2e-5,
                               rtol=0)


def test_uint8_in_uint8_out_matches_the_rounded_container():
    net = _net("fast")
    cover, secret = _pair(45, 38, seed=3)
    cover8 = np.round(cover * 255).astype(np.uint8)
    secret8 = np.round(secret * 255).astype(np.uint8)
    tiled = tiling.hide(net, cover8, secret8, tile=16)
    assert tiled.dtype == np.uint8 and tiled.shape == cover8.shape
    whole = np.round(net.hide(cover8 / 255.0, secret8 / 255.0) * 255).astype(np.int16)
    # Equal up to float round-off: a value on a rounding boundary may land one level off.
    difference = np.abs(tiled.astype(np.int16) - whole)
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3
    revealed = tiling.reveal(net, tiled, tile=16)
    assert revealed.dtype == np.uint8 and revealed.shape == cover8.shape


def test_halo_covers_half_the_receptive_field_on_the_grid():
    for variant in VARIANTS:
        net = _net(variant)
        fields = models.receptive_field(net)
        for path, field in (("hide", fields["prep+hide"]), ("reveal", fields["reveal"])):
            margin = tiling.halo(net, path)
            assert margin >= field / 2 and margin % net.multiple == 0, (variant, path)
        assert tiling.default_tile(net) % net.multiple == 0


def test_tile_grid_covers_every_pixel_once():
    seen = np.zeros((70, 45), int)
    for (core_y, core_x), (region_y, region_x) in tiling.tile_grid(70, 45, 16, 6):
        seen[core_y, core_x] += 1
        assert region_y.start <= core_y.start and region_y.stop >= core_y.stop
        assert region_y.start >= 0 and region_x.stop <= 45
    assert (seen == 1).all()


def test_bad_input_is_refused_in_one_line():
    net = _net("fast")
    cover, secret = _pair(16, 16)
    with pytest.raises(ValueError, match="same shape"):
        tiling.hide(net, cover, secret[:8])
    with pytest.raises(ValueError, match=r"\(height, width, 3\)"):
        tiling.reveal(net, cover[..., :2])
    with pytest.raises(TypeError, match="uint8 or float"):
        tiling.reveal(net, cover.astype(np.int32))
    with pytest.raises(ValueError, match="multiple of 2"):
        tiling.hide(net, cover, secret, tile=15)
    with pytest.raises(ValueError, match="'hide' or 'reveal'"):
        tiling.halo(net, "prep")
