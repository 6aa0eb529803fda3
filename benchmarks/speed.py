"""Training throughput and hide+reveal latency of every variant, measured in one run.

    python benchmarks/speed.py [--steps 20] [--variants seed paper fast invertible]
                               [--out FILE] [--no-playground | --only-playground]
                               [--ttq-variants seed fast] [--ttq-budget 1500] [--no-ttq]
                               [--no-targets | --only-targets] [--target-models fast ...]
                               [--no-full-size | --only-full-size] [--photo-size 4000x3000]
                               [--memory-size 6000x6000] [--folder-pairs 100] [--quick]

Prints training images per second at 64 px, batch 8, in float32 and bfloat16 (where the
CPU has native bfloat16), the time of one hide+reveal of a 256 px pair, and the ratios
of each variant to ``seed`` measured in this same run. Then the playground's section
(chapter 8): the widget's own update at 256 px (hide, reveal, metrics and drawing) and
the model calls inside it, with the shipped default model, in the playground's default
precision (``auto``) and in float32, measured in the same run. Writes the figures as JSON
(default ``benchmarks/results/speed.json``) for the book to read. Numbers depend on the
machine: the JSON records it. Close other programs first; nothing here is a test.

Time-to-quality (``--ttq-*``): each variant in ``--ttq-variants`` trains from scratch on
random 64 px crops of the training photos (BSDS500 train, or the built-in photos without
it), batch 8, Adam at a constant learning rate, beta 0.75, in its fastest precision on
this machine, and every ``--ttq-eval-every`` seconds of training is measured on held-out
pairs (test photos, 8-bit containers). The figure is the training wall time (evaluation
excluded) until the held-out cover PSNR and secret PSNR both reach the stated level; a
variant that does not get there within ``--ttq-budget`` seconds is reported as not
reached, and the ratio then becomes a bound. The whole curve is kept in the JSON.

Targets (``--only-targets`` writes them alone to ``speed_targets.json``): for each
shipped model (its own weights and options), in its default precision (the one its card
trained in, resolved on this machine):

- **latency**: one hide and one reveal of a 256 px pair, repeated; the target is under
  100 ms (:data:`LATENCY_TARGET_SECONDS`);
- **training efficiency**: the operations per second of its training steps (64 px, batch
  8, Adam as its card trained it; three times the forward pass's convolution operations
  of :func:`stegutils.models.count_flops` per image, forward and backward) as a fraction
  of this machine's 3x3 convolution throughput in the same precision (the best of a few
  convolution shapes of these models' widths, forward only), the two measured in turn,
  repeat after repeat, in this same run; the target is at least 50%
  (:data:`EFFICIENCY_TARGET`).

Each figure comes with a 95% interval over the repeats
(:func:`stegutils.verdicts.ratio_interval`): a target is *met* only when its whole
interval is on the right side, *not met* only when it is wholly on the wrong side. The
machine's load is recorded around each model (load averages, and the CPU time that
other processes used while it was measured): on a busy machine a latency that misses,
and any efficiency figure (the load can slow either of its two parts), are reported as
*not decided*, since the load could explain them.
Full-size photos (``benchmarks/fullsize.py``; ``--only-full-size`` writes them alone to
``speed_full_size.json``): the command line as a user runs it, each figure one process
from start-up to the last file written: hide and reveal of a 4000x3000 pair (12
megapixels, JPEG in, PNG out), the same at 6000x6000 for the peak memory, and a folder
of 100 pairs at 256 px in one command; wall time and peak resident memory of each,
against the targets (hide < 8 s, reveal < 12 s, peak memory < 1.5 GB up to 40
megapixels, the folder < 15 s). ``--photo-size``, ``--memory-size``, ``--folder-pairs``
and ``--folder-size`` change the sizes; ``--quick`` runs everything tiny (to check the
script, not for figures) and writes to a temporary file unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import data, metrics, models, pretrained, train  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "speed.json"
PLAYGROUND_RESULTS = RESULTS.with_name("speed_playground.json")
TARGETS_RESULTS = RESULTS.with_name("speed_targets.json")

#: The issue's targets: hide+reveal of a 256 px pair under this many seconds, and
#: training at no less than this fraction of the machine's 3x3 convolution throughput.
LATENCY_TARGET_SECONDS = 0.100
EFFICIENCY_TARGET = 0.50
#: Other processes using more CPU than this (in cores, on average while a model is
#: measured) make the machine busy; where that cannot be measured, a 1-minute load
#: average above half the cores before it starts does.
BUSY_OTHER_CORES = 0.25
#: The 3x3 convolutions timed for the machine's throughput: (batch, side, channels in
#: and out), the widths and sizes of these models' layers at 64 px training crops.
CONV_SHAPES = ((8, 32, 32), (8, 32, 64), (8, 32, 128), (8, 64, 64))
FULL_SIZE_RESULTS = RESULTS.with_name("speed_full_size.json")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import fullsize  # noqa: E402


def _step(net, optimizer, *, beta, batch_size, **options):
    """Training's own compiled step (stegutils.train.make_step), as a run trains."""
    optimizer.build(net.trainable_variables)
    step = train.make_step(net, optimizer, beta=beta, global_batch_size=batch_size,
                           **options)
    index = tf.constant(0, tf.int64)
    return lambda cover, secret: step(cover, secret, index)[0]


