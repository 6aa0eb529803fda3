"""Every figure the book shows, as functions that the pages, widgets and tests share.

Figures have an opaque white background so that they read in dark mode too.

Introduced in chapter 2 (Preparing the data) and used in every chapter after it.
"""

from __future__ import annotations

import numpy as np
import matplotlib

matplotlib.rcParams.setdefault("savefig.facecolor", "white")

from matplotlib import pyplot as plt  # noqa: E402  (after the backend-neutral setting)

__all__ = [
    "feature_image",
    "residual_image",
    "show_images",
    "five_panel",
    "training_curves",
    "tradeoff",
]


def _opaque(fig):
    fig.patch.set_facecolor("white")
    fig.patch.set_alpha(1.0)
    return fig


def feature_image(features) -> np.ndarray:
    """Show many feature channels as one RGB picture.

    The prep network's output has dozens of channels; this projects them onto their
    three principal components (per image) and stretches each to ``[0, 1]``, so that
    structure that the channels share shows up as colour.

    Parameters
    ----------
    features : array-like
        ``(H, W, C)`` with ``C >= 1``.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` float32 in ``[0, 1]``.

    Introduced in chapter 3 (Designing the networks).
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 3:
        raise ValueError(f"features must have shape (height, width, channels), got {features.shape}")
    height, width, channels = features.shape
    flat = features.reshape(-1, channels)
    flat = flat - flat.mean(axis=0)
    if channels >= 3:
        _, _, vt = np.linalg.svd(flat, full_matrices=False)
        projected = flat @ vt[:3].T
    else:
        projected = np.repeat(flat[:, :1], 3, axis=1)
    low = np.percentile(projected, 1, axis=0)
    high = np.percentile(projected, 99, axis=0)
    scaled = (projected - low) / np.maximum(high - low, 1e-12)
    return np.clip(scaled, 0, 1).reshape(height, width, 3).astype(np.float32)


def residual_image(container, cover, *, gain: float = 10.0) -> np.ndarray:
    """``|container - cover| * gain``, clipped to ``[0, 1]``: what the hiding changed.

    Introduced in chapter 7 (When hiding fails).
    """
    if gain <= 0:
        raise ValueError(f"gain must be positive, got {gain}")
    diff = np.abs(np.asarray(container, np.float32) - np.asarray(cover, np.float32))
    return np.clip(diff * gain, 0.0, 1.0)


def show_images(images, titles=None, *, ncols=None, size=2.2, suptitle=None):
    """Draw images in a grid, one axis each, without ticks.

    Parameters
    ----------
    images : sequence of arrays
        ``(H, W, 3)`` float images in ``[0, 1]`` (or ``(H, W)`` grey).
    titles : sequence of str, optional
    ncols : int, optional
        Columns (default: all in one row).
    size : float, optional
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 2 (Preparing the data).
    """
    images = [np.asarray(image) for image in images]
    if not images:
        raise ValueError("show_images needs at least one image")
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index < len(images):
            image = images[index]
            ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None,
                      vmin=0, vmax=1, interpolation="nearest")
            if titles is not None and index < len(titles):
                ax.set_title(titles[index], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return _opaque(fig)


def five_panel(secret, cover, prep_output, container, revealed, *, metrics=None,
               rows=None, size=2.0):
    """The blog post's figure: secret, cover, prep output, container, revealed secret.

    Parameters
    ----------
    secret, cover, container, revealed : array-like
        ``(B, H, W, 3)`` or ``(H, W, 3)`` float images.
    prep_output : array-like
        The prep network's features, ``(B, h, w, C)`` or ``(h, w, C)``; drawn with
        :func:`feature_image`.
    metrics : dict, optional
        A per-image report (:func:`stegutils.metrics.image_report`); when given, each
        row's container and revealed panels are titled with their PSNR.
    rows : int, optional
        How many pairs to draw (default: all).

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 5 (Training).
    """
    arrays = [np.asarray(a) for a in (secret, cover, prep_output, container, revealed)]
    if arrays[0].ndim == 3:
        arrays = [a[np.newaxis] for a in arrays]
    count = arrays[0].shape[0] if rows is None else min(rows, arrays[0].shape[0])
    headers = ["secret", "cover", "prep output", "container", "revealed secret"]
    fig, axes = plt.subplots(count, 5, figsize=(5 * size, count * size + 0.4), squeeze=False)
    for row in range(count):
        panels = [arrays[0][row], arrays[1][row], feature_image(arrays[2][row]),
                  arrays[3][row], arrays[4][row]]
        for column, (ax, image) in enumerate(zip(axes[row], panels)):
            ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            title = headers[column] if row == 0 else ""
            if metrics is not None and column in (3, 4):
                key = "cover_psnr" if column == 3 else "secret_psnr"
                value = f"{float(metrics[key][row]):.1f} dB"
                title = f"{title}\n{value}" if title else value
            if title:
                ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _opaque(fig)


def training_curves(history, *, keys=("cover_psnr", "secret_psnr"), ax=None, label=None):
    """PSNR (or any logged key) against step from a run's history.

    Parameters
    ----------
    history : list of dict
        Records as :meth:`stegutils.train.Trainer.history` returns them.
    keys : sequence of str, optional
        Which records to draw; validation keys (``val_...``) are drawn as markers.
    ax : matplotlib axis, optional
        Draw into it (to overlay runs); a new figure otherwise.
    label : str, optional
        Prefix for the legend entries.

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 5 (Training).
    """
    if not history:
        raise ValueError("the history is empty: train for at least one logged step")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for key in keys:
        points = [(r["step"], r[key]) for r in history if key in r]
        if not points:
            raise ValueError(f"no record in the history has {key!r}; keys: {sorted(history[-1])}")
        steps, values = zip(*points)
        name = key.replace("_", " ")
        style = "o" if key.startswith("val_") else "-"
        ax.plot(steps, values, style, label=f"{label}: {name}" if label else name)
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)" if all("psnr" in k for k in keys) else "value")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _opaque(fig)


def tradeoff(cover_values, secret_values, labels=None, *, xlabel="cover PSNR (dB)",
             ylabel="secret PSNR (dB)", ax=None):
    """A trade-off curve: one point per run (for example one per beta).

    Introduced in chapter 4 (Loss and gradient flow).
    """
    if len(cover_values) != len(secret_values):
        raise ValueError("cover_values and secret_values must have the same length")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
    else:
        fig = ax.figure
    ax.plot(cover_values, secret_values, "o-")
    for index, label in enumerate(labels or []):
        ax.annotate(str(label), (cover_values[index], secret_values[index]),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _opaque(fig)
