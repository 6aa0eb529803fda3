"""The networks: shapes, variants, counts, padding, rounding."""

import numpy as np
import pytest
import tensorflow as tf

from stegutils import models

TINY = {
    "seed": {"channels": 4, "depth": 2},
    "paper": {"prep_depth": 1, "hide_depth": 1, "reveal_depth": 1},
    "fast": {"width": 8, "prep_depth": 1, "hide_depth": 2, "reveal_depth": 2,
             "reveal_width": 8},
}


@pytest.mark.parametrize("variant", ["seed", "paper", "fast"])
def test_every_variant_maps_images_to_images_of_the_same_shape(variant):
    net = models.build(variant, seed=0, **TINY[variant])
    secret = tf.random.uniform([2, 16, 24, 3], seed=1)
    cover = tf.random.uniform([2, 16, 24, 3], seed=2)
    container, revealed = net({"cover": cover, "secret": secret})
    assert container.shape == cover.shape
    assert revealed.shape == secret.shape
    assert container.dtype == tf.float32 and revealed.dtype == tf.float32


def test_full_size_variants_build_with_their_documented_shapes():
    seed = models.build("seed")
    convs = [layer for layer in seed.prep.layers if hasattr(layer, "kernel")]
    assert [tuple(c.kernel.shape[:2]) for c in convs] == [(3, 3)] * 5
    assert all(c.filters == 50 for c in convs)
    hide_convs = [layer for layer in seed.hiding.layers if hasattr(layer, "kernel")]
    assert [c.kernel.shape[0] for c in hide_convs] == [4] * 6
    assert hide_convs[-1].filters == 3
    reveal_convs = [layer for layer in seed.revealing.layers if hasattr(layer, "kernel")]
    assert [c.kernel.shape[0] for c in reveal_convs] == [5] * 6

    paper = models.build("paper")
    prep_convs = [layer for layer in paper.prep.layers if hasattr(layer, "kernel")]
    assert sorted((c.kernel.shape[0], c.filters) for c in prep_convs) == \
        [(3, 50), (3, 50), (4, 10), (4, 10), (5, 5), (5, 5)]
    assert paper.prep.output.shape[-1] == 65


def test_parameter_count_of_one_convolution_matches_hand_count():
    net = models.build("seed", channels=4, depth=1)
    counts = models.count_params(net)
    # prep: one 3x3 conv 3->4 with bias
    assert counts["prep"] == 3 * 3 * 3 * 4 + 4
    # hide: 4x4 conv (3+4)->4, then 4x4 conv 4->3
    assert counts["hide"] == (4 * 4 * 7 * 4 + 4) + (4 * 4 * 4 * 3 + 3)
    # reveal: 5x5 conv 3->4, then 5x5 conv 4->3
    assert counts["reveal"] == (5 * 5 * 3 * 4 + 4) + (5 * 5 * 4 * 3 + 3)
    assert counts["total"] == counts["prep"] + counts["hide"] + counts["reveal"]


def test_flop_count_matches_hand_count_at_full_and_half_resolution():
    net = models.build("seed", channels=4, depth=1)
    flops = models.count_flops(net, (10, 20))
    assert flops["prep"] == 2 * 10 * 20 * (3 * 3 * 3 * 4)
    fast = models.build("fast", width=4, prep_depth=1, hide_depth=1, reveal_depth=1,
                        reveal_width=4, factor=2)
    fast_flops = models.count_flops(fast, 8)
    # prep runs at 4x4 positions: one 3x3 conv from 12 (2x2x3) to 4 channels
    assert fast_flops["prep"] == 2 * 4 * 4 * (3 * 3 * 12 * 4)


def test_receptive_field_grows_by_kernel_minus_one_per_layer():
    net = models.build("seed")
    fields = models.receptive_field(net)
    assert fields["prep"] == 1 + 5 * 2
    assert fields["reveal"] == 1 + 6 * 4
    fast = models.build("fast", factor=2, prep_depth=2, hide_depth=4, reveal_depth=6)
    assert models.receptive_field(fast)["reveal"] == 2 * (1 + 7 * 2)


