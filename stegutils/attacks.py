"""What breaks hiding, and what gives it away: attacks, leaks, detection, mitigations.

Four groups of tools, one per question chapter 7 asks:

- **Attacks on a container** (does the secret survive?): :func:`gaussian_noise`,
  :func:`jpeg` (a real JPEG encoding with Pillow), :func:`downscale` (shrink and
  enlarge back), :func:`crop` and :func:`reduce_bit_depth`.
- **Leaks** (does the container betray the secret?): :func:`amplify_residual`, the
  view that shows the secret's outline {cite}`baluja2017hiding`, and
  :func:`residual_leak`, which measures it; :func:`reveal_clean` reveals from a photo
  that holds no secret; :func:`colourfulness` (Hasler and Suesstrunk's measure
  {cite}`hasler2003measuring`) sorts secrets by how hard they are to hide.
- **Detection** (can a third party tell a container from a photo?): a tiny CNN on
  high-pass residuals (:func:`build_detector`, :func:`train_detector`,
  :func:`detector_scores`), a classical baseline (:func:`residual_energy` with a
  threshold), and their measures (:func:`roc_auc`, :func:`roc_curve`,
  :func:`fit_threshold`, :func:`accuracy`), all in one call in
  :func:`run_steganalysis`.
- **Mitigations**: :func:`scramble` and :func:`unscramble` (hide a key-permuted secret,
  as the journal version of the paper suggests {cite}`baluja2020hiding`), and
  :func:`finetune`, which continues training a copy of a model with noise or JPEG
  between hiding and revealing.

Images are ``float32`` in ``[0, 1]``, shape ``(height, width, 3)`` or
``(batch, height, width, 3)``; every function accepts both and returns the form it was
given.

Introduced in chapter 7 (When hiding fails).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
import keras

from stegutils import data as _data
from stegutils import metrics as _metrics
from stegutils import models as _models
from stegutils import train as _train

__all__ = [
    "gaussian_noise",
    "jpeg",
    "downscale",
    "crop",
    "reduce_bit_depth",
    "attack_curve",
    "amplify_residual",
    "edge_map",
    "residual_leak",
    "reveal_clean",
    "colourfulness",
    "correlation",
    "scramble",
    "unscramble",
    "HIGH_PASS_KERNEL",
    "high_pass",
    "residual_energy",
    "build_detector",
    "train_detector",
    "detector_scores",
    "roc_auc",
    "roc_curve",
    "fit_threshold",
    "accuracy",
    "run_steganalysis",
    "copy_model",
    "finetune",
]


# ------------------------------------------------------------------------------ helpers


def _batch(images, what="images"):
    """Check an image or a batch; return a float32 batch and whether it was one image."""
    if isinstance(images, tf.Tensor):
        images = images.numpy()
    array = np.asarray(images)
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise ValueError(
            f"{what} must have shape (height, width, 3) or (batch, height, width, 3), "
            f"got shape {array.shape}"
        )
    array = _data.to_float(array, what=what)
    single = array.ndim == 3
    return (array[np.newaxis] if single else array), single


def _unbatch(array, single):
    return array[0] if single else array


def _number(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return value


def _integer(value, what, low, high):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be an int from {low} to {high}, got {value}")
    return int(value)


# ------------------------------------------------------------------------------ attacks


def gaussian_noise(images, std, *, seed=None):
    """Add Gaussian noise of standard deviation ``std`` and clip to ``[0, 1]``.

    Parameters
    ----------
    images : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    std : float
        Standard deviation on the ``[0, 1]`` scale (``2 / 255`` is two grey levels);
        0 returns the images unchanged.
    seed : int, optional
        Seeds ``numpy.random.default_rng``, so that the same seed gives the same noise.

    Returns
    -------
    numpy.ndarray
        Noisy images, float32, the shape of ``images``.

    Raises
    ------
    ValueError
        If ``std`` is negative.

    Introduced in chapter 7 (When hiding fails).
    """
    std = _number(std, "std")
    if std < 0:
        raise ValueError(f"std must be >= 0 (a standard deviation on the [0, 1] scale), "
                         f"got {std}")
    array, single = _batch(images)
    if std == 0:
        return _unbatch(array.copy(), single)
    rng = np.random.default_rng(seed)
    noisy = array + rng.normal(0.0, std, size=array.shape).astype(np.float32)
    return _unbatch(np.clip(noisy, 0.0, 1.0).astype(np.float32), single)


def jpeg(images, quality, *, chroma_subsampling=True):
    """Save as a JPEG file at ``quality`` and read it back (Pillow, in memory).

    A real encoding with Pillow's defaults (libjpeg's standard tables, 4:2:0 chroma
    subsampling), not an approximation: what a photo-sharing site does to an upload.

    Parameters
    ----------
    images : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``; rounded to 8 bits
        first, as any file would.
    quality : int
        From 1 (smallest file) to 100.
    chroma_subsampling : bool, optional
        True (Pillow's default): the two colour channels are stored at half resolution
        in both directions (4:2:0), even at quality 100. False: full resolution (4:4:4).

    Returns
    -------
    numpy.ndarray
        The decoded images, float32, the shape of ``images``.

    Raises
    ------
    ValueError
        If ``quality`` is not an integer from 1 to 100.

    Introduced in chapter 7 (When hiding fails).
    """
    quality = _integer(quality, "quality", 1, 100)
    array, single = _batch(images)
    out = _data.jpeg_round_trip(array, quality, chroma_subsampling=chroma_subsampling)
    return _unbatch(out, single)


def downscale(images, factor, *, method="bilinear"):
    """Shrink by ``factor`` and enlarge back to the original size.

    The detail finer than the small image's pixels is lost, which is where a hiding
    network puts much of the secret.

    Parameters
    ----------
    images : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    factor : float
        In ``(0, 1]``: the small image is ``round(factor * H) x round(factor * W)``
        (at least one pixel); 1 returns a copy.
    method : str, optional
        Interpolation for both directions (see :func:`stegutils.data.resize`;
        antialiased when shrinking).

    Returns
    -------
    numpy.ndarray
        float32 images of the original shape.

    Raises
    ------
    ValueError
        If ``factor`` is not in ``(0, 1]``.

    Introduced in chapter 7 (When hiding fails).
    """
    factor = _number(factor, "factor")
    if not 0 < factor <= 1:
        raise ValueError(f"factor must be in (0, 1] (the small image's size over the "
                         f"original's), got {factor}")
    array, single = _batch(images)
    height, width = array.shape[1:3]
    small = (max(1, round(height * factor)), max(1, round(width * factor)))
    if small == (height, width):
        return _unbatch(array.copy(), single)
    shrunk = _data.resize(array, small, method=method)
    return _unbatch(_data.resize(shrunk, (height, width), method=method), single)


def crop(images, size, *, offset=None):
    """Cut a ``size`` region out of each image, at ``offset`` or in the centre.

    Fully convolutional networks reveal from a crop; whether they succeed can depend
    on where the crop starts (chapter 7 measures an offset of one pixel).

    Parameters
    ----------
    images : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    size : int or (int, int)
        The crop's side, or its ``(height, width)``.
    offset : (int, int), optional
        ``(top, left)`` of the crop; default: centred.

    Returns
    -------
    numpy.ndarray
        The crops, float32, ``(h, w, 3)`` or ``(B, h, w, 3)``.

    Raises
    ------
    ValueError
        If the crop is empty or does not fit inside the image at that offset.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    height, width = array.shape[1:3]
    if isinstance(size, (int, np.integer)) and not isinstance(size, (bool, np.bool_)):
        crop_h = crop_w = int(size)
    else:
        try:
            crop_h, crop_w = (int(s) for s in size)
        except (TypeError, ValueError):
            raise TypeError(
                f"size must be an int or a (height, width) pair, got {size!r}") from None
    if crop_h < 1 or crop_w < 1:
        raise ValueError(f"the crop must be at least 1x1 pixels, got {crop_h}x{crop_w}")
    if crop_h > height or crop_w > width:
        raise ValueError(f"cannot crop {crop_h}x{crop_w} out of a {height}x{width} image; "
                         "expected a crop no larger than the image")
    if offset is None:
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
    else:
        top, left = (int(o) for o in offset)
        if top < 0 or left < 0 or top + crop_h > height or left + crop_w > width:
            raise ValueError(
                f"a {crop_h}x{crop_w} crop at offset ({top}, {left}) does not fit in a "
                f"{height}x{width} image; expected 0 <= top <= {height - crop_h} and "
                f"0 <= left <= {width - crop_w}"
            )
    return _unbatch(array[:, top:top + crop_h, left:left + crop_w].copy(), single)


def reduce_bit_depth(images, bits):
    """Keep the top ``bits`` bits of each 8-bit value: ``2**bits`` levels per channel.

    The images are rounded to 8 bits, their lowest ``8 - bits`` bits dropped, and the
    ``2**bits`` remaining levels spread evenly over ``[0, 1]`` (level ``i`` becomes
    ``i / (2**bits - 1)``), as a ``bits``-bit image is displayed. 8 bits is plain 8-bit
    rounding; it removes whatever classical steganography put in the low bits.

    Parameters
    ----------
    images : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    bits : int
        From 1 to 8.

    Returns
    -------
    numpy.ndarray
        float32 images of the same shape.

    Raises
    ------
    ValueError
        If ``bits`` is not an integer from 1 to 8.

    Introduced in chapter 7 (When hiding fails).
    """
    bits = _integer(bits, "bits", 1, 8)
    array, single = _batch(images)
    levels = _data.to_uint8(array) >> (8 - bits)
    out = levels.astype(np.float32) / np.float32(2**bits - 1)
    return _unbatch(out, single)


def attack_curve(net, attack, values, *, covers, secrets, containers=None, **options):
    """How well the secret survives an attack, at each strength: one PSNR per value.

    Hides each secret in its cover (containers rounded to 8 bits, as a PNG file keeps
    them), applies ``attack(containers, value, **options)``, reveals, and measures the
    secret's PSNR (:func:`stegutils.metrics.psnr`) per image.

    Parameters
    ----------
    net : stegutils.models.StegoNet
    attack : callable
        One of this module's attacks that keeps the image size (:func:`jpeg`,
        :func:`gaussian_noise`, :func:`downscale`, :func:`reduce_bit_depth`), or any
        function of the same form.
    values : sequence
        The strengths to try (qualities, standard deviations, factors, bits).
    covers, secrets : array-like, keyword-only
        ``(B, H, W, 3)`` held-out pairs: ``secrets[i]`` is hidden in ``covers[i]``.
    containers : array-like, optional
        The containers, if already made (saves hiding again).
    **options
        Passed to ``attack`` (for example ``seed=0`` for :func:`gaussian_noise`).

    Returns
    -------
    dict
        ``values``, ``secret_psnr`` (the mean per value), ``secret_psnr_std`` and
        ``images`` (how many pairs).

    Introduced in chapter 7 (When hiding fails).
    """
    secrets_b, _ = _batch(secrets, "secrets")
    covers_b, _ = _batch(covers, "covers")
    if containers is None:
        containers = net.hide(covers_b, secrets_b, quantize=True)
    containers, _ = _batch(containers, "containers")
    means, stds = [], []
    for value in values:
        attacked = attack(containers, value, **options)
        if np.shape(attacked) != containers.shape:
            raise ValueError(f"the attack changed the image size ({containers.shape} -> "
                             f"{np.shape(attacked)}); attack_curve needs attacks that keep "
                             "it (crop the secrets too and measure a crop by hand)")
        values_db = _metrics.psnr(secrets_b, net.reveal(attacked))
        means.append(float(np.mean(values_db)))
        stds.append(float(np.std(values_db)))
    return {"values": [v.item() if hasattr(v, "item") else v for v in values],
            "secret_psnr": means, "secret_psnr_std": stds, "images": len(secrets_b)}


# -------------------------------------------------------------------------------- leaks


def amplify_residual(container, cover, *, gain=10.0):
    """``|container - cover| * gain``, clipped to ``[0, 1]``: what hiding changed, made
    visible.

    The changes are a few grey levels, invisible as they are; multiplied by 5 to 20
    they often show the secret's outline {cite}`baluja2017hiding`.

    Parameters
    ----------
    container, cover : array-like
        Float images of the same shape, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    gain : float, optional
        The amplification (default 10); must be positive.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``container``.

    Raises
    ------
    ValueError
        If ``gain <= 0`` or the shapes differ.

    Introduced in chapter 7 (When hiding fails).
    """
    gain = _number(gain, "gain")
    if gain <= 0:
        raise ValueError(f"gain must be > 0 (the residual's amplification), got {gain}")
    container_b, single = _batch(container, "container")
    cover_b, _ = _batch(cover, "cover")
    if container_b.shape != cover_b.shape:
        raise ValueError(f"container and cover must have the same shape, got "
                         f"{container_b.shape} and {cover_b.shape}")
    residual = np.clip(np.abs(container_b - cover_b) * np.float32(gain), 0.0, 1.0)
    return _unbatch(residual.astype(np.float32), single)


def edge_map(images):
    """The Sobel gradient magnitude of each image's luminance.

    Parameters
    ----------
    images : array-like
        Float images, ``(H, W, 3)`` or ``(B, H, W, 3)``.

    Returns
    -------
    numpy.ndarray
        float32, ``(H, W)`` or ``(B, H, W)``.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    luma = array @ np.array([0.299, 0.587, 0.114], np.float32)
    padded = np.pad(luma, ((0, 0), (1, 1), (1, 1)), mode="edge")

    def shifted(dy, dx):
        height, width = luma.shape[1:]
        return padded[:, 1 + dy:1 + dy + height, 1 + dx:1 + dx + width]

    gx = (shifted(-1, 1) + 2 * shifted(0, 1) + shifted(1, 1)
          - shifted(-1, -1) - 2 * shifted(0, -1) - shifted(1, -1))
    gy = (shifted(1, -1) + 2 * shifted(1, 0) + shifted(1, 1)
          - shifted(-1, -1) - 2 * shifted(-1, 0) - shifted(-1, 1))
    return _unbatch(np.hypot(gx, gy).astype(np.float32), single)


def correlation(a, b):
    """Pearson's correlation between two arrays of the same shape, per leading item.

    Parameters
    ----------
    a, b : array-like
        Same shape; with more than one dimension, one correlation per item of the first
        axis (over all the other axes).

    Returns
    -------
    numpy.ndarray or float
        A float for 1-D inputs, else shape ``(B,)``. A constant item gives 0.

    Introduced in chapter 7 (When hiding fails).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    flat = a.ndim == 1
    a = a.reshape(1, -1) if flat else a.reshape(a.shape[0], -1)
    b = b.reshape(1, -1) if flat else b.reshape(b.shape[0], -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denominator > 0, (a * b).sum(axis=1) / np.maximum(denominator, 1e-300), 0.0)
    return float(r[0]) if flat else r


def residual_leak(container, cover, secret, *, sigma=2.0):
    """How much the residual looks like the secret's edges: Pearson's r per image.

    The residual's magnitude (``|container - cover|`` averaged over the colour
    channels) against the secret's Sobel edges (:func:`edge_map`), both smoothed with
    a Gaussian of ``sigma`` pixels: a hiding network writes a fine texture whose
    *strength*, not its exact pixels, follows the secret, so the two are compared at a
    scale of a few pixels. Near 0: the residual says nothing about where the secret's
    edges are. Give the *cover* (or another pair's secret) as ``secret`` for the
    control values to compare with.

    Parameters
    ----------
    container, cover, secret : array-like
        Float images of one shape, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    sigma : float, optional
        Smoothing in pixels (0: compare pixel by pixel).

    Returns
    -------
    numpy.ndarray or float
        One correlation per image (a float for single images).

    Introduced in chapter 7 (When hiding fails).
    """
    container_b, single = _batch(container, "container")
    cover_b, _ = _batch(cover, "cover")
    secret_b, _ = _batch(secret, "secret")
    if not container_b.shape == cover_b.shape == secret_b.shape:
        raise ValueError(f"container, cover and secret must have the same shape, got "
                         f"{container_b.shape}, {cover_b.shape} and {secret_b.shape}")
    sigma = _number(sigma, "sigma")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 (pixels), got {sigma}")
    residual = np.abs(container_b - cover_b).mean(axis=-1)
    edges = edge_map(secret_b)
    if sigma > 0:
        from scipy import ndimage

        residual = ndimage.gaussian_filter(residual, (0, sigma, sigma), mode="nearest")
        edges = ndimage.gaussian_filter(edges, (0, sigma, sigma), mode="nearest")
    r = correlation(residual, edges)
    return float(r[0]) if single else r


def reveal_clean(net, images, *, batch_size=16):
    """Run the reveal network on photos that hold no secret.

    A reveal network has no way to say "nothing here": it returns *something* for any
    input. What it returns from a clean photo is a ghost of the photo itself, and
    shows what the network learnt to undo.

    Parameters
    ----------
    net : stegutils.models.StegoNet
    images : array-like
        Clean photos, ``(H, W, 3)`` or ``(B, H, W, 3)``.

    Returns
    -------
    numpy.ndarray
        The "revealed secret", float32, the shape of ``images``.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    return _unbatch(net.reveal(array, batch_size=batch_size), single)


def colourfulness(images):
    """Hasler and Suesstrunk's colourfulness, one value per image.

    With ``rg = R - G`` and ``yb = (R + G) / 2 - B`` on the 0-255 scale,
    ``M = sqrt(std(rg)**2 + std(yb)**2) + 0.3 * sqrt(mean(rg)**2 + mean(yb)**2)``
    {cite}`hasler2003measuring`. A grey image scores 0; the authors call about 33
    "moderately", 59 "quite" and 82 "highly" colourful.

    Parameters
    ----------
    images : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``.

    Returns
    -------
    numpy.ndarray or float
        Shape ``(B,)``, or a float for one image.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    array = array.astype(np.float64) * 255.0
    red, green, blue = array[..., 0], array[..., 1], array[..., 2]
    rg = (red - green).reshape(len(array), -1)
    yb = (0.5 * (red + green) - blue).reshape(len(array), -1)
    spread = np.sqrt(rg.std(axis=1) ** 2 + yb.std(axis=1) ** 2)
    centre = np.sqrt(rg.mean(axis=1) ** 2 + yb.mean(axis=1) ** 2)
    values = spread + 0.3 * centre
    return float(values[0]) if single else values


# --------------------------------------------------------------------------- scrambling


def _permutation(key, count):
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
        raise TypeError(f"key must be an int, got {key!r}")
    return np.random.default_rng(int(key)).permutation(count)


def _blocks(array, block):
    block = _integer(block, "block", 1, min(array.shape[1:3]))
    batch, height, width, _ = array.shape
    if height % block or width % block:
        raise ValueError(f"block must divide the image's height and width, got block "
                         f"{block} for a {height}x{width} image")
    rows, cols = height // block, width // block
    tiles = array.reshape(batch, rows, block, cols, block, 3).transpose(0, 1, 3, 2, 4, 5)
    return tiles.reshape(batch, rows * cols, block, block, 3), (rows, cols, block)


def _unblocks(tiles, shape):
    rows, cols, block = shape
    batch = tiles.shape[0]
    grid = tiles.reshape(batch, rows, cols, block, block, 3).transpose(0, 1, 3, 2, 4, 5)
    return grid.reshape(batch, rows * block, cols * block, 3)


def scramble(images, key, *, block=1):
    """Permute the pixels (or ``block x block`` tiles) of each image with a key.

    Hiding ``scramble(secret, key)`` instead of the secret removes the secret's
    structure from the residual; whoever holds ``key`` reveals, then calls
    :func:`unscramble`.

    Parameters
    ----------
    images : array-like
        Float images, ``(H, W, 3)`` or ``(B, H, W, 3)``; ``block`` must divide H and W.
    key : int
        Seeds the permutation (``numpy.random.default_rng(key).permutation``); the same
        permutation is applied to every image of a batch.
    block : int, optional
        Side of the tiles that move together (1: single pixels).

    Returns
    -------
    numpy.ndarray
        The scrambled images, float32, same shape.

    Raises
    ------
    ValueError
        If ``block`` is out of range or does not divide the size.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    tiles, shape = _blocks(array, block)
    order = _permutation(key, tiles.shape[1])
    return _unbatch(_unblocks(tiles[:, order], shape), single)


def unscramble(images, key, *, block=1):
    """Undo :func:`scramble` with the same ``key`` and ``block``.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    tiles, shape = _blocks(array, block)
    order = _permutation(key, tiles.shape[1])
    restored = np.empty_like(tiles)
    restored[:, order] = tiles
    return _unbatch(_unblocks(restored, shape), single)


# ---------------------------------------------------------------------------- detection

#: The 3x3 high-pass kernel of the spatial rich model's "square" residuals: a
#: prediction of each pixel from its eight neighbours, subtracted from it. Photos are
#: smooth, so most of their content cancels and what is left is noise and edges.
HIGH_PASS_KERNEL = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], np.float32) / 4.0