def training_rate(variant, precision, *, steps, batch_size=8, size=64):
    """Images per second of full training steps (forward, backward, Adam)."""
    net = models.build_ready(variant, precision=precision, seed=0)
    optimizer = keras.optimizers.Adam(1e-3)
    secret = tf.random.stateless_uniform([batch_size, size, size, 3], seed=[1, 2])
    cover = tf.random.stateless_uniform([batch_size, size, size, 3], seed=[3, 4])
    step = _step(net, optimizer, beta=0.75, batch_size=batch_size)

    for _ in range(2):  # trace and warm up
        step(cover, secret).numpy()
    start = time.perf_counter()
    for _ in range(steps):
        step(cover, secret).numpy()
    elapsed = time.perf_counter() - start
    return steps * batch_size / elapsed


def hide_reveal_latency(variant, precision, *, repeats, size=256):
    """Seconds for one hide and one reveal of a size x size pair (median of repeats)."""
    net = models.build(variant, precision=precision, seed=0)
    rng = np.random.default_rng(0)
    cover, secret = rng.random((2, size, size, 3), dtype=np.float32)
    net.reveal(net.hide(cover, secret))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.reveal(net.hide(cover, secret))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_to_quality(variant, *, train_photos, heldout, cover_level, secret_level, budget,
                    eval_every, precision="auto", beta=0.75, lr=1e-3, batch_size=8,
                    size=64, seed=0):
    """Train ``variant`` from scratch until held-out PSNRs reach the levels, or the budget.

    Returns a dict with the training seconds to the level (``None`` if not reached),
    the steps, and the curve of held-out measurements (training seconds, steps, cover
    and secret PSNR).
    """
    net = models.build_ready(variant, precision=precision, seed=seed)
    optimizer = keras.optimizers.Adam(lr)
    secrets, covers = heldout
    step = _step(net, optimizer, beta=beta, batch_size=batch_size)

    pairs = data.random_pairs(train_photos, size=size, batch_size=batch_size, seed=seed)
    elapsed, steps, next_eval, reached, curve = 0.0, 0, eval_every, None, []
    for secret, cover in pairs:
        start = time.perf_counter()
        step(cover, secret).numpy()
        elapsed += time.perf_counter() - start
        steps += 1
        if elapsed < next_eval:
            continue
        summary = metrics.summarize(metrics.evaluate(net, covers=covers, secrets=secrets))
        curve.append({"seconds": elapsed, "steps": steps,
                      "cover_psnr": summary["cover_psnr"],
                      "secret_psnr": summary["secret_psnr"]})
        print(f"  {variant:6} {elapsed:7.0f} s  step {steps:6d}  held-out cover "
              f"{summary['cover_psnr']:5.2f} dB  secret {summary['secret_psnr']:5.2f} dB",
              flush=True)
        if summary["cover_psnr"] >= cover_level and summary["secret_psnr"] >= secret_level:
            reached = elapsed
            break
        if elapsed >= budget:
            break
        next_eval += eval_every
    return {"variant": variant, "precision": models.resolve_precision(precision),
            "seconds_to_level": reached, "steps": steps, "training_seconds": elapsed,
            "curve": curve}