def test_hide_and_reveal_take_any_size_and_return_8_bit_containers():
    net = models.build("fast", seed=0, **TINY["fast"])
    rng = np.random.default_rng(0)
    cover = rng.random((13, 21, 3), dtype=np.float32)
    secret = rng.random((13, 21, 3), dtype=np.float32)
    container = net.hide(cover, secret)
    assert container.shape == cover.shape
    assert np.allclose(container * 255, np.round(container * 255), atol=1e-4)
    assert container.min() >= 0 and container.max() <= 1
    revealed = net.reveal(container)
    assert revealed.shape == secret.shape


def test_hide_rejects_mismatched_shapes_and_integer_images():
    net = models.build("fast", seed=0, **TINY["fast"])
    with pytest.raises(ValueError, match="same shape"):
        net.hide(np.zeros((8, 8, 3), np.float32), np.zeros((8, 10, 3), np.float32))
    with pytest.raises(TypeError, match="float images"):
        net.hide(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="3 colour channels"):
        net.reveal(np.zeros((8, 8, 4), np.float32))


def test_quantize_rounds_forward_and_passes_gradient_straight_through():
    x = tf.constant([0.1234, 0.5, 0.9999, 1.5, -0.2])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = models.quantize_8bit(x)
    expected = np.clip(np.round(np.clip(x.numpy(), 0, 1) * 255) / 255, 0, 1)
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-7)
    # inside [0, 1] the gradient is exactly 1; outside, clipping's zero.
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1, 1, 1, 0, 0])


def test_scale_residual_scales_the_difference_from_the_cover_and_rounds_once():
    rng = np.random.default_rng(0)
    cover = rng.uniform(0.2, 0.8, (2, 8, 8, 3)).astype(np.float32)
    container = cover + rng.uniform(-0.1, 0.1, cover.shape).astype(np.float32)
    # Strength 1 gives the container back (rounded to 8 bits), 0.5 half the residual.
    same = models.scale_residual(cover, container, 1.0)
    np.testing.assert_allclose(same, np.round(container * 255) / 255, atol=1e-6)
    half = models.scale_residual(cover, container, 0.5, quantize=False)
    np.testing.assert_allclose(half - cover, 0.5 * (container - cover), atol=1e-6)
    levels = models.scale_residual(cover, container, 0.5) * 255
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    # A strong residual is clipped to the image range.
    assert models.scale_residual(cover, container, 40.0).min() >= 0.0
    assert models.scale_residual(cover, container, 40.0).max() <= 1.0


@pytest.mark.parametrize("strength", [0, -1, float("nan"), float("inf"), "strong", None])
def test_scale_residual_refuses_a_strength_that_is_not_a_positive_number(strength):
    image = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="strength must be a finite number above 0"):
        models.scale_residual(image, image, strength)


def test_hide_with_a_strength_is_scale_residual_of_the_unrounded_container():
    net = models.build("fast", seed=0, **TINY["fast"])
    rng = np.random.default_rng(1)
    cover = rng.uniform(0, 1, (3, 16, 24, 3)).astype(np.float32)
    secret = rng.uniform(0, 1, (3, 16, 24, 3)).astype(np.float32)
    raw = net.hide(cover, secret, quantize=False)
    for strength in (0.5, 2.0):
        expected = models.scale_residual(cover, raw, strength)
        np.testing.assert_allclose(net.hide(cover, secret, strength=strength, batch_size=2),
                                   expected, atol=1e-6)
    np.testing.assert_array_equal(net.hide(cover, secret, strength=1.0), net.hide(cover, secret))
    with pytest.raises(ValueError, match="strength must be a finite number above 0"):
        net.hide(cover, secret, strength=0)