def high_pass(images):
    """Each colour channel filtered with :data:`HIGH_PASS_KERNEL` (valid positions only).

    Parameters
    ----------
    images : array-like
        Float images, ``(H, W, 3)`` or ``(B, H, W, 3)``, at least 3x3.

    Returns
    -------
    numpy.ndarray
        float32, ``(H - 2, W - 2, 3)`` or ``(B, H - 2, W - 2, 3)``, on the ``[0, 1]``
        scale.

    Introduced in chapter 7 (When hiding fails).
    """
    array, single = _batch(images)
    return _unbatch(_high_pass_tf(tf.constant(array)).numpy(), single)


def _high_pass_tf(images):
    kernel = tf.constant(np.repeat(HIGH_PASS_KERNEL[:, :, None, None], 3, axis=2))
    return tf.nn.depthwise_conv2d(images, tf.cast(kernel, images.dtype), [1, 1, 1, 1], "VALID")


def residual_energy(images):
    """The classical detector's score: the mean squared high-pass residual, per image.

    On the 0-255 scale (squared grey levels). Hiding adds a faint, busy pattern to the
    cover, so containers tend to score higher than photos; but busy photos score high
    too, which is why one threshold on it is a weak detector.

    Returns
    -------
    numpy.ndarray
        Shape ``(B,)`` (``(1,)`` for one image).

    Introduced in chapter 7 (When hiding fails).
    """
    residual = np.asarray(high_pass(images), np.float64) * 255.0
    residual = residual.reshape((-1,) + residual.shape[-3:])
    return np.mean(residual**2, axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="stegutils")
