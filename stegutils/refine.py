"""Refining a container against the fixed reveal network, through the channel.

A hiding network makes a container in one pass, for every cover and secret alike. Once
it has, the container itself can be improved for *this* pair: the reveal network is
fixed and differentiable, and so is the channel (:mod:`stegutils.channel`), so gradient
descent can move the container's pixels, and nothing else, towards a container that is
closer to its cover while the reveal network still recovers the secret from it, clean,
after a JPEG and after resizing. Kishore et al. {cite}`kishore2022fnns` hide this way
with no hiding network at all ("train the images, not the network"); here the hiding
network's container is the starting point, and the channel is in the loop, so what is
found survives it.

Each pair is refined on its own loss (Adam scales every pixel on its own; only the
channel's draws, the crop and the resize factor of a step, are shared by a batch), and
the objective is the one the book trains with, counted in decibels::

    PSNR(cover, container) + beta * mean over views of PSNR(secret, revealed(view))

maximised, where the views of the container are: rounded to 8 bits; after the
differentiable JPEG (4:2:0, a quality drawn from ``jpeg_quality`` for every pair and
step); after shrinking by a factor drawn from ``[resize_factor, 1]`` and enlarging back.
Each step also crops the JPEG's view by one offset of ``0..crop`` pixels (the secret
the same way), so that what is found does not depend on where the JPEG's 8x8 grid falls.

The reader pays for it in time: each step is one pass forward and back through the
reveal network, three views wide (``benchmarks/refine.py`` measures the trade).

Introduced in chapter 10 (Surviving the channel).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np
import tensorflow as tf

from stegutils import channel as _channel
from stegutils import metrics as _metrics
from stegutils import models as _models
from stegutils import quiet as _quiet

__all__ = ["RefineSpec", "refine", "refine_tiled"]


@dataclasses.dataclass(frozen=True)
class RefineSpec:
    """How a container is refined (:func:`refine`).

    The defaults are the setting ``benchmarks/refine.py`` chose on validation photos
    (``benchmarks/results/refine.json``; a test keeps the two the same).

    Attributes
    ----------
    steps : int
        Adam steps (0: the hiding network's container, unchanged).
    beta : float
        The weight of the secret's decibels against the cover's.
    lr : float
        Adam's learning rate, in units of the image (1 is black to white).
    jpeg_quality : (low, high)
        The differentiable JPEG's quality, drawn uniformly per pair and step.
    resize_factor : float
        The smallest factor the resized view is shrunk by.
    crop : int
        The largest crop offset of a step (0: no crop).
    weights : (clean, jpeg, resized)
        How much each view's decibels count in the secret's (normalised to sum to 1).

    Introduced in chapter 10 (Surviving the channel).
    """

    steps: int = 200
    beta: float = 1.5
    lr: float = 1e-3
    jpeg_quality: tuple = (50, 95)
    resize_factor: float = 0.5
    crop: int = 8
    weights: tuple = (0.2, 0.6, 0.2)

    def __post_init__(self):
        if not (isinstance(self.steps, int) and self.steps >= 0):
            raise ValueError(f"steps must be a whole number >= 0, got {self.steps!r}")
        for name in ("beta", "lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number above 0, got {value!r}")
        low, high = self.jpeg_quality
        if not (1 <= low <= high <= 100):
            raise ValueError(f"jpeg_quality must be (low, high) with 1 <= low <= high <= 100, "
                             f"got {self.jpeg_quality!r}")
        if not 0 < self.resize_factor <= 1:
            raise ValueError(f"resize_factor must be in (0, 1], got {self.resize_factor!r}")
        if not (isinstance(self.crop, int) and self.crop >= 0):
            raise ValueError(f"crop must be a whole number >= 0, got {self.crop!r}")
        if len(self.weights) != 3 or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError(f"weights must be three numbers >= 0 (clean, jpeg, resized) "
                             f"that are not all 0, got {self.weights!r}")

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["jpeg_quality"] = list(self.jpeg_quality)
        values["weights"] = list(self.weights)
        return values

    @classmethod
    def from_dict(cls, values) -> "RefineSpec":
        """From :meth:`to_dict`'s form (a results file), its lists read as tuples."""
        return cls(**{key: tuple(value) if isinstance(value, list) else value
                      for key, value in values.items()})


def _views(container, secret, spec, seed):
    """The three views of a batch of containers, each with the secrets to compare it
    with: ``[(clean, secret), (jpeg, secret'), (resized, secret)]``.

    Only the JPEG view is cropped (with its secret): the crop is there so that what is
    found does not depend on where JPEG's 8x8 grid falls, and a crop of the other views
    would leave the border's pixels out of most steps, free to drift from the secret.
    """
    seeds = tf.random.experimental.stateless_split(seed, 4)
    x = _models.quantize_8bit(container)
    cropped, cropped_secret = x, secret
    # No crop on images too small to lose the crop and keep an 8x8 block.
    if spec.crop and min(container.shape[1:3]) >= 2 * spec.crop + 8:
        cropped, cropped_secret = _channel.random_crop(x, secret, spec.crop, seeds[0])
    low, high = (float(q) for q in spec.jpeg_quality)
    quality = tf.random.stateless_uniform([tf.shape(x)[0]], seeds[1], low, high)
    jpeg = _channel.differentiable_jpeg(cropped, quality, chroma_subsampling=True)
    factor = tf.random.stateless_uniform([], seeds[2], spec.resize_factor, 1.0)
    resized = _channel.resize_and_back(x, factor)
    return [(x, secret), (jpeg, cropped_secret), (resized, secret)]


def _decibels(errors):
    """``-10 log10(error + floor)`` per pair: a PSNR, floored at one grey level
    (:data:`stegutils.metrics.DECIBEL_FLOOR`, as in training's decibel weighting)."""
    return -10.0 * tf.math.log(errors + _metrics.DECIBEL_FLOOR) / math.log(10.0)


def _view_decibels(reveal, views):
    """The secret's decibels as revealed from each of :func:`_views`' views, ``(3, B)``."""
    decibels = []
    for view, secrets in views:
        revealed = tf.cast(reveal(view, training=False), tf.float32)
        decibels.append(_decibels(tf.reduce_mean(tf.square(revealed - secrets),
                                                 axis=[1, 2, 3])))
    return tf.stack(decibels)


def _objective(reveal, cover, secret, delta, spec, seed):
    """Per pair: ``(cover dB, secret dB over the views, what to maximise)``."""
    container = cover + delta
    cover_db = _decibels(tf.reduce_mean(
        tf.square(tf.clip_by_value(container, 0.0, 1.0) - cover), axis=[1, 2, 3]))
    weights = np.asarray(spec.weights, np.float32) / float(sum(spec.weights))
    secret_db = tf.reduce_sum(
        _view_decibels(reveal, _views(container, secret, spec, seed)) * weights[:, None], axis=0)
    return cover_db, secret_db, cover_db + spec.beta * secret_db


class _Refiner:
    """One compiled refinement step for one batch shape, reused batch after batch (and
    tile after tile): the pair's images and the optimiser's state are variables that
    each batch resets, so nothing is traced twice.

    The optimiser is Adam (Kingma and Ba), in the form and with the defaults of
    ``keras.optimizers.Adam``, written out because its state must restart for every
    batch while the compiled step stays.
    """

    BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7

    def __init__(self, net, spec, shape):
        self.spec = spec
        zeros = tf.zeros(shape, tf.float32)
        self.cover, self.secret, self.delta, self.m, self.v = (
            tf.Variable(zeros, trainable=False) for _ in range(5))
        reveal = net.revealing

        @tf.function
        def step(index, seed):
            with tf.GradientTape() as tape:
                tape.watch(self.delta)
                _, _, gain = _objective(reveal, self.cover, self.secret, self.delta, spec,
                                        tf.stack([seed, index]))
                loss = -tf.reduce_sum(gain)
            grad = tape.gradient(loss, self.delta)
            t = tf.cast(index, tf.float32) + 1.0
            self.m.assign(self.BETA_1 * self.m + (1.0 - self.BETA_1) * grad)
            self.v.assign(self.BETA_2 * self.v + (1.0 - self.BETA_2) * tf.square(grad))
            rate = spec.lr * tf.sqrt(1.0 - self.BETA_2 ** t) / (1.0 - self.BETA_1 ** t)
            self.delta.assign_sub(rate * self.m / (tf.sqrt(self.v) + self.EPSILON))

        self._step = step
        self._compiled = False

    def run(self, cover, secret, start, seed, progress):
        self.cover.assign(cover)
        self.secret.assign(secret)
        self.delta.assign(start - cover)
        for state in (self.m, self.v):
            state.assign(tf.zeros_like(state))
        from tqdm.auto import tqdm

        seed = tf.constant(seed, tf.int64)
        for index in tqdm(range(self.spec.steps), desc="refine", unit="step", leave=False,
                          disable=not progress):
            if self._compiled:
                self._step(tf.constant(index, tf.int64), seed)
                continue
            # The first call compiles the step, and TensorFlow's graph optimiser prints
            # notes from native code that read like failures ("remapper failed") about
            # rewrites it skips; they change nothing. STEGUTILS_DEBUG=1 lets them through.
            quiet = contextlib.nullcontext() if _quiet.debugging() else \
                _quiet.silenced_native_stderr()
            with quiet:
                self._step(tf.constant(index, tf.int64), seed)
            self._compiled = True
        return self.cover + self.delta


def _refine_batch(net, cover, secret, start, spec, seed, progress, refiners):
    if not spec.steps:
        return start
    shape = tuple(cover.shape)
    key = (id(net), spec, shape)
    if key not in refiners:
        refiners[key] = _Refiner(net, spec, shape)
    return refiners[key].run(cover, secret, start, seed, progress)


def refine(net, cover, secret, *, container=None, spec: RefineSpec | None = None,
           seed: int = 0, quantize: bool = True, batch_size: int = 16,
           progress: bool = False, _refiners=None) -> np.ndarray:
    """Hide ``secret`` in ``cover``, then refine the container through the channel.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        Its reveal network is the fixed judge; its hiding network gives the start.
    cover, secret : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``, the same shape;
        height and width a multiple of ``net.multiple`` (pad first otherwise).
    container : array-like, optional
        Where to start (default: ``net.hide(cover, secret, quantize=False)``).
    spec : RefineSpec, optional
        Steps, weight and channel (default :class:`RefineSpec()`).
    seed : int, optional
        Seeds the channel's draws: the same inputs and seed give the same container.
    quantize : bool, optional
        Round the result to 8 bits, as a PNG stores it (default).
    batch_size : int, optional
        Pairs refined at once (each on its own loss; a batch shares the crop and the
        resize factor of each step).
    progress : bool, optional
        A progress bar over the steps.

    Returns
    -------
    numpy.ndarray
        The refined container, float32 in ``[0, 1]``, the shape of ``cover``.

    Raises
    ------
    ValueError
        If the shapes differ, are not images, or do not fit the model's grid.

    Introduced in chapter 10 (Surviving the channel).
    """
    spec = spec or RefineSpec()
    cover_b, single = _models._as_batch(cover, "cover")
    secret_b, _ = _models._as_batch(secret, "secret")
    if cover_b.shape != secret_b.shape:
        raise ValueError(f"cover and secret must have the same shape, got "
                         f"{tuple(cover_b.shape)} and {tuple(secret_b.shape)}")
    multiple = int(net.multiple)
    if cover_b.shape[1] % multiple or cover_b.shape[2] % multiple:
        raise ValueError(f"refine needs a height and width that are multiples of "
                         f"{multiple} for this model, got {tuple(cover_b.shape[1:3])}")
    if container is None:
        start_b = tf.constant(net.hide(cover_b, secret_b, quantize=False,
                                       batch_size=batch_size))
    else:
        start_b, _ = _models._as_batch(container, "container")
        if start_b.shape != cover_b.shape:
            raise ValueError(f"container must have the cover's shape {tuple(cover_b.shape)}, "
                             f"got {tuple(start_b.shape)}")
    refiners = {} if _refiners is None else _refiners
    outputs = []
    for first in range(0, cover_b.shape[0], batch_size):
        part = slice(first, first + batch_size)
        result = _refine_batch(net, tf.cast(cover_b[part], tf.float32),
                               tf.cast(secret_b[part], tf.float32),
                               tf.cast(start_b[part], tf.float32), spec, seed, progress,
                               refiners)
        result = tf.clip_by_value(result, 0.0, 1.0)
        outputs.append(tf.round(result * 255.0) / 255.0 if quantize else result)
    result = tf.concat(outputs, axis=0).numpy()
    return result[0] if single else result


def refine_tiled(net, cover, secret, *, spec: RefineSpec | None = None, seed: int = 0,
                 tile: int = 256, progress: bool = False) -> np.ndarray:
    """:func:`refine` for one image of any size, a tile at a time (flat memory).

    Each tile is refined with a margin of the reveal network's reach around it
    (:func:`stegutils.tiling.halo`) and only its core kept. Unlike hiding in tiles this
    is not exactly the whole-image result: a revealed pixel near a tile's edge sees
    container pixels refined with two different tiles. ``uint8`` in, ``uint8`` out.

    Introduced in chapter 10 (Surviving the channel).
    """
    from stegutils import tiling

    cover, secret, out_dtype = tiling._check_pair(cover, secret)
    margin = max(tiling.halo(net, "hide"), tiling.halo(net, "reveal"))
    refiners = {}  # one compiled step per tile shape, shared by the tiles

    def run(cover_tile, secret_tile):
        return refine(net, cover_tile, secret_tile, spec=spec, seed=seed, batch_size=1,
                      _refiners=refiners)

    return tiling._run_tiles([cover, secret], run, tile=tile, margin=margin,
                             multiple=int(net.multiple), out_dtype=out_dtype,
                             progress=progress, what="refine")
