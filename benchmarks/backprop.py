"""Autodiff, manual and dilated backprop in one run: step time and a fair race.

    STEGUTILS_DATA=../shared/data python benchmarks/backprop.py \\
        [--size 32] [--batch-size 4] [--steps 200] [--seeds 0 1 2] [--timing-size 64]
        [--out FILE]

1. Step time. One full training step (forward, backward, Adam) of the ``seed`` variant
   at ``--timing-size`` px (default 64), batch ``--timing-batch-size`` (default 8),
   float32, for each gradient source, measured in interleaved rounds (so a busy machine
   slows all three alike), every step from the same weights; the median per source and
   the ratios to autodiff.
2. The fair race. For each seed, one run per gradient source with the *same*
   :class:`stegutils.train.Config` (variant ``seed``, ``--size`` px crops of BSDS500
   train, ``--batch-size`` pairs a step, Adam with the config's learning rate and
   schedule, ``--steps`` steps): the same initial weights, the same batches in the same
   order, the same container noise. Only the ``gradient_fn`` differs
   (:func:`stegutils.backprop.make_trainer`). Each trained model is measured on held-out
   pairs from BSDS500 test (:func:`stegutils.data.heldout_pairs`,
   :func:`stegutils.metrics.evaluate`): the training objective (cover MSE + beta *
   secret MSE), PSNR, SSIM and mean pixel error (0-255) of cover and secret, with
   containers rounded to 8 bits; means and spreads over seeds, and differences paired
   by seed.

Writes everything, the budget and the exact command included, as JSON (default
``benchmarks/results/backprop.json``), which chapter 6 reads. Numbers depend on the
machine and its load: the JSON records both. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import backprop, data, metrics, models, train  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "backprop.json"
KINDS = backprop.GRADIENT_KINDS
METRIC_KEYS = ("loss", "cover_mse", "secret_mse", "cover_psnr", "secret_psnr", "cover_mpe",
               "secret_mpe", "cover_ssim", "secret_ssim")


def machine() -> dict:
    return {
        **models.machine_description(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "keras": keras.__version__,
    }


# ------------------------------------------------------------------------- step time


def step_times(*, size, batch_size, steps, rounds):
    """Median seconds per full training step (forward, backward, Adam) of each source.

    Every timed step starts from the same weights and optimizer state (restored, untimed,
    before each step): the dilated updates move the weights elsewhere than the true ones,
    and how fast a convolution runs can depend on the values it meets, so without the
    reset the comparison would time different networks, not different gradients.
    """
    secret = tf.random.stateless_uniform([batch_size, size, size, 3], seed=[1, 2])
    cover = tf.random.stateless_uniform([batch_size, size, size, 3], seed=[3, 4])
    runners = {}
    for kind in KINDS:
        net = models.build_ready("seed", precision="float32", seed=0)
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(net.trainable_variables)
        # Training's own step (stegutils.train.make_step), with this source's gradients;
        # step 0 of seed 0 seeds the (absent) noise as tf.constant([0, 0]) did.
        train_step = train.make_step(net, optimizer, beta=0.75, noise=0.0, quantize=True,
                                     seed=0, gradient_fn=backprop.gradient_fn(kind),
                                     global_batch_size=batch_size)

        def make(train_step=train_step):
            index = tf.constant(0, tf.int64)
            return lambda *, cover, secret: train_step(cover, secret, index)[0]

        state = list(net.trainable_variables) + list(optimizer.variables)
        snapshot = [v.numpy() for v in state]

        def restore(state=state, snapshot=snapshot):
            for variable, value in zip(state, snapshot):
                variable.assign(value)

        runners[kind] = (make(), restore)
    samples = {kind: [] for kind in KINDS}
    for round_number in range(-2, rounds):  # two untimed rounds: tracing, warming up
        for kind in KINDS:  # interleaved: machine load slows all three alike
            step, restore = runners[kind]
            elapsed = 0.0
            for _ in range(steps):
                restore()
                start = time.perf_counter()
                step(cover=cover, secret=secret).numpy()
                elapsed += time.perf_counter() - start
            if round_number >= 0:
                samples[kind].append(elapsed / steps)
    seconds = {kind: float(np.median(values)) for kind, values in samples.items()}
    fastest = {kind: float(np.min(values)) for kind, values in samples.items()}
    return {
        "size": size, "batch_size": batch_size, "steps_per_round": steps, "rounds": rounds,
        "from_same_weights": True,
        "seconds_per_step": seconds,
        "samples": samples,
        "ratio_to_autodiff": {kind: seconds[kind] / seconds["autodiff"] for kind in KINDS},
        # Load on a shared machine only ever adds time: the fastest round is the other
        # usual estimate of what a step costs.
        "fastest_seconds_per_step": fastest,
        "fastest_ratio_to_autodiff": {kind: fastest[kind] / fastest["autodiff"]
                                      for kind in KINDS},
    }


# ------------------------------------------------------------------------------ race


def spread(values):
    """Mean, standard deviation (over seeds), extremes and the values themselves."""
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1
            else 0.0, "min": float(values.min()), "max": float(values.max()),
            "values": [float(v) for v in values]}


def objective(*, covers, containers, secrets, revealed, beta):
    """The training objective on given pairs: means over all pairs and pixels of the
    squared errors, combined with the run's ``beta``."""
    cover_mse = float(np.mean((containers - covers) ** 2))
    secret_mse = float(np.mean((revealed - secrets) ** 2))
    return {"cover_mse": cover_mse, "secret_mse": secret_mse,
            "loss": cover_mse + beta * secret_mse}


