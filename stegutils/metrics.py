"""How close a container is to its cover, and a revealed secret to the secret.

Three measures, each per image and averaged:

- **mean pixel error**: the mean absolute difference on the 0-255 scale, the figure the
  paper reports {cite}`baluja2017hiding`;
- **PSNR**: ``10 log10(1 / MSE)`` in decibels for images in ``[0, 1]``;
- **SSIM**: structural similarity {cite}`wang2004ssim`, computed by ``tf.image.ssim``.

:func:`evaluate` runs a model on pairs the way a real container travels: hidden, rounded
to 8 bits (as a PNG stores it), then revealed.

Introduced in chapter 5 (Training).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["mean_pixel_error", "psnr", "psnr_from_mse", "ssim", "image_report", "evaluate",
           "summarize", "DECIBEL_FLOOR"]

#: One grey level squared (about 48 dB): the floor under an error before its logarithm
#: is taken wherever the library optimises decibels (training's decibel weighting, the
#: refinement's objective), so a pair already near perfect stops pulling. 8-bit rounding
#: alone costs about a twelfth of it.
DECIBEL_FLOOR = (1.0 / 255.0) ** 2


def _pair(image_true, image_test):
    a = tf.convert_to_tensor(image_true, dtype=tf.float32)
    b = tf.convert_to_tensor(image_test, dtype=tf.float32)
    if a.shape != b.shape:
        raise ValueError(
            f"images must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape.rank not in (3, 4) or a.shape[-1] != 3:
        raise ValueError(
            "expected images of shape (height, width, 3) or (batch, height, width, 3), "
            f"got {tuple(a.shape)}"
        )
    if a.shape.rank == 3:
        a, b = a[tf.newaxis], b[tf.newaxis]
    return a, b


def mean_pixel_error(image_true, image_test):
    """Mean absolute error on the 0-255 scale, one value per image.

    Parameters
    ----------
    image_true, image_test : array-like
        Float images in ``[0, 1]``, ``(H, W, 3)`` or ``(B, H, W, 3)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(B,)`` (``(1,)`` for a single image).

    Introduced in chapter 5 (Training).
    """
    a, b = _pair(image_true, image_test)
    return (tf.reduce_mean(tf.abs(a - b), axis=[1, 2, 3]) * 255.0).numpy()


def psnr(image_true, image_test, *, data_range=1.0):
    """Peak signal-to-noise ratio in decibels, one value per image.

    ``10 * log10(data_range**2 / MSE)``; identical images give ``inf``.

    Parameters
    ----------
    image_true, image_test : array-like
        Images, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    data_range : float, optional
        The span of possible values: 1 for ``[0, 1]`` images (default), 255 for 0-255.

    Returns
    -------
    numpy.ndarray
        Shape ``(B,)``.

    Introduced in chapter 5 (Training).
    """
    a, b = _pair(image_true, image_test)
    mse = tf.reduce_mean(tf.math.squared_difference(a, b), axis=[1, 2, 3]).numpy()
    return psnr_from_mse(mse, data_range=data_range)


def psnr_from_mse(mse, *, data_range=1.0):
    """Decibels from a mean squared error: ``10 * log10(data_range**2 / mse)``.

    The one PSNR formula of the library (:func:`psnr` and the training log use it). A
    zero error gives ``inf``. ``mse`` is a number (returns a float) or an array.

    Introduced in chapter 5 (Training).
    """
    with np.errstate(divide="ignore"):
        value = 10.0 * np.log10(float(data_range) ** 2 / np.asarray(mse))
    return float(value) if np.ndim(value) == 0 else value


def ssim(image_true, image_test, *, data_range=1.0):
    """Structural similarity (``tf.image.ssim``, Gaussian window), one value per image.

    The window is 11 pixels wide, shrunk for images smaller than that.

    Introduced in chapter 5 (Training).
    """
    a, b = _pair(image_true, image_test)
    side = int(min(a.shape[1], a.shape[2]))
    filter_size = min(11, side)
    return tf.image.ssim(a, b, max_val=float(data_range), filter_size=filter_size).numpy()


def image_report(cover, container, secret, revealed) -> dict[str, np.ndarray]:
    """All three measures for covers against containers and secrets against reveals.

    Returns
    -------
    dict
        Keys ``cover_mpe``, ``cover_psnr``, ``cover_ssim``, ``secret_mpe``,
        ``secret_psnr``, ``secret_ssim``; values are per-image arrays.

    Introduced in chapter 5 (Training).
    """
    report = {}
    for name, (true, test) in {"cover": (cover, container),
                               "secret": (secret, revealed)}.items():
        report[f"{name}_mpe"] = mean_pixel_error(true, test)
        report[f"{name}_psnr"] = psnr(true, test)
        report[f"{name}_ssim"] = ssim(true, test)
    return report


def summarize(report: dict[str, np.ndarray]) -> dict[str, float]:
    """Means and standard deviations of a per-image report, plus the image count.

    PSNR is averaged per image (the mean of the decibel values), as is usual in the
    literature.
    """
    summary = {"images": int(len(next(iter(report.values()))))}
    for key, values in report.items():
        values = np.asarray(values, dtype=np.float64)
        summary[key] = float(np.mean(values))
        summary[f"{key}_std"] = float(np.std(values))
    return summary


def evaluate(net, *, covers, secrets, quantize=True, batch_size=16):
    """Hide each secret in its cover, reveal it, and measure both.

    Parameters
    ----------
    net : stegutils.models.StegoNet
    covers, secrets : array-like, keyword-only
        ``(B, H, W, 3)`` float images in ``[0, 1]``; ``secrets[i]`` is hidden in
        ``covers[i]``.
    quantize : bool, optional
        Round containers to 8 bits before revealing, as a PNG file would (default).
    batch_size : int, optional

    Returns
    -------
    dict
        The per-image report of :func:`image_report`.

    Introduced in chapter 5 (Training).
    """
    containers = net.hide(covers, secrets, quantize=quantize, batch_size=batch_size)
    revealed = net.reveal(containers, batch_size=batch_size)
    return image_report(covers, containers, secrets, revealed)
