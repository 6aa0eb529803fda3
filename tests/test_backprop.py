"""The hand-written backward pass against automatic differentiation, the dilated rule,
the training path and the exercise checker.

Tolerances. The hand-written pass calls the operations automatic differentiation calls
(``Conv2DBackpropInput``, ``Conv2DBackpropFilter``, ``BiasAddGrad``, the loss scale in
the same order) on the same values; on the CPU it was written on, the two agree bit for
bit, eagerly and inside ``tf.function``. That is not guaranteed elsewhere: another CPU,
a GPU or another TensorFlow version may choose other kernels or graph rewrites and
round sums differently. So the tests allow ``RTOL_32 = 1e-5`` of each variable's
largest gradient entry in float32 (epsilon 1.2e-7; a dozen layers of sums over
thousands of terms can gather a few dozen epsilons) and ``RTOL_64 = 1e-12`` in float64
(epsilon 2.2e-16): far below what a real mistake does (a wrong padding, a missing mask
or a dropped term changes gradients by more than 1%), far above round-off.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from stegutils import backprop, models, train

RTOL_32 = 1e-5
RTOL_64 = 1e-12
TINY_SEED = {"channels": 4, "depth": 3}


def _batch(height, width, batch, dtype=tf.float32, seed=0):
    secret = tf.random.stateless_uniform([batch, height, width, 3], seed=[seed, 1])
    cover = tf.random.stateless_uniform([batch, height, width, 3], seed=[seed, 2])
    return tf.cast(secret, dtype), tf.cast(cover, dtype)


def _seed_net(seed=0, **options):
    net = models.build("seed", seed=seed, precision="float32", **{**TINY_SEED, **options})
    probe = tf.zeros([1, 4, 4, 3])
    net({"cover": probe, "secret": probe})
    return net


def _assert_close(expected, got, rtol, names):
    assert len(expected) == len(got) == len(names)
    for name, want, have in zip(names, expected, got):
        want, have = np.asarray(want), np.asarray(have)
        assert want.shape == have.shape, name
        scale = np.max(np.abs(want))
        assert scale > 0, f"{name}: the reference gradient is zero"
        error = np.max(np.abs(want - have))
        assert error <= rtol * scale, f"{name}: |difference| {error:.3g} > {rtol} * {scale:.3g}"


def _variable_names(net):
    return [v.path for v in net.trainable_variables]


# ------------------------------------------------------------ float32: the Keras model


@pytest.mark.parametrize("height,width,batch,beta,noise,quantize,global_batch", [
    (16, 16, 2, 0.75, 0.0, True, None),
    (13, 20, 3, 2.0, 0.02, True, 4),      # odd sizes: kernel 4 pads 1 before, 2 after
    (24, 17, 1, 0.25, 0.05, False, None),
    (32, 32, 4, 1.0, 0.0, False, 8),
])
def test_manual_gradients_equal_autodiff_float32(height, width, batch, beta, noise, quantize,
                                                 global_batch):
    net = _seed_net()
    secret, cover = _batch(height, width, batch)
    options = dict(beta=beta, noise=noise, quantize=quantize,
                   seed=tf.constant([5, 6], tf.int64), global_batch_size=global_batch)
    auto_losses, auto_grads = train.gradients(net, cover=cover, secret=secret, **options)
    losses, grads = backprop.manual_gradients(net, cover=cover, secret=secret, **options)
    for term in ("total", "cover", "secret"):
        assert float(getattr(losses, term)) == float(getattr(auto_losses, term)), term
    _assert_close(auto_grads, grads, RTOL_32, _variable_names(net))


def test_manual_gradients_equal_autodiff_inside_tf_function():
    net = _seed_net(seed=1)
    secret, cover = _batch(16, 19, 2, seed=3)
    options = dict(beta=0.75, noise=0.01, seed=tf.constant([1, 2], tf.int64),
                   global_batch_size=2)

    @tf.function
    def both(*, cover, secret):
        auto = train.gradients(net, cover=cover, secret=secret, **options)[1]
        manual = backprop.manual_gradients(net, cover=cover, secret=secret, **options)[1]
        return auto, manual

    auto_grads, manual_grads = both(cover=cover, secret=secret)
    _assert_close(auto_grads, manual_grads, RTOL_32, _variable_names(net))


def test_cover_term_contributes_nothing_to_reveal_network():
    net = _seed_net(seed=2)
    secret, cover = _batch(16, 16, 2, seed=4)
    beta = 1.5
    _, grads = backprop.manual_gradients(net, cover=cover, secret=secret, beta=beta)
    reveal_variables = net.revealing.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        losses = train.compute_losses(net, cover=cover, secret=secret, beta=beta)
        secret_term = beta * losses.secret
    assert all(g is None for g in tape.gradient(losses.cover, reveal_variables))
    secret_only = tape.gradient(secret_term, reveal_variables)
    reveal_ids = {id(v) for v in reveal_variables}
    manual_reveal = [g for g, v in zip(grads, net.trainable_variables) if id(v) in reveal_ids]
    _assert_close(secret_only, manual_reveal, RTOL_32, [v.path for v in reveal_variables])


# ------------------------------------------------------------------------ float64


def _float64_params(net):
    """The model's weights as float64 variables, and the ConvLayers that read them."""
    params = backprop.seed_parameters(net, dtype=tf.float64)
    variables = {name: [(tf.Variable(layer.kernel), tf.Variable(layer.bias))
                        for layer in layers] for name, layers in params.items()}
    layers = {name: [dataclasses.replace(layer, kernel=k, bias=b)
                     for layer, (k, b) in zip(params[name], variables[name])]
              for name in params}
    flat = [v for name in params for pair in variables[name] for v in pair]
    return layers, flat


