"""The loss, its gradient routing, and a training loop that survives being killed.

The loss is Baluja's::

    loss = ||cover - container||^2 + beta * ||secret - revealed||^2

(means over pixels rather than sums, so that ``beta`` does not depend on image size).
The cover term depends only on the prep and hiding networks, so its gradient reaches
only them; the secret term depends on all three networks and trains all three. One
``tf.GradientTape`` around *both* terms gives exactly that routing (chapter 4 shows it
term by term). Computing ``beta * secret_loss`` outside the tape is the classic bug: the
reveal network then gets no gradient at all.

Between hiding and revealing the container goes through what a real container goes
through: optional Gaussian noise, then rounding to 8 bits (with a straight-through
gradient, :func:`stegutils.models.quantize_8bit`), so that a container saved as a PNG
still reveals.

A run lives in a folder that :mod:`stegutils.runs` owns (its files, the
:class:`~stegutils.runs.Config` that made it, the validation split, the lock); this
module trains in it. :func:`make_step` is the one compiled training step: the
:class:`Trainer`, the fine-tunes of :mod:`stegutils.attacks` and the benchmarks all run
it.

Every file is written atomically (a temporary file, then a rename), and the batch of step
``i`` depends only on ``(seed, i)``, so a run killed at any moment resumes exactly where
its last checkpoint was and ends where an uninterrupted run would have. The step counter
moves inside the same compiled step as the weights and Adam's state, so a checkpoint's
step, weights, optimizer and data position always agree; Ctrl-C finishes the step in
progress and saves a checkpoint (a second Ctrl-C stops at once). On resume a damaged
latest checkpoint is set aside for the newest intact one, with a note; a damaged
checkpoint index, a second process on the same folder, a loss that is not finite, a full
disk or too little memory end the run with a :class:`TrainingError` whose message is one
line saying what happened and what to do, and leave no half-written file behind.

Introduced in chapter 4 (Loss and gradient flow) and chapter 5 (Training).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import os
import pathlib
import re
import shutil
import signal
import sys
import threading
import time
from typing import Callable

import numpy as np
import tensorflow as tf
import keras

from stegutils import channel as _channel
from stegutils import data as _data
from stegutils import metrics as _metrics
from stegutils import models as _models
from stegutils import pretrained as _pretrained
from stegutils import runs as _runs
# The chapters' Setup cells call train.fast_mode() (its home is the book's machinery).
from stegutils.book import fast_mode  # noqa: F401
from stegutils.runs import (  # noqa: F401 - their names here since chapter 5
    Config, TrainingError, check_weights, load_config, run_folder_lock, split_validation,
    write_json_atomic)

__all__ = [
    "Config",
    "Losses",
    "compute_losses",
    "decibel_weighted",
    "gradients",
    "distort_container",
    "make_step",
    "Trainer",
    "train",
    "load_config",
    "write_json_atomic",
    "fast_mode",
    "TrainingError",
    "run_folder_lock",
    "VALIDATION_PAIRS",
    "split_validation",
    "validation_pairs",
    "check_weights",
]


# --------------------------------------------------------------------------------- loss


@dataclasses.dataclass
class Losses:
    """The two terms and their weighted sum, per batch (scalars)."""

    total: tf.Tensor
    cover: tf.Tensor
    secret: tf.Tensor


def distort_container(container, *, noise=0.0, quantize=True, seed=None):
    """What happens to a container between hiding and revealing during training.

    Parameters
    ----------
    container : tf.Tensor
        Float containers, ``(batch, height, width, 3)``.
    noise : float, optional
        Standard deviation of added Gaussian noise (0: none).
    quantize : bool, optional
        Round to 8 bits with a straight-through gradient.
    seed : tensor of shape (2,), optional
        Stateless seed for the noise, so that a resumed run draws the same noise.

    Returns
    -------
    tf.Tensor

    Introduced in chapter 5 (Training).
    """
    if noise:
        if seed is None:
            draw = tf.random.normal(tf.shape(container), stddev=noise)
        else:
            draw = tf.random.stateless_normal(tf.shape(container), seed=seed, stddev=noise)
        container = container + draw
    if quantize:
        container = _models.quantize_8bit(container)
    return container


def _per_example_mse(a, b):
    return tf.reduce_mean(tf.math.squared_difference(a, b), axis=[1, 2, 3])


#: The floor of :func:`decibel_weighted` (:data:`stegutils.metrics.DECIBEL_FLOOR`): one
#: grey level squared, below which a pair's error counts no more.
DECIBEL_FLOOR = _metrics.DECIBEL_FLOOR


def decibel_weighted(per_example_mse):
    """Per-pair errors whose value is unchanged and whose gradient is that of the mean PSNR.

    Returns ``m * log(e_i + floor)`` plus a constant that restores the value ``e_i``, with
    ``m`` the batch's mean of ``e_i + floor`` held constant: the gradient is ``m / (e_i +
    floor)`` times that of ``e_i``, so that each pair's error counts in proportion to its
    decibels (``-10 log10 e_i``), as the mean PSNR the book reports weighs it, while the
    loss keeps the mean squared error's scale (and ``beta`` its meaning). With equal
    errors it is the mean squared error, gradient included.

    Introduced in chapter 10 (Surviving the channel).
    """
    shifted = per_example_mse + DECIBEL_FLOOR
    scale = tf.stop_gradient(tf.reduce_mean(shifted))
    logs = scale * tf.math.log(shifted)
    return tf.stop_gradient(per_example_mse - logs) + logs


def compute_losses(net, *, cover, secret, beta, noise=0.0, quantize=True, seed=None,
                   training=True, global_batch_size=None, channel=None, step=0,
                   cover_loss="mse"):
    """Run the three networks on one batch and return the two loss terms and the total.

    Call it *inside* a ``tf.GradientTape`` to get gradients (see :func:`gradients`).

    Parameters
    ----------
    net : stegutils.models.StegoNet
    cover, secret : tf.Tensor, keyword-only
        Batches of float images in ``[0, 1]``.
    beta : float
        Weight of the secret term.
    noise, quantize, seed
        See :func:`distort_container`.
    global_batch_size : int, optional
        Under a ``tf.distribute`` strategy, the batch size over all replicas (each
        replica's loss is divided by it so that the summed gradient is the mean).
    channel : stegutils.channel.ChannelSpec or dict, optional
        Send the containers through this simulated channel (in place of ``noise`` and
        ``quantize``); the secret term compares the revealed image with the secret
        cropped as the container was (:func:`stegutils.channel.simulate`).
    step : int or scalar tensor, optional
        The training step, for the channel's curriculum.
    cover_loss : {"mse", "decibels"}, optional
        ``"decibels"``: the cover term keeps its value but takes the gradient of the
        pairs' mean cover PSNR (:func:`decibel_weighted`).

    Returns
    -------
    Losses

    Introduced in chapter 4 (Loss and gradient flow).
    """
    container = net.hide_raw(cover=cover, secret=secret, training=training)
    target = secret
    if channel is not None:
        spec = _channel.ChannelSpec.from_dict(channel)
        channel_seed = tf.zeros([2], tf.int64) if seed is None else seed
        distorted, target = _channel.simulate(container, secret, spec, step=step,
                                              seed=channel_seed)
    else:
        distorted = distort_container(container, noise=noise, quantize=quantize, seed=seed)
    revealed = tf.cast(net.revealing(distorted, training=training), tf.float32)
    batch = global_batch_size or tf.shape(secret)[0]
    cover_errors = _per_example_mse(cover, container)
    if cover_loss == "decibels":
        cover_errors = decibel_weighted(cover_errors)
    elif cover_loss != "mse":
        raise ValueError(f"cover_loss must be 'mse' or 'decibels', got {cover_loss!r}")
    cover_loss = tf.nn.compute_average_loss(cover_errors, global_batch_size=batch)
    secret_loss = tf.nn.compute_average_loss(_per_example_mse(target, revealed),
                                             global_batch_size=batch)
    total = cover_loss + beta * secret_loss
    # A variant may add a term of its own design (the invertible variant's loss on the
    # container's low-frequency wavelet band, chapter 9): per-example values, weighted.
    auxiliary = getattr(net, "auxiliary_loss", None)
    if auxiliary is not None:
        total = total + tf.nn.compute_average_loss(auxiliary(cover, container),
                                                   global_batch_size=batch)
    return Losses(total, cover_loss, secret_loss)


def gradients(net, *, cover, secret, beta, noise=0.0, quantize=True, seed=None,
              global_batch_size=None, loss_scale=None, channel=None, step=0,
              loss=None, cover_loss="mse"):
    """Gradients of the total loss for every trainable variable, by automatic
    differentiation.

    The routing needs no special code: the cover term does not depend on the reveal
    network, so its contribution there is exactly zero.

    loss_scale : callable, optional
        Scales the loss before differentiating (float16 training passes its
        ``LossScaleOptimizer.scale_loss``; the optimizer unscales the gradients).
    loss : callable, optional
        The loss to differentiate, called as :func:`compute_losses` is (the default)
        and returning :class:`Losses`: a fine-tune with an attack in the loop passes
        its own (:func:`stegutils.attacks.finetune`).
    cover_loss : {"mse", "decibels"}, optional
        The cover term's form (:func:`compute_losses`); passed on to ``loss`` only when
        it is not the default, so that a loss of another signature still works.

    Returns
    -------
    (Losses, list of tf.Tensor)
        The losses and one gradient per ``net.trainable_variables``.

    Introduced in chapter 4 (Loss and gradient flow).
    """
    loss = loss or compute_losses
    options = {} if cover_loss == "mse" else {"cover_loss": cover_loss}
    with tf.GradientTape() as tape:
        losses = loss(net, cover=cover, secret=secret, beta=beta, noise=noise,
                      quantize=quantize, seed=seed, global_batch_size=global_batch_size,
                      channel=channel, step=step, **options)
        scaled = loss_scale(losses.total) if loss_scale else losses.total
    grads = tape.gradient(scaled, net.trainable_variables)
    return losses, grads


def make_step(net, optimizer, *, beta, noise=0.0, quantize=True, seed=0, channel=None,
              loss=None, gradient_fn=None, strategy=None, global_batch_size=None,
              counter=None, cover_loss="mse"):
    """The compiled training step: a forward pass, the gradients, one optimizer update.

    The one training step of the library: :class:`Trainer` (and so ``stegutils
    train``) runs it, so do the fine-tunes of :mod:`stegutils.attacks` and the speed
    benchmarks, so that what they time is what training runs.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        Built (:func:`stegutils.models.build_ready`), its variables created.
    optimizer : keras.optimizers.Optimizer
        Built against ``net.trainable_variables`` (a ``LossScaleOptimizer``'s loss
        scaling is applied, for float16).
    beta, noise, quantize : optional
        The loss's (:func:`compute_losses`).
    seed : int, optional
        With the step's index, seeds the container noise and the channel: step ``i``
        draws the same noise every time it runs (a resumed run, too).
    channel : stegutils.channel.ChannelSpec or dict, optional
        Train through this simulated channel (:func:`compute_losses`).
    loss : callable, optional
        Another loss to differentiate (see :func:`gradients`); not with ``gradient_fn``.
    gradient_fn : callable, optional
        Where the gradients come from, with :func:`gradients`'s signature (the
        default); :mod:`stegutils.backprop` provides hand-written ones.
    strategy : tf.distribute.Strategy, optional
        Run the step on each replica and sum the losses; default: no distribution.
    global_batch_size : int, optional
        The batch size over all replicas (:func:`compute_losses`).
    counter : tf.Variable, optional
        An int64 variable incremented in the same call as the update: a checkpoint's
        step count then always agrees with its weights and optimizer.
    cover_loss : {"mse", "decibels"}, optional
        The cover term's form (:func:`compute_losses`).

    Returns
    -------
    callable
        ``step(cover, secret, index) -> (total, cover_loss, secret_loss)``: scalar
        tensors (summed over replicas); ``index`` is the step's number from 0, an
        int64 scalar tensor.

    Introduced in chapter 5 (Training).
    """
    if loss is not None and gradient_fn is not None:
        raise ValueError("give loss (differentiated automatically) or gradient_fn (which "
                         "returns the gradients itself), not both")
    gradient_fn = gradient_fn or gradients
    strategy = strategy or tf.distribute.get_strategy()
    extra = {} if loss is None else {"loss": loss}
    if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
        extra["loss_scale"] = optimizer.scale_loss
    if channel is not None:
        # Only a step with a channel passes these, so that a hand-written gradient
        # function (stegutils.backprop) keeps its signature.
        extra["channel"] = _channel.ChannelSpec.from_dict(channel)
    if cover_loss != "mse":
        # Likewise: only a step that weighs the cover term in decibels passes it.
        extra["cover_loss"] = cover_loss

    def replica_step(cover, secret, index):
        step_seed = tf.stack([tf.cast(seed, tf.int64), index])
        options = dict(extra, step=index) if "channel" in extra else extra
        losses, grads = gradient_fn(
            net, cover=cover, secret=secret, beta=beta, noise=noise, quantize=quantize,
            seed=step_seed, global_batch_size=global_batch_size, **options)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return losses.total, losses.cover, losses.secret

    @tf.function
    def train_step(cover, secret, index):
        per_replica = strategy.run(replica_step, args=(cover, secret, index))
        if counter is not None:
            # The counter moves in the same call as the weights and the optimizer's
            # state: no interruption can separate them.
            counter.assign_add(1)
        return tuple(strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                     for value in per_replica)

    return train_step


# ---------------------------------------------------------------------------- training


GradientFn = Callable[..., tuple]

#: How many pairs the validation set holds (:func:`validation_pairs`).
VALIDATION_PAIRS = 32


def validation_pairs(images, config: "Config"):
    """The fixed validation pairs of a run: :data:`VALIDATION_PAIRS` crops of
    ``config.size`` from the validation photos, seeded by ``config.seed + 1``.

    Introduced in chapter 5 (Training).
    """
    return _data.heldout_pairs(images, size=config.size, count=VALIDATION_PAIRS,
                               seed=config.seed + 1)


def _psnr_from_mse(mse):
    # For the progress bar and the history: a batch's mean squared error in decibels,
    # capped at 120 dB so that a perfect batch logs a number (stegutils.metrics holds
    # the per-image PSNR).
    return _metrics.psnr_from_mse(max(float(mse), 1e-12))


#: The JPEG quality a run with a channel is validated at (real encoder, 4:2:0).
VALIDATION_JPEG_QUALITY = 75


class Trainer:
    """Train one model from a :class:`Config`, in a run folder, resumably.

    Parameters
    ----------
    config : Config
    run_dir : path
        Where the run's files go. If it already holds a run, that run is resumed from
        its latest checkpoint (its ``config.json`` must match ``config`` except for
        ``steps`` and the logging intervals).
    strategy : tf.distribute.Strategy, optional
        For example ``tf.distribute.MirroredStrategy()`` on one machine with several
        devices, or ``MultiWorkerMirroredStrategy()`` across machines (set ``TF_CONFIG``).
        Default: no distribution.
    gradient_fn : callable, optional
        ``gradient_fn(net, *, cover, secret, beta, noise, quantize, seed,
        global_batch_size) -> (Losses, grads)``; default :func:`gradients`
        (automatic differentiation). :mod:`stegutils.backprop` provides hand-written
        ones, so that runs differ only in where their gradients come from.
    train_images, val_images : list of arrays, optional
        Override the photos that ``config.data`` names (for tests and notebooks).
    allow_changes : bool, optional
        Resume a run whose ``config.json`` differs from ``config`` in more than the
        free fields (``lr``, ``beta``, ``size``, ``batch_size``...): the new values are
        used from the resumed step on and written to ``config.json``. The variant and
        its options can never change. Default: such a run is refused.

    Raises
    ------
    ValueError
        If the folder holds a run with another config (and ``allow_changes`` is off).
    TrainingError
        If another process is training in the folder, or its checkpoint index is
        damaged, or none of its checkpoints can be read.

    Introduced in chapter 5 (Training).
    """

    #: Config fields that may change when a run is resumed (they do not change what
    #: the run computes).
    FREE_FIELDS = ("steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints")
    #: Config fields that can never change within a run (the checkpoints hold them).
    FIXED_FIELDS = ("variant", "variant_options", "lr_schedule")

    def __init__(self, config: Config, run_dir, *, strategy=None, gradient_fn=None,
                 train_images=None, val_images=None, allow_changes=False):
        config.validate()
        self.config = config
        self.run_dir = pathlib.Path(run_dir)
        self.folder = _runs.RunDir(self.run_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        self._distributed = strategy is not None
        self.gradient_fn = gradient_fn or gradients
        self.interrupted = False
        self._writing = None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with run_folder_lock(self.run_dir):
            removed = self.folder.remove_temporaries()
            if removed:
                _note(f"removed {len(removed)} temporary file(s) an interrupted run left in "
                      f"{self.run_dir}: {', '.join(sorted(removed))}")
            self._check_config(allow_changes)
            self._set_up(train_images, val_images)
            self.folder.write_config(self.config)
            self.folder.write_split(self.split)

    def _set_up(self, train_images, val_images):
        config = self.config
        self._train_images, self._val_images = self._photos(train_images, val_images)
        with self.strategy.scope():
            # Built now, so that checkpoints restore into its variables and the
            # optimizer can be built against them.
            self.net = _models.build_ready(config.variant, precision=config.precision,
                                           seed=config.seed, **config.variant_options)
            if config.lr_schedule == "cosine":
                lr = keras.optimizers.schedules.CosineDecay(config.lr, config.steps, alpha=0.01)
            else:
                lr = config.lr
            optimizer = keras.optimizers.Adam(learning_rate=lr, global_clipnorm=config.clipnorm)
            if _models.resolve_precision(config.precision) == "mixed_float16":
                optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
            self.optimizer = optimizer
            self.optimizer.build(self.net.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self._checkpoint = tf.train.Checkpoint(net=self.net, optimizer=self.optimizer,
                                               step=self.step)
        self.resumed_from = None
        restored = self._restore_latest()
        self._manager = self._new_manager()
        if restored is not None:
            self.resumed_from = int(self.step.numpy())
            if config.lr_schedule == "constant":
                # Adam keeps a constant rate in a variable, which the checkpoint restored;
                # a rate changed on resume (allow_changes) must win.
                _plain_optimizer(self.optimizer).learning_rate.assign(config.lr)
        elif config.init_from:
            self._initialise_from(config.init_from)
        self._val_pairs = None
        self._train_step = None

    # ------------------------------------------------------------------- checkpoints
    @property
    def _checkpoint_dir(self):
        return self.folder.checkpoints

    def _new_manager(self):
        return tf.train.CheckpointManager(self._checkpoint, self._checkpoint_dir,
                                          max_to_keep=self.config.keep_checkpoints)

    def _checkpoint_numbers(self):
        """Numbers of the checkpoints in the index and on disk, newest first; the index's."""
        directory = self._checkpoint_dir
        index = directory / "checkpoint"
        listed = []
        if index.exists():
            try:
                state = tf.train.get_checkpoint_state(str(directory))
            except ValueError:
                state = None
            if state is None:
                raise TrainingError(
                    f"the checkpoint index {index} is damaged (expected lines like "
                    f"model_checkpoint_path: \"ckpt-20\"); remove it to resume from the "
                    "newest intact checkpoint file in that folder, or restore it from a copy"
                )
            for path in [*state.all_model_checkpoint_paths, state.model_checkpoint_path]:
                match = re.fullmatch(r"ckpt-(\d+)", pathlib.Path(path).name)
                if match and int(match[1]) not in listed:
                    listed.append(int(match[1]))
        found = set(listed)
        if directory.is_dir():
            for path in directory.iterdir():
                match = re.fullmatch(r"ckpt-(\d+)\.(index|data-\d+-of-\d+)", path.name)
                if match:
                    found.add(int(match[1]))
        return sorted(found, reverse=True), listed

    def _restore_latest(self):
        """Restore the newest intact checkpoint; set aside newer damaged ones, with a note.

        Returns its number, or None for a fresh run (no checkpoint at all).
        """
        numbers, listed = self._checkpoint_numbers()
        if not numbers:
            return None
        damaged = []
        for number in numbers:
            reason = self._try_restore(number)
            if reason is None:
                break
            damaged.append((number, reason))
        else:
            summary = "; ".join(f"ckpt-{n}: {why}" for n, why in damaged)
            raise TrainingError(
                f"no checkpoint in {self._checkpoint_dir} can be read ({summary}); "
                "restore the folder from a copy, or start a new run folder"
            )
        if damaged:
            aside = self._checkpoint_dir / "damaged"
            aside.mkdir(exist_ok=True)
            for bad, _ in damaged:
                for path in self._checkpoint_dir.glob(f"ckpt-{bad}.*"):
                    os.replace(path, aside / path.name)
            names = ", ".join(f"ckpt-{n} ({why})" for n, why in damaged)
            _note(f"checkpoint {names} is damaged; resuming from ckpt-{number}, the newest "
                  f"intact one (the damaged files are in {aside})")
        kept = sorted(n for n in (listed or numbers) if n < number) + [number]
        if damaged or listed[-1:] != [number] or not listed:
            # Rewrite the index so that it names what is there, newest last.
            from tensorflow.python.checkpoint import checkpoint_management

            def written(n):  # when a checkpoint was made, as the manager records it
                files = list(self._checkpoint_dir.glob(f"ckpt-{n}.*"))
                return max((f.stat().st_mtime for f in files), default=time.time())

            # With the times, the manager also deletes the old ones beyond keep_checkpoints.
            checkpoint_management.update_checkpoint_state_internal(
                str(self._checkpoint_dir), model_checkpoint_path=f"ckpt-{number}",
                all_model_checkpoint_paths=[f"ckpt-{n}" for n in kept],
                all_model_checkpoint_timestamps=[written(n) for n in kept],
                save_relative_paths=True)
        return number

    def _try_restore(self, number):
        """Restore checkpoint ``number``; None if it worked, else why not (one line)."""
        prefix = str(self._checkpoint_dir / f"ckpt-{number}")
        try:
            tf.train.Checkpoint(net=self.net, optimizer=self.optimizer, step=self.step) \
                .restore(prefix).assert_existing_objects_matched()
        except Exception as error:  # TensorFlow raises many types for a bad file
            first = (str(error).strip().splitlines() or [""])[0]
            return f"{type(error).__name__}: {first[:160]}"
        step = int(self.step.numpy())
        optimizer = _plain_optimizer(self.optimizer)
        if step != number:
            return f"it holds step {step}"
        if optimizer is self.optimizer and int(optimizer.iterations.numpy()) != step:
            return (f"its optimizer is at step {int(optimizer.iterations.numpy())}, "
                    f"not {step}")
        return None

    def _save_checkpoint(self, step):
        """Write checkpoint ``step``; on failure, leave no trace of it."""
        self._check_finite_weights(step)
        self._writing = self._checkpoint_dir / f"ckpt-{step}"
        try:
            self._manager.save(checkpoint_number=step)
        except BaseException:
            self._discard_checkpoint(step)
            raise

    def _discard_checkpoint(self, step):
        directory = self._checkpoint_dir
        with contextlib.suppress(OSError, ValueError):
            state = tf.train.get_checkpoint_state(str(directory))
            if state is not None and pathlib.Path(state.model_checkpoint_path).name == f"ckpt-{step}":
                self._manager = self._new_manager()
                return  # it was completed and recorded before the failure
        for path in directory.glob(f"ckpt-{step}*"):
            with contextlib.suppress(OSError):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        for path in directory.glob("checkpoint.tmp*"):
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(Exception):
            self._manager = self._new_manager()

    def _check_finite_weights(self, step):
        if all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in self.net.trainable_variables):
            return
        raise TrainingError(self._diverged_message(step, "the weights are not finite"))

    def _diverged_message(self, step, what):
        latest = _latest_number(self._manager)
        kept = f"its last checkpoint (step {latest}) is intact" if latest >= 0 else \
            "nothing was saved"
        return (f"training diverged at step {step}: {what} (learning rate {self.config.lr:g}); "
                f"the run stopped without saving those weights and {kept}; start again with "
                "a lower --lr (or --clipnorm)")

    # ------------------------------------------------------------------ set-up helpers
    def _initialise_from(self, source):
        start, _ = _pretrained.load(source)
        if (start.variant, start.options) == (self.net.variant, self.net.options):
            for target, value in zip(self.net.weights, start.weights):
                target.assign(value)
            return
        # A wider model of the same design starts where the narrower one stands.
        try:
            _models.widen_from(self.net, start)
        except ValueError as error:
            raise ValueError(
                f"init_from {source!r} is a {start.variant} model with options "
                f"{start.options}, but this run builds {self.net.variant} with "
                f"{self.net.options}, which cannot start from it ({error})"
            ) from None
        _note(f"init_from {source!r}: widened to {self.net.options} "
              "(the new channels start unused, so the run starts where the source stands)")

    def _check_config(self, allow_changes=False):
        if self.folder.is_run():
            old = self.folder.config().to_dict()
            new = self.config.to_dict()
            changed = sorted(k for k in new if k not in self.FREE_FIELDS and old[k] != new[k])
            fixed = [k for k in changed if k in self.FIXED_FIELDS]
            if changed and (fixed or not allow_changes):
                raise ValueError(
                    f"{self.run_dir} holds a run with a different config "
                    f"({', '.join(f'{k}: {old[k]!r} -> {new[k]!r}' for k in changed)}); "
                    + (f"{', '.join(self.FIXED_FIELDS)} cannot change within a run; use a "
                       "new run folder" if fixed else "use a new run folder, or "
                       "allow_changes=True (--allow-changes) to go on with the new values")
                )

    def _photos(self, train_images, val_images):
        """The training and validation photos, and the split (``self.split``) they make."""
        config = self.config
        if train_images is None:
            train_images, held_out, self.split = _runs.ValidationSplit.of(
                _data.photos(config.data, "train"), config.val_photos,
                order=_runs.ValidationSplit.order_of(config.data))
            if val_images is None:
                val_images = held_out
            else:
                self.split = _runs.ValidationSplit(len(val_images), len(train_images), None)
        else:
            self.split = _runs.ValidationSplit(len(val_images or []), len(train_images), None)
        return list(train_images), list(val_images or [])

    def dataset(self, start_step: int = 0) -> tf.data.Dataset:
        """The training batches from ``start_step`` on (deterministic per step)."""
        config = self.config
        if config.pairs == "seed-recipe":
            secrets, covers = _data.seed_recipe(self._train_images, size=config.size,
                                                seed=config.seed, allow_fewer=True)
            return _data.fixed_pairs(covers=covers, secrets=secrets,
                                     batch_size=config.batch_size, seed=config.seed,
                                     start_step=start_step)
        return _data.random_pairs(self._train_images, size=config.size,
                                  batch_size=config.batch_size, seed=config.seed,
                                  start_step=start_step)

    def _make_step(self):
        config = self.config
        return make_step(self.net, self.optimizer, beta=config.beta, noise=config.noise,
                         quantize=config.quantize, seed=config.seed, channel=config.channel,
                         gradient_fn=self.gradient_fn, strategy=self.strategy,
                         global_batch_size=config.batch_size, counter=self.step,
                         cover_loss=config.cover_loss)

    # ------------------------------------------------------------------------ running
    def validation_pairs(self):
        """A fixed set of pairs from the validation photos (never trained on)."""
        if self._val_pairs is None and self._val_images:
            self._val_pairs = validation_pairs(self._val_images, self.config)
        return self._val_pairs

    def validate(self) -> dict | None:
        """Losses on the validation pairs, with the container rounded to 8 bits."""
        pairs = self.validation_pairs()
        if pairs is None:
            return None
        secrets, covers = pairs
        containers = self.net.hide(covers, secrets)
        revealed = self.net.reveal(containers)
        cover_mse = float(np.mean((containers - covers) ** 2))
        secret_mse = float(np.mean((revealed - secrets) ** 2))
        result = {
            "val_loss": cover_mse + self.config.beta * secret_mse,
            "val_cover_psnr": _psnr_from_mse(cover_mse),
            "val_secret_psnr": _psnr_from_mse(secret_mse),
        }
        if self.config.channel is not None:
            # A run trained for the channel is chosen on what it is for: the secret
            # after a real JPEG (Pillow, quality 75, 4:2:0) counts as much as the clean one.
            received = _data.jpeg_round_trip(containers, VALIDATION_JPEG_QUALITY)
            jpeg_mse = float(np.mean((self.net.reveal(received) - secrets) ** 2))
            result["val_jpeg_secret_psnr"] = _psnr_from_mse(jpeg_mse)
            result["val_loss"] = cover_mse + self.config.beta * (secret_mse + jpeg_mse) / 2
        return result

    def fit(self, steps: int | None = None, *, progress: bool = True,
            callback=None) -> list[dict]:
        """Train until ``steps`` (default ``config.steps``) and return the history.

        Writes a checkpoint every ``checkpoint_every`` steps and at the end, logs to
        ``history.jsonl``, and keeps the weights with the best validation loss in
        ``best.weights.h5``. Ctrl-C (SIGINT) finishes the step in progress, saves a
        checkpoint and returns (``self.interrupted`` is then True); a second Ctrl-C
        stops at once, keeping the last checkpoint.

        Parameters
        ----------
        steps : int, optional
            The step to stop at (total, not additional).
        progress : bool, optional
            Show a tqdm progress bar.
        callback : callable, optional
            Called as ``callback(step, record)`` after each logged step; returning
            ``True`` stops training (after a checkpoint).

        Returns
        -------
        list of dict
            The whole history of the run, resumed parts included.

        Raises
        ------
        TrainingError
            If the loss stops being finite, memory or disk space runs out, or another
            process trains in the folder. Nothing half-written is left, and no final or
            best weights are written from a failed step.
        """
        with run_folder_lock(self.run_dir):
            return self._fit(steps, progress, callback)

    def _fit(self, steps, progress, callback):
        from tqdm.auto import tqdm

        config = self.config
        end = int(steps or config.steps)
        start = int(self.step.numpy())
        self.interrupted = False
        self._writing = self.folder.history_path
        self.folder.truncate_history(start)
        if self._train_step is None:
            self._train_step = self._make_step()
        dataset = self.dataset(start)
        if self._distributed:
            dataset = self.strategy.experimental_distribute_dataset(dataset)
        bar = tqdm(total=end, initial=start, disable=not progress, unit="step",
                   dynamic_ncols=True, desc=f"{config.variant}")
        sums = np.zeros(3)
        count = 0
        window_start = time.perf_counter()
        step = done = start
        stop_request = _StopRequest()
        try:
            with stop_request.installed():
                for secret, cover in dataset:  # the datasets' order: secret, cover
                    if step >= end:
                        break
                    try:
                        results = self._train_step(cover, secret, tf.constant(step, tf.int64))
                    except tf.errors.ResourceExhaustedError as error:
                        if _disk_full(error):
                            raise
                        raise TrainingError(
                            f"out of memory training batches of {config.batch_size} pairs of "
                            f"{config.size}x{config.size} px ({type(error).__name__}); use a "
                            "smaller --batch-size or --size, in a new run folder or with "
                            "--resume --allow-changes"
                        ) from None
                    step += 1
                    total, cover_loss, secret_loss = (float(value) for value in results)
                    if not math.isfinite(total):
                        raise TrainingError(self._diverged_message(step, f"the loss is {total}"))
                    sums += (total, cover_loss, secret_loss)
                    count += 1
                    bar.update(1)
                    stop = False
                    if step % config.log_every == 0 or step == end:
                        elapsed = time.perf_counter() - window_start
                        record = {
                            "step": step,
                            "loss": sums[0] / count,
                            "cover_loss": sums[1] / count,
                            "secret_loss": sums[2] / count,
                            "cover_psnr": _psnr_from_mse(sums[1] / count),
                            "secret_psnr": _psnr_from_mse(sums[2] / count),
                            "images_per_second": count * config.batch_size / max(elapsed, 1e-9),
                            "time": time.time(),
                        }
                        if step % config.eval_every == 0 or step == end:
                            record.update(self._evaluate_and_keep_best(step) or {})
                        self._append_history(record)
                        bar.set_postfix(cover=f"{record['cover_psnr']:.1f}dB",
                                        secret=f"{record['secret_psnr']:.1f}dB")
                        sums[:] = 0
                        count = 0
                        window_start = time.perf_counter()
                        if callback is not None:
                            stop = bool(callback(step, record))
                    if step % config.checkpoint_every == 0:
                        self._save_checkpoint(step)
                    done = step
                    if stop_request.requested:
                        self.interrupted = True
                        break
                    if stop:
                        break
            # The loop ended (at ``end``, by the callback or by Ctrl-C) after a whole step.
            if done > 0 and done != _latest_number(self._manager):
                self._save_checkpoint(done)
            if done > 0:
                self._save_weights(self.folder.final_weights)
        except KeyboardInterrupt:
            # A second Ctrl-C: keep what is consistent. In the middle of a step, that step
            # is discarded and the last checkpoint stands.
            self.interrupted = True
            if int(self.step.numpy()) == done and done > _latest_number(self._manager):
                with contextlib.suppress(Exception):
                    self._save_checkpoint(done)
            raise
        except TrainingError:
            raise
        except Exception as error:
            reason = _disk_full(error)
            if reason is None:
                raise
            latest = _latest_number(self._manager)
            kept = (f"the checkpoint at step {latest} is intact" if latest >= 0
                    else "no checkpoint was written yet")
            raise TrainingError(
                f"the disk is full: could not write {self._writing} ({reason}); free some "
                f"space, then continue with --resume ({kept})"
            ) from None
        finally:
            bar.close()
        return self.history()

    def _evaluate_and_keep_best(self, step):
        result = self.validate()
        if result is None:
            return None
        if not math.isfinite(result["val_loss"]):
            raise TrainingError(self._diverged_message(
                step, f"the validation loss is {result['val_loss']}"))
        best = self.folder.best()
        if best is None or not (best.get("val_loss") is not None
                                and result["val_loss"] >= best["val_loss"]):
            self._check_finite_weights(step)
            self._save_weights(self.folder.best_weights)
            self._writing = self.folder.best_path
            self.folder.write_best({"step": step, **result})
        return result

    def _save_weights(self, path):
        """Write a weights file atomically, its hash recorded (:meth:`RunDir.save_weights`)."""
        self._writing = path
        self.folder.save_weights(self.net, path)

    # ------------------------------------------------------------------------ history
    def history(self) -> list[dict]:
        """Every logged record of the run, in order."""
        return self.folder.history()

    #: The logged records of a run folder (:func:`stegutils.runs.read_history`).
    read_history = staticmethod(_runs.read_history)

    def _append_history(self, record):
        self._writing = self.folder.history_path
        self.folder.append_history(record)