def _square_photo(index, size):
    """A built-in photo, its central square, at size x size."""
    photo = data.builtin_photos()[index]
    side = min(photo.shape[:2])
    return data.resize(data.center_crop(photo, side), size)


def playground_latency(model, precision, *, repeats, size=256):
    """The playground's update at size px, timed by the widget itself (medians, seconds).

    ``update``: a full update (the button: hide, attack, reveal, metrics, PNGs, links);
    ``model``: the model calls inside it (hide and reveal); ``gain_update``: moving the
    residual's gain slider, which needs no model call.
    """
    from stegutils import widgets

    photos = {"cover": _square_photo(0, size), "secret": _square_photo(1, size)}
    playground = widgets.playground([model], photos=photos, working_size=size,
                                    precision=precision, cover="cover", secret="secret",
                                    model=model)
    if playground.last_error:
        raise RuntimeError(playground.last_error)
    for _ in range(2):  # trace and warm up
        playground.update(force=True)
    updates, calls, redraws = [], [], []
    for index in range(repeats):
        playground.update(force=True)
        updates.append(playground.timings["update"])
        calls.append(playground.timings["model"])
        playground.gain.value = 10.0 + (index % 2 + 1) * 5
        redraws.append(playground.timings["update"])
    return {"model": model, "precision": precision,
            "resolved_precision": models.resolve_precision(precision),
            "device": playground.device, "size": size,
            "update_seconds": float(np.median(updates)),
            "model_call_seconds": float(np.median(calls)),
            "gain_update_seconds": float(np.median(redraws))}