def test_scale_residual_refuses_images_of_different_shapes():
    with pytest.raises(ValueError, match="cover and container must have the same shape"):
        models.scale_residual(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)), 1.0)


def test_same_seed_builds_identical_weights():
    a = models.build("seed", seed=3, **TINY["seed"])
    b = models.build("seed", seed=3, **TINY["seed"])
    for va, vb in zip(a.trainable_variables, b.trainable_variables):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


def test_unknown_variant_and_option_name_the_valid_ones():
    with pytest.raises(ValueError, match="registered variants are"):
        models.build("resnet")
    with pytest.raises(ValueError, match="its options are"):
        models.build("seed", kernel=7)


def test_precision_names_resolve_and_bad_ones_fail():
    assert models.resolve_precision("float32") == "float32"
    assert models.resolve_precision("bfloat16") == "mixed_bfloat16"
    assert models.resolve_precision("auto") in {"float32", "mixed_bfloat16", "mixed_float16"}
    with pytest.raises(ValueError, match="precision must be one of"):
        models.resolve_precision("half")


def test_bfloat16_model_outputs_float32_images():
    net = models.build("fast", precision="bfloat16", seed=0, **TINY["fast"])
    x = tf.random.uniform([1, 8, 8, 3])
    container, revealed = net({"cover": x, "secret": x})
    assert container.dtype == tf.float32 and revealed.dtype == tf.float32


# ------------------------------------------------------------------ cover and secret by name


def _by_hand(net, cover, secret):
    """The container and the revealed secret from the three networks directly."""
    features = net.prep(secret)
    output = tf.cast(net.hiding([cover, features]), tf.float32)
    container = cover + output if net.residual else output
    return container, tf.cast(net.revealing(container), tf.float32)


@pytest.mark.parametrize("variant", ["seed", "fast"])
def test_the_model_called_on_a_dict_hides_the_secret_in_the_cover(variant):
    net = models.build(variant, seed=0, **TINY[variant])
    cover = tf.random.uniform([2, 8, 12, 3], seed=3)
    secret = tf.random.uniform([2, 8, 12, 3], seed=4)
    want_container, want_revealed = _by_hand(net, cover, secret)
    container, revealed = net({"cover": cover, "secret": secret})
    np.testing.assert_array_equal(container.numpy(), want_container.numpy())
    np.testing.assert_array_equal(revealed.numpy(), want_revealed.numpy())
    # The keys decide, not their order in the dict.
    again, _ = net({"secret": secret, "cover": cover})
    np.testing.assert_array_equal(again.numpy(), want_container.numpy())
    raw = net.hide_raw(cover=cover, secret=secret)
    np.testing.assert_array_equal(raw.numpy(), want_container.numpy())
    # Swapped images give another container: the comparisons above would catch a swap.
    swapped, _ = _by_hand(net, secret, cover)
    assert not np.allclose(raw.numpy(), swapped.numpy())


def test_hide_agrees_with_hide_raw_and_takes_the_cover_first():
    net = models.build("fast", seed=0, **TINY["fast"])
    rng = np.random.default_rng(5)
    cover, secret = rng.random((2, 1, 8, 8, 3), dtype=np.float32)
    raw = net.hide_raw(cover=tf.constant(cover), secret=tf.constant(secret)).numpy()
    want = np.round(np.clip(raw, 0, 1) * 255) / 255
    np.testing.assert_allclose(net.hide(cover, secret), want, atol=1e-6)
    np.testing.assert_allclose(net.hide(cover=cover, secret=secret), want, atol=1e-6)


def test_hide_raw_refuses_positional_images():
    net = models.build("fast", seed=0, **TINY["fast"])
    x = tf.zeros([1, 8, 8, 3])
    with pytest.raises(TypeError, match="positional"):
        net.hide_raw(x, x)
    with pytest.raises(TypeError, match="positional"):
        net.hide_raw(x, x, training=False)