class HighPass(keras.layers.Layer):
    """A fixed (not trained) :data:`HIGH_PASS_KERNEL` on each channel, on 0-255."""

    def call(self, inputs):
        return _high_pass_tf(tf.cast(inputs, tf.float32) * 255.0)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        shrink = lambda n: None if n is None else n - 2  # noqa: E731
        return (batch, shrink(height), shrink(width), channels)


def build_detector(*, width=16, depth=3, seed=None):
    """A small steganalysis CNN: high-pass residuals in, one logit out.

    The fixed high-pass layer removes most of the photo's content before any learning
    (as in the rich models of classical steganalysis), so that a few thousand weights
    can learn what hiding adds. Then a 3x3 convolution, ``depth`` stride-2 3x3
    convolutions (ReLU, ``width`` channels each), global average pooling and one
    dense unit. Fully convolutional, so any image size works.

    Parameters
    ----------
    width : int, optional
        Channels per convolution.
    depth : int, optional
        Stride-2 stages.
    seed : int, optional
        Seeds the weights.

    Returns
    -------
    keras.Model
        ``images -> logits`` of shape ``(B, 1)``; the logit is positive when it thinks
        the image is a container.

    Introduced in chapter 7 (When hiding fails).
    """
    width = _integer(width, "width", 1, 4096)
    depth = _integer(depth, "depth", 0, 16)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = HighPass(name="high_pass")(inputs)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="conv0")(x)
    for index in range(depth):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu",
                                name=f"conv{index + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    logits = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, logits, name="detector")