def _plain_optimizer(optimizer):
    """The optimizer under a ``LossScaleOptimizer`` (float16), else ``optimizer``."""
    return getattr(optimizer, "inner_optimizer", optimizer)


class _StopRequest:
    """Turns the first Ctrl-C (or SIGTERM) during training into a request to stop after
    the step.

    The second Ctrl-C interrupts at once (KeyboardInterrupt), as without it; a second
    SIGTERM terminates as SIGTERM does. A background job (where Ctrl-C is ignored) is
    stopped cleanly by ``kill PID``. Outside the main thread (where Python cannot
    handle signals) it does nothing.
    """

    def __init__(self):
        self.requested = False

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(signum)
            if signum == signal.SIGINT and current in (signal.SIG_IGN, None):
                continue
            if signum == signal.SIGTERM and current is not signal.SIG_DFL:
                continue  # someone else handles (or ignores) SIGTERM: leave it to them
            previous[signum] = current

        def handler(signum, frame):
            if self.requested:
                signal.signal(signum, previous[signum])
                if signum == signal.SIGTERM:
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
                if callable(previous[signum]):
                    previous[signum](signum, frame)
                raise KeyboardInterrupt
            self.requested = True
            what = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
            print(f"\n{what}: stopping after this step and saving a checkpoint "
                  f"({what} again to stop at once, keeping the last checkpoint)",
                  file=sys.stderr, flush=True)

        for signum in previous:
            signal.signal(signum, handler)
        try:
            yield self
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


def _latest_number(manager):
    latest = manager.latest_checkpoint
    return int(latest.rsplit("-", 1)[1]) if latest else -1


def _note(message):
    print(f"note: {message}", file=sys.stderr, flush=True)


def _disk_full(error) -> str | None:
    """The reason, if ``error`` says that a file could not be written for lack of room."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT,
                                                      errno.EFBIG):
        return os.strerror(error.errno)
    text = str(error)
    for reason in ("No space left on device", "Disk quota exceeded", "File too large"):
        if reason in text:
            return reason
    return None


def train(config: Config, run_dir, *, steps=None, progress=True, **kwargs) -> Trainer:
    """Train (or resume) a run and return its :class:`Trainer`.

    A convenience for ``Trainer(config, run_dir, **kwargs).fit(steps)``.

    Introduced in chapter 5 (Training).
    """
    trainer = Trainer(config, run_dir, **kwargs)
    trainer.fit(steps, progress=progress)
    return trainer
