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

A run lives in a folder::

    run_dir/config.json          the Config that made it (written first)
    run_dir/history.jsonl        one line of losses and PSNRs per logged step
    run_dir/checkpoints/         the last few full checkpoints (weights, Adam, step)
    run_dir/best.weights.h5      the weights with the best validation loss so far
    run_dir/best.json            that validation result and its step
    run_dir/final.weights.h5     the weights at the end of the last run

Every file is written atomically (a temporary file, then a rename), and the batch of step
``i`` depends only on ``(seed, i)``, so a run killed at any moment resumes exactly where
its last checkpoint was and ends where an uninterrupted run would have.

Introduced in chapter 4 (Loss and gradient flow) and chapter 5 (Training).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import tempfile
import time
from typing import Callable

import numpy as np
import tensorflow as tf
import keras

from stegutils import data as _data
from stegutils import models as _models

__all__ = [
    "Config",
    "Losses",
    "compute_losses",
    "gradients",
    "distort_container",
    "Trainer",
    "train",
    "load_config",
    "write_json_atomic",
    "fast_mode",
]


def fast_mode() -> bool:
    """Whether ``STEGUTILS_FAST`` asks for the book's fast mode (few steps, small images).

    Introduced in chapter 1 (Introduction).
    """
    return os.environ.get("STEGUTILS_FAST", "").strip().lower() not in ("", "0", "false", "no")


# -------------------------------------------------------------------------------- Config


@dataclasses.dataclass
class Config:
    """Everything that decides what a training run does, saved as ``config.json``.

    Attributes
    ----------
    variant : str
        A registered model variant (:func:`stegutils.models.variant_names`).
    variant_options : dict
        Options for the variant's builder (empty: its defaults).
    size : int
        Side of the square training crops, in pixels.
    beta : float
        Weight of the secret term in the loss.
    noise : float
        Standard deviation of the Gaussian noise added to containers during training
        (on the ``[0, 1]`` scale); 0 for none.
    quantize : bool
        Round containers to 8 bits during training (straight-through gradient).
    lr : float
        Adam's learning rate (the peak, when a schedule is used).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` decays the rate to 1% of ``lr`` over ``steps``.
    batch_size : int
        Pairs per step (across all replicas when a strategy is used).
    steps : int
        Total training steps.
    seed : int
        Seeds the weights, the data order and the noise.
    precision : str
        ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``
        (:func:`stegutils.models.resolve_precision`).
    data : str
        ``"builtin"`` (photos the dependencies ship), ``"bsds500"``, or a folder.
    pairs : {"random-crop", "seed-recipe"}
        ``"random-crop"``: every step draws new crops of ``size`` from the training
        photos. ``"seed-recipe"``: the blog post's 100 photos resized whole to ``size``
        (80 in the post), 50 fixed secret/cover pairs.
    val_photos : int
        Training photos set aside (never trained on) to choose the best checkpoint.
    checkpoint_every, log_every, eval_every : int
        Intervals in steps.
    keep_checkpoints : int
        How many recent checkpoints to keep.
    clipnorm : float or None
        Clip each step's gradients to this global norm (``None``: no clipping); the
        invertible variant (chapter 9) needs it to train stably.
    init_from : str or None
        Start from the weights of a shipped model (by name) or of a run folder instead
        of a fresh initialisation (same variant and options); the optimizer starts
        afresh. ``None``: a fresh start.

    Introduced in chapter 5 (Training).
    """

    variant: str = "fast"
    variant_options: dict = dataclasses.field(default_factory=dict)
    size: int = 64
    beta: float = 0.75
    noise: float = 0.0
    quantize: bool = True
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    batch_size: int = 8
    steps: int = 1000
    seed: int = 0
    precision: str = "auto"
    data: str = "builtin"
    pairs: str = "random-crop"
    val_photos: int = 10
    checkpoint_every: int = 500
    log_every: int = 50
    eval_every: int = 1000
    keep_checkpoints: int = 3
    init_from: str | None = None
    clipnorm: float | None = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that is out of range."""
        if self.variant not in _models.VARIANTS:
            raise ValueError(
                f"variant must be one of {_models.variant_names()}, got {self.variant!r}"
            )
        positive_ints = ("size", "batch_size", "steps", "checkpoint_every", "log_every",
                         "eval_every", "keep_checkpoints")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.val_photos, int) and self.val_photos >= 0):
            raise ValueError(f"val_photos must be a non-negative integer, got {self.val_photos!r}")
        if not (self.beta > 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be a positive number, got {self.beta!r}")
        if not (self.noise >= 0 and math.isfinite(self.noise)):
            raise ValueError(f"noise must be >= 0, got {self.noise!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.pairs not in ("random-crop", "seed-recipe"):
            raise ValueError(f"pairs must be 'random-crop' or 'seed-recipe', got {self.pairs!r}")
        if self.clipnorm is not None and not (self.clipnorm > 0 and math.isfinite(self.clipnorm)):
            raise ValueError(f"clipnorm must be a positive number or None, got {self.clipnorm!r}")
        _models.resolve_precision(self.precision)  # raises for a bad name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        """Build a Config from a dict, rejecting unknown keys with their names."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)