def train_detector(clean, containers, *, model=None, steps=300, batch_size=32, lr=1e-3,
                   seed=0, progress=False):
    """Train a detector to tell ``containers`` (label 1) from ``clean`` photos (label 0).

    The same machinery as :mod:`stegutils.train`: Adam, a ``tf.function`` step around
    one ``tf.GradientTape``, batches drawn from a seeded generator. Each batch holds
    as many clean images as containers.

    Parameters
    ----------
    clean, containers : array-like
        ``(N, H, W, 3)`` and ``(M, H, W, 3)`` float images (training data only).
    model : keras.Model, optional
        Default: ``build_detector(seed=seed)``.
    steps, batch_size : int, optional
        Adam steps, images per step.
    lr : float, optional
        Adam's learning rate.
    seed : int, optional
        Seeds the weights and the batches.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    (keras.Model, list of float)
        The trained model and the loss (binary cross-entropy) at every step.

    Introduced in chapter 7 (When hiding fails).
    """
    from tqdm.auto import tqdm

    clean_b, _ = _batch(clean, "clean")
    stego_b, _ = _batch(containers, "containers")
    steps = _integer(steps, "steps", 1, 10**9)
    half = max(1, _integer(batch_size, "batch_size", 1, 10**6) // 2)
    if model is None:
        model = build_detector(seed=seed)
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    optimizer.build(model.trainable_variables)

    @tf.function
    def detector_step(images, labels):
        with tf.GradientTape() as tape:
            logits = tf.squeeze(model(images, training=True), -1)
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    labels = tf.constant([0.0] * half + [1.0] * half)
    history = []
    for _ in tqdm(range(steps), disable=not progress, unit="step", desc="detector"):
        images = np.concatenate([clean_b[rng.integers(0, len(clean_b), half)],
                                 stego_b[rng.integers(0, len(stego_b), half)]])
        history.append(float(detector_step(tf.constant(images), labels)))
    return model, history


def detector_scores(model, images, *, batch_size=64):
    """The detector's probability that each image is a container.

    Returns
    -------
    numpy.ndarray
        Shape ``(B,)``, values in ``(0, 1)``.

    Introduced in chapter 7 (When hiding fails).
    """
    array, _ = _batch(images)
    logits = [model(tf.constant(array[start:start + batch_size]), training=False)
              for start in range(0, len(array), batch_size)]
    return tf.sigmoid(tf.concat(logits, axis=0)[:, 0]).numpy()


def _labels_scores(labels, scores):
    labels = np.asarray(labels).astype(np.float64).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"labels and scores must have the same length, got "
                         f"{labels.size} and {scores.size}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (clean) or 1 (container)")
    if labels.min() == labels.max():
        raise ValueError("labels must contain both classes, 0 (clean) and 1 (container)")
    return labels, scores


