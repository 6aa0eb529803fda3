"""The channel a container travels through, in TensorFlow, differentiable.

A photo on its way to a reader is recompressed as a JPEG (with 4:2:0 chroma
subsampling: every messaging app and photo site does it), resized and cropped. A model
that should keep its secret through that must be *trained* through it, and so needs a
version of each step that gradients can pass: HiDDeN {cite}`zhu2018hidden` trains
through noise layers, StegaStamp {cite}`tancik2020stegastamp` through a differentiable
JPEG whose quality falls over training. This module has:

- :func:`differentiable_jpeg`: the JPEG codec's own steps (RGB to YCbCr, 4:2:0
  subsampling, 8x8 DCT, quantisation with the standard tables scaled by the quality,
  and back), with the one step that has no gradient, rounding the DCT coefficients,
  replaced by an approximation that has one (:func:`round_straight_through` or
  :func:`round_cubic`, Shin and Song's {cite}`shin2017jpeg`);
- :func:`quantization_table` (the standard table at a quality, as libjpeg scales it)
  and :func:`dct_matrix` (the 8x8 DCT);
- :class:`ChannelSpec` and :func:`simulate`: the training channel, a curriculum of
  attacks (none, JPEG at falling quality, resizing, noise, and crops at any offset)
  whose strength rises over the first steps of training.

Images are float tensors in ``[0, 1]``, ``(batch, height, width, 3)``. The real
encoder, for measuring, is :func:`stegutils.attacks.jpeg` (Pillow).

Introduced in chapter 10 (Surviving the channel).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

__all__ = [
    "LUMINANCE_TABLE",
    "CHROMINANCE_TABLE",
    "quantization_table",
    "dct_matrix",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "round_straight_through",
    "round_cubic",
    "differentiable_jpeg",
    "ChannelSpec",
    "strength",
    "CROP_MODES",
    "random_crop",
    "shifted_grid",
    "resize_and_back",
    "simulate",
]

#: The luminance quantisation table of the JPEG standard (ITU T.81, Annex K.1), row by
#: row in natural (not zigzag) order: what libjpeg, and so Pillow, scale by quality.
LUMINANCE_TABLE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=np.float32)

#: The chrominance table (Annex K.2), for Cb and Cr.
CHROMINANCE_TABLE = np.array([
    [17, 18, 24, 47, 99, 99, 99, 99],
    [18, 21, 26, 66, 99, 99, 99, 99],
    [24, 26, 56, 99, 99, 99, 99, 99],
    [47, 66, 99, 99, 99, 99, 99, 99],
    [99, 99, 99, 99, 99, 99, 99, 99],
    [99, 99, 99, 99, 99, 99, 99, 99],
    [99, 99, 99, 99, 99, 99, 99, 99],
    [99, 99, 99, 99, 99, 99, 99, 99],
], dtype=np.float32)


def _quality_scale(quality):
    # libjpeg's jpeg_quality_scaling: 5000 / q below 50 (in integer arithmetic, so
    # floored), 200 - 2 q from 50 on (percent).
    quality = tf.clip_by_value(tf.cast(quality, tf.float32), 1.0, 100.0)
    return tf.where(quality < 50.0, tf.floor(5000.0 / quality), 200.0 - 2.0 * quality)


def quantization_table(quality, *, chroma=False):
    """The quantisation table a JPEG encoder uses at ``quality``, as libjpeg computes it.

    Each entry of the standard table is scaled by ``5000 // q`` percent below quality 50
    (integer division) and by ``200 - 2 q`` percent from 50 on, rounded, and kept in
    ``[1, 255]`` (baseline
    JPEG): quality 50 is the standard table itself, 100 is all ones.

    Parameters
    ----------
    quality : number or tensor
        From 1 to 100; a tensor of shape ``(batch,)`` gives one table per image (and
        may be fractional: the curriculum draws qualities from a continuous range).
    chroma : bool, optional
        The chrominance table instead of the luminance one.

    Returns
    -------
    tf.Tensor
        ``(8, 8)`` float32, or ``(batch, 8, 8)`` for a batch of qualities.

    Introduced in chapter 10 (Surviving the channel).
    """
    base = tf.constant(CHROMINANCE_TABLE if chroma else LUMINANCE_TABLE)
    scale = _quality_scale(quality)
    scale = tf.reshape(scale, tf.concat([tf.shape(scale), [1, 1]], axis=0))
    # libjpeg: (base * scale + 50) / 100 in integer arithmetic, i.e. floor.
    table = tf.floor((base * scale + 50.0) / 100.0)
    return tf.clip_by_value(table, 1.0, 255.0)


def dct_matrix(size=8):
    """The orthonormal DCT-II matrix ``D``: the 2-D DCT of a block ``X`` is ``D X D^T``.

    ``D[k, n] = a(k) cos((2n + 1) k pi / (2 size))`` with ``a(0) = sqrt(1/size)`` and
    ``a(k) = sqrt(2/size)``: for ``size = 8`` exactly the JPEG standard's forward DCT.

    Introduced in chapter 10 (Surviving the channel).
    """
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    matrix = np.cos((2 * n + 1) * k * np.pi / (2 * size)) * np.sqrt(2.0 / size)
    matrix[0] /= np.sqrt(2.0)
    return tf.constant(matrix, tf.float32)


def rgb_to_ycbcr(images):
    """RGB in ``[0, 255]`` to JPEG's YCbCr (ITU-R BT.601, full range, chroma + 128)."""
    r, g, b = tf.unstack(images, axis=-1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0
    return tf.stack([y, cb, cr], axis=-1)


def ycbcr_to_rgb(images):
    """The inverse of :func:`rgb_to_ycbcr` (JPEG's decoder conversion)."""
    y, cb, cr = tf.unstack(images, axis=-1)
    cb, cr = cb - 128.0, cr - 128.0
    r = y + 1.402 * cr
    g = y - 0.344136 * cb - 0.714136 * cr
    b = y + 1.772 * cb
    return tf.stack([r, g, b], axis=-1)


def round_straight_through(x):
    """Round in the forward pass; pass the gradient unchanged (the identity) backwards.

    Introduced in chapter 10 (Surviving the channel).
    """
    return x + tf.stop_gradient(tf.round(x) - x)


def round_cubic(x):
    """Shin and Song's smooth rounding, ``round(x) + (x - round(x))**3``.

    Close to rounding (off by at most 1/8) and differentiable, with gradient
    ``3 (x - round(x))**2``: small where a coefficient is near a quantisation level,
    largest half-way between two.

    Introduced in chapter 10 (Surviving the channel).
    """
    rounded = tf.stop_gradient(tf.round(x))
    return rounded + (x - rounded) ** 3


_ROUNDINGS = {"straight-through": round_straight_through, "cubic": round_cubic}


def _pad_edges(planes, multiple):
    """Pad ``(batch, h, w)`` on the bottom and right to a multiple, repeating the edge
    (what libjpeg does with a partial block)."""
    height, width = tf.shape(planes)[1], tf.shape(planes)[2]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    bottom = tf.repeat(planes[:, -1:, :], pad_h, axis=1)
    planes = tf.concat([planes, bottom], axis=1)
    right = tf.repeat(planes[:, :, -1:], pad_w, axis=2)
    return tf.concat([planes, right], axis=2)


def _blockwise(planes, table, rounding):
    """DCT, quantise, round, dequantise and invert the DCT of every 8x8 block.

    ``planes``: ``(batch, h, w)`` with ``h`` and ``w`` multiples of 8, level-shifted;
    ``table``: ``(8, 8)`` or ``(batch, 8, 8)``.
    """
    batch, height, width = tf.shape(planes)[0], tf.shape(planes)[1], tf.shape(planes)[2]
    blocks = tf.reshape(planes, [batch, height // 8, 8, width // 8, 8])
    blocks = tf.transpose(blocks, [0, 1, 3, 2, 4])  # (batch, rows, cols, 8, 8)
    dct = dct_matrix(8)
    coefficients = tf.einsum("ij,brcjk,lk->brcil", dct, blocks, dct)
    if table.shape.rank == 2:
        table = table[None, None, None]
    else:
        table = table[:, None, None]
    quantized = rounding(coefficients / table) * table
    restored = tf.einsum("ji,brcjk,kl->brcil", dct, quantized, dct)
    restored = tf.transpose(restored, [0, 1, 3, 2, 4])
    return tf.reshape(restored, [batch, height, width])


def differentiable_jpeg(images, quality, *, chroma_subsampling=True,
                        rounding="straight-through"):
    """A JPEG encoding and decoding, step by step, that gradients can pass through.

    The codec's steps in TensorFlow: round to 8 bits, RGB to YCbCr, halve the colour
    planes in both directions (4:2:0, by averaging each 2x2 square), pad to whole 8x8
    blocks by repeating the edge, 8x8 DCT, divide by the quantisation table of
    ``quality`` (:func:`quantization_table`), round (by the approximation ``rounding``),
    multiply back, inverse DCT, enlarge the colour planes again (bilinear, which is the
    triangle filter of libjpeg's "fancy upsampling"), YCbCr to RGB, and round to 8 bits
    (straight through). Only the rounding of the coefficients differs between the
    straight-through and cubic choices; everything else is exact arithmetic. What it
    leaves out of a real encoder: entropy coding (lossless) and libjpeg's integer DCT.

    Parameters
    ----------
    images : tf.Tensor
        ``(batch, height, width, 3)`` float in ``[0, 1]``.
    quality : number or tensor of shape ``(batch,)``
        From 1 to 100, one per image or one for all.
    chroma_subsampling : bool or tensor, optional
        True: 4:2:0 (Pillow's default); False: 4:4:4.
    rounding : {"straight-through", "cubic"}, optional
        How the quantised coefficients are rounded: exactly, with the identity as its
        gradient (:func:`round_straight_through`), or by Shin and Song's cubic
        (:func:`round_cubic`).

    Returns
    -------
    tf.Tensor
        The decoded images, float32 multiples of 1/255 in ``[0, 1]``, shape of ``images``.

    Introduced in chapter 10 (Surviving the channel).
    """
    if rounding not in _ROUNDINGS:
        raise ValueError(f"rounding must be one of {sorted(_ROUNDINGS)}, got {rounding!r}")
    round_fn = _ROUNDINGS[rounding]
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images of shape (batch, height, width, 3), got {images.shape}")
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    pixels = round_straight_through(tf.clip_by_value(images, 0.0, 1.0) * 255.0)
    ycbcr = rgb_to_ycbcr(pixels) - 128.0
    luma_table = quantization_table(quality)
    chroma_table = quantization_table(quality, chroma=True)

    luma = _pad_edges(ycbcr[..., 0], 16 if chroma_subsampling is True else 8)
    luma = _blockwise(luma, luma_table, round_fn)[:, :height, :width]

    def chroma_plane(plane):
        if chroma_subsampling is True:
            padded = _pad_edges(plane, 2)
            small = tf.nn.avg_pool2d(padded[..., None], 2, 2, "VALID")[..., 0]
            small_h, small_w = tf.shape(small)[1], tf.shape(small)[2]
            coded = _blockwise(_pad_edges(small, 8), chroma_table, round_fn)
            coded = coded[:, :small_h, :small_w]
            big = tf.image.resize(coded[..., None], [2 * small_h, 2 * small_w],
                                  method="bilinear")[..., 0]
            return big[:, :height, :width]
        coded = _blockwise(_pad_edges(plane, 8), chroma_table, round_fn)
        return coded[:, :height, :width]

    cb = chroma_plane(ycbcr[..., 1])
    cr = chroma_plane(ycbcr[..., 2])
    rgb = ycbcr_to_rgb(tf.stack([luma, cb, cr], axis=-1) + 128.0)
    rgb = tf.clip_by_value(rgb, 0.0, 255.0)
    return round_straight_through(rgb) / 255.0


# ----------------------------------------------------------------------- the channel


#: How :class:`ChannelSpec` moves the JPEG grid: crop every pair, shift the grid only, or
#: either, drawn per batch.
CROP_MODES = ("crop", "shift", "mix")


@dataclasses.dataclass(frozen=True)
class ChannelSpec:
    """What the training channel does to containers, and how fast it gets there.

    Each training pair meets one attack, drawn per pair: none (probability
    ``clean``), JPEG (``jpeg``), resizing (``resize``) or noise (``noise``), the
    probabilities of the last three in proportion to ``weights``. With ``crop_mode``
    ``"crop"`` every pair is also cropped by a random offset of ``0..crop`` pixels in
    each direction (before the attack, so that the JPEG grid falls anywhere on the hidden
    pattern), and the secret it is compared with is cropped the same way. A crop leaves
    the pixels near the border out of most steps' loss, and the hiding network learns to
    leave the border alone; with ``"shift"`` nothing is cropped, and only the JPEG's
    8x8 (and 4:2:0's 16x16) grid is moved by ``0..crop`` pixels: the container is
    extended at its top and left edges by reflection, coded, and the extension cut off.
    ``"mix"`` draws one of the two per batch, each with probability 1/2: the border
    stays in half the steps' loss, and the reveal network still meets crops.

    The attacks' *strength* rises linearly from nothing at step 0 to full at step
    ``ramp`` (:func:`strength`): the probability of an attack, the lowest JPEG quality
    (from ``jpeg_quality[1]`` down to ``jpeg_quality[0]``), the smallest resize factor
    (from 1 down to ``resize_factor``) and the largest noise (from 0 to ``noise_std``).
    A model first learns to hide at all, then to hide where the channel does not reach.

    Attributes
    ----------
    jpeg_quality : (low, high)
        JPEG qualities drawn uniformly from this range at full strength.
    subsampling : float
        Fraction of the JPEG pairs coded with 4:2:0 chroma subsampling (the rest 4:4:4).
    rounding : {"straight-through", "cubic"}
        The JPEG's rounding approximation (:func:`differentiable_jpeg`).
    resize_factor : float
        The smallest factor an image is shrunk by (and enlarged back) at full strength.
    noise_std : float
        The largest Gaussian noise standard deviation (on ``[0, 1]``) at full strength.
    crop : int
        The largest crop offset (or grid shift), in pixels; crops are ``crop`` pixels
        smaller.
    crop_mode : {"crop", "shift", "mix"}
        Crop every pair, shift the JPEG's grid only, or either per batch (above).
    clean : float
        Probability that a pair meets no attack (besides the crop and 8-bit rounding).
    weights : (jpeg, resize, noise)
        Relative frequencies of the attacks.
    ramp : int
        Steps until full strength (0: full from the start).

    Introduced in chapter 10 (Surviving the channel).
    """

    jpeg_quality: tuple = (50, 95)
    subsampling: float = 0.75
    rounding: str = "straight-through"
    resize_factor: float = 0.5
    noise_std: float = 0.02
    crop: int = 8
    crop_mode: str = "crop"
    clean: float = 0.2
    weights: tuple = (0.6, 0.2, 0.2)
    ramp: int = 1000

    def __post_init__(self):
        low, high = self.jpeg_quality
        if not (1 <= low <= high <= 100):
            raise ValueError(f"jpeg_quality must be (low, high) with 1 <= low <= high <= 100, "
                             f"got {self.jpeg_quality!r}")
        for name in ("subsampling", "clean"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
        if self.rounding not in _ROUNDINGS:
            raise ValueError(f"rounding must be one of {sorted(_ROUNDINGS)}, got {self.rounding!r}")
        if not 0 < self.resize_factor <= 1:
            raise ValueError(f"resize_factor must be in (0, 1], got {self.resize_factor!r}")
        if not (self.noise_std >= 0 and math.isfinite(self.noise_std)):
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std!r}")
        if not (isinstance(self.crop, int) and self.crop >= 0):
            raise ValueError(f"crop must be a non-negative integer, got {self.crop!r}")
        if self.crop_mode not in CROP_MODES:
            raise ValueError(f"crop_mode must be one of {', '.join(CROP_MODES)}, "
                             f"got {self.crop_mode!r}")
        if len(self.weights) != 3 or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError(f"weights must be three non-negative numbers (jpeg, resize, "
                             f"noise) that are not all 0, got {self.weights!r}")
        if not (isinstance(self.ramp, int) and self.ramp >= 0):
            raise ValueError(f"ramp must be a non-negative integer, got {self.ramp!r}")

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["jpeg_quality"] = list(self.jpeg_quality)
        values["weights"] = list(self.weights)
        return values

    @classmethod
    def from_dict(cls, values) -> "ChannelSpec":
        """From a dict (``config.json``), naming any unknown key."""
        if isinstance(values, ChannelSpec):
            return values
        if not isinstance(values, dict):
            raise ValueError(f"a channel must be a dict of ChannelSpec fields, got {values!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown channel field(s) {sorted(unknown)}; known: {sorted(known)}")
        values = dict(values)
        for name in ("jpeg_quality", "weights"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


def strength(step, ramp):
    """The curriculum's strength at ``step``: ``step / ramp``, at most 1 (1 if no ramp).

    Introduced in chapter 10 (Surviving the channel).
    """
    step = tf.cast(step, tf.float32)
    if not ramp:
        return tf.constant(1.0)
    return tf.minimum(step / float(ramp), 1.0)


def _quantize(images):
    clipped = tf.clip_by_value(images, 0.0, 1.0)
    return round_straight_through(clipped * 255.0) / 255.0


def _offset(crop, seed):
    """One ``(down, right)`` offset of ``0..crop`` pixels each, from the stateless seed."""
    return tf.random.stateless_uniform([2], seed, 0, crop + 1, tf.int32)


def _size_unknown(images):
    """``images`` as they are, with a height and width that a graph knows only when run."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    return images[:, :height, :width]


def random_crop(images, secret, crop, seed):
    """Crop ``images`` and ``secret`` alike, ``crop`` pixels smaller in each direction, at
    one offset of ``0..crop`` drawn from the stateless ``seed`` (the whole batch shares it).

    Introduced in chapter 10 (Surviving the channel).
    """
    offsets = _offset(crop, seed)
    top, left = offsets[0], offsets[1]
    height, width = tf.shape(images)[1] - crop, tf.shape(images)[2] - crop
    return (images[:, top:top + height, left:left + width],
            secret[:, top:top + height, left:left + width])


def shifted_grid(code, images, shift):
    """``code(images)`` with the coder's block grid moved ``shift = (down, right)``
    pixels: the images are extended at the top and left by reflection, coded, and the
    extension cut off again. Nothing of the images is lost, unlike a crop.

    Introduced in chapter 10 (Surviving the channel).
    """
    down, right = shift[0], shift[1]
    extended = tf.pad(images, [[0, 0], [down, 0], [right, 0], [0, 0]], mode="REFLECT")
    return tf.ensure_shape(code(extended)[:, down:, right:], images.shape)


def resize_and_back(images, factor):
    """Shrink by ``factor`` (bilinear, antialiased), enlarge back to the size, round to
    8 bits (straight through): what a site that scales photos down, then a viewer that
    scales them up, do to a container.

    Introduced in chapter 10 (Surviving the channel).
    """
    size = tf.shape(images)[1:3]
    small = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * factor), tf.int32), 1)
    shrunk = tf.image.resize(images, small, method="bilinear", antialias=True)
    return _quantize(tf.image.resize(shrunk, size, method="bilinear"))


def simulate(container, secret, spec, *, step, seed):
    """Send a batch of containers through the training channel.

    Parameters
    ----------
    container : tf.Tensor
        ``(batch, height, width, 3)``, float, not yet rounded.
    secret : tf.Tensor
        The secrets, same shape: cropped like the containers, to compare with.
    spec : ChannelSpec
    step : int or scalar tensor
        The training step (sets the curriculum's strength).
    seed : tensor of shape (2,)
        Stateless seed: the same step of a resumed run draws the same attacks.

    Returns
    -------
    (tf.Tensor, tf.Tensor)
        The attacked containers and the matching secrets, both ``crop`` pixels smaller
        in each direction (``crop_mode`` "crop"; "shift" keeps the size; "mix" does
        either, so the size is known only when the batch is drawn).

    Introduced in chapter 10 (Surviving the channel).
    """
    seed = tf.cast(seed, tf.int64)
    seeds = tf.random.experimental.stateless_split(seed, 8)
    if spec.crop and spec.crop_mode == "mix":
        # One draw per batch (the last seed, which the other modes leave unused); the
        # branch then draws its offset and attacks from the same seed as that mode would.
        def as_mode(mode):
            single = dataclasses.replace(spec, crop_mode=mode)

            def branch():
                # Both branches declare the same, unknown size. With the shift's size
                # known and the crop's not, the gradient into the hiding network failed
                # at run time (TensorFlow 2.21: "Incompatible shapes" in the reveal
                # network's gradient when the crop was drawn).
                return tuple(_size_unknown(t) for t in
                             simulate(container, secret, single, step=step, seed=seed))
            return branch
        return tf.cond(tf.random.stateless_uniform([], seeds[7]) < 0.5,
                       as_mode("crop"), as_mode("shift"))
    level = strength(step, spec.ramp)
    batch = tf.shape(container)[0]

    # 8-bit rounding first: the container is saved as a file before anything else.
    x = _quantize(container)
    shift = None
    if spec.crop and spec.crop_mode == "crop":
        x, secret = random_crop(x, secret, spec.crop, seeds[0])
    elif spec.crop:
        shift = _offset(spec.crop, seeds[0])

    # One attack per pair: 0 none, 1 JPEG, 2 resize, 3 noise.
    attacked = level * (1.0 - spec.clean)
    weights = np.asarray(spec.weights, np.float32) / float(sum(spec.weights))
    logits = tf.math.log(tf.stack([1.0 - attacked + 1e-6,
                                   attacked * weights[0] + 1e-6,
                                   attacked * weights[1] + 1e-6,
                                   attacked * weights[2] + 1e-6]))
    choice = tf.random.stateless_categorical(logits[None], batch, seeds[1])[0]

    def chosen(k):
        return tf.reshape(tf.cast(tf.equal(choice, k), tf.float32), [-1, 1, 1, 1])

    low, high = (float(q) for q in spec.jpeg_quality)
    lowest = high - level * (high - low)
    quality = tf.random.stateless_uniform([batch], seeds[2], 0.0, 1.0)
    quality = lowest + quality * (high - lowest)
    subsample = tf.random.stateless_uniform([], seeds[3]) < spec.subsampling

    def coded(subsampled):
        def code(images):
            return differentiable_jpeg(images, quality, chroma_subsampling=subsampled,
                                       rounding=spec.rounding)
        return code(x) if shift is None else shifted_grid(code, x, shift)

    x_jpeg = tf.cond(subsample, lambda: coded(True), lambda: coded(False))

    smallest = 1.0 - level * (1.0 - spec.resize_factor)
    factor = smallest + tf.random.stateless_uniform([], seeds[4]) * (1.0 - smallest)
    x_resize = resize_and_back(x, factor)

    std = level * spec.noise_std * tf.random.stateless_uniform([batch, 1, 1, 1], seeds[5])
    x_noise = _quantize(x + std * tf.random.stateless_normal(tf.shape(x), seeds[6]))

    x = (chosen(0) * x + chosen(1) * x_jpeg + chosen(2) * x_resize + chosen(3) * x_noise)
    return x, secret
