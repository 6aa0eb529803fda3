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
    "channels",
    "bars",
    "grouped_bars",
    "receptive_fields",
    "table",
    "Table",
    "network_diagram",
    "dilated_diagram",
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

    The same as :func:`stegutils.attacks.amplify_residual`, kept here because every
    figure of a residual goes through this module.

    Introduced in chapter 7 (When hiding fails).
    """
    from stegutils import attacks

    return attacks.amplify_residual(container, cover, gain=gain)


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


def five_panel(*, cover, secret, prep_output, container, revealed, metrics=None,
               rows=None, size=2.0):
    """The blog post's figure: secret, cover, prep output, container, revealed secret.

    Every image is a keyword argument, so that the panels cannot be swapped by position
    (the figure's columns keep the blog post's order, the secret first).

    Parameters
    ----------
    cover, secret, container, revealed : array-like
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


def channels(image, *, size=2.2):
    """An image and its red, green and blue channels, each drawn in grey.

    Parameters
    ----------
    image : array-like
        One ``(H, W, 3)`` float image in ``[0, 1]``.
    size : float, optional
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 2 (Preparing the data).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (height, width, 3), got {image.shape}")
    panels = [image] + [image[:, :, c] for c in range(3)]
    titles = ["RGB", "red [:, :, 0]", "green [:, :, 1]", "blue [:, :, 2]"]
    return show_images(panels, titles, size=size)


def _new_axis(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def bars(values, *, ylabel, title=None, log=False, fmt="{:.3g}", ax=None):
    """One bar per entry of ``values``, each labelled with its value.

    Parameters
    ----------
    values : dict
        ``{label: number}``, drawn in order.
    ylabel : str
        What the numbers are (with their unit).
    title : str, optional
    log : bool, optional
        A logarithmic y axis (for values of different orders of magnitude).
    fmt : str, optional
        How each value is printed above its bar.
    ax : matplotlib axis, optional
        Draw into it; a new figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 2 (Preparing the data).
    """
    if not values:
        raise ValueError("bars needs at least one value")
    labels = [str(label) for label in values]
    numbers = [float(v) for v in values.values()]
    fig, ax = _new_axis(ax, (max(3.5, 1.2 * len(labels) + 1.5), 3.2))
    drawn = ax.bar(labels, numbers, color="C0")
    ax.bar_label(drawn, labels=[fmt.format(v) for v in numbers], fontsize=8, padding=2)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.margins(y=0.15)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _opaque(fig)


def grouped_bars(table, *, ylabel, title=None, log=False, ax=None):
    """Bars in groups: one group per outer key, one bar per inner key.

    Parameters
    ----------
    table : dict of dict
        ``{group: {series: number}}``, for example
        ``{"seed": {"prep": 91600, "hide": 205053, ...}, "paper": {...}}``. A series
        missing from a group is drawn as nothing; a ``None`` value likewise (for
        example a network that a loss term does not reach).
    ylabel : str
        What the numbers are.
    title : str, optional
    log : bool, optional
        A logarithmic y axis.
    ax : matplotlib axis, optional

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 3 (Designing the networks).
    """
    if not table:
        raise ValueError("grouped_bars needs at least one group")
    groups = [str(group) for group in table]
    series = []
    for row in table.values():
        for key in row:
            if key not in series:
                series.append(key)
    fig, ax = _new_axis(ax, (max(4.5, 1.1 * len(groups) * len(series) / 2 + 2), 3.4))
    width = 0.8 / len(series)
    positions = np.arange(len(groups))
    for index, key in enumerate(series):
        heights = [table[group].get(key) for group in table]
        heights = [np.nan if h is None else float(h) for h in heights]
        ax.bar(positions + (index - (len(series) - 1) / 2) * width, heights, width,
               label=str(key), color=f"C{index}")
    ax.set_xticks(positions, groups)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _opaque(fig)


def receptive_fields(image, fields, *, center=None, size=4.0):
    """Squares on an image: how far each network sees from one pixel.

    Parameters
    ----------
    image : array-like
        ``(H, W, 3)`` float image in ``[0, 1]``.
    fields : dict
        ``{label: side}``, the side of each square in pixels (for example
        :func:`stegutils.models.receptive_field`'s values).
    center : (int, int), optional
        ``(row, column)`` of the pixel the squares are centred on (default: the
        image's centre).
    size : float, optional
        Inches of the figure's width.

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 3 (Designing the networks).
    """
    from matplotlib import patches

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image must have shape (height, width, 3), got {image.shape}")
    height, width = image.shape[:2]
    row, column = center if center is not None else (height // 2, width // 2)
    fig, ax = plt.subplots(figsize=(size, size * height / width + 0.3))
    ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
    for index, (label, side) in enumerate(fields.items()):
        side = float(side)
        square = patches.Rectangle((column - side / 2, row - side / 2), side, side,
                                   fill=False, linewidth=1.8, edgecolor=f"C{index}",
                                   label=f"{label}: {side:g} px")
        ax.add_patch(square)
    ax.plot([column], [row], "+", color="white", markersize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    fig.tight_layout()
    return _opaque(fig)


class Table:
    """Rows of values that a notebook shows as an HTML table (and prints as text).

    Made by :func:`table`; Jupyter and the built book call ``_repr_html_``.
    """

    def __init__(self, headers, rows, caption=None):
        self.headers = [str(h) for h in headers]
        self.rows = [[str(cell) for cell in row] for row in rows]
        self.caption = caption

    def _repr_html_(self):
        from html import escape

        def cells(values, tag):
            return "".join(f"<{tag}>{escape(v)}</{tag}>" for v in values)

        caption = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        head = f"<thead><tr>{cells(self.headers, 'th')}</tr></thead>"
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        return (f'<table class="table stegutils-table">{caption}{head}'
                f"<tbody>{body}</tbody></table>")

    def __str__(self):
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(self.headers, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in self.rows]
        if self.caption:
            lines.insert(0, self.caption)
        return "\n".join(lines)

    __repr__ = __str__


def table(rows, headers, *, formats=None, caption=None) -> Table:
    """A table of numbers for a page: the page computes them, this only lays them out.

    Parameters
    ----------
    rows : sequence of sequences
        One sequence of cells per row.
    headers : sequence of str
        Column names; as many as each row has cells.
    formats : sequence of str or None, optional
        A format per column (``"{:.2f}"``, ``"{:,}"``; ``None`` for ``str``). ``None``
        values are shown as a dash.
    caption : str, optional

    Returns
    -------
    Table
        Shown as an HTML table in a notebook, as aligned text by ``print``.

    Raises
    ------
    ValueError
        If a row does not have one cell per header.

    Introduced in chapter 3 (Designing the networks).
    """
    headers = list(headers)
    formats = list(formats) if formats is not None else [None] * len(headers)
    if len(formats) != len(headers):
        raise ValueError(f"got {len(formats)} formats for {len(headers)} columns")
    text_rows = []
    for index, row in enumerate(rows):
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(
                f"row {index} has {len(row)} cells, expected one per header ({len(headers)})"
            )
        text_rows.append(["\u2013" if cell is None else (fmt.format(cell) if fmt else str(cell))
                          for cell, fmt in zip(row, formats)])
    return Table(headers, text_rows, caption)


# ------------------------------------------------------------- chapter 7: when hiding fails


def attack_curves(curves, *, xlabel, ylabel="secret PSNR (dB)", reference=None,
                  reference_label="no secret hidden", ax=None, title=None, invert_x=False):
    """Quality against attack strength: one line per model or setting.

    Parameters
    ----------
    curves : dict
        ``label -> (x, y)`` or ``label -> (x, y, y_std)`` (drawn as a band).
    xlabel, ylabel : str
    reference : float, optional
        A dashed horizontal line, for example the PSNR of what the reveal network
        returns from a photo that holds no secret.
    ax : matplotlib axis, optional
    title : str, optional
    invert_x : bool, optional
        Draw the x axis from high to low (JPEG quality, resize factor: weaker attacks
        on the left).

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 7 (When hiding fails).
    """
    if not curves:
        raise ValueError("attack_curves needs at least one curve")
    fig, ax = _new_axis(ax, (5.0, 3.5))
    for label, values in curves.items():
        x, y = np.asarray(values[0], float), np.asarray(values[1], float)
        if x.shape != y.shape:
            raise ValueError(f"curve {label!r}: {x.size} x values and {y.size} y values")
        line, = ax.plot(x, y, "o-", label=label, markersize=4)
        if len(values) > 2 and values[2] is not None:
            spread = np.asarray(values[2], float)
            ax.fill_between(x, y - spread, y + spread, color=line.get_color(), alpha=0.15)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
    if invert_x:
        ax.invert_xaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _opaque(fig)


def scatter_fit(x, y, *, xlabel, ylabel, ax=None, label=None):
    """Points and their least-squares line; the legend gives Pearson's r.

    Introduced in chapter 7 (When hiding fails).
    """
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y need the same length, at least 2; got {x.size} and {y.size}")
    fig, ax = _new_axis(ax, (4.5, 3.5))
    r = float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else 0.0
    points = ax.scatter(x, y, s=12, alpha=0.6, label=label)
    slope, intercept = np.polyfit(x, y, 1)
    grid = np.linspace(x.min(), x.max(), 2)
    ax.plot(grid, slope * grid + intercept, color=points.get_facecolor()[0][:3],
            label=f"{label + ': ' if label else ''}fit, r = {r:.2f} ({x.size} images)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _opaque(fig)


def roc_curves(curves, *, ax=None, title=None):
    """ROC curves of detectors: true-positive rate against false-positive rate.

    Parameters
    ----------
    curves : dict
        ``label -> (fpr, tpr, auc)``; see :func:`stegutils.attacks.roc_curve` and
        :func:`stegutils.attacks.roc_auc`.

    Introduced in chapter 7 (When hiding fails).
    """
    if not curves:
        raise ValueError("roc_curves needs at least one curve")
    fig, ax = _new_axis(ax, (4.0, 4.0))
    for label, (fpr, tpr, auc) in curves.items():
        ax.step(fpr, tpr, where="post", label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false-positive rate (clean photos flagged)")
    ax.set_ylabel("true-positive rate (containers caught)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _opaque(fig)


__all__ += ["attack_curves", "scatter_fit", "roc_curves"]


# ------------------------------------------------------------------------- diagrams

_FORWARD = "#222222"
_COVER_GRAD = "#1f77b4"   # the cover term's gradient
_SECRET_GRAD = "#d62728"  # the secret term's gradient


def _box(ax, x, y, text, *, width=1.5, height=0.7, color="#f2f2f2", edge="#444444"):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.04", facecolor=color, edgecolor=edge,
                                linewidth=1.2, zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=3, color="#111111")


def _arrow(ax, start, end, *, color=_FORWARD, style="-|>", rad=0.0, lw=1.4, ls="-"):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12,
                                 color=color, linewidth=lw, linestyle=ls,
                                 connectionstyle=f"arc3,rad={rad}", zorder=1))


def network_diagram(*, routes: bool = True, ax=None):
    """The three networks, the two loss terms, and where each term's gradient goes.

    Forward arrows are black. With ``routes``, the gradient of the cover term (blue)
    goes back from the container through the hiding and prep networks only; the
    gradient of the secret term (red) goes back through all three networks, through the
    8-bit rounding by its straight-through estimator. The figure has a white
    background, so it reads in dark mode too.

    Parameters
    ----------
    routes : bool, optional
        Draw the gradient routes (chapter 4); without them only the forward pass
        (chapter 3).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Introduced in chapter 3 (Designing the networks) and chapter 4 (Loss and gradient flow).
    """
    fig, ax = _new_axis(ax, (10, 4.2))
    ax.set_xlim(-0.2, 11.4)
    ax.set_ylim(-0.3, 4.9)
    ax.set_axis_off()
    ax.set_facecolor("white")
    _box(ax, 0.6, 3.2, "secret $s$", width=1.2, color="#ffffff")
    _box(ax, 0.6, 1.2, "cover $c$", width=1.2, color="#ffffff")
    _box(ax, 2.6, 3.2, "prep", color="#fde9c9")
    _box(ax, 4.8, 2.2, "hide", color="#d8ecd8")
    _box(ax, 6.8, 2.2, "container $c'$", width=1.6, color="#ffffff")
    _box(ax, 8.6, 2.2, "round to\n8 bits", width=1.2, height=0.8, color="#eeeeee")
    _box(ax, 10.4, 2.2, "reveal", color="#dbe4f5")
    _box(ax, 10.4, 3.9, "revealed $s'$", width=1.6, color="#ffffff")
    _arrow(ax, (1.2, 3.2), (1.85, 3.2))
    _arrow(ax, (3.35, 3.2), (4.3, 2.5))
    _arrow(ax, (1.2, 1.2), (4.3, 1.9))
    _arrow(ax, (5.55, 2.2), (6.0, 2.2))
    _arrow(ax, (7.6, 2.2), (8.0, 2.2))
    _arrow(ax, (9.2, 2.2), (9.65, 2.2))
    _arrow(ax, (10.4, 2.55), (10.4, 3.55))
    ax.text(6.8, 0.55, "cover term\n‖c − c′‖²", ha="center", va="center",
            fontsize=10, color=_COVER_GRAD if routes else _FORWARD)
    ax.text(8.6, 3.9, "secret term\nβ ‖s − s′‖²", ha="center",
            va="center", fontsize=10, color=_SECRET_GRAD if routes else _FORWARD)
    _arrow(ax, (2.0, 1.0), (6.3, 0.7), style="-", color="#999999", lw=1.0, ls=":", rad=0.15)
    _arrow(ax, (6.8, 1.85), (6.8, 0.95), style="-", color="#999999", lw=1.0, ls=":")
    if routes:
        # Cover term: container -> hide -> prep.
        _arrow(ax, (6.3, 1.0), (5.2, 1.7), color=_COVER_GRAD, rad=-0.2, lw=2)
        _arrow(ax, (4.05, 2.2), (2.6, 2.83), color=_COVER_GRAD, rad=-0.25, lw=2)
        # Secret term: revealed -> reveal -> (straight through) -> container -> hide -> prep.
        _arrow(ax, (10.0, 3.6), (10.0, 2.6), color=_SECRET_GRAD, lw=2, rad=0.3)
        _arrow(ax, (9.7, 2.55), (6.9, 2.65), color=_SECRET_GRAD, lw=2, rad=0.25)
        _arrow(ax, (6.2, 2.65), (5.3, 2.6), color=_SECRET_GRAD, lw=2, rad=0.2)
        _arrow(ax, (4.7, 2.65), (3.3, 3.6), color=_SECRET_GRAD, lw=2, rad=0.35)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=_FORWARD, lw=1.4, label="forward"),
                   Line2D([], [], color=_COVER_GRAD, lw=2,
                          label="gradient of the cover term: hide and prep only"),
                   Line2D([], [], color=_SECRET_GRAD, lw=2,
                          label="gradient of the secret term: all three networks")]
        ax.legend(handles=handles, loc="upper center", fontsize=8.5, frameon=False,
                  bbox_to_anchor=(0.45, 1.02))
    return _opaque(fig)


def dilated_diagram(depth: int = 5, *, ax=None):
    """One network's backward pass: the chain rule, and the dilated rule's shortcut.

    The top row is the forward pass through ``depth`` ReLU convolutions. Below it, the
    true backward pass sends the gradient from each layer to the one before it through
    that layer's Jacobian (grey); the dilated rule of the blog post also adds the
    gradient arriving at every ReLU layer ``l >= 2``, unchanged, to the gradient of
    layer ``l - 1`` (red): a skip connection in the backward pass only.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    if depth < 2:
        raise ValueError(f"depth must be at least 2, got {depth}")
    fig, ax = _new_axis(ax, (10, 3.3))
    step = 1.7
    ax.set_xlim(-0.6, step * (depth + 1) + 0.6)
    ax.set_ylim(-1.6, 1.6)
    ax.set_axis_off()
    ax.set_facecolor("white")
    _box(ax, 0, 1, "$x$", width=0.8, color="#ffffff")
    for layer in range(1, depth + 1):
        _box(ax, step * layer, 1, f"$a_{layer}$", width=0.9, color="#fde9c9")
        _arrow(ax, (step * (layer - 1) + 0.45, 1), (step * layer - 0.5, 1))
        _box(ax, step * layer, -0.6, f"$\\hat g_{layer}$", width=0.9, color="#f2f2f2")
        if layer >= 2:
            _arrow(ax, (step * layer - 0.5, -0.6), (step * (layer - 1) + 0.5, -0.6),
                   color="#777777")
            _arrow(ax, (step * layer - 0.1, -0.95), (step * (layer - 1) + 0.1, -0.95),
                   color=_SECRET_GRAD, rad=-0.5, lw=1.8)
    _box(ax, step * (depth + 1) - 0.2, -0.6, "from above", width=1.2, color="#ffffff")
    _arrow(ax, (step * (depth + 1) - 0.8, -0.6), (step * depth + 0.5, -0.6), color="#777777")
    ax.text(step * 1.5, 1.6, "forward: $a_l = \\mathrm{relu}(\\mathrm{conv}(a_{l-1}))$",
            fontsize=9.5, ha="left", va="center", color="#111111")
    from matplotlib.lines import Line2D

    ax.legend(handles=[
        Line2D([], [], color="#777777", lw=1.4,
               label="chain rule: $J_l^\\top \\hat g_l$ (true backprop)"),
        Line2D([], [], color=_SECRET_GRAD, lw=1.8,
               label="dilated: $+\\,\\hat g_l$ added unchanged (backward only)")],
        loc="lower center", ncol=2, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.08))
    return _opaque(fig)