def roc_auc(labels, scores):
    """Area under the ROC curve: the chance that a random container scores higher than
    a random clean image (ties count half).

    0.5 is guessing, 1 is perfect. Computed as the Mann-Whitney statistic from ranks.

    Parameters
    ----------
    labels : array-like
        1 for containers, 0 for clean images.
    scores : array-like
        Higher means "more likely a container".

    Returns
    -------
    float

    Introduced in chapter 7 (When hiding fails).
    """
    labels, scores = _labels_scores(labels, scores)
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    # Average ranks over ties (1-based).
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def roc_curve(labels, scores):
    """False-positive and true-positive rates at every threshold.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``fpr`` and ``tpr``, from ``(0, 0)`` to ``(1, 1)``.

    Introduced in chapter 7 (When hiding fails).
    """
    labels, scores = _labels_scores(labels, scores)
    thresholds = np.unique(scores)[::-1]
    positives, negatives = labels.sum(), len(labels) - labels.sum()
    tpr = [0.0] + [float(((scores >= t) & (labels == 1)).sum() / positives) for t in thresholds]
    fpr = [0.0] + [float(((scores >= t) & (labels == 0)).sum() / negatives) for t in thresholds]
    return np.array(fpr), np.array(tpr)


def fit_threshold(labels, scores):
    """The threshold that classifies ``labels`` best (on training data only).

    An image is called a container when its score is ``>= threshold``; the threshold
    returned lies midway between two neighbouring scores.

    Returns
    -------
    float

    Introduced in chapter 7 (When hiding fails).
    """
    labels, scores = _labels_scores(labels, scores)
    values = np.unique(scores)
    candidates = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2,
                                 [values[-1] + 1.0]])
    right = [np.mean((scores >= t) == (labels == 1)) for t in candidates]
    return float(candidates[int(np.argmax(right))])