def write_json_atomic(path, payload) -> None:
    """Write ``payload`` as JSON to ``path`` atomically (temporary file, then rename)."""
    _write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def load_config(run_dir) -> Config:
    """Read the ``config.json`` of a run folder.

    Raises
    ------
    ValueError
        If the folder or its config is missing or not valid.
    """
    path = pathlib.Path(run_dir) / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a run folder: it has no config.json")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    return Config.from_dict(values)


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


def compute_losses(net, secret, cover, *, beta, noise=0.0, quantize=True, seed=None,
                   training=True, global_batch_size=None):
    """Run the three networks on one batch and return the two loss terms and the total.

    Call it *inside* a ``tf.GradientTape`` to get gradients (see :func:`gradients`).

    Parameters
    ----------
    net : stegutils.models.StegoNet
    secret, cover : tf.Tensor
        Batches of float images in ``[0, 1]``.
    beta : float
        Weight of the secret term.
    noise, quantize, seed
        See :func:`distort_container`.
    global_batch_size : int, optional
        Under a ``tf.distribute`` strategy, the batch size over all replicas (each
        replica's loss is divided by it so that the summed gradient is the mean).

    Returns
    -------
    Losses

    Introduced in chapter 4 (Loss and gradient flow).
    """
    container = net.hide_raw(secret, cover, training=training)
    distorted = distort_container(container, noise=noise, quantize=quantize, seed=seed)
    revealed = tf.cast(net.revealing(distorted, training=training), tf.float32)
    batch = global_batch_size or tf.shape(secret)[0]
    cover_loss = tf.nn.compute_average_loss(_per_example_mse(cover, container),
                                            global_batch_size=batch)
    secret_loss = tf.nn.compute_average_loss(_per_example_mse(secret, revealed),
                                             global_batch_size=batch)
    total = cover_loss + beta * secret_loss
    # A variant may add a term of its own design (the invertible variant's loss on the
    # container's low-frequency wavelet band, chapter 9): per-example values, weighted.
    auxiliary = getattr(net, "auxiliary_loss", None)
    if auxiliary is not None:
        total = total + tf.nn.compute_average_loss(auxiliary(cover, container),
                                                   global_batch_size=batch)
    return Losses(total, cover_loss, secret_loss)


def gradients(net, secret, cover, *, beta, noise=0.0, quantize=True, seed=None,
              global_batch_size=None, loss_scale=None):
    """Gradients of the total loss for every trainable variable, by automatic
    differentiation.

    The routing needs no special code: the cover term does not depend on the reveal
    network, so its contribution there is exactly zero.

    loss_scale : callable, optional
        Scales the loss before differentiating (float16 training passes its
        ``LossScaleOptimizer.scale_loss``; the optimizer unscales the gradients).

    Returns
    -------
    (Losses, list of tf.Tensor)
        The losses and one gradient per ``net.trainable_variables``.

    Introduced in chapter 4 (Loss and gradient flow).
    """
    with tf.GradientTape() as tape:
        losses = compute_losses(net, secret, cover, beta=beta, noise=noise,
                                quantize=quantize, seed=seed,
                                global_batch_size=global_batch_size)
        scaled = loss_scale(losses.total) if loss_scale else losses.total
    grads = tape.gradient(scaled, net.trainable_variables)
    return losses, grads


# ---------------------------------------------------------------------------- training


GradientFn = Callable[..., tuple]