def _cpu_seconds_busy():
    """CPU seconds this machine has spent busy since boot (all cores), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle and iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class LoadWatch:
    """The machine's load around a measurement: load averages, and the CPU (in cores)
    that *other* processes used meanwhile (all busy time less this process's and its
    waited-for children's)."""

    def __init__(self):
        self.start_load = list(os.getloadavg())
        self._wall = time.perf_counter()
        self._busy = _cpu_seconds_busy()
        self._own = self._own_seconds()

    @staticmethod
    def _own_seconds():
        # This process and the children it waited for (the command lines that the
        # full-size figures time are children): their CPU is the measurement's own.
        own = os.times()
        return own.user + own.system + own.children_user + own.children_system

    def finish(self) -> dict:
        wall = time.perf_counter() - self._wall
        busy = _cpu_seconds_busy()
        other = None
        if busy is not None and self._busy is not None and wall > 0:
            own_seconds = self._own_seconds() - self._own
            other = max(0.0, (busy - self._busy - own_seconds) / wall)
        cpus = os.cpu_count() or 1
        # The CPU other processes used is the direct measure; the load average counts
        # this process's own threads (the previous measurement's too), so it decides
        # only where /proc/stat cannot be read.
        busy_machine = (other > BUSY_OTHER_CORES if other is not None
                        else self.start_load[0] > 0.5 * cpus)
        return {"load_average_start": [round(v, 2) for v in self.start_load],
                "load_average_end": [round(v, 2) for v in os.getloadavg()],
                "other_processes_cores": None if other is None else round(other, 3),
                "seconds": round(wall, 1), "busy": bool(busy_machine)}


def conv_throughput(policy, *, calls=6):
    """Operations per second of the best 3x3 convolution of :data:`CONV_SHAPES`.

    Forward passes of one ``Conv2D`` in the Keras dtype policy ``policy``, timed over
    ``calls`` calls after a warm-up; ``2 * batch * side**2 * 9 * c_in * c_out``
    operations each (as :func:`stegutils.models.count_flops` counts). Returns ``(best,
    {shape: rate})``.
    """
    rates = {}
    for batch, side, channels in CONV_SHAPES:
        layer = keras.layers.Conv2D(channels, 3, padding="same", dtype=policy)
        x = tf.cast(tf.random.stateless_uniform([batch, side, side, channels], seed=[5, 6]),
                    layer.compute_dtype)
        run = tf.function(lambda x, layer=layer: layer(x))
        for _ in range(2):
            run(x).numpy()
        start = time.perf_counter()
        for _ in range(calls):
            run(x).numpy()
        elapsed = time.perf_counter() - start
        operations = 2 * batch * side * side * 9 * channels * channels
        rates[f"{batch}x{side}x{side}x{channels}"] = calls * operations / elapsed
    return max(rates.values()), rates


def _shipped_training_step(card, policy, *, batch_size=8, size=64):
    """A compiled training step of the shipped model's design, as its card trained it."""
    config = train.Config.from_dict(card["config"])
    net = models.build_ready(config.variant, precision=policy, seed=0,
                             **config.variant_options)
    optimizer = keras.optimizers.Adam(config.lr, global_clipnorm=config.clipnorm)
    secret = tf.random.stateless_uniform([batch_size, size, size, 3], seed=[1, 2])
    cover = tf.random.stateless_uniform([batch_size, size, size, 3], seed=[3, 4])
    step = _step(net, optimizer, beta=config.beta, batch_size=batch_size,
                 quantize=config.quantize)
    return net, lambda: step(cover, secret)


def measure_targets(name, *, repeats=5, train_steps=8, latency_repeats=15):
    """The two targets of one shipped model, measured on this machine (see the docstring).

    Returns a dict with the figures, their 95% intervals over the repeats, the machine's
    load meanwhile, and the verdicts.
    """
    from stegutils import verdicts

    card = pretrained.card(name)
    precision = card["config"].get("precision", "float32")
    policy = models.resolve_precision(precision)
    watch = LoadWatch()

    net, _ = pretrained.load(name, precision=policy)
    rng = np.random.default_rng(0)
    cover, secret = rng.random((2, 256, 256, 3), dtype=np.float32)
    for _ in range(2):  # trace and warm up
        net.reveal(net.hide(cover=cover, secret=secret))
    latencies = []
    for _ in range(latency_repeats):
        start = time.perf_counter()
        net.reveal(net.hide(cover=cover, secret=secret))
        latencies.append(time.perf_counter() - start)
    latency = verdicts.ratio_interval(latencies, [1.0] * len(latencies))  # geometric mean

    train_net, step = _shipped_training_step(card, policy)
    operations_per_image = 3 * models.count_flops(train_net, 64)["total"]
    for _ in range(2):
        step().numpy()
    conv_throughput(policy, calls=2)  # warm up every shape once
    training, convolution, per_shape = [], [], []
    for _ in range(repeats):  # in turn, so that both see the same machine
        start = time.perf_counter()
        for _ in range(train_steps):
            step().numpy()
        images_per_second = train_steps * 8 / (time.perf_counter() - start)
        training.append(images_per_second * operations_per_image)
        best, rates = conv_throughput(policy)
        convolution.append(best)
        per_shape.append(rates)
    fraction = verdicts.ratio_interval(training, convolution)
    load = watch.finish()

    def verdict(met, missed, *, load_can_explain):
        if load["busy"] and load_can_explain:
            return "not decided: the machine was busy, and the load could explain the figure"
        return "met" if met else "not met" if missed else "not decided: within the spread"

    latency_met = latency.high < LATENCY_TARGET_SECONDS
    latency_missed = latency.low > LATENCY_TARGET_SECONDS
    fraction_met = fraction.low >= EFFICIENCY_TARGET
    fraction_missed = fraction.high < EFFICIENCY_TARGET
    return {
        "model": name, "variant": card["variant"], "precision": precision,
        "resolved_precision": policy,
        "latency": {
            "size": 256, "repeats": latency_repeats,
            "hide_reveal_256_seconds": latency.value,
            "hide_reveal_256_seconds_low": latency.low,
            "hide_reveal_256_seconds_high": latency.high,
            "hide_reveal_256_seconds_median": float(np.median(latencies)),
            "target_seconds": LATENCY_TARGET_SECONDS,
            "verdict": verdict(latency_met, latency_missed,
                               load_can_explain=not latency_met),
        },
        "training": {
            "size": 64, "batch_size": 8, "repeats": repeats, "steps_per_repeat": train_steps,
            "operations_per_image": operations_per_image,
            "train_images_per_second": float(np.mean(training)) / operations_per_image,
            "train_operations_per_second": float(np.mean(training)),
            "conv_operations_per_second": float(np.mean(convolution)),
            "conv_shapes_operations_per_second": {
                shape: float(np.mean([rates[shape] for rates in per_shape]))
                for shape in per_shape[0]},
            "fraction_of_conv": fraction.value,
            "fraction_of_conv_low": fraction.low,
            "fraction_of_conv_high": fraction.high,
            "target_fraction": EFFICIENCY_TARGET,
            "verdict": verdict(fraction_met, fraction_missed, load_can_explain=True),
        },
        "load": load,
    }


def print_targets(row):
    latency, training, load = row["latency"], row["training"], row["load"]
    other = load["other_processes_cores"]
    print(f"{row['model']:10} {row['resolved_precision']:14} hide+reveal 256px "
          f"{latency['hide_reveal_256_seconds'] * 1000:6.1f} ms "
          f"[{latency['hide_reveal_256_seconds_low'] * 1000:.1f}, "
          f"{latency['hide_reveal_256_seconds_high'] * 1000:.1f}] "
          f"(target < {latency['target_seconds'] * 1000:.0f} ms): {latency['verdict']}",
          flush=True)
    print(f"{'':10} {'':14} training {training['train_images_per_second']:6.1f} img/s, "
          f"{training['train_operations_per_second'] / 1e9:6.1f} GFLOP/s = "
          f"{100 * training['fraction_of_conv']:5.1f}% "
          f"[{100 * training['fraction_of_conv_low']:.1f}, "
          f"{100 * training['fraction_of_conv_high']:.1f}] of the 3x3 convolution's "
          f"{training['conv_operations_per_second'] / 1e9:.1f} GFLOP/s (target >= "
          f"{100 * training['target_fraction']:.0f}%): {training['verdict']}", flush=True)
    print(f"{'':10} {'':14} load average {load['load_average_start'][0]:.2f} before, "
          f"{load['load_average_end'][0]:.2f} after (1 min, {os.cpu_count()} cores); other "
          f"processes used {'?' if other is None else f'{other:.2f}'} cores meanwhile"
          f"{': busy' if load['busy'] else ''}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+",
                        default=["seed", "paper", "fast", "invertible"],
                        choices=models.variant_names())
    parser.add_argument("--steps", type=int, default=20,
                        help="timed training steps per variant (paper gets a quarter)")
    parser.add_argument("--repeats", type=int, default=5, help="timed hide+reveal calls")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help=f"JSON to write (default {RESULTS.name}; with --only-playground "
                             f"{PLAYGROUND_RESULTS.name}, so the full run's file is kept)")
    parser.add_argument("--playground-model", default=pretrained.DEFAULT_MODEL,
                        help="shipped model for the playground's section")
    parser.add_argument("--ttq-variants", nargs="+", default=["seed", "fast"],
                        choices=models.variant_names(),
                        help="variants for time-to-quality (the first is the baseline)")
    parser.add_argument("--ttq-cover", type=float, default=27.0,
                        help="held-out cover PSNR to reach, dB")
    parser.add_argument("--ttq-secret", type=float, default=21.0,
                        help="held-out secret PSNR to reach, dB")
    parser.add_argument("--ttq-budget", type=float, default=1500.0,
                        help="most training seconds per variant")
    parser.add_argument("--ttq-eval-every", type=float, default=20.0,
                        help="training seconds between held-out measurements")
    parser.add_argument("--ttq-pairs", type=int, default=64, help="held-out pairs")
    parser.add_argument("--no-ttq", action="store_true", help="skip time-to-quality")
    parser.add_argument("--target-models", nargs="+", default=None,
                        help="shipped models for the targets (default: every shipped model)")
    parser.add_argument("--target-repeats", type=int, default=5,
                        help="repeats of the training and convolution timings")
    section = parser.add_mutually_exclusive_group()
    section.add_argument("--no-playground", action="store_true",
                         help="skip the playground's section")
    section.add_argument("--only-playground", action="store_true",
                         help="measure the playground's section only")
    section.add_argument("--only-targets", action="store_true",
                         help=f"measure the targets only (default out {TARGETS_RESULTS.name})")
    parser.add_argument("--no-targets", action="store_true", help="skip the targets")
    section.add_argument("--only-full-size", action="store_true",
                         help=f"measure the full-size section only (default out "
                              f"{FULL_SIZE_RESULTS.name})")
    parser.add_argument("--no-full-size", action="store_true",
                        help="skip the full-size section")
    parser.add_argument("--photo-size", type=fullsize.parse_size,
                        default=fullsize.SIZES["photo"], metavar="WxH",
                        help="the photo hidden and revealed (4000x3000)")
    parser.add_argument("--memory-size", type=fullsize.parse_size,
                        default=fullsize.SIZES["memory"], metavar="WxH",
                        help="the peak-memory check (6000x6000)")
    parser.add_argument("--folder-pairs", type=int, default=fullsize.SIZES["folder_pairs"],
                        help="pairs in the folder hidden in one command (100)")
    parser.add_argument("--folder-size", type=int, default=fullsize.SIZES["folder_size"],
                        help="side of the folder's images (256)")
    parser.add_argument("--full-size-model", default=None,
                        help="model for the full-size section (default: the command "
                             "line's default)")
    parser.add_argument("--full-size-precision", default=None,
                        choices=["auto", "float32", "bfloat16"],
                        help="--precision for the full-size section (default: the command "
                             "line's)")
    parser.add_argument("--quick", action="store_true",
                        help="everything tiny, to check the script (not for figures); "
                             "writes to a temporary file unless --out is given")
    args = parser.parse_args(argv)
    if args.quick:
        args.variants = [v for v in args.variants if v == "fast"] or args.variants[:1]
        args.steps, args.repeats, args.no_ttq = 2, 1, True
        args.photo_size, args.memory_size = fullsize.QUICK["photo"], fullsize.QUICK["memory"]
        args.folder_pairs = min(args.folder_pairs, fullsize.QUICK["folder_pairs"])
        args.folder_size = min(args.folder_size, fullsize.QUICK["folder_size"])
        if args.out is None:
            import tempfile

            args.out = pathlib.Path(tempfile.mkdtemp(prefix="speed-quick-")) / RESULTS.name
    if args.out is None:
        args.out = (PLAYGROUND_RESULTS if args.only_playground
                    else TARGETS_RESULTS if args.only_targets
                    else FULL_SIZE_RESULTS if args.only_full_size else RESULTS)
    only = args.only_playground or args.only_targets or args.only_full_size
    if args.only_full_size:
        args.no_ttq, args.no_playground = True, True
    run_load = LoadWatch()

    precisions = ["float32"]
    if models.cpu_supports_bfloat16():
        precisions.append("bfloat16")
    rows = []
    for variant in ([] if only else args.variants):
        for precision in precisions:
            steps = max(2, args.steps // 4) if variant == "paper" else args.steps
            rate = training_rate(variant, precision, steps=steps)
            latency = hide_reveal_latency(variant, precision, repeats=args.repeats)
            rows.append({"variant": variant, "precision": precision,
                         "train_images_per_second": rate,
                         "hide_reveal_256_seconds": latency})
            print(f"{variant:6} {precision:9} train {rate:8.1f} img/s   "
                  f"hide+reveal 256px {latency * 1000:8.1f} ms", flush=True)

    def find(variant, precision):
        return next((r for r in rows if r["variant"] == variant and r["precision"] == precision),
                    None)

    ratios = {}
    for row in rows:
        base = find("seed", row["precision"])
        if base and row["variant"] != "seed":
            key = f"{row['variant']}/seed {row['precision']}"
            ratios[key] = {
                "train_speedup": row["train_images_per_second"] / base["train_images_per_second"],
                "latency_speedup": base["hide_reveal_256_seconds"] / row["hide_reveal_256_seconds"],
            }
            print(f"{key}: training {ratios[key]['train_speedup']:.1f}x faster, "
                  f"hide+reveal {ratios[key]['latency_speedup']:.1f}x faster")
    ttq = None
    if not (args.no_ttq or only):
        train_photos, source = data.photos_or_builtin("bsds500", "train")
        test_photos, _ = data.photos_or_builtin("bsds500", "test")
        heldout = data.heldout_pairs(test_photos, size=64, count=args.ttq_pairs, seed=1234)
        print(f"time to held-out cover >= {args.ttq_cover} dB and secret >= "
              f"{args.ttq_secret} dB ({source}, {len(heldout.secrets)} held-out pairs):", flush=True)
        runs = [time_to_quality(variant, train_photos=train_photos, heldout=heldout,
                                cover_level=args.ttq_cover, secret_level=args.ttq_secret,
                                budget=args.ttq_budget, eval_every=args.ttq_eval_every)
                for variant in args.ttq_variants]
        ttq = {"cover_level": args.ttq_cover, "secret_level": args.ttq_secret,
               "budget_seconds": args.ttq_budget, "eval_every_seconds": args.ttq_eval_every,
               "data": source, "heldout_pairs": len(heldout[0]), "size": 64,
               "batch_size": 8, "beta": 0.75, "lr": 1e-3, "runs": runs, "ratios": {}}
        base = runs[0]
        for run in runs[1:]:
            key = f"{run['variant']}/{base['variant']}"
            if run["seconds_to_level"] is None:
                ratio, kind = None, "not reached"
            elif base["seconds_to_level"] is None:
                # The baseline needed more than its whole budget: the ratio is at most this.
                ratio, kind = run["seconds_to_level"] / base["training_seconds"], "at most"
            else:
                ratio, kind = run["seconds_to_level"] / base["seconds_to_level"], "equal to"
            ttq["ratios"][key] = {"time_ratio": ratio, "kind": kind}
            shown = "n/a" if ratio is None else f"{ratio:.3f}"
            print(f"{key}: time to quality ratio {kind} {shown}")
    playground = []
    if not (args.no_playground or args.only_targets):
        for precision in ("auto", "float32"):
            row = playground_latency(args.playground_model, precision, repeats=args.repeats)
            playground.append(row)
            print(f"playground {row['model']} {row['resolved_precision']:14} on "
                  f"{row['device']}, {row['size']} px: update "
                  f"{row['update_seconds'] * 1000:6.1f} ms, model call (hide+reveal) "
                  f"{row['model_call_seconds'] * 1000:6.1f} ms, gain-only redraw "
                  f"{row['gain_update_seconds'] * 1000:5.1f} ms", flush=True)
    targets = []
    if not (args.no_targets or args.only_playground or args.only_full_size):
        print("targets: hide+reveal of a 256 px pair under "
              f"{LATENCY_TARGET_SECONDS * 1000:.0f} ms, training at >= "
              f"{100 * EFFICIENCY_TARGET:.0f}% of this machine's 3x3 convolution throughput, "
              "each shipped model in its default precision:", flush=True)
        for name in args.target_models or pretrained.list():
            row = measure_targets(name, repeats=args.target_repeats)
            targets.append(row)
            print_targets(row)
    full_size = None
    if not (args.no_full_size or args.only_playground or args.only_targets):
        print("full-size photos through the command line (one process each, start-up "
              "included):", flush=True)
        sizes = {"photo": args.photo_size, "memory": args.memory_size,
                 "folder_pairs": args.folder_pairs, "folder_size": args.folder_size}
        full_size = fullsize.measure(sizes=sizes, model=args.full_size_model,
                                     precision=args.full_size_precision)
        full_size["default_model"] = pretrained.DEFAULT_MODEL
        full_size["quick"] = bool(args.quick)
        fullsize.print_verdicts(full_size, full_sizes=not args.quick
                                and tuple(args.photo_size) == fullsize.SIZES["photo"])
    result = {
        "command": "python benchmarks/speed.py " + " ".join(argv or sys.argv[1:]),
        "machine": models.machine_description(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "load": run_load.finish(),
        "batch_size": 8, "train_size": 64, "latency_size": 256,
        "rows": rows, "ratios": ratios, "playground": playground,
        "time_to_quality": ttq, "full_size": full_size,
        "targets": targets,
    }
    if targets:
        result["targets_note"] = (
            "measured on a machine that other processes were using (see each model's "
            "load): the times are longer than a quiet machine gives, and the fractions "
            "could be off either way (the load can slow the training or the convolution)"
            if any(row["load"]["busy"] for row in targets) else
            "the machine was quiet while the targets were measured")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
