"""The playground: pick or upload a cover and a secret, hide, attack, reveal and measure.

Introduced in chapter 8 (Playground).

One call opens it in a notebook (JupyterLab, classic Notebook or Colab; plain
ipywidgets, no custom JavaScript)::

    from stegutils import widgets
    widgets.playground()            # displays itself; keep the object to read its state

The pieces it is made of are plain functions that the book's static figure and the tests
share with the widget:

- :func:`prepare_pair` brings a cover and a secret to the working size (and the secret to
  the cover's size) and rounds both to 8 bits, saying what it changed;
- :func:`apply_attack` does to a container what a channel might: JPEG at a quality,
  Gaussian noise, resizing down and back;
- :func:`playground_panels` runs one model on one pair and returns every image the
  playground shows, with their metrics (a :class:`Panels`);
- :func:`playground_figure` draws a :class:`Panels` with matplotlib, for pages read
  without a kernel;
- :func:`playground_photos` names the pictures it offers;
- :func:`device_name` says where the model runs: the first GPU TensorFlow sees, else
  the CPU.

Every number the playground prints is computed from the 8-bit images it shows (and lets
you download), so the numbers stay honest whatever precision the model computes in.

TensorFlow is imported through :mod:`stegutils.quiet`, so that its start-up lines (and
the CUDA probe of a machine without a GPU) never reach a cell's output, and its
warnings about retracing a model for a new picture size stay out of the playground.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import html
import io
import logging
import pathlib
import time

import numpy as np
from PIL import Image as _PILImage

# Before anything imports TensorFlow, and even after: the quiet import also creates the
# devices with standard error silenced (the CUDA probe is what prints on a CPU machine).
from stegutils.quiet import import_tensorflow as _import_tensorflow

tf = _import_tensorflow()

from stegutils import attacks as _attacks  # noqa: E402
from stegutils import data as _data  # noqa: E402
from stegutils import metrics as _metrics  # noqa: E402
from stegutils import plot as _plot  # noqa: E402
from stegutils import pretrained as _pretrained  # noqa: E402
from stegutils import refine as _refine  # noqa: E402
from stegutils import runs as _runs  # noqa: E402

__all__ = [
    "WORKING_SIZE",
    "ATTACKS",
    "Panels",
    "Playground",
    "playground",
    "playground_panels",
    "playground_figure",
    "playground_photos",
    "prepare_pair",
    "apply_attack",
    "device_name",
    "describe_device",
    "png_bytes",
    "ROBUST_MODEL",
    "FLOOR_MARGIN_DB",
]

#: The longer side, in pixels, that the playground brings larger images down to: the
#: shipped models hide and reveal a 256 px pair in a fraction of a second on a laptop CPU.
WORKING_SIZE = 256

#: The attacks the playground offers: key, label, the meaning of its strength, and the
#: strength's default.
ATTACKS = {
    "none": ("no attack", None, None),
    "jpeg": ("JPEG", "quality (1-100)", 75),
    "noise": ("Gaussian noise", "standard deviation in 0-255 levels", 4.0),
    "resize": ("resize down and back", "scale of the smaller copy (0-1]", 0.5),
}

#: The model trained through a channel (JPEG, resizing, noise, crops) that the playground
#: points to when an attack has wiped the secret; shipped or not, the text says which.
ROBUST_MODEL = "robust"

#: A revealed secret whose PSNR is less than this many dB above the floor (what the
#: reveal network returns from the cover alone, nothing hidden) is said to be gone.
FLOOR_MARGIN_DB = 2.0

_DEFAULT_COVER = "china"
_DEFAULT_SECRET = "flower"


# ------------------------------------------------------------------------------ device


def _gpus():
    # One place to ask, so that tests can hide (or pretend) GPUs.
    return tf.config.list_physical_devices("GPU")


def device_name() -> str:
    """The TensorFlow device the playground runs its model on.

    Returns
    -------
    str
        ``"/GPU:0"`` when TensorFlow sees a GPU, else ``"/CPU:0"``.

    Introduced in chapter 8 (Playground).
    """
    return "/GPU:0" if _gpus() else "/CPU:0"


def describe_device(device: str | None = None) -> str:
    """The device in words, for a reader: ``"GPU (/GPU:0)"`` or ``"CPU (...)"``.

    Introduced in chapter 8 (Playground).
    """
    device = device_name() if device is None else device
    if "GPU" in device.upper():
        return f"GPU ({device})"
    return "CPU (TensorFlow sees no GPU)"


# ------------------------------------------------------------------------------ images


def png_bytes(image) -> bytes:
    """One image as PNG file bytes (rounded to 8 bits), as the widgets show it.

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)``, float in ``[0, 1]`` or ``uint8``.

    Returns
    -------
    bytes
        A PNG file. Fast compression: the playground re-encodes on every update.

    Introduced in chapter 8 (Playground).
    """
    pixels = _data.to_uint8(_data.to_float(image))
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"expected one RGB image (height, width, 3), got shape {pixels.shape}")
    buffer = io.BytesIO()
    _PILImage.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _as_8bit(image):
    """The image as a file (or the widget) holds it: float32 on the 8-bit grid."""
    return _data.to_float(_data.to_uint8(image))


def _size_text(image):
    return f"{image.shape[1]}x{image.shape[0]}"


def _downscaled(what, before, after, working_size):
    return (f"{what} ({_size_text(before)}) was downscaled to {_size_text(after)}: the "
            f"working size is {working_size} px on the longer side "
            "(playground(working_size=...) changes it).")


def prepare_pair(cover, secret, *, working_size: int | None = WORKING_SIZE):
    """Bring a cover and a secret to what the playground hides: same size, 8 bits.

    The cover is shrunk (keeping its shape) so that its longer side is at most
    ``working_size``; the secret is then resized to the cover's exact size (area
    averaging to shrink, bicubic to enlarge, as ``stegutils hide`` does). Both are
    rounded to 8 bits, as the picture files they stand for would be.

    Parameters
    ----------
    cover, secret : array_like
        ``(height, width, 3)`` images, float in ``[0, 1]`` or ``uint8``; any sizes.
    working_size : int or None, optional
        The longest side allowed; ``None`` keeps the cover's size.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, list of str)
        The cover, the secret (``float32``, same shape) and notices that say what was
        changed, for the reader.

    Raises
    ------
    ValueError, TypeError
        If either is not an image or ``working_size`` is not a positive int.

    Introduced in chapter 8 (Playground).
    """
    cover = _data.to_float(cover, what="cover")
    secret = _data.to_float(secret, what="secret")
    notices = []
    if working_size is not None:
        fitted = _data.fit_within(cover, working_size)
        if fitted.shape != cover.shape:
            notices.append(_downscaled("The cover", cover, fitted, working_size))
        cover = fitted
    if secret.shape != cover.shape:
        enlarging = secret.shape[0] * secret.shape[1] < cover.shape[0] * cover.shape[1]
        original = _size_text(secret)
        if working_size is not None and not enlarging:
            # Shrink in one step of area averaging; the second resize below is exact.
            secret = _data.fit_within(secret, max(cover.shape[:2]))
        secret = _data.fit_secret(secret, cover.shape[:2])
        notices.append(
            f"The secret ({original}) was resized to the cover's size ({_size_text(cover)}), "
            "ignoring its aspect ratio: a container holds a secret of its own size."
        )
    return _as_8bit(cover), _as_8bit(secret), notices


# ----------------------------------------------------------------------------- attacks

def _check_strength(attack, strength):
    if attack == "jpeg" and not 1 <= strength <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {strength}")
    if attack == "noise" and strength < 0:
        raise ValueError(f"the noise's standard deviation must be >= 0, got {strength}")
    if attack == "resize" and not 0 < strength <= 1:
        raise ValueError(f"the resize scale must be in (0, 1], got {strength}")


def apply_attack(container, attack: str = "none", strength=None, *, seed: int = 0,
                 chroma_subsampling: bool = True):
    """Do to a container what a channel might, and round the result to 8 bits.

    The attacks are :mod:`stegutils.attacks`' (``jpeg``, ``gaussian_noise``,
    ``downscale``), in the playground's units.

    Parameters
    ----------
    container : array_like
        One image ``(height, width, 3)``, float in ``[0, 1]``.
    attack : {"none", "jpeg", "noise", "resize"}, optional
        See :data:`ATTACKS`.
    strength : float, optional
        JPEG quality (1-100); the noise's standard deviation in 0-255 levels; the scale
        of the smaller copy for resizing, in ``(0, 1]``. Default: :data:`ATTACKS`'.
    seed : int, optional
        Seed of the noise, so that the same settings give the same image.
    chroma_subsampling : bool, optional
        JPEG only: True (default, Pillow's and most sites' choice) stores the two colour
        channels at half resolution (4:2:0), at every quality; False keeps them whole
        (4:4:4).

    Returns
    -------
    numpy.ndarray
        The attacked container, ``float32`` on the 8-bit grid, the container's shape.

    Raises
    ------
    ValueError
        For an unknown attack or a strength out of range.

    Introduced in chapter 8 (Playground).
    """
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {sorted(ATTACKS)}, got {attack!r}")
    image = _data.to_float(container, what="container")
    if attack == "none":
        return _as_8bit(image)
    strength = ATTACKS[attack][2] if strength is None else float(strength)
    _check_strength(attack, strength)
    # Noise: the widget speaks in 0-255 levels, the library in [0, 1].
    value = strength / 255.0 if attack == "noise" else strength
    if attack == "jpeg":
        value = int(round(strength))
    if attack == "jpeg":
        attacked = _attacks.jpeg(image, value, chroma_subsampling=bool(chroma_subsampling))
    elif attack == "noise":
        attacked = _attacks.gaussian_noise(image, value, seed=seed)
    else:
        attacked = _attacks.downscale(image, value)
    return _as_8bit(np.clip(np.asarray(attacked, dtype=np.float32), 0.0, 1.0))


def _subsampling_text(chroma_subsampling):
    return "4:2:0" if chroma_subsampling else "4:4:4"


def _attack_title(attack, strength, chroma_subsampling=True):
    if attack == "none":
        return "no attack"
    strength = ATTACKS[attack][2] if strength is None else strength
    if attack == "jpeg":
        return f"JPEG quality {int(round(strength))}, {_subsampling_text(chroma_subsampling)}"
    if attack == "noise":
        return f"Gaussian noise, sd {strength:g}/255"
    return f"resized to {strength:g}x and back"


# ------------------------------------------------------------------------------ panels


@dataclasses.dataclass
class Panels:
    """Every image the playground shows for one pair, and what was measured on them.

    All images are ``float32`` ``(height, width, 3)`` on the 8-bit grid (exactly what
    the widget's PNG files hold), except ``residual``, which is drawn from them.

    Attributes
    ----------
    cover, secret : numpy.ndarray
        The pair, after :func:`prepare_pair`.
    container : numpy.ndarray
        ``net.hide(cover, secret, strength=residual_strength)``, refined for
        ``refine_steps`` steps when there are any (:func:`stegutils.refine.refine`,
        starting from that container), rounded to 8 bits.
    attacked : numpy.ndarray
        The container after :func:`apply_attack` (the container itself without one).
    revealed : numpy.ndarray
        ``net.reveal(attacked)``, rounded to 8 bits.
    residual : numpy.ndarray
        ``stegutils.plot.residual_image(container, cover, gain=gain)``.
    report : dict
        :func:`stegutils.metrics.image_report` of ``(cover, container)`` and
        ``(secret, revealed)``, as floats.
    gain, attack, strength, chroma_subsampling : the settings that made them
        (``chroma_subsampling`` matters for JPEG only: True is 4:2:0, False 4:4:4).
    residual_strength : float
        The factor of the hidden residual (:func:`stegutils.models.scale_residual`;
        1 is the model as trained).
    refine_steps : int
        Steps of :func:`stegutils.refine.refine` after hiding (0: none).
    notices : list of str
        What :func:`prepare_pair` changed.
    timings : dict
        Seconds spent in ``hide``, ``refine`` and ``reveal`` (the model calls).
    model, device : str
        The model's label and the device it ran on.
    floor : dict or None
        With an attack, in the playground: the *floor*, ``secret_psnr``, ``secret_ssim``
        and ``secret_mpe`` of what the reveal network returns from the cover alone
        (nothing hidden in it) against the secret, and ``flat_psnr``, the PSNR of a flat
        picture of the secret's average colour. A revealed secret near them carries
        nothing of the secret.
    """

    cover: np.ndarray
    secret: np.ndarray
    container: np.ndarray
    attacked: np.ndarray
    revealed: np.ndarray
    residual: np.ndarray
    report: dict
    gain: float = 10.0
    attack: str = "none"
    strength: float | None = None
    notices: list = dataclasses.field(default_factory=list)
    timings: dict = dataclasses.field(default_factory=dict)
    model: str = ""
    device: str = ""
    chroma_subsampling: bool = True
    floor: dict | None = None
    residual_strength: float = 1.0
    refine_steps: int = 0

    def images(self) -> dict[str, np.ndarray]:
        """The panels in the order they are drawn, by title (attacked only with an attack)."""
        images = {"cover": self.cover, "secret": self.secret, "container": self.container}
        if self.attack != "none":
            images["attacked container"] = self.attacked
        images["revealed secret"] = self.revealed
        images[f"residual x{self.gain:g}"] = self.residual
        return images


@contextlib.contextmanager
def _no_retracing_warnings():
    """Keep TensorFlow's Python warnings (a model retraced for a new picture size) quiet.

    Every new size of picture traces the model's graphs again, and after a few TensorFlow
    logs a warning about expensive retracing; in the playground that is expected.
    """
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _hide(net, cover, secret, device, residual_strength=1.0, refine_steps=0, refiners=None):
    """The 8-bit container, the seconds hiding took and the seconds refining took."""
    start = time.perf_counter()
    with _no_retracing_warnings(), tf.device(device):
        container = net.hide(cover, secret, quantize=not refine_steps,
                             strength=residual_strength)
        hidden = time.perf_counter()
        if refine_steps:
            container = _refine.refine(net, cover, secret, container=container,
                                       spec=_refine.RefineSpec(steps=int(refine_steps)),
                                       _refiners=refiners)
    return _as_8bit(container), hidden - start, time.perf_counter() - hidden


def _reveal(net, container, device):
    start = time.perf_counter()
    with _no_retracing_warnings(), tf.device(device):
        revealed = net.reveal(container)
    return _as_8bit(revealed), time.perf_counter() - start


def _floor(secret, nothing_revealed):
    """The secret's metrics of a reveal from the bare cover, and of a flat average."""
    flat = np.broadcast_to(secret.mean(axis=(0, 1), keepdims=True), secret.shape)
    return {
        "secret_psnr": float(_metrics.psnr(secret, nothing_revealed)[0]),
        "secret_ssim": float(_metrics.ssim(secret, nothing_revealed)[0]),
        "secret_mpe": float(_metrics.mean_pixel_error(secret, nothing_revealed)[0]),
        "flat_psnr": float(_metrics.psnr(secret, _as_8bit(flat))[0]),
    }


def _report(cover, container, secret, revealed):
    report = _metrics.image_report(cover, container, secret, revealed)
    return {key: float(np.asarray(value).reshape(-1)[0]) for key, value in report.items()}


def playground_panels(net, cover, secret, *, gain: float = 10.0, attack: str = "none",
                      strength=None, working_size: int | None = WORKING_SIZE,
                      device: str | None = None, seed: int = 0, model: str = "",
                      chroma_subsampling: bool = True,
                      residual_strength: float = 1.0, refine_steps: int = 0) -> Panels:
    """Hide, attack, reveal and measure one pair: everything the playground shows.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        The model (:func:`stegutils.pretrained.load`).
    cover, secret : array_like
        ``(height, width, 3)`` images of any sizes (see :func:`prepare_pair`).
    gain : float, optional
        How much the residual ``|container - cover|`` is amplified.
    attack, strength, seed, chroma_subsampling : optional
        What happens to the container before it is revealed (:func:`apply_attack`).
    working_size : int or None, optional
        The longer side the pair is brought down to (:func:`prepare_pair`).
    device : str, optional
        The TensorFlow device; default :func:`device_name`.
    model : str, optional
        The model's label, for titles.
    residual_strength : float, optional
        The factor of the hidden residual (1, the default, is the model as trained;
        see :func:`stegutils.models.scale_residual`).
    refine_steps : int, optional
        Refine the container for this many steps against the reveal network, through
        the channel (:func:`stegutils.refine.refine` with its default setting otherwise;
        0, the default, does not).

    Returns
    -------
    Panels

    Introduced in chapter 8 (Playground).
    """
    device = device_name() if device is None else device
    cover, secret, notices = prepare_pair(cover, secret, working_size=working_size)
    if isinstance(refine_steps, bool) or not isinstance(refine_steps, int) or refine_steps < 0:
        raise ValueError(f"refine_steps must be a whole number >= 0, got {refine_steps!r}")
    container, hide_seconds, refine_seconds = _hide(net, cover, secret, device,
                                                    residual_strength, refine_steps)
    attacked = container if attack == "none" else apply_attack(
        container, attack, strength, seed=seed, chroma_subsampling=chroma_subsampling)
    revealed, reveal_seconds = _reveal(net, attacked, device)
    return Panels(
        cover=cover, secret=secret, container=container, attacked=attacked,
        revealed=revealed, residual=_plot.residual_image(container, cover, gain=gain),
        report=_report(cover, container, secret, revealed), gain=float(gain),
        attack=attack, strength=strength, notices=notices,
        timings={"hide": hide_seconds, "refine": refine_seconds, "reveal": reveal_seconds},
        model=model, device=device, chroma_subsampling=bool(chroma_subsampling),
        residual_strength=float(residual_strength), refine_steps=int(refine_steps),
    )


def playground_figure(panels, *, size: float = 2.4):
    """Draw the playground's panels with matplotlib: the static page's figure.

    Parameters
    ----------
    panels : Panels or Playground
        What :func:`playground_panels` returned, or a playground (its current panels).
    size : float, optional
        Inches per panel.

    Returns
    -------
    matplotlib.figure.Figure
        Cover, secret, container (titled with the cover's PSNR and SSIM), the attacked
        container when there is an attack, the revealed secret (titled with the
        secret's) and the amplified residual, in one row.

    Introduced in chapter 8 (Playground).
    """
    if isinstance(panels, Playground):
        panels = panels.panels
    if not isinstance(panels, Panels):
        raise TypeError(
            "playground_figure expected the Panels of playground_panels (or a Playground), "
            f"got {type(panels).__name__}"
        )
    report = panels.report
    titles = []
    for name in panels.images():
        if name == "container":
            name += f"\n{report['cover_psnr']:.1f} dB, SSIM {report['cover_ssim']:.3f}"
        elif name == "attacked container":
            name = ("after " + _attack_title(panels.attack, panels.strength,
                                             panels.chroma_subsampling))
        elif name == "revealed secret":
            name += f"\n{report['secret_psnr']:.1f} dB, SSIM {report['secret_ssim']:.3f}"
        titles.append(name)
    where = f"model {panels.model}, " if panels.model else ""
    suptitle = (f"{where}{_size_text(panels.cover)} px; mean pixel error: cover "
                f"{report['cover_mpe']:.1f}, secret {report['secret_mpe']:.1f} (0-255)")
    return _plot.show_images(list(panels.images().values()), titles, size=size,
                             suptitle=suptitle)


# ------------------------------------------------------------------------------ widget


def _made_here(size):
    """Two pictures made here: a flat grey cover and a colourful secret."""
    flat = np.full((size, size, 3), 0.5, np.float32)
    # A hue sweep across, fading towards white downwards: nearly every colour there is.
    hue = np.linspace(0.0, 1.0, size, endpoint=False, dtype=np.float32)[None, :]
    saturation = np.linspace(1.0, 0.2, size, dtype=np.float32)[:, None]
    channels = []
    for offset in (0.0, 2 / 3, 1 / 3):
        wave = np.clip(np.abs(((hue + offset) % 1.0) * 6 - 3) - 1, 0, 1)
        channels.append(1 - saturation * (1 - wave))
    colours = np.stack(np.broadcast_arrays(*channels), axis=-1).astype(np.float32)
    return {"flat grey": flat, "colour sweep": colours}


def playground_photos(*, size: int = WORKING_SIZE) -> dict[str, np.ndarray]:
    """The pictures the playground offers, by name.

    Parameters
    ----------
    size : int, optional
        Side of the two square pictures made here.

    Returns
    -------
    dict of str to numpy.ndarray
        The built-in photos (:func:`stegutils.data.builtin_photos`, by their names in
        :data:`stegutils.data.BUILTIN_PHOTOS`; read-only), then ``"flat grey"`` (a flat
        cover) and ``"colour sweep"`` (a secret with nearly every hue), ``size`` x
        ``size``.

    Introduced in chapter 8 (Playground).
    """
    photos = _data.builtin_photos(named=True)
    photos.update(_made_here(size))
    return photos


def _table(report, attack_title, floor=None):
    def number(value, digits):
        return "inf" if np.isinf(value) else f"{value:.{digits}f}"

    right = "style='text-align:right;padding:2px 10px'"
    head = "style='text-align:right;padding:2px 10px;white-space:nowrap'"
    rows = [("cover", "container vs cover", report),
            ("secret", "revealed vs secret", report)]
    if floor is not None:
        rows.append(("secret", "floor: revealed from the cover alone", floor))
    cells = "".join(
        f"<tr><td style='padding:2px 10px 2px 0;white-space:nowrap'>{html.escape(label)}</td>"
        f"<td {right}>{number(values[f'{key}_psnr'], 2)}</td>"
        f"<td {right}>{number(values[f'{key}_ssim'], 4)}</td>"
        f"<td {right}>{number(values[f'{key}_mpe'], 2)}</td></tr>"
        for key, label, values in rows
    )
    caption = ("no attack: the secret revealed from the container as it is"
               if attack_title == "no attack" else f"the secret revealed after {attack_title}")
    return (f"<table style='border-collapse:collapse'><caption style='text-align:left;"
            f"color:#555;white-space:nowrap'>{html.escape(caption)}</caption>"
            f"<tr><th></th><th {head}>PSNR (dB)</th><th {head}>SSIM</th>"
            f"<th {head}>mean pixel error (0-255)</th></tr>" + cells + "</table>")


def _download_link(filename, png, text):
    encoded = base64.b64encode(png).decode("ascii")
    return (f"<a download='{html.escape(filename)}' href='data:image/png;base64,{encoded}' "
            f"target='_blank' style='white-space:nowrap'>&#x2B07; {html.escape(text)}</a>")


def _ms(seconds):
    return int(round(1000 * seconds))


def _timing_text(timings):
    """The status line's account of the last update: its parts add up to its total."""
    loaded = bool(timings.get("load"))
    load, model = _ms(timings.get("load", 0.0)), _ms(timings.get("model", 0.0))
    total = max(_ms(timings["update"]), load + model)
    pieces = []
    if loaded:
        pieces.append(f"loading the model {load} ms")
    notes = [f"refining the container {_ms(timings['refine'])} ms of it"] \
        if timings.get("refine") else []
    if loaded:
        notes.append("a model's first run also traces its graphs")
    pieces.append(f"running the networks {model} ms"
                  + (f" ({'; '.join(notes)})" if notes else ""))
    pieces.append(f"attack, metrics and drawing {total - load - model} ms")
    return f"last update {total} ms = " + " + ".join(pieces)


# ------------------------------------------------------------------------ model notes

_SOURCES = {"bsds500": "BSDS500", "builtin": "built-in"}


def _variant_description(variant):
    from stegutils import models as _models

    found = _models.VARIANTS.get(variant)
    return None if found is None else found.description


def _heldout(info, working_size):
    """A card's held-out measurements at the size nearest the working size, or None.

    Returns ``(size, figures, data)``: the card's ``heldout.sizes[size]`` (with
    ``cover_psnr`` and ``secret_psnr``) and ``heldout.data`` (what was measured on).
    """
    heldout = info.get("heldout")
    if not isinstance(heldout, dict) or not isinstance(heldout.get("sizes"), dict):
        return None
    usable = {}
    for size, figures in heldout["sizes"].items():
        try:
            size = int(size)
        except (TypeError, ValueError):
            continue
        if isinstance(figures, dict) and all(
                isinstance(figures.get(key), (int, float)) for key in ("cover_psnr",
                                                                       "secret_psnr")):
            usable[size] = figures
    if not usable:
        return None
    target = working_size or max(usable)
    size = min(usable, key=lambda s: (abs(s - target), -s))
    data = heldout.get("data") if isinstance(heldout.get("data"), dict) else {}
    return size, usable[size], data


def _describe_model(key, kind, working_size):
    """(label for the Model menu, one line of HTML about the model) for a shipped model
    (``kind="shipped"``) or a run folder (``kind="run"``)."""
    name = pathlib.Path(key).name if kind == "run" else key
    if kind == "run":
        folder = _runs.RunDir(key)
        try:
            config = folder.config()
        except ValueError as error:
            return f"run: {name} (not readable)", html.escape(f"run: {name}: {error}")
        what = _variant_description(config.variant)
        line = f"<b>run: {html.escape(name)}</b>, variant {html.escape(config.variant)}"
        if what:
            line += f": {html.escape(what)}"
        record = None
        with contextlib.suppress(OSError, ValueError):
            record = folder.best()
        if isinstance(record, dict) and all(isinstance(record.get(k), (int, float)) for k in
                                            ("val_cover_psnr", "val_secret_psnr")):
            cover, secret = record["val_cover_psnr"], record["val_secret_psnr"]
            label = f"run: {name} (validation: cover {cover:.1f} dB, secret {secret:.1f} dB)"
            line += (f". Its best weights (step {record.get('step')}) scored cover "
                     f"{cover:.2f} dB, secret {secret:.2f} dB PSNR on its validation photos.")
        else:
            label = f"run: {name}"
            line += ". No validation record yet (best.json)."
        return label, line
    try:
        info = _pretrained.card(key)
    except ValueError as error:
        return f"{name} (no model card)", html.escape(str(error))
    what = info.get("description")
    if not isinstance(what, str) or not what.strip():
        what = _variant_description(info.get("variant"))
    line = f"<b>{html.escape(name)}</b>"
    if info.get("variant") and info.get("variant") != name:
        line += f", variant {html.escape(str(info['variant']))}"
    if what:
        line += f": {html.escape(what)}"
    heldout = _heldout(info, working_size)
    if heldout is None:
        return (f"{name} (shipped; no held-out figures)",
                line + ". Its model card holds no held-out measurements yet.")
    size, figures, data = heldout
    cover, secret = figures["cover_psnr"], figures["secret_psnr"]
    label = f"{name}: held-out cover {cover:.1f} dB, secret {secret:.1f} dB"
    source = data.get("source")
    photos = " ".join(str(part) for part in (
        figures.get("images"), _SOURCES.get(source, source), data.get("split"))
        if part is not None)
    line += (f". Held out ({photos or 'unnamed'} photos, {size} px"
             + (f", {data['containers']} containers" if data.get("containers") else "")
             + f", from its model card): cover {cover:.2f} dB, secret {secret:.2f} dB PSNR.")
    return label, line


# --------------------------------------------------------------------------- verdicts


def _robust_hint(current, offered):
    """Where to find a model trained through the channel, as things are."""
    if current == ROBUST_MODEL:
        return ("This is already the robust model: this attack is too strong for it too; "
                "try a milder setting.")
    shipped = ROBUST_MODEL in _pretrained.list()
    trained = "the robust variant"
    if shipped:
        with contextlib.suppress(ValueError):
            if (_pretrained.card(ROBUST_MODEL).get("config") or {}).get("channel"):
                trained = "trained through a simulated channel (JPEG, resizing, noise, crops)"
    if ROBUST_MODEL in offered:
        return (f"Pick <b>{ROBUST_MODEL}</b> in the Model menu ({trained}) to see what a "
                "model trained for this keeps.")
    if shipped:
        return (f"The shipped <b>{ROBUST_MODEL}</b> model ({trained}) is made for this: "
                f"<code>widgets.playground(model=\"{ROBUST_MODEL}\")</code> offers it.")
    return (f"A model trained through JPEG, resizing and noise (the <b>{ROBUST_MODEL}</b> "
            "variant) is made for this, but none is shipped with this version of the "
            f"library yet: <code>stegutils train --variant {ROBUST_MODEL} --channel '{{}}'"
            "</code> trains one, and <code>widgets.playground(runs=[\"runs/...\"])</code> "
            "opens it here.")


def _why(attack, strength, chroma_subsampling, cover_mpe):
    if attack == "jpeg":
        if chroma_subsampling:
            return ("JPEG with 4:2:0 chroma subsampling stores the two colour channels at "
                    "half resolution, at every quality (even 100), and fine colour detail is "
                    "where this kind of network writes much of the secret.")
        return (f"JPEG at quality {int(round(strength))} rounds away the fine detail where "
                "the hiding network writes the secret.")
    if attack == "noise":
        return (f"Noise of {strength:g} levels is large next to the changes that carry the "
                f"secret: the container differs from the cover by {cover_mpe:.1f} levels on "
                "average.")
    return (f"Shrinking to {strength:g}x and back loses the detail finer than the small "
            "copy's pixels, where the hiding network writes the secret.")


def _is_gone(secret_psnr, floor):
    return (secret_psnr < floor["secret_psnr"] + FLOOR_MARGIN_DB
            or secret_psnr <= floor["flat_psnr"])


def _verdict(panels, *, current, offered, alternative=None):
    """(gone, HTML): whether the attack left nothing of the secret, and why, measured.

    ``alternative``: the secret's PSNR after JPEG at the same quality with 4:4:4, when
    the attack was JPEG 4:2:0 (measured by the caller).
    """
    floor = panels.floor
    if panels.attack == "none" or floor is None:
        return False, ""
    psnr = panels.report["secret_psnr"]
    if not _is_gone(psnr, floor):
        return False, ""
    strength = ATTACKS[panels.attack][2] if panels.strength is None else panels.strength
    title = _attack_title(panels.attack, strength, panels.chroma_subsampling)
    if psnr < floor["secret_psnr"] + FLOOR_MARGIN_DB:
        measure = (f"within {FLOOR_MARGIN_DB:g} dB of the floor, {floor['secret_psnr']:.1f} dB: "
                   "what the reveal network returns from the cover alone, with nothing hidden "
                   "in it (measured on this pair: the table's last row)")
    else:
        measure = (f"no better than a flat picture of the secret's average colour "
                   f"({floor['flat_psnr']:.1f} dB; the floor, revealed from the cover alone, "
                   f"is {floor['secret_psnr']:.1f} dB)")
    parts = [f"<b>The secret is gone.</b> After {html.escape(title)} the revealed secret scores "
             f"{psnr:.1f} dB, {measure}.",
             _why(panels.attack, strength, panels.chroma_subsampling,
                  panels.report["cover_mpe"])]
    if alternative is not None:
        if _is_gone(alternative, floor):
            parts.append(f"With 4:4:4 at the same quality it scores {alternative:.1f} dB, "
                         "still at the floor: this quality is too low for this model as well.")
        else:
            parts.append(f"With 4:4:4 at the same quality it comes back at {alternative:.1f} "
                         "dB: the colour subsampling is what erased it (pick 4:4:4 to see).")
    parts.append(_robust_hint(current, offered))
    return True, ("<div style='border-left:4px solid #b00020;padding:2px 8px;"
                  "max-width:60em'>" + " ".join(parts) + "</div>")


# ------------------------------------------------------------------------------ layout

#: The width of the pickers' labels, the same for all, so that the menus line up.
_LABEL_WIDTH = "12em"
_RUNS_SHOWN = 8


class Playground:
    """The playground's state and widgets. Make one with :func:`playground`.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole app; a notebook displays it (displaying the Playground does the same).
    cover_picker, secret_picker, model_picker, attack_picker : ipywidgets.Dropdown
        With labels of one width, so that the menus line up.
    cover_upload, secret_upload : ipywidgets.FileUpload
        After a successful upload its value holds the file's name, type and size but not
        its bytes (the picture is in the menus), so the button counts one file; after a
        refused one it is empty again.
    jpeg_quality, noise_sigma, resize_scale, gain, residual_strength : sliders
    refine_steps : ipywidgets.IntSlider
        Steps of refining the container against the reveal network, through the channel
        (:func:`stegutils.refine.refine`; 0, the default, shows the network's container).
        Each step costs about a pass forward and back through the reveal network for each
        of three views, so on a CPU a few dozen steps at the working size take seconds.
    jpeg_subsampling : ipywidgets.Dropdown
        JPEG's chroma subsampling: True for 4:2:0, False for 4:4:4.
    hide_button, swap_button : ipywidgets.Button
        The first runs hide and reveal again and times them (with ``live``, the other
        controls already update the panels; the model is deterministic, so only the
        time changes); without ``live`` it applies the changed settings.
    images : dict of ipywidgets.Image
        ``cover``, ``secret``, ``container``, ``attacked``, ``revealed``, ``residual``:
        PNG bytes of what :attr:`panels` holds.
    metrics, downloads, messages, status, model_info, run_log, explanation : ipywidgets.HTML
        ``model_info`` says what the chosen model is and its measured held-out figures;
        ``run_log`` the time of each run of hide and reveal; ``explanation`` why the
        secret is gone, when an attack left it near the floor.
    panels : Panels or None
        What is shown now.
    secret_gone : bool
        Whether the last attack left the revealed secret near the floor.
    run_times : list of float
        Seconds of each run of hide and reveal so far, oldest first.
    device : str
        Where the model runs (:func:`device_name`).
    timings : dict
        Seconds of the last update: ``update`` (all of it) = ``load`` (loading the
        model's weights, when this update did) + ``model`` (the network calls it made: 0
        when only the drawing changed) + ``other`` (attacks, metrics, drawing);
        ``model`` is ``hide`` + ``refine`` + ``reveal`` + ``floor`` (revealing from the
        bare cover) + ``compare`` (the 4:4:4 comparison of a lost secret).

    Introduced in chapter 8 (Playground).
    """

    def __init__(self, *, models=None, runs=(), photos=None, working_size=WORKING_SIZE,
                 precision="auto", cover=None, secret=None, model=None, live=True):
        import ipywidgets as widgets

        if working_size is not None and (
                isinstance(working_size, bool) or not isinstance(working_size, int)
                or working_size < 1):
            raise ValueError(f"working_size must be a positive int or None, got {working_size!r}")
        self.working_size = working_size
        self.precision = precision
        self._live = bool(live)
        self.device = device_name()
        self.panels = None
        self.timings = {}
        self.last_error = None
        self.secret_gone = False
        self.run_times = []
        self._nets = {}
        self._hidden = None  # (key, cover, secret, container, notices)
        self._revealed = None  # (key, attacked, revealed, report)
        self._floors = None  # (pair key: the floor needs no strength, Panels.floor)
        self._compared = None  # (reveal key, the secret's PSNR with 4:4:4)
        self._quiet = 0
        self._resetting_upload = False
        self._pngs = {}  # panel -> (the array, its PNG bytes)
        self._load_seconds = 0.0
        self._upload_notices = {}  # picture name -> what was done to it on upload
        self._refiners = {}  # refine's compiled steps, kept from one refinement to the next

        size = working_size or WORKING_SIZE
        if photos is None:
            photos = playground_photos(size=size)
        else:
            photos = {**dict(photos), **_made_here(size)}
        self._photos = photos
        names = list(photos)
        if len(names) < 1:
            raise ValueError("the playground needs at least one photo")
        cover = cover if cover is not None else (
            _DEFAULT_COVER if _DEFAULT_COVER in photos else names[0])
        secret = secret if secret is not None else (
            _DEFAULT_SECRET if _DEFAULT_SECRET in photos else names[min(1, len(names) - 1)])
        for role, value in (("cover", cover), ("secret", secret)):
            if value not in photos:
                raise ValueError(f"{role} must be one of {names}, got {value!r}")

        offered = [(str(name), "shipped") for name in (
            _pretrained.list() if models is None else models)]
        offered += [(str(pathlib.Path(run)), "run") for run in runs]
        keys = [key for key, _ in offered]
        if model is None:
            model = _pretrained.DEFAULT_MODEL if _pretrained.DEFAULT_MODEL in keys else (
                keys[0] if keys else None)
        elif str(model) not in keys:
            model = str(model)
            offered.append((model, "run" if pathlib.Path(model).is_dir() else "shipped"))
        model = None if model is None else str(model)
        model_options = []
        self._model_lines = {}
        for key, kind in offered:
            label, self._model_lines[key] = _describe_model(key, kind, working_size)
            model_options.append((label, key))

        def label_style():
            return {"description_width": _LABEL_WIDTH}

        self.cover_picker = widgets.Dropdown(options=names, value=cover, description="Cover",
                                             style=label_style(),
                                             layout=widgets.Layout(width="24em"))
        self.secret_picker = widgets.Dropdown(options=names, value=secret,
                                              description="Secret", style=label_style(),
                                              layout=widgets.Layout(width="24em"))
        self.cover_upload = widgets.FileUpload(accept="image/*", multiple=False,
                                               description="Upload a cover",
                                               layout=widgets.Layout(width="auto"))
        self.secret_upload = widgets.FileUpload(accept="image/*", multiple=False,
                                                description="Upload a secret",
                                                layout=widgets.Layout(width="auto"))
        self.model_picker = widgets.Dropdown(options=model_options, value=model,
                                             description="Model", style=label_style(),
                                             layout=widgets.Layout(width="40em"))
        self.attack_picker = widgets.Dropdown(
            options=[(label, key) for key, (label, _, _) in ATTACKS.items()], value="none",
            description="Attack the container", style=label_style(),
            layout=widgets.Layout(width="24em"))
        wide = {"description_width": "initial"}
        slider = {"continuous_update": False, "style": wide}
        self.jpeg_quality = widgets.IntSlider(value=ATTACKS["jpeg"][2], min=1, max=100,
                                              description="JPEG quality", **slider)
        self.jpeg_subsampling = widgets.Dropdown(
            options=[("4:2:0, colour at half resolution", True),
                     ("4:4:4, colour whole", False)], value=True,
            description="chroma", style=wide, layout=widgets.Layout(width="auto"),
            tooltip="4:2:0 is Pillow's default and most sites' choice, at every quality")
        self.noise_sigma = widgets.FloatSlider(value=ATTACKS["noise"][2], min=0.0, max=32.0,
                                               step=0.5, description="noise sd (0-255)",
                                               **slider)
        self.resize_scale = widgets.FloatSlider(value=ATTACKS["resize"][2], min=0.1, max=1.0,
                                                step=0.05, description="resize scale",
                                                **slider)
        self.gain = widgets.FloatSlider(value=10.0, min=1.0, max=50.0, step=1.0,
                                        description="residual gain", **slider)
        # The hidden residual's factor (models.scale_residual): 1 is the model as trained.
        self.residual_strength = widgets.FloatSlider(
            value=1.0, min=0.25, max=2.0, step=0.05, description="residual strength",
            tooltip="below 1: a container closer to the cover, a weaker secret; above 1 "
            "the other way (chapter 10 measures the trade-off)", **slider)
        self.refine_steps = widgets.IntSlider(
            value=0, min=0, max=200, step=10, description="refine steps",
            tooltip="refine the container for this pair against the reveal network, through "
            "JPEG and resizing (chapter 10); each step takes time, the more on a CPU",
            **slider)
        self.hide_button = widgets.Button(button_style="primary",
                                          layout=widgets.Layout(width="auto"))
        self.swap_button = widgets.Button(description="Swap cover and secret",
                                          icon="exchange", layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML()
        self.messages = widgets.HTML()
        self.model_info = widgets.HTML()
        self.run_log = widgets.HTML()
        self.explanation = widgets.HTML()
        # The table shrinks (and scrolls) before the links would wrap below it.
        self.metrics = widgets.HTML(layout=widgets.Layout(flex="0 1 auto", min_width="0",
                                                          overflow="auto"))
        self.downloads = widgets.HTML(layout=widgets.Layout(flex="0 0 auto"))
        self._label_button()

        captions = {"cover": "cover", "secret": "secret", "container": "container",
                    "attacked": "attacked container", "revealed": "revealed secret",
                    "residual": "residual"}
        self.images = {}
        self._captions = {}
        self._cards = {}
        cards = []
        for key, caption in captions.items():
            self.images[key] = widgets.Image(format="png",
                                             layout=widgets.Layout(width="100%",
                                                                   height="auto", margin="0"))
            self._captions[key] = widgets.HTML(f"<b>{caption}</b>")
            self._cards[key] = widgets.VBox([self._captions[key], self.images[key]],
                                            layout=widgets.Layout(overflow="hidden"))
            cards.append(self._cards[key])

        self.hide_button.on_click(lambda _: self.update(force=True))
        self.swap_button.on_click(lambda _: self.swap())
        for picker in (self.cover_picker, self.secret_picker, self.model_picker,
                       self.attack_picker, self.jpeg_quality, self.jpeg_subsampling,
                       self.noise_sigma, self.resize_scale, self.gain,
                       self.residual_strength, self.refine_steps):
            picker.observe(self._changed, names="value")
        self.cover_upload.observe(lambda change: self._uploaded(change, "cover"), names="value")
        self.secret_upload.observe(lambda change: self._uploaded(change, "secret"),
                                   names="value")

        def row():
            return widgets.Layout(flex_flow="row wrap", align_items="center")

        self.results = widgets.HBox(
            [self.metrics, self.downloads],
            layout=widgets.Layout(flex_flow="row nowrap", align_items="flex-start",
                                  grid_gap="24px", width="100%"))
        self.widget = widgets.VBox([
            widgets.HTML("<h3 style='margin:0'>Deep steganography playground</h3>"),
            self.status,
            widgets.HBox([self.cover_picker, self.cover_upload], layout=row()),
            widgets.HBox([self.secret_picker, self.secret_upload], layout=row()),
            widgets.HBox([self.model_picker, self.residual_strength, self.refine_steps],
                         layout=row()),
            self.model_info,
            widgets.HBox([self.hide_button, self.swap_button, self.run_log], layout=row()),
            widgets.HBox([self.attack_picker, self.jpeg_quality, self.jpeg_subsampling,
                          self.noise_sigma, self.resize_scale], layout=row()),
            self.messages,
            # Two rows of three: what goes in (cover, secret, container), then what the
            # receiver gets (the attacked container, the revealed secret) and the residual.
            widgets.GridBox(cards, layout=widgets.Layout(
                grid_template_columns="repeat(3, minmax(0, 256px))", grid_gap="4px 8px")),
            widgets.HBox([self.gain], layout=row()),
            self.results,
            self.explanation,
        ])
        # Names a browser (and a test) can find the parts by.
        for part, name in ((self.widget, "playground"), (self.cover_picker, "cover"),
                           (self.secret_picker, "secret"), (self.model_picker, "model"),
                           (self.attack_picker, "attack"), (self.metrics, "metrics"),
                           (self.status, "status"), (self.explanation, "explanation")):
            part.add_class(f"stegutils-{name}")
        self._show_attack_controls()
        self._show_model_info()
        self.update()

    # -------------------------------------------------------------- display
    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def figure(self, *, size: float = 2.4):
        """The current panels drawn with matplotlib (:func:`playground_figure`)."""
        if self.panels is None:
            raise ValueError("the playground shows nothing yet: " + (self.last_error or ""))
        return playground_figure(self.panels, size=size)

    @property
    def live(self) -> bool:
        """Whether every change updates the panels (else only the button does)."""
        return self._live

    @live.setter
    def live(self, value):
        self._live = bool(value)
        self._label_button()

    def _label_button(self):
        button = getattr(self, "hide_button", None)
        if button is None:
            return
        if self._live:
            button.description = "Run again and time it"
            button.icon = "refresh"
            button.tooltip = ("hide and reveal once more with the same settings and time the "
                              "run: the model is deterministic, so the pictures and numbers "
                              "stay the same and only the time changes")
        else:
            button.description = "Hide and reveal"
            button.icon = "eye-slash"
            button.tooltip = ("apply the changed settings: hide the secret in the cover, "
                              "attack the container, reveal, measure and time it")

    # -------------------------------------------------------------- events
    def _changed(self, change):
        if change["owner"] is self.attack_picker:
            self._show_attack_controls()
        if change["owner"] is self.model_picker:
            self._show_model_info()
        if self._live and not self._quiet:
            self.update()

    def _show_attack_controls(self):
        attack = self.attack_picker.value
        for keys, control in ((("jpeg",), self.jpeg_quality), (("jpeg",), self.jpeg_subsampling),
                              (("noise",), self.noise_sigma),
                              (("resize",), self.resize_scale)):
            control.layout.display = "" if attack in keys else "none"
        self._cards["attacked"].layout.display = "" if attack != "none" else "none"

    def _show_model_info(self):
        line = self._model_lines.get(self.model_picker.value, "")
        self.model_info.value = f"<div style='color:#555;max-width:60em'>{line}</div>"

    def _set_upload_value(self, upload, value):
        self._resetting_upload = True
        try:
            upload.value = value
        finally:
            self._resetting_upload = False

    def _uploaded(self, change, role):
        if self._resetting_upload:
            return
        files = change["new"]
        if not files:
            return
        entry = files[-1]
        name = str(entry.get("name") or "upload")
        upload = self.cover_upload if role == "cover" else self.secret_upload
        try:
            content = entry["content"]
            image = _data.load_image(bytes(content), name=name)
        except (ValueError, TypeError, KeyError, OSError) as error:
            # Nothing was taken: the button counts no file, and the notices about the
            # pictures still shown stay with the reason.
            self._set_upload_value(upload, ())
            self._show_messages(errors=[f"Upload refused: {error}"],
                                notices=self._notices_shown())
            return
        # Keep the file's name, type and size, not its bytes: they would stay in the
        # notebook (and in saved widget state), and the picture is in the menus now. The
        # button then counts the one file it took.
        last_modified = entry.get("last_modified")
        if not isinstance(last_modified, datetime.datetime):
            last_modified = datetime.datetime.now(datetime.timezone.utc)
        self._set_upload_value(upload, ({
            "name": name, "type": str(entry.get("type") or ""),
            "size": int(entry.get("size") or len(content)), "last_modified": last_modified,
            "content": memoryview(b""),
        },))
        upload.tooltip = f"{role}: {name}; click to upload another"
        label = f"upload: {name}"
        if self.working_size is not None:
            # Shrink now: a phone photo as float32 takes hundreds of megabytes.
            fitted = _data.fit_within(image, self.working_size)
            if fitted.shape != image.shape:
                self._upload_notices[label] = _downscaled(f"The upload {name}", image, fitted,
                                                          self.working_size)
            else:
                self._upload_notices.pop(label, None)
            image = fitted
        self._photos[label] = image
        self._quiet += 1
        try:
            for picker in (self.cover_picker, self.secret_picker):
                value = picker.value
                if label not in picker.options:
                    picker.options = [*picker.options, label]
                picker.value = value
            picker = self.cover_picker if role == "cover" else self.secret_picker
            picker.value = label
        finally:
            self._quiet -= 1
        self._hidden = None  # a new upload under an old name is a new picture
        self.update()

    def swap(self):
        """Exchange the cover and the secret, and update."""
        self._quiet += 1
        try:
            cover, secret = self.cover_picker.value, self.secret_picker.value
            self.cover_picker.value, self.secret_picker.value = secret, cover
        finally:
            self._quiet -= 1
        self.update()

    # -------------------------------------------------------------- computing
    def _net(self, key):
        if key is None:
            raise ValueError(
                "no model to run: no shipped model was found and no run folder was passed "
                "(playground(runs=[...]))"
            )
        if key not in self._nets:
            start = time.perf_counter()
            with tf.device(self.device):
                self._nets[key], _ = _pretrained.load(key, precision=self.precision)
            self._load_seconds = time.perf_counter() - start
        return self._nets[key]

    def _strength(self):
        attack = self.attack_picker.value
        return {"none": None, "jpeg": self.jpeg_quality.value, "noise": self.noise_sigma.value,
                "resize": self.resize_scale.value}[attack]

    def update(self, *, force: bool = False):
        """Recompute what changed and redraw; errors are shown in the widget.

        Parameters
        ----------
        force : bool, optional
            Run the model again even where nothing changed (the button does).
        """
        start = time.perf_counter()
        try:
            self._update(force)
        except Exception as error:  # noqa: BLE001 - shown to the reader, never a traceback
            self.last_error = f"{type(error).__name__}: {error}" if not isinstance(
                error, ValueError) else str(error)
            self._show_messages(errors=[self.last_error], notices=self._notices_shown())
            self._set_status()
            return
        self.last_error = None
        self.timings["update"] = time.perf_counter() - start
        self.timings["other"] = max(0.0, self.timings["update"] - self.timings["load"]
                                    - self.timings["model"])
        self._set_status()

    def _update(self, force):
        model_key = self.model_picker.value
        self._load_seconds = 0.0
        net = self._net(model_key)
        cover_name, secret_name = self.cover_picker.value, self.secret_picker.value
        cover, secret = self._photos[cover_name], self._photos[secret_name]
        residual_strength = float(self.residual_strength.value)
        refine_steps = int(self.refine_steps.value)
        # The floor needs the pair alone; the container needs the strength and the
        # refinement as well.
        pair_key = (model_key, cover_name, id(cover), secret_name, id(secret),
                    self.working_size)
        hide_key = pair_key + (residual_strength, refine_steps)
        timings = {"model": 0.0, "hide": 0.0, "refine": 0.0, "reveal": 0.0, "floor": 0.0,
                   "compare": 0.0}
        if force or self._hidden is None or self._hidden[0] != hide_key:
            self._hidden = None
            cover8, secret8, notices = prepare_pair(cover, secret,
                                                    working_size=self.working_size)
            container, timings["hide"], timings["refine"] = _hide(
                net, cover8, secret8, self.device, residual_strength, refine_steps,
                self._refiners)
            self._hidden = (hide_key, cover8, secret8, container, notices)
        _, cover8, secret8, container, notices = self._hidden
        notices = [self._upload_notices[name] for name in dict.fromkeys((cover_name, secret_name))
                   if name in self._upload_notices] + list(notices)

        attack, strength = self.attack_picker.value, self._strength()
        subsampling = bool(self.jpeg_subsampling.value) if attack == "jpeg" else True
        reveal_key = (hide_key, attack, strength, subsampling)
        ran = bool(force or timings["hide"])
        if ran or self._revealed is None or self._revealed[0] != reveal_key:
            self._revealed = None
            # The container is already on the 8-bit grid: no attack is no change at all.
            attacked = container if attack == "none" else apply_attack(
                container, attack, strength, chroma_subsampling=subsampling)
            revealed, seconds = _reveal(net, attacked, self.device)
            report = _report(cover8, container, secret8, revealed)
            self._revealed = (reveal_key, attacked, revealed, report)
            timings["reveal"] = seconds
        _, attacked, revealed, report = self._revealed

        floor = None
        if attack != "none":
            # The floor: what the reveal network makes of the cover alone, nothing hidden.
            if force or self._floors is None or self._floors[0] != pair_key:
                nothing, seconds = _reveal(net, cover8, self.device)
                self._floors = (pair_key, _floor(secret8, nothing))
                timings["floor"] = seconds
            floor = self._floors[1]

        gain = float(self.gain.value)
        self.panels = Panels(
            cover=cover8, secret=secret8, container=container, attacked=attacked,
            revealed=revealed, residual=_plot.residual_image(container, cover8, gain=gain),
            report=report, gain=gain, attack=attack, strength=strength,
            notices=list(notices), timings={key: timings[key]
                                            for key in ("hide", "refine", "reveal")},
            model=dict((v, k) for k, v in self.model_picker.options)[model_key],
            device=self.device, chroma_subsampling=subsampling, floor=floor,
            residual_strength=residual_strength, refine_steps=refine_steps,
        )
        alternative = None
        if (attack == "jpeg" and subsampling and floor is not None
                and _is_gone(report["secret_psnr"], floor)):
            # Measure, rather than guess, what 4:4:4 at the same quality would keep.
            if ran or self._compared is None or self._compared[0] != reveal_key:
                start = time.perf_counter()
                whole = apply_attack(container, "jpeg", strength, chroma_subsampling=False)
                kept, _ = _reveal(net, whole, self.device)
                self._compared = (reveal_key, float(_metrics.psnr(secret8, kept)[0]))
                timings["compare"] = time.perf_counter() - start
            alternative = self._compared[1]
        offered = [key for _, key in self.model_picker.options]
        self.secret_gone, self.explanation.value = _verdict(
            self.panels, current=model_key, offered=offered, alternative=alternative)

        timings["model"] = (timings["hide"] + timings["refine"] + timings["reveal"]
                            + timings["floor"] + timings["compare"])
        timings["load"] = self._load_seconds
        if timings["hide"]:
            self.run_times.append(timings["hide"] + timings["refine"] + timings["reveal"])
        self.timings = timings
        self._draw()

    def _draw(self):
        panels = self.panels
        arrays = {"cover": panels.cover, "secret": panels.secret,
                  "container": panels.container, "attacked": panels.attacked,
                  "revealed": panels.revealed, "residual": panels.residual}
        pngs = {}
        for key, array in arrays.items():
            # Encode only what changed: a new gain redraws the residual alone.
            cached = self._pngs.get(key)
            if cached is None or cached[0] is not array:
                cached = self._pngs[key] = (array, png_bytes(array))
            pngs[key] = cached[1]
            self.images[key].value = pngs[key]
        attack_title = _attack_title(panels.attack, panels.strength, panels.chroma_subsampling)
        self._captions["attacked"].value = f"<b>after {html.escape(attack_title)}</b>"
        self._captions["residual"].value = f"<b>residual x{panels.gain:g}</b>"
        made = ([] if panels.residual_strength == 1.0 else
                [f"residual strength {panels.residual_strength:g}"])
        if panels.refine_steps:
            made.append(f"refined, {panels.refine_steps} steps")
        self._captions["container"].value = (
            "<b>container</b>" if not made else f"<b>container ({', '.join(made)})</b>")
        self.metrics.value = _table(panels.report, attack_title, panels.floor)
        size = _size_text(panels.container)
        links = [_download_link("container.png", pngs["container"],
                                f"container ({size} PNG)")]
        if panels.attack != "none":
            links.append(_download_link("attacked_container.png", pngs["attacked"],
                                        "attacked container (PNG)"))
        links.append(_download_link("revealed_secret.png", pngs["revealed"],
                                    "revealed secret (PNG)"))
        self.downloads.value = "<br>".join(["<b>Download</b>", *links])
        self._show_messages(notices=panels.notices)
        self._show_runs()

    def _notices_shown(self):
        """The notices about the pictures on show (they stay beside a new error)."""
        return list(self.panels.notices) if self.panels is not None else []

    def _show_messages(self, *, notices=(), errors=()):
        parts = [f"<div style='color:#b00020'><b>Error:</b> {html.escape(text)}</div>"
                 for text in errors]
        parts += [f"<div style='color:#555'>Notice: {html.escape(text)}</div>"
                  for text in notices]
        self.messages.value = "".join(parts)

    def _show_runs(self):
        if not self.run_times:
            self.run_log.value = ""
            return
        shown = self.run_times[-_RUNS_SHOWN:]
        which = ("each run" if len(shown) == len(self.run_times)
                 else f"the last {len(shown)} of {len(self.run_times)} runs")
        self.run_log.value = (
            "<span style='color:#555'>hide and reveal, " + which + ": "
            + ", ".join(f"{_ms(seconds)}" for seconds in shown) + " ms (with the same "
            "settings the pictures come out the same: the model is deterministic)</span>")

    def _set_status(self):
        from stegutils import models as _models

        parts = [f"Running on the {describe_device(self.device)}",
                 f"precision {_models.resolve_precision(self.precision)}"]
        if self.working_size:
            parts.append(f"working size {self.working_size} px")
        if "update" in self.timings and self.last_error is None:
            parts.append(_timing_text(self.timings))
        self.status.value = "<span style='color:#555'>" + html.escape("; ".join(parts)) + \
            "</span>"


def playground(models=None, *, runs=(), photos=None, working_size: int | None = WORKING_SIZE,
               precision: str = "auto", cover: str | None = None, secret: str | None = None,
               model: str | None = None, live: bool = True) -> Playground:
    """Open the playground: hide your own pictures, attack the container, measure.

    Shows cover, secret, container, the revealed secret and the amplified residual side
    by side, with the cover's and the secret's PSNR, SSIM and mean pixel error and links
    that download the container and the revealed secret as PNG files. Runs on the GPU
    when TensorFlow sees one, else on the CPU, and says which.

    Parameters
    ----------
    models : list of str, optional
        Names of shipped models to offer; default all of them
        (:func:`stegutils.pretrained.list`).
    runs : sequence of path, optional
        Run folders written by ``stegutils train`` to offer as well.
    photos : dict of str to array, optional
        The pictures to choose from, by name; default the built-in photos
        (:func:`stegutils.data.builtin_photos`). A flat grey image and a colour sweep are
        always added; uploads are added as they come.
    working_size : int or None, optional
        Larger pictures are downscaled so that their longer side is this many pixels
        (default 256), with a notice; ``None`` keeps them as they are (slower).
    precision : str, optional
        Compute precision of the model (:func:`stegutils.models.resolve_precision`);
        ``"auto"`` (default) is faster where the hardware supports it. The numbers shown
        are always measured on the 8-bit images shown.
    cover, secret : str, optional
        The names of the pictures to start with.
    model : str, optional
        The model to start with; default :data:`stegutils.pretrained.DEFAULT_MODEL`.
    live : bool, optional
        Update on every change (default); otherwise only the button updates.

    Returns
    -------
    Playground
        Displays itself in a notebook; its ``widget`` is the app.

    Introduced in chapter 8 (Playground).
    """
    return Playground(models=models, runs=runs, photos=photos, working_size=working_size,
                      precision=precision, cover=cover, secret=secret, model=model, live=live)