@pytest.mark.parametrize("inputs", ["tuple", "list"])
def test_the_model_refuses_a_pair_it_cannot_tell_apart(inputs):
    net = models.build("fast", seed=0, **TINY["fast"])
    x = tf.zeros([1, 8, 8, 3])
    pair = (x, x) if inputs == "tuple" else [x, x]
    with pytest.raises(TypeError) as error:
        net(pair)
    message = str(error.value)
    assert "\n" not in message
    assert "{'cover': ..., 'secret': ...}" in message and inputs in message
    assert "which is the cover" in message
    with pytest.raises(TypeError, match="which is the cover"):
        net.call(pair)


def test_the_model_refuses_a_dict_with_other_keys():
    net = models.build("fast", seed=0, **TINY["fast"])
    x = tf.zeros([1, 8, 8, 3])
    with pytest.raises(TypeError, match=r"exactly the keys 'cover' and 'secret'.*'container'"):
        net({"cover": x, "container": x})
    with pytest.raises(TypeError, match=r"takes a dict \{'cover': \.\.\., 'secret': \.\.\.\}, got"):
        net(x)


# ------------------------------------------------------------------------------ widening

_TINY_ROBUST = {"width": 6, "prep_depth": 1, "hide_depth": 2, "hide_width": 8,
                "reveal_width": 6, "dilations": [1, 2, 1]}


def _trained_looking(net, seed):
    # Fresh biases are zero; give every weight a value so that copying is tested.
    rng = np.random.default_rng(seed)
    for variable in net.weights:
        variable.assign(0.1 * rng.standard_normal(variable.shape).astype("float32"))
    return net


@pytest.mark.parametrize("variant, options, wider", [
    ("robust", _TINY_ROBUST, {"width": 9, "hide_width": 11, "reveal_width": 10}),
    ("fast", TINY["fast"], {"width": 12, "reveal_width": 8}),
])
def test_a_widened_model_computes_what_its_source_does_and_its_new_channels_learn(
        variant, options, wider):
    source = _trained_looking(models.build_ready(variant, seed=0, **options), 3)
    target = models.build_ready(variant, seed=1, **{**options, **wider})
    models.widen_from(target, source)

    cover = tf.random.stateless_uniform([2, 16, 20, 3], seed=[4, 1])
    secret = tf.random.stateless_uniform([2, 16, 20, 3], seed=[4, 2])
    want = source({"cover": cover, "secret": secret})
    got = target({"cover": cover, "secret": secret})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-4)

    # The weights that read the new channels start at zero and still get a gradient.
    with tf.GradientTape() as tape:
        container, revealed = target({"cover": cover, "secret": secret})
        loss = tf.reduce_mean((container - cover) ** 2) + tf.reduce_mean((revealed - secret) ** 2)
    output = target.revealing.get_layer("reveal_output")
    grad = tape.gradient(loss, output.kernel)
    old_in = options["reveal_width"]
    assert np.all(output.kernel.numpy()[:, :, old_in:, :] == 0)
    if wider["reveal_width"] > old_in:
        assert np.abs(grad.numpy()[:, :, old_in:, :]).max() > 0


@pytest.mark.parametrize("change, match", [
    ({"reveal_width": 4}, "at least as wide"),
    ({"hide_depth": 3}, "only widths"),
    ({"dilations": [1, 4, 1]}, "only widths"),
])
def test_widening_refuses_what_would_change_the_function(change, match):
    source = models.build_ready("robust", seed=0, **_TINY_ROBUST)
    target = models.build_ready("robust", seed=1, **{**_TINY_ROBUST, **change})
    with pytest.raises(ValueError, match=match):
        models.widen_from(target, source)
    with pytest.raises(ValueError, match="cannot widen a robust"):
        models.widen_from(models.build_ready("fast", seed=0, **TINY["fast"]), source)