def _flatten(grads):
    return [g for name in ("prep", "hide", "reveal") for pair in grads[name] for g in pair]


@pytest.mark.parametrize("height,width,batch,beta,noise,quantize", [
    (16, 16, 2, 0.75, 0.0, True),
    (15, 22, 3, 3.0, 0.03, True),
    (20, 20, 1, 0.5, 0.0, False),
])
def test_manual_gradients_equal_autodiff_float64(height, width, batch, beta, noise, quantize):
    net = _seed_net(seed=3)
    layers, flat = _float64_params(net)
    secret, cover = _batch(height, width, batch, tf.float64, seed=5)
    options = dict(beta=beta, noise=noise, quantize=quantize, seed=tf.constant([7, 8], tf.int64))
    with tf.GradientTape() as tape:
        fwd = backprop.forward(layers, cover=cover, secret=secret, **options)
    auto_grads = tape.gradient(fwd.losses.total, flat)
    manual = _flatten(backprop.backward(layers, fwd))
    assert all(g.dtype == tf.float64 for g in manual)
    _assert_close(auto_grads, manual, RTOL_64, [v.name for v in flat])


def test_manual_forward_matches_the_keras_model():
    net = _seed_net(seed=4)
    secret, cover = _batch(16, 18, 2, seed=6)
    fwd = backprop.forward(backprop.seed_parameters(net), cover=cover, secret=secret, beta=0.75)
    container, revealed = net({"cover": cover, "secret": secret})
    np.testing.assert_array_equal(fwd.container.numpy(), container.numpy())
    assert fwd.container.shape == cover.shape and fwd.revealed.shape == secret.shape


def test_finite_differences_agree_with_manual_gradients_on_a_tiny_network():
    # Without rounding (piecewise constant: its true derivative is 0 almost everywhere,
    # not the straight-through identity) the loss is smooth except at ReLU kinks, which
    # a step of 1e-6 almost surely does not cross.
    net = _seed_net(seed=5, channels=2, depth=2)
    params = backprop.seed_parameters(net, dtype=tf.float64)
    secret, cover = _batch(6, 7, 2, tf.float64, seed=7)
    options = dict(beta=0.75, noise=0.02, quantize=False, seed=tf.constant([1, 1], tf.int64))
    fwd = backprop.forward(params, cover=cover, secret=secret, **options)
    manual = backprop.backward(params, fwd)
    rng = np.random.default_rng(0)
    epsilon = 1e-6

    def loss_with(name, index, which, entry, delta):
        layer = params[name][index]
        value = getattr(layer, which).numpy().copy()
        value[entry] += delta
        changed = dict(params)
        changed[name] = list(params[name])
        changed[name][index] = dataclasses.replace(layer, **{which: tf.constant(value)})
        moved = backprop.forward(changed, cover=cover, secret=secret, **options)
        return float(moved.losses.total)

    checked = 0
    for name, layers in params.items():
        for index, layer in enumerate(layers):
            for which, slot in (("kernel", 0), ("bias", 1)):
                shape = getattr(layer, which).shape
                for _ in range(2):
                    entry = tuple(int(rng.integers(n)) for n in shape)
                    numeric = (loss_with(name, index, which, entry, epsilon)
                               - loss_with(name, index, which, entry, -epsilon)) / (2 * epsilon)
                    analytic = float(manual[name][index][slot].numpy()[entry])
                    assert numeric == pytest.approx(analytic, rel=1e-5, abs=1e-9), \
                        f"{layer.name} {which}{entry}"
                    checked += 1
    assert checked == 2 * 2 * (2 + 3 + 3)