def _psnr_from_mse(mse):
    # Mean squared error on [0, 1] images -> decibels; for the progress bar only
    # (stegutils.metrics holds the real, per-image PSNR).
    return 10.0 * math.log10(1.0 / max(float(mse), 1e-12))


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
        ``gradient_fn(net, secret, cover, *, beta, noise, quantize, seed,
        global_batch_size) -> (Losses, grads)``; default :func:`gradients`
        (automatic differentiation). :mod:`stegutils.backprop` provides hand-written
        ones, so that runs differ only in where their gradients come from.
    train_images, val_images : list of arrays, optional
        Override the photos that ``config.data`` names (for tests and notebooks).

    Introduced in chapter 5 (Training).
    """

    def __init__(self, config: Config, run_dir, *, strategy=None, gradient_fn=None,
                 train_images=None, val_images=None):
        config.validate()
        self.config = config
        self.run_dir = pathlib.Path(run_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        self._distributed = strategy is not None
        self.gradient_fn = gradient_fn or gradients
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._check_or_write_config()

        self._train_images, self._val_images = self._photos(train_images, val_images)
        with self.strategy.scope():
            self.net = _models.build(config.variant, precision=config.precision,
                                     seed=config.seed, **config.variant_options)
            # Build the variables now (a tiny forward pass) so that checkpoints restore
            # into them and the optimizer can be built against them.
            probe = tf.zeros([1, 2 * self.net.multiple, 2 * self.net.multiple, 3])
            self.net((probe, probe))
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
        self._manager = tf.train.CheckpointManager(
            self._checkpoint, self.run_dir / "checkpoints",
            max_to_keep=config.keep_checkpoints)
        self.resumed_from = None
        if self._manager.latest_checkpoint:
            self._checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
            self.resumed_from = int(self.step.numpy())
        elif config.init_from:
            self._initialise_from(config.init_from)
        self._val_pairs = None
        self._train_step = None

    # ------------------------------------------------------------------ set-up helpers
    def _initialise_from(self, source):
        # pretrained sits above train; import it here, where it is needed.
        from stegutils import pretrained

        start, _ = pretrained.load(source)
        if (start.variant, start.options) != (self.net.variant, self.net.options):
            raise ValueError(
                f"init_from {source!r} is a {start.variant} model with options "
                f"{start.options}, but this run builds {self.net.variant} with "
                f"{self.net.options}"
            )
        for target, value in zip(self.net.weights, start.weights):
            target.assign(value)

    def _check_or_write_config(self):
        path = self.run_dir / "config.json"
        if path.exists():
            old = load_config(self.run_dir).to_dict()
            new = self.config.to_dict()
            free = {"steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints"}
            changed = sorted(k for k in new if k not in free and old[k] != new[k])
            if changed:
                raise ValueError(
                    f"{self.run_dir} holds a run with a different config "
                    f"({', '.join(f'{k}: {old[k]!r} -> {new[k]!r}' for k in changed)}); "
                    "use a new run folder"
                )
        write_json_atomic(path, self.config.to_dict())

    def _photos(self, train_images, val_images):
        config = self.config
        if train_images is None:
            photos = _data.photos(config.data, "train")
            count = min(config.val_photos, len(photos) // 5)
            if count:
                train_images, val_images_default = photos[:-count], photos[-count:]
            else:
                train_images, val_images_default = photos, []
            if val_images is None:
                val_images = val_images_default
        return list(train_images), list(val_images or [])

    def dataset(self, start_step: int = 0) -> tf.data.Dataset:
        """The training batches from ``start_step`` on (deterministic per step)."""
        config = self.config
        if config.pairs == "seed-recipe":
            secrets, covers = _data.seed_recipe(self._train_images, size=config.size,
                                                seed=config.seed, allow_fewer=True)
            return _data.fixed_pairs(secrets, covers, batch_size=config.batch_size,
                                     seed=config.seed, start_step=start_step)
        return _data.random_pairs(self._train_images, size=config.size,
                                  batch_size=config.batch_size, seed=config.seed,
                                  start_step=start_step)

    def _make_step(self):
        config = self.config
        net, optimizer, strategy = self.net, self.optimizer, self.strategy
        gradient_fn = self.gradient_fn
        extra = {}
        if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
            extra["loss_scale"] = optimizer.scale_loss

        def replica_step(secret, cover, step):
            seed = tf.stack([tf.cast(config.seed, tf.int64), step])
            losses, grads = gradient_fn(
                net, secret, cover, beta=config.beta, noise=config.noise,
                quantize=config.quantize, seed=seed, global_batch_size=config.batch_size,
                **extra)
            optimizer.apply_gradients(zip(grads, net.trainable_variables))
            return losses.total, losses.cover, losses.secret

        @tf.function
        def train_step(secret, cover, step):
            per_replica = strategy.run(replica_step, args=(secret, cover, step))
            return tuple(strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                         for value in per_replica)

        return train_step

    # ------------------------------------------------------------------------ running
    def validation_pairs(self):
        """A fixed set of pairs from the validation photos (never trained on)."""
        if self._val_pairs is None and self._val_images:
            self._val_pairs = _data.heldout_pairs(self._val_images, size=self.config.size,
                                                  count=32, seed=self.config.seed + 1)
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
        return {
            "val_loss": cover_mse + self.config.beta * secret_mse,
            "val_cover_psnr": _psnr_from_mse(cover_mse),
            "val_secret_psnr": _psnr_from_mse(secret_mse),
        }

    def fit(self, steps: int | None = None, *, progress: bool = True,
            callback=None) -> list[dict]:
        """Train until ``steps`` (default ``config.steps``) and return the history.

        Writes a checkpoint every ``checkpoint_every`` steps and at the end (also when
        interrupted with Ctrl-C), logs to ``history.jsonl``, and keeps the weights with
        the best validation loss in ``best.weights.h5``.

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
        """
        from tqdm.auto import tqdm

        config = self.config
        end = int(steps or config.steps)
        start = int(self.step.numpy())
        self._truncate_history(start)
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
        step = start
        try:
            for secret, cover in dataset:
                if step >= end:
                    break
                total, cover_loss, secret_loss = self._train_step(
                    secret, cover, tf.constant(step, tf.int64))
                step += 1
                self.step.assign(step)
                sums += (float(total), float(cover_loss), float(secret_loss))
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
                    self._manager.save(checkpoint_number=step)
                if stop:
                    break
        finally:
            bar.close()
            if int(self.step.numpy()) != _latest_number(self._manager):
                self._manager.save(checkpoint_number=int(self.step.numpy()))
            self._save_weights(self.run_dir / "final.weights.h5")
        return self.history()

    def _evaluate_and_keep_best(self, step):
        result = self.validate()
        if result is None:
            return None
        best_path = self.run_dir / "best.json"
        best = json.loads(best_path.read_text()) if best_path.exists() else None
        if best is None or result["val_loss"] < best["val_loss"]:
            self._save_weights(self.run_dir / "best.weights.h5")
            write_json_atomic(best_path, {"step": step, **result})
        return result

    def _save_weights(self, path):
        path = pathlib.Path(path)
        tmp = path.with_name(f".{path.stem}.tmp.weights.h5")
        self.net.save_weights(tmp)
        os.replace(tmp, path)

    # ------------------------------------------------------------------------ history
    @property
    def _history_path(self):
        return self.run_dir / "history.jsonl"

    def history(self) -> list[dict]:
        """Every logged record of the run, in order."""
        return self.read_history(self.run_dir)

    @staticmethod
    def read_history(run_dir) -> list[dict]:
        """The logged records in a run folder's ``history.jsonl`` (empty if none)."""
        path = pathlib.Path(run_dir) / "history.jsonl"
        if not path.exists():
            return []
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut off by a kill: everything after it is lost anyway
        return records

    def _truncate_history(self, step):
        # After a resume, records past the restored checkpoint will be logged again.
        kept = [r for r in self.history() if r["step"] <= step]
        _write_text_atomic(self._history_path,
                           "".join(json.dumps(r) + "\n" for r in kept))

    def _append_history(self, record):
        with open(self._history_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()


def _latest_number(manager):
    latest = manager.latest_checkpoint
    return int(latest.rsplit("-", 1)[1]) if latest else -1


def _write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically: a temporary file beside it, then a rename."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def train(config: Config, run_dir, *, steps=None, progress=True, **kwargs) -> Trainer:
    """Train (or resume) a run and return its :class:`Trainer`.

    A convenience for ``Trainer(config, run_dir, **kwargs).fit(steps)``.

    Introduced in chapter 5 (Training).
    """
    trainer = Trainer(config, run_dir, **kwargs)
    trainer.fit(steps, progress=progress)
    return trainer
