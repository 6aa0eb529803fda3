"""The loss routing, the training loop, checkpoints, resuming and distribution."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_FAST
from stegutils import models, train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _photos(count=6, seed=0):
    rng = np.random.default_rng(seed)
    # Smooth random images (upsampled noise) look more like photos than white noise.
    small = rng.random((count, 6, 6, 3)).astype(np.float32)
    return [tf.image.resize(img, (40, 48)).numpy() for img in small]


def _tiny_config(**overrides):
    values = dict(variant="fast", variant_options=TINY_FAST, size=16, batch_size=4,
                  steps=12, seed=7, precision="float32", log_every=2, eval_every=6,
                  checkpoint_every=4, lr=1e-3)
    values.update(overrides)
    return train.Config(**values)


def _network_of(net):
    owner = {}
    for name, model in net.networks.items():
        for variable in model.trainable_variables:
            owner[id(variable)] = name
    return [owner[id(v)] for v in net.trainable_variables]


def _term_gradients(net, *, cover, secret, term):
    with tf.GradientTape() as tape:
        losses = train.compute_losses(net, cover=cover, secret=secret, beta=0.75)
        value = getattr(losses, term)
    grads = tape.gradient(value, net.trainable_variables)
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, net.trainable_variables)]


@pytest.mark.parametrize("variant,options", [
    ("seed", {"channels": 4, "depth": 2}),
    ("fast", TINY_FAST),
])
def test_cover_loss_never_reaches_reveal_network(variant, options):
    net = models.build(variant, seed=0, **options)
    secret = tf.random.uniform([2, 16, 16, 3], seed=1)
    cover = tf.random.uniform([2, 16, 16, 3], seed=2)
    net({"cover": cover, "secret": secret})
    owners = _network_of(net)
    cover_grads = _term_gradients(net, cover=cover, secret=secret, term="cover")
    secret_grads = _term_gradients(net, cover=cover, secret=secret, term="secret")
    per_network = {"cover": {}, "secret": {}}
    for owner, cg, sg in zip(owners, cover_grads, secret_grads):
        per_network["cover"][owner] = per_network["cover"].get(owner, 0.0) + float(tf.norm(cg))
        per_network["secret"][owner] = per_network["secret"].get(owner, 0.0) + float(tf.norm(sg))
    assert per_network["cover"]["reveal"] == 0.0
    assert per_network["cover"]["prep"] > 0 and per_network["cover"]["hide"] > 0
    for name in ("prep", "hide", "reveal"):
        assert per_network["secret"][name] > 0, name


def test_total_gradient_is_cover_gradient_plus_beta_times_secret_gradient():
    net = models.build("seed", seed=0, channels=4, depth=2)
    secret = tf.random.uniform([2, 12, 12, 3], seed=3)
    cover = tf.random.uniform([2, 12, 12, 3], seed=4)
    _, total = train.gradients(net, cover=cover, secret=secret, beta=0.75)
    cover_grads = _term_gradients(net, cover=cover, secret=secret, term="cover")
    secret_grads = _term_gradients(net, cover=cover, secret=secret, term="secret")
    for t, c, s in zip(total, cover_grads, secret_grads):
        np.testing.assert_allclose(t.numpy(), (c + 0.75 * s).numpy(), rtol=1e-5, atol=1e-8)


def test_decibel_weighting_keeps_the_value_and_takes_the_gradient_of_the_mean_psnr():
    errors = tf.constant([1e-3, 4e-3, 2e-4, 5e-6])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(errors)
        weighted = train.decibel_weighted(errors)
        mean = tf.reduce_mean(weighted)
        # The mean PSNR of the pairs, from their (floored) errors, in decibels.
        psnr = tf.reduce_mean(-10.0 * tf.math.log(errors + train.DECIBEL_FLOOR)) / np.log(10)
    # Equal up to float32 rounding of the constant that restores the value.
    np.testing.assert_allclose(weighted.numpy(), errors.numpy(), rtol=1e-4)
    gradient = tape.gradient(mean, errors).numpy()
    floored = errors.numpy() + train.DECIBEL_FLOOR
    np.testing.assert_allclose(gradient, floored.mean() / floored / 4, rtol=1e-5)
    # Opposite in sign to the mean PSNR's gradient, and proportional to it.
    ratio = gradient / tape.gradient(psnr, errors).numpy()
    assert np.all(ratio < 0)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
    # The pair closest to its cover weighs most, the farthest least.
    assert gradient.argmax() == 3 and gradient.argmin() == 1
    # Equal errors: the mean squared error's gradient, exactly.
    equal = tf.fill([4], 2e-3)
    with tf.GradientTape() as tape:
        tape.watch(equal)
        value = tf.reduce_mean(train.decibel_weighted(equal))
    np.testing.assert_allclose(tape.gradient(value, equal).numpy(), 0.25, rtol=1e-5)


def test_a_decibel_cover_term_has_the_mse_value_another_gradient_and_the_same_routing():
    net = models.build("fast", seed=0, **TINY_FAST)
    secret = tf.random.uniform([3, 16, 16, 3], seed=11)
    # Covers unlike each other (one flat), so that the pairs' errors differ.
    cover = tf.concat([tf.random.uniform([2, 16, 16, 3], seed=12),
                       tf.fill([1, 16, 16, 3], 0.5)], axis=0)
    net({"cover": cover, "secret": secret})
    results = {}
    for form in ("mse", "decibels"):
        with tf.GradientTape() as tape:
            losses = train.compute_losses(net, cover=cover, secret=secret, beta=0.75,
                                          quantize=False, cover_loss=form)
        grads = tape.gradient(losses.cover, net.trainable_variables)
        results[form] = (losses, grads)
    mse, decibels = results["mse"][0], results["decibels"][0]
    np.testing.assert_allclose(float(decibels.cover), float(mse.cover), rtol=1e-6)
    np.testing.assert_allclose(float(decibels.total), float(mse.total), rtol=1e-6)
    owners = _network_of(net)
    differs = False
    for owner, g_mse, g_db in zip(owners, results["mse"][1], results["decibels"][1]):
        if owner == "reveal":
            assert g_db is None or float(tf.norm(g_db)) == 0.0
        elif g_mse is not None:
            differs = differs or not np.allclose(g_mse.numpy(), g_db.numpy(), rtol=1e-3)
    assert differs, "the decibel form left every gradient as the mean squared error's"
    with pytest.raises(ValueError, match="cover_loss"):
        train.compute_losses(net, cover=cover, secret=secret, beta=0.75, cover_loss="psnr")


def test_a_run_with_a_decibel_cover_term_trains_and_records_it(tmp_path):
    config = _tiny_config(steps=4, cover_loss="decibels", eval_every=4, checkpoint_every=4)
    history = train.Trainer(config, tmp_path, train_images=_photos(),
                            val_images=[]).fit(progress=False)
    assert np.isfinite(history[-1]["loss"])
    assert json.loads((tmp_path / "config.json").read_text())["cover_loss"] == "decibels"
    # A run recorded before the field existed reads as the mean squared error.
    values = json.loads((tmp_path / "config.json").read_text())
    del values["cover_loss"]
    assert train.Config.from_dict(values).cover_loss == "mse"


def test_secret_term_outside_the_tape_starves_the_reveal_network():
    # The classic bug that chapter 4 shows: the revealed image is computed inside the
    # tape, but the weighted loss is formed outside, so the tape never sees it.
    net = models.build("seed", seed=0, channels=4, depth=2)
    secret = tf.random.uniform([2, 12, 12, 3], seed=5)
    cover = tf.random.uniform([2, 12, 12, 3], seed=6)
    with tf.GradientTape() as tape:
        losses = train.compute_losses(net, cover=cover, secret=secret, beta=1.0)
        cover_loss = losses.cover
    total = cover_loss + 0.75 * losses.secret  # outside the tape
    del total
    grads = tape.gradient(cover_loss, net.revealing.trainable_variables)
    assert all(g is None for g in grads)


def test_container_distortion_rounds_to_8_bits_and_adds_seeded_noise():
    container = tf.fill([1, 4, 4, 3], 0.5012)
    rounded = train.distort_container(container)
    assert np.allclose(rounded.numpy() * 255, np.round(rounded.numpy() * 255), atol=1e-4)
    seed = tf.constant([1, 2], tf.int64)
    a = train.distort_container(container, noise=0.05, quantize=False, seed=seed)
    b = train.distort_container(container, noise=0.05, quantize=False, seed=seed)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(tf.math.reduce_std(a)) > 0.01


def test_config_rejects_out_of_range_fields_by_name():
    for field, value in [("beta", 0), ("size", 0), ("noise", -1), ("lr", -1e-3),
                         ("batch_size", 2.5), ("variant", "nope"), ("pairs", "x"),
                         ("precision", "half"), ("cover_loss", "psnr")]:
        with pytest.raises(ValueError, match=field.split("_")[0]):
            train.Config(**{field: value})
    with pytest.raises(ValueError, match="unknown config field"):
        train.Config.from_dict({"bta": 1})


def test_training_writes_config_history_checkpoints_and_best_weights(tmp_path):
    photos = _photos()
    trainer = train.Trainer(_tiny_config(), tmp_path, train_images=photos[:4],
                            val_images=photos[4:])
    history = trainer.fit(progress=False)
    assert [r["step"] for r in history] == [2, 4, 6, 8, 10, 12]
    assert "val_cover_psnr" in history[2] and "val_cover_psnr" in history[5]
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 7
    assert (tmp_path / "best.weights.h5").exists() and (tmp_path / "final.weights.h5").exists()
    assert json.loads((tmp_path / "best.json").read_text())["step"] in (6, 12)
    checkpoints = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.index"))
    assert checkpoints == ["ckpt-12.index", "ckpt-4.index", "ckpt-8.index"]
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


def test_training_lowers_the_loss():
    photos = _photos(count=4)
    config = _tiny_config(steps=60, lr=3e-3, log_every=10, eval_every=60,
                          checkpoint_every=60)
    import tempfile
    with tempfile.TemporaryDirectory() as run_dir:
        history = train.Trainer(config, run_dir, train_images=photos,
                                val_images=[]).fit(progress=False)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


def test_a_run_with_another_config_is_not_resumed(tmp_path):
    photos = _photos()
    train.Trainer(_tiny_config(steps=2), tmp_path, train_images=photos).fit(progress=False)
    with pytest.raises(ValueError, match="different config.*beta"):
        train.Trainer(_tiny_config(beta=2.0), tmp_path, train_images=photos)
    # more steps is fine: that is how a run is extended
    trainer = train.Trainer(_tiny_config(steps=4), tmp_path, train_images=photos)
    assert trainer.resumed_from == 2


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time, numpy as np, tensorflow as tf
    sys.path.insert(0, {root!r})
    from stegutils import train
    rng = np.random.default_rng(0)
    photos = [tf.image.resize(rng.random((6, 6, 3)).astype("float32"), (40, 48)).numpy()
              for _ in range(6)]
    config = train.Config(**{config!r})
    slow = len(sys.argv) > 2
    def callback(step, record):
        if slow:
            time.sleep(0.4)  # give the test time to kill us mid-run
    trainer = train.Trainer(config, sys.argv[1], train_images=photos[:4], val_images=photos[4:])
    trainer.fit(progress=False, callback=callback)
    """
)