def accuracy(labels, scores, threshold):
    """The fraction of images classified right when ``score >= threshold`` means
    "container".

    Introduced in chapter 7 (When hiding fails).
    """
    labels, scores = _labels_scores(labels, scores)
    return float(np.mean((scores >= float(threshold)) == (labels == 1)))


def run_steganalysis(train_clean, train_containers, test_clean, test_containers, *,
                     steps=300, batch_size=32, lr=1e-3, width=16, depth=3, seed=0,
                     progress=False):
    """Train both detectors on training images and measure them on held-out ones.

    The CNN (:func:`build_detector`) and the classical baseline (a threshold on
    :func:`residual_energy`) both learn from the training images only (the CNN its
    weights, the baseline its threshold); AUC and accuracy are measured on the test
    images.

    Parameters
    ----------
    train_clean, train_containers, test_clean, test_containers : array-like
        Batches of float images.
    steps, batch_size, lr, width, depth, seed, progress
        See :func:`train_detector` and :func:`build_detector`.

    Returns
    -------
    dict
        ``{"cnn": {...}, "energy": {...}, "train_images": int, "test_images": int}``;
        each detector's entry has ``auc``, ``accuracy``, ``threshold``, and its test
        ``scores`` and ``labels`` (lists, for ROC curves). ``cnn`` also has the training
        ``loss`` history, and the trained ``model`` (not JSON: drop it before saving).

    Introduced in chapter 7 (When hiding fails).
    """
    train_clean, _ = _batch(train_clean, "train_clean")
    train_containers, _ = _batch(train_containers, "train_containers")
    test_clean, _ = _batch(test_clean, "test_clean")
    test_containers, _ = _batch(test_containers, "test_containers")
    train_labels = np.r_[np.zeros(len(train_clean)), np.ones(len(train_containers))]
    test_labels = np.r_[np.zeros(len(test_clean)), np.ones(len(test_containers))]
    train_images = np.concatenate([train_clean, train_containers])
    test_images = np.concatenate([test_clean, test_containers])

    model, losses = train_detector(train_clean, train_containers,
                                   model=build_detector(width=width, depth=depth, seed=seed),
                                   steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                   progress=progress)
    results = {"train_images": len(train_images), "test_images": len(test_images)}
    detectors = {
        "cnn": lambda images: detector_scores(model, images),
        "energy": residual_energy,
    }
    for name, score in detectors.items():
        threshold = fit_threshold(train_labels, score(train_images))
        test_scores = score(test_images)
        results[name] = {
            "auc": roc_auc(test_labels, test_scores),
            "accuracy": accuracy(test_labels, test_scores, threshold),
            "train_accuracy": accuracy(train_labels, score(train_images), threshold),
            "threshold": threshold,
            "scores": [float(s) for s in test_scores],
            "labels": [int(v) for v in test_labels],
        }
    results["cnn"]["loss"] = losses
    results["cnn"]["model"] = model
    return results