def _full_seed_params64(photos, seed, size=32):
    from stegutils import data

    secrets, covers = data.heldout_pairs(photos, size=size, count=4, seed=seed)
    secret, cover = tf.constant(secrets), tf.constant(covers)
    net = models.build("seed", precision="float32", seed=seed)
    net({"cover": cover, "secret": secret})
    params = {name: [dataclasses.replace(layer, kernel=tf.Variable(layer.kernel),
                                         bias=tf.Variable(layer.bias)) for layer in layers]
              for name, layers in backprop.seed_parameters(net, dtype=tf.float64).items()}
    return params, tf.cast(secret, tf.float64), tf.cast(cover, tf.float64)


def _bsds500_at_hand():
    from stegutils import data

    try:
        data.bsds500_paths("test", download=False)
    except FileNotFoundError:
        return False
    return True


def _photo_sources():
    bsds = pytest.mark.skipif(not _bsds500_at_hand(), reason="no BSDS500 copy (STEGUTILS_DATA)")
    return [pytest.param("builtin", id="builtin"),
            pytest.param("bsds500", id="bsds500", marks=bsds)]


@pytest.mark.parametrize("source", _photo_sources())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chapter_6_finite_difference_holds_for_any_photos_and_seed(source, seed):
    # Chapter 6's check on the full-width seed networks at the page's size (the one
    # that failed for the built-in photos with a fixed entry and step 1e-6).
    from stegutils import data

    photos = data.photos(source, "test")
    params, secret, cover = _full_seed_params64(photos, seed)
    before = [v.numpy().copy() for layers in params.values() for layer in layers
              for v in (layer.kernel, layer.bias)]
    result = backprop.finite_difference(params, cover=cover, secret=secret, beta=0.75,
                                        noise=0.01, seed=tf.constant([0, 1], tf.int64))
    assert result.ok, result
    # The tolerance is tight enough to catch a real mistake (1% of the gradient) ...
    assert result.tolerance < 1e-3 * abs(result.analytic), result
    assert abs(result.analytic) > 0
    # ... and the weights are as they were.
    after = [v.numpy() for layers in params.values() for layer in layers
             for v in (layer.kernel, layer.bias)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_finite_difference_catches_a_wrong_gradient(monkeypatch):
    from stegutils import data

    params, secret, cover = _full_seed_params64(data.photos("builtin", "test"), 0, size=16)
    real_backward = backprop.backward

    def off_by_one_percent(params, fwd, **kwargs):
        grads = real_backward(params, fwd, **kwargs)
        grads["prep"][0] = (grads["prep"][0][0] * 1.01, grads["prep"][0][1])
        return grads

    monkeypatch.setattr(backprop, "backward", off_by_one_percent)
    result = backprop.finite_difference(params, cover=cover, secret=secret, beta=0.75)
    assert not result.ok, result


def test_finite_difference_rejects_steps_that_cross_a_kink():
    # Steps far too large for any network: every candidate crosses a kink, and the
    # function says so instead of comparing a meaningless difference.
    from stegutils import data

    params, secret, cover = _full_seed_params64(data.photos("builtin", "test"), 0, size=16)
    with pytest.raises(RuntimeError, match="kink"):
        backprop.finite_difference(params, cover=cover, secret=secret, beta=0.75,
                                   candidates=2, steps=(10.0,))


# ---------------------------------------------------------------------- dilated rule


def _phantom_skip_forward(params, *, cover, secret, beta):
    """An independent forward pass whose autodiff gradient *is* the dilated rule.

    Layers 2..depth of each network compute ``f(x) + (x - stop_gradient(x))``: the
    same value as ``f(x)`` (``x - x`` is exactly 0), plus an identity path backward.
    """
    def run(layers, x):
        for index, layer in enumerate(layers):
            y = tf.nn.conv2d(x, layer.kernel, 1, "SAME") + layer.bias
            y = tf.nn.relu(y) if layer.relu else y
            if index >= 1 and layer.relu:
                y = y + (x - tf.stop_gradient(x))
            x = y
        return x

    features = run(params["prep"], secret)
    container = run(params["hide"], tf.concat([cover, features], -1))
    revealed = run(params["reveal"], models.quantize_8bit(container))
    batch = tf.cast(tf.shape(secret)[0], secret.dtype)
    cover_loss = tf.reduce_sum(tf.reduce_mean((cover - container) ** 2, [1, 2, 3])) / batch
    secret_loss = tf.reduce_sum(tf.reduce_mean((secret - revealed) ** 2, [1, 2, 3])) / batch
    return cover_loss + beta * secret_loss


@pytest.mark.parametrize("height,width,batch,beta", [(16, 16, 2, 0.75), (13, 18, 3, 2.0)])
def test_dilated_gradients_are_autodiff_of_backward_only_skips(height, width, batch, beta):
    net = _seed_net(seed=6)
    layers, flat = _float64_params(net)
    secret, cover = _batch(height, width, batch, tf.float64, seed=8)
    with tf.GradientTape() as tape:
        loss = _phantom_skip_forward(layers, cover=cover, secret=secret, beta=beta)
    expected = tape.gradient(loss, flat)
    fwd = backprop.forward(layers, cover=cover, secret=secret, beta=beta)
    assert float(loss) == pytest.approx(float(fwd.losses.total), rel=1e-14)
    dilated = _flatten(backprop.backward(layers, fwd, dilated=True))
    _assert_close(expected, dilated, RTOL_64, [v.name for v in flat])


def test_dilated_gradients_differ_from_true_ones_exactly_by_the_added_terms():
    net = _seed_net(seed=7)
    layers, flat = _float64_params(net)
    secret, cover = _batch(16, 16, 2, tf.float64, seed=9)
    with tf.GradientTape() as tape:
        fwd = backprop.forward(layers, cover=cover, secret=secret, beta=0.75)
    reveal = fwd.reveal  # [container, a1, a2, a3, revealed] for depth 3
    true_at_a3 = tape.gradient(fwd.losses.total, reveal[3])
    true = backprop.backward(layers, fwd)["reveal"]
    dilated = backprop.backward(layers, fwd, dilated=True)["reveal"]
    # Nothing is added above the last ReLU layer: output conv and conv3 keep their
    # true gradients.
    for index in (3, 2):
        for slot in (0, 1):
            np.testing.assert_array_equal(dilated[index][slot], true[index][slot])
    # conv2 gets, on top of its true gradient, the gradient of <a2, g3> for its
    # kernel and bias: g3 (the true gradient at a3) sent back unchanged to a2.
    conv2 = layers["reveal"][1]
    with tf.GradientTape() as tape:
        a2 = backprop.conv_forward(reveal[1], conv2.kernel, conv2.bias, relu=True)
    added = tape.gradient(a2, [conv2.kernel, conv2.bias], output_gradients=true_at_a3)
    for slot in (0, 1):
        np.testing.assert_allclose(dilated[1][slot] - true[1][slot], added[slot],
                                   rtol=0, atol=RTOL_64 * float(tf.reduce_max(tf.abs(added[slot]))))
        assert float(tf.reduce_max(tf.abs(added[slot]))) > 0
    # ... and the change reaches every network below.
    all_true = _flatten(backprop.backward(layers, fwd))
    all_dilated = _flatten(backprop.backward(layers, fwd, dilated=True))
    prep_count = 2 * len(layers["prep"])
    assert any(not np.array_equal(a, b)
               for a, b in zip(all_true[:prep_count], all_dilated[:prep_count]))


def test_dilated_equals_manual_for_a_single_layer_network():
    net = _seed_net(seed=8, depth=1)  # no ReLU layer follows another: nothing to add
    secret, cover = _batch(16, 16, 2, seed=10)
    _, manual = backprop.manual_gradients(net, cover=cover, secret=secret, beta=0.75)
    _, dilated = backprop.dilated_gradients(net, cover=cover, secret=secret, beta=0.75)
    for a, b in zip(manual, dilated):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- training path


def test_manual_training_follows_autodiff_training(tmp_path):
    photos = [tf.image.resize(img, (40, 48)).numpy()
              for img in np.random.default_rng(0).random((4, 6, 6, 3)).astype(np.float32)]
    config = train.Config(variant="seed", variant_options={"channels": 4, "depth": 2},
                          size=16, batch_size=2, steps=3, seed=11, precision="float32",
                          log_every=1, eval_every=100, checkpoint_every=100, noise=0.01)
    runs = {}
    for kind in ("autodiff", "manual", "dilated"):
        trainer = backprop.make_trainer(config, tmp_path / kind, kind=kind,
                                        train_images=photos)
        history = trainer.fit(progress=False)
        runs[kind] = (history, [v.numpy() for v in trainer.net.trainable_variables])
    auto_history, auto_weights = runs["autodiff"]
    manual_history, manual_weights = runs["manual"]
    assert [r["loss"] for r in manual_history] == pytest.approx(
        [r["loss"] for r in auto_history], rel=1e-5)
    for a, m in zip(auto_weights, manual_weights):
        np.testing.assert_allclose(m, a, rtol=0, atol=1e-5)
    # Same first batch and weights, so the same first loss; different updates after.
    dilated_history, dilated_weights = runs["dilated"]
    assert dilated_history[0]["loss"] == pytest.approx(auto_history[0]["loss"], rel=1e-6)
    assert any(not np.allclose(a, d, atol=1e-5) for a, d in zip(auto_weights, dilated_weights))


def test_gradient_fn_names_the_three_sources():
    assert backprop.gradient_fn("autodiff") is train.gradients
    assert backprop.gradient_fn("manual") is backprop.manual_gradients
    assert backprop.gradient_fn("dilated") is backprop.dilated_gradients
    with pytest.raises(ValueError, match="autodiff.*manual.*dilated"):
        backprop.gradient_fn("numerical")


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("variant,options", [
    ("paper", {"prep_depth": 1, "hide_depth": 1, "reveal_depth": 1}),
    ("fast", {"width": 8, "prep_depth": 1, "hide_depth": 1, "reveal_depth": 1,
              "reveal_width": 8}),
])
def test_variant_without_manual_pass_gets_an_error_naming_those_with_one(variant, options):
    net = models.build(variant, seed=0, precision="float32", **options)
    secret, cover = _batch(16, 16, 1)
    with pytest.raises(ValueError, match=rf"{variant}.*\['seed'\]"):
        backprop.manual_gradients(net, cover=cover, secret=secret, beta=0.75)
    with pytest.raises(ValueError, match=r"\['seed'\]"):
        backprop.dilated_gradients(net, cover=cover, secret=secret, beta=0.75)
    config = train.Config(variant=variant, variant_options=options, precision="float32")
    with pytest.raises(ValueError, match=r"\['seed'\]"):
        backprop.make_trainer(config, "unused", kind="manual")


def test_mixed_precision_and_unknown_options_are_refused(tmp_path):
    net = models.build("seed", seed=0, precision="bfloat16", **TINY_SEED)
    secret, cover = _batch(8, 8, 1)
    net({"cover": cover, "secret": secret})
    with pytest.raises(ValueError, match="precision='float32'"):
        backprop.manual_gradients(net, cover=cover, secret=secret, beta=0.75)
    config = train.Config(variant="seed", variant_options=TINY_SEED, precision="bfloat16")
    with pytest.raises(ValueError, match="precision='float32'"):
        backprop.make_trainer(config, tmp_path / "run", kind="dilated")
    with pytest.raises(TypeError, match="momentum"):
        backprop.manual_gradients(_seed_net(), cover=cover, secret=secret, beta=0.75,
                                  momentum=0.9)


# ---------------------------------------------------------- cover and secret by name


def test_the_hand_written_pass_takes_cover_and_secret_by_name_only():
    net = _seed_net()
    secret, cover = _batch(8, 8, 1)
    params = backprop.seed_parameters(net)
    calls = {
        "forward": lambda: backprop.forward(params, secret, cover, beta=0.75),
        "manual_gradients": lambda: backprop.manual_gradients(net, secret, cover, beta=0.75),
        "dilated_gradients": lambda: backprop.dilated_gradients(net, secret, cover,
                                                                beta=0.75),
        "finite_difference": lambda: backprop.finite_difference(params, secret, cover,
                                                                beta=0.75),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match="positional"):
            call()
    with pytest.raises(TypeError):
        backprop.ForwardPass(secret, cover, [], [], [], None, None, 0.75, 1.0)


def test_forward_by_name_hides_the_secret_in_the_cover_as_computed_by_hand():
    net = _seed_net(seed=12)
    secret, cover = _batch(10, 12, 2, seed=13)
    fwd = backprop.forward(backprop.seed_parameters(net), cover=cover, secret=secret,
                           beta=0.5, quantize=False)
    container = net.hiding([cover, net.prep(secret)])
    revealed = net.revealing(container)
    np.testing.assert_array_equal(fwd.cover.numpy(), cover.numpy())
    np.testing.assert_array_equal(fwd.secret.numpy(), secret.numpy())
    np.testing.assert_allclose(fwd.container.numpy(), container.numpy(), atol=1e-6)
    cover_loss = float(tf.reduce_mean((cover - container) ** 2))
    secret_loss = float(tf.reduce_mean((secret - revealed) ** 2))
    assert float(fwd.losses.cover) == pytest.approx(cover_loss, rel=1e-5)
    assert float(fwd.losses.secret) == pytest.approx(secret_loss, rel=1e-5)
    assert float(fwd.losses.total) == pytest.approx(cover_loss + 0.5 * secret_loss, rel=1e-5)


# ------------------------------------------------------------------- exercise checker


def _loop_conv_gradients(x, kernel, upstream, before=1):
    """The exercise's answer in plain NumPy: pad as 'SAME' does, then sum by hand."""
    k = kernel.shape[0]
    after = k - 1 - before
    padded = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    dpadded = np.zeros_like(padded)
    dkernel = np.zeros_like(kernel)
    height, width = x.shape[1:3]
    for i in range(height):
        for j in range(width):
            patch = padded[:, i:i + k, j:j + k, :]                 # (b, k, k, in)
            g = upstream[:, i, j, :]                               # (b, out)
            dkernel += np.einsum("bpqc,bo->pqco", patch, g)
            dpadded[:, i:i + k, j:j + k, :] += np.einsum("pqco,bo->bpqc", kernel, g)
    return dpadded[:, before:before + height, before:before + width, :], dkernel


def test_checker_accepts_a_correct_answer():
    message = backprop.check_conv_backprop(_loop_conv_gradients)
    assert message.startswith("All 3 cases pass")


def test_checker_explains_a_wrong_padding():
    wrong = lambda x, k, g: _loop_conv_gradients(x, k, g, before=2)  # noqa: E731
    with pytest.raises(AssertionError, match=r"case 1 .*dx is wrong: the largest difference"):
        backprop.check_conv_backprop(wrong)


def test_checker_explains_a_wrong_shape_and_a_crash():
    def one_output_channel(x, k, g):
        dx, dkernel = _loop_conv_gradients(x, k, g)
        return dx, dkernel[..., :1]

    with pytest.raises(AssertionError,
                       match=r"case 3 .*dkernel has shape \(4, 4, 3, 1\), expected \(4, 4, 3, 2\)"):
        backprop.check_conv_backprop(one_output_channel)
    only_dx = lambda x, k, g: _loop_conv_gradients(x, k, g)[0]  # noqa: E731
    with pytest.raises(AssertionError, match=r"must return a pair \(dx, dkernel\)"):
        backprop.check_conv_backprop(only_dx)

    def crashes(x, k, g):
        raise NotImplementedError("todo")

    with pytest.raises(AssertionError, match="raised NotImplementedError: todo"):
        backprop.check_conv_backprop(crashes)
    with pytest.raises(TypeError, match="function"):
        backprop.check_conv_backprop("not a function")