def _final_weights(run_dir):
    from stegutils import pretrained

    net, _ = pretrained._load_run(pathlib.Path(run_dir), "float32")
    net.load_weights(pathlib.Path(run_dir) / "final.weights.h5")
    return [v.numpy() for v in net.trainable_variables]


def test_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
    config = dict(variant="fast", variant_options=TINY_FAST, size=16, batch_size=4,
                  steps=30, seed=11, precision="float32", log_every=1, eval_every=10,
                  checkpoint_every=5, lr=2e-3, noise=0.01)
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT.format(root=str(ROOT), config=config))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_DETERMINISTIC_OPS": "1"}

    straight = tmp_path / "straight"
    subprocess.run([sys.executable, str(script), str(straight)], check=True, env=env,
                   timeout=300)

    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(script), str(killed), "slow"], env=env)
    try:
        deadline = time.time() + 240
        while not (killed / "checkpoints" / "ckpt-10.index").exists():
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
        time.sleep(0.5)  # a step or so past the checkpoint: that work is lost
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "checkpoints" / "ckpt-30.index").exists()

    subprocess.run([sys.executable, str(script), str(killed)], check=True, env=env,
                   timeout=300)
    for a, b in zip(_final_weights(straight), _final_weights(killed)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    steps = [json.loads(line)["step"] for line in
             (killed / "history.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 31)), "history must have every step exactly once"


_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys, json, numpy as np, tensorflow as tf
    sys.path.insert(0, {root!r})
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from stegutils import models, train
    secret = tf.random.stateless_uniform([4, 16, 16, 3], seed=[1, 2])
    cover = tf.random.stateless_uniform([4, 16, 16, 3], seed=[3, 4])
    options = {options!r}

    plain = models.build("fast", seed=5, **options)
    plain_loss = float(train.compute_losses(plain, cover=cover, secret=secret, beta=0.75).total)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = models.build("fast", seed=5, **options)
    dataset = tf.data.Dataset.from_tensors((secret, cover))
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    per_replica = strategy.run(
        lambda s, c: train.compute_losses(mirrored, cover=c, secret=s, beta=0.75,
                                          global_batch_size=4).total, args=batch)
    mirrored_loss = float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))
    print(json.dumps({{"replicas": strategy.num_replicas_in_sync,
                      "plain": plain_loss, "mirrored": mirrored_loss}}))
    """
)


def test_mirrored_strategy_on_two_cpus_gives_the_same_loss_as_no_strategy(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(_MIRRORED_SCRIPT.format(root=str(ROOT), options=TINY_FAST))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["replicas"] == 2
    assert values["mirrored"] == pytest.approx(values["plain"], rel=1e-5)


def test_trainer_runs_under_mirrored_strategy(tmp_path):
    # One device is enough to exercise the distributed code path of the loop.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    photos = _photos()
    trainer = train.Trainer(_tiny_config(steps=4), tmp_path, strategy=strategy,
                            train_images=photos[:4], val_images=photos[4:])
    history = trainer.fit(progress=False)
    assert history[-1]["step"] == 4 and np.isfinite(history[-1]["loss"])


def test_init_from_starts_where_the_other_run_ended(tiny_run, tmp_path):
    from stegutils import pretrained

    options = TINY_FAST

    source, _ = pretrained.load(tiny_run)
    config = _tiny_config(variant_options=options, init_from=str(tiny_run), steps=1)
    trainer = train.Trainer(config, tmp_path / "warm", train_images=_photos())
    for a, b in zip(trainer.net.weights, source.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    wrong = _tiny_config(variant_options={**options, "width": 4}, init_from=str(tiny_run))
    with pytest.raises(ValueError, match="init_from"):
        train.Trainer(wrong, tmp_path / "wrong", train_images=_photos())


def test_init_from_a_narrower_run_widens_it_without_changing_what_it_computes(tiny_run,
                                                                              tmp_path):
    from stegutils import pretrained

    source, _ = pretrained.load(tiny_run)
    wider = {**TINY_FAST, "width": TINY_FAST["width"] + 4}
    config = _tiny_config(variant_options=wider, init_from=str(tiny_run), steps=1)
    trainer = train.Trainer(config, tmp_path / "wide", train_images=_photos())
    assert trainer.net.options["width"] == wider["width"]
    cover, secret = (tf.random.stateless_uniform([1, 16, 16, 3], seed=[9, i]) for i in (1, 2))
    for a, b in zip(trainer.net({"cover": cover, "secret": secret}),
                    source({"cover": cover, "secret": secret})):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    history = trainer.fit(progress=False)
    assert np.isfinite(history[-1]["loss"])


# ------------------------------------------------------------------ cover and secret by name


def _pair(seed=0, shape=(2, 8, 12, 3)):
    cover = tf.random.stateless_uniform(shape, seed=[seed, 1])
    secret = tf.random.stateless_uniform(shape, seed=[seed, 2])
    return cover, secret


def _losses_by_hand(net, cover, secret, beta):
    """Baluja's loss from the three networks run directly (no noise, no rounding)."""
    features = net.prep(secret)
    output = tf.cast(net.hiding([cover, features]), tf.float32)
    container = cover + output if net.residual else output
    revealed = tf.cast(net.revealing(container), tf.float32)
    cover_loss = float(tf.reduce_mean((cover - container) ** 2))
    secret_loss = float(tf.reduce_mean((secret - revealed) ** 2))
    return cover_loss, secret_loss, cover_loss + beta * secret_loss


def test_compute_losses_and_gradients_take_cover_and_secret_by_name_only():
    net = models.build("fast", seed=0, **TINY_FAST)
    cover, secret = _pair()
    with pytest.raises(TypeError, match="positional"):
        train.compute_losses(net, secret, cover, beta=0.75)
    with pytest.raises(TypeError, match="positional"):
        train.gradients(net, secret, cover, beta=0.75)


def test_compute_losses_by_name_is_the_loss_computed_by_hand():
    net = models.build("fast", seed=0, **TINY_FAST)
    cover, secret = _pair(seed=3)
    want = _losses_by_hand(net, cover, secret, beta=1.5)
    for losses in (train.compute_losses(net, cover=cover, secret=secret, beta=1.5,
                                        quantize=False),
                   train.compute_losses(net, secret=secret, cover=cover, beta=1.5,
                                        quantize=False),
                   train.gradients(net, cover=cover, secret=secret, beta=1.5,
                                   quantize=False)[0]):
        got = (float(losses.cover), float(losses.secret), float(losses.total))
        np.testing.assert_allclose(got, want, rtol=1e-5)
    # Swapped, the numbers differ: the comparison above would catch a swap.
    swapped = _losses_by_hand(net, secret, cover, beta=1.5)
    assert not np.allclose(swapped, want, rtol=1e-3)


def test_the_trainer_hands_its_gradient_fn_the_cover_and_the_secret_by_name(tmp_path):
    # The datasets yield (secret, cover); the first logged loss must be the loss of
    # that batch with the second image as the cover.
    seen = []

    def gradient_fn(net, *, cover, secret, **options):
        seen.append(sorted(options))
        return train.gradients(net, cover=cover, secret=secret, **options)

    config = _tiny_config(steps=1, log_every=1, eval_every=100, checkpoint_every=100,
                          quantize=False)
    trainer = train.Trainer(config, tmp_path, gradient_fn=gradient_fn,
                            train_images=_photos(), val_images=[])
    secret, cover = next(iter(trainer.dataset(0)))
    want = _losses_by_hand(trainer.net, cover, secret, beta=config.beta)
    swapped = _losses_by_hand(trainer.net, secret, cover, beta=config.beta)
    history = trainer.fit(progress=False)
    assert seen and "beta" in seen[0] and "seed" in seen[0]
    assert history[0]["loss"] == pytest.approx(want[2], rel=1e-5)
    assert history[0]["loss"] != pytest.approx(swapped[2], rel=1e-3)


def test_seed_recipe_batches_keep_the_recipes_secrets_and_covers_apart(tmp_path):
    from stegutils import data

    photos = _photos(6)
    config = _tiny_config(pairs="seed-recipe", size=8, batch_size=2, steps=1)
    trainer = train.Trainer(config, tmp_path, train_images=photos, val_images=[])
    secrets, covers = data.seed_recipe(photos, size=8, seed=config.seed, allow_fewer=True)
    for secret, cover in trainer.dataset(0).take(3):
        for image in secret.numpy():
            assert any(np.allclose(image, s) for s in secrets)
        for image in cover.numpy():
            assert any(np.allclose(image, c) for c in covers)