def heldout_loss(net, *, covers, secrets, beta):
    """The training objective on held-out pairs: what the gradients try to lower.

    Containers rounded to 8 bits (as :func:`stegutils.metrics.evaluate` does).
    """
    containers = net.hide(covers, secrets)
    return objective(covers=covers, containers=containers, secrets=secrets,
                     revealed=net.reveal(containers), beta=beta)


def race(*, size, steps, seeds, batch_size, lr, beta, heldout, log_every):
    train_photos = data.photos("bsds500", "train")
    test_photos = data.photos("bsds500", "test")
    secrets, covers = data.heldout_pairs(test_photos, size=size, count=heldout, seed=1234)
    runs = []
    with tempfile.TemporaryDirectory(prefix="backprop-race-") as folder:
        for seed in seeds:
            for kind in KINDS:
                config = train.Config(variant="seed", size=size, batch_size=batch_size,
                                      steps=steps, lr=lr, beta=beta, seed=seed,
                                      precision="float32", data="bsds500",
                                      log_every=log_every, eval_every=10 * steps,
                                      checkpoint_every=10 * steps)
                start = time.perf_counter()
                trainer = backprop.make_trainer(config, pathlib.Path(folder) / f"{kind}-{seed}",
                                                kind=kind, train_images=train_photos,
                                                val_images=[])
                history = trainer.fit(progress=False)
                seconds = time.perf_counter() - start
                pairs = {"covers": covers, "secrets": secrets}
                summary = metrics.summarize(metrics.evaluate(trainer.net, **pairs))
                summary.update(heldout_loss(trainer.net, **pairs, beta=beta))
                runs.append({
                    "kind": kind, "seed": seed, "train_seconds": seconds,
                    "heldout": summary,
                    "history": [{k: r[k] for k in ("step", "loss", "cover_loss", "secret_loss",
                                                   "cover_psnr", "secret_psnr")}
                                for r in history],
                })
                print(f"seed {seed} {kind:8} {seconds:6.0f} s   held-out loss "
                      f"{summary['loss']:.4f}, cover "
                      f"{summary['cover_psnr']:.2f} dB, secret {summary['secret_psnr']:.2f} dB, "
                      f"mean pixel error {summary['cover_mpe']:.2f}/{summary['secret_mpe']:.2f}",
                      flush=True)
            config_dict = config.to_dict()
    config_dict.pop("seed")

    summary = {kind: {key: spread([r["heldout"][key] for r in runs if r["kind"] == kind])
                      for key in METRIC_KEYS} for kind in KINDS}

    def run_of(kind, seed):
        return next(r for r in runs if r["kind"] == kind and r["seed"] == seed)

    # Paired by seed (same initial weights and batches): the fairest comparison.
    paired = {}
    for kind in ("manual", "dilated"):
        paired[f"{kind}-autodiff"] = {
            key: spread([run_of(kind, s)["heldout"][key] - run_of("autodiff", s)["heldout"][key]
                          for s in seeds])
            for key in METRIC_KEYS}
    # Hand-written and automatic gradients agree to the bit, so their runs should too.
    manual_vs_autodiff = max(
        abs(a["loss"] - m["loss"])
        for s in seeds
        for a, m in zip(run_of("autodiff", s)["history"], run_of("manual", s)["history"]))
    return {
        "config": config_dict, "seeds": list(seeds), "heldout_pairs": heldout,
        "manual_vs_autodiff_max_logged_loss_difference": manual_vs_autodiff,
        "heldout_source": "BSDS500 test, data.heldout_pairs(size=size, seed=1234)",
        "train_source": f"BSDS500 train (all {len(train_photos)} photos)",
        "runs": runs, "summary": summary, "paired_differences": paired,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="race crop size (px)")
    parser.add_argument("--steps", type=int, default=200, help="race steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=4, help="race batch size")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--beta", type=float, default=0.75)
    parser.add_argument("--heldout", type=int, default=64, help="held-out pairs")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--timing-size", type=int, default=64)
    parser.add_argument("--timing-batch-size", type=int, default=8)
    parser.add_argument("--timing-steps", type=int, default=1, help="steps per round")
    parser.add_argument("--timing-rounds", type=int, default=7)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("give at least two seeds (the race reports a spread)")

    began = time.perf_counter()
    argv_text = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    result = {
        "command": f"STEGUTILS_DATA={os.environ.get('STEGUTILS_DATA', '')} "
                   f"python benchmarks/backprop.py {argv_text}".strip(),
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "budget": {"race_size": args.size, "race_steps": args.steps,
                   "race_batch_size": args.batch_size, "seeds": args.seeds,
                   "runs": len(args.seeds) * len(KINDS),
                   "timing_size": args.timing_size,
                   "timing_batch_size": args.timing_batch_size,
                   "timing_steps": args.timing_steps,
                   "timing_rounds": args.timing_rounds},
    }
    if not args.skip_timing:
        timing = step_times(size=args.timing_size, batch_size=args.timing_batch_size,
                            steps=args.timing_steps, rounds=args.timing_rounds)
        result["timing"] = timing
        for kind in KINDS:
            print(f"{kind:8} {timing['seconds_per_step'][kind]:.3f} s/step at "
                  f"{args.timing_size} px ({timing['ratio_to_autodiff'][kind]:.2f}x autodiff; "
                  f"fastest round {timing['fastest_ratio_to_autodiff'][kind]:.2f}x)",
                  flush=True)
    result["race"] = race(size=args.size, steps=args.steps, seeds=args.seeds,
                          batch_size=args.batch_size, lr=args.lr, beta=args.beta,
                          heldout=args.heldout, log_every=args.log_every)
    for kind in KINDS:
        s = result["race"]["summary"][kind]
        print(f"{kind:8} cover {s['cover_psnr']['mean']:.2f} +- {s['cover_psnr']['std']:.2f} dB"
              f"   secret {s['secret_psnr']['mean']:.2f} +- {s['secret_psnr']['std']:.2f} dB")
    result["wall_seconds"] = time.perf_counter() - began
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, result)
    print(f"wrote {args.out} in {result['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