# --------------------------------------------------------------------------- mitigation


def _jpeg_straight_through(images, quality):
    """A real JPEG round trip forward, the identity backward (straight through)."""
    def encode(batch):
        return jpeg(np.clip(batch, 0.0, 1.0), int(quality)).reshape(batch.shape)

    compressed = tf.numpy_function(encode, [images], tf.float32)
    compressed = tf.ensure_shape(compressed, images.shape)
    return images + tf.stop_gradient(compressed - images)


def copy_model(net, *, precision="float32"):
    """A new model of the same variant and options as ``net``, with ``net``'s weights.

    Training the copy leaves ``net`` as it was.

    Parameters
    ----------
    net : stegutils.models.StegoNet
    precision : str, optional
        The copy's compute precision (see :func:`stegutils.models.resolve_precision`).

    Returns
    -------
    stegutils.models.StegoNet

    Introduced in chapter 7 (When hiding fails).
    """
    clone = _models.build_ready(net.variant, precision=precision, **net.options)
    clone.set_weights(net.get_weights())
    return clone


def finetune(net, photos, *, steps, noise=0.0, jpeg_quality=None, beta=0.75, lr=1e-4,
             size=64, batch_size=8, seed=0, precision="float32", progress=False):
    """Continue training a *copy* of ``net`` with an attack between hiding and revealing.

    The copy is made by :func:`copy_model`; ``net`` itself is not changed. Each step
    hides a batch of random crops (:func:`stegutils.data.random_pairs`), adds Gaussian
    noise of std ``noise``, rounds to 8 bits (:func:`stegutils.train.distort_container`)
    and reveals; the loss is :func:`stegutils.train.compute_losses`'s, minimised with
    Adam in training's own step (:func:`stegutils.train.make_step`). With
    ``jpeg_quality``, the container is also passed through a real JPEG encoding with a
    straight-through gradient (the forward pass is the true JPEG, the backward pass the
    identity) and revealed, and the secret term is the mean of the two reveals' errors,
    so that the model learns to survive JPEG without forgetting how to reveal from a
    PNG. With ``noise=0`` and no JPEG it is plain continued training: the control to
    compare with.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        The trained model to start from.
    photos : list of array
        Training photos (never the test split).
    steps : int
        Adam steps.
    noise : float, optional
        Noise std on the ``[0, 1]`` scale.
    jpeg_quality : int, optional
        JPEG quality (1-100) in the loop; None for none.
    beta : float, optional
        Weight of the secret term (use the model's own, ``card["config"]["beta"]``).
    lr : float, optional
        Adam's learning rate (small: it starts from a trained model).
    size, batch_size, seed : int, optional
        Crop side, pairs per step, seed of the crops, the noise and nothing else.
    precision : str, optional
        Compute precision while training (see
        :func:`stegutils.models.resolve_precision`); the returned copy is float32.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    (stegutils.models.StegoNet, list of dict)
        The fine-tuned float32 copy and one record per step (``loss``, ``cover_loss``,
        ``secret_loss``).

    Raises
    ------
    ValueError
        For a negative ``noise``, a ``jpeg_quality`` out of 1-100 or a bad ``steps``.

    Introduced in chapter 7 (When hiding fails).
    """
    from tqdm.auto import tqdm

    steps = _integer(steps, "steps", 1, 10**9)
    noise = _number(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise must be >= 0 (a standard deviation on the [0, 1] scale), "
                         f"got {noise}")
    if jpeg_quality is not None:
        jpeg_quality = _integer(jpeg_quality, "jpeg_quality", 1, 100)

    student = copy_model(net, precision=precision)
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    optimizer.build(student.trainable_variables)

    def jpeg_loss(net, *, cover, secret, beta, noise, quantize, seed, **_):
        # compute_losses has no JPEG: the same loss, with the secret term averaged over
        # the container as saved (PNG) and the container after JPEG, so that the model
        # learns to survive JPEG without forgetting how to reveal from a PNG.
        container = net.hide_raw(cover=cover, secret=secret, training=True)
        distorted = _train.distort_container(container, noise=noise, quantize=quantize,
                                             seed=seed)
        compressed = _jpeg_straight_through(distorted, jpeg_quality)
        revealed = tf.cast(net.revealing(tf.concat([distorted, compressed], 0),
                                         training=True), tf.float32)
        cover_loss = tf.reduce_mean(tf.math.squared_difference(cover, container))
        secret_loss = tf.reduce_mean(
            tf.math.squared_difference(tf.concat([secret, secret], 0), revealed))
        return _train.Losses(cover_loss + beta * secret_loss, cover_loss, secret_loss)

    finetune_step = _train.make_step(student, optimizer, beta=beta, noise=noise,
                                     quantize=True, seed=seed,
                                     loss=None if jpeg_quality is None else jpeg_loss)

    batches = _data.random_pairs(photos, size=size, batch_size=batch_size, seed=seed)
    history = []
    for index, (secret, cover) in enumerate(tqdm(batches.take(steps), total=steps,
                                                 disable=not progress, unit="step",
                                                 desc="fine-tune")):
        total, cover_loss, secret_loss = finetune_step(cover, secret,
                                                       tf.constant(index, tf.int64))
        history.append({"step": index + 1, "loss": float(total),
                        "cover_loss": float(cover_loss), "secret_loss": float(secret_loss)})
    if _models.resolve_precision(precision) != "float32":
        student = copy_model(student)
    return student, history
