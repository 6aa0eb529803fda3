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
"""

from __future__ import annotations

import base64
import dataclasses
import html
import importlib
import inspect
import io
import pathlib
import time

import numpy as np
import tensorflow as tf
from PIL import Image as _PILImage

from stegutils import data as _data
from stegutils import metrics as _metrics
from stegutils import plot as _plot
from stegutils import pretrained as _pretrained

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
        secret = _data.resize(secret, cover.shape[:2], method="bicubic" if enlarging else "area")
        notices.append(
            f"The secret ({original}) was resized to the cover's size ({_size_text(cover)}), "
            "ignoring its aspect ratio: a container holds a secret of its own size."
        )
    return _as_8bit(cover), _as_8bit(secret), notices


# ----------------------------------------------------------------------------- attacks

# What stegutils.attacks calls each attack, and the keyword that takes its strength (in
# that module's units: the noise's standard deviation on the [0, 1] scale).
_LIBRARY_ATTACKS = {
    "jpeg": ("jpeg", "quality"),
    "noise": ("gaussian_noise", "std"),
    "resize": ("downscale", "factor"),
}


def _library_attack(kind):
    """The function of stegutils.attacks for ``kind``, or None while there is none."""
    try:
        attacks = importlib.import_module("stegutils.attacks")
    except ModuleNotFoundError as error:
        if error.name != "stegutils.attacks":
            raise
        return None
    name, keyword = _LIBRARY_ATTACKS[kind]
    function = getattr(attacks, name, None)
    if not callable(function):
        return None
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return None
    if keyword not in parameters:
        return None
    return function, keyword, "seed" in parameters


def _jpeg(image, quality):
    buffer = io.BytesIO()
    _PILImage.fromarray(_data.to_uint8(image)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with _PILImage.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / np.float32(255.0)


def _gaussian_noise(image, sigma, seed):
    rng = np.random.default_rng(seed)
    noisy = image + rng.normal(0.0, sigma, size=image.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def _resize_down_up(image, scale):
    # As stegutils.attacks.downscale does it: bilinear (antialiased) both ways.
    height, width = image.shape[:2]
    small = (max(1, round(height * scale)), max(1, round(width * scale)))
    if small == (height, width):
        return image.copy()
    return _data.resize(_data.resize(image, small, method="bilinear"), (height, width),
                        method="bilinear")


def _check_strength(attack, strength):
    if attack == "jpeg" and not 1 <= strength <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {strength}")
    if attack == "noise" and strength < 0:
        raise ValueError(f"the noise's standard deviation must be >= 0, got {strength}")
    if attack == "resize" and not 0 < strength <= 1:
        raise ValueError(f"the resize scale must be in (0, 1], got {strength}")


def apply_attack(container, attack: str = "none", strength=None, *, seed: int = 0):
    """Do to a container what a channel might, and round the result to 8 bits.

    Uses :mod:`stegutils.attacks` (``jpeg``, ``gaussian_noise``, ``downscale``) where it
    has the attack, and an equivalent built in here otherwise.

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
    found = _library_attack(attack)
    if found is not None:
        function, keyword, takes_seed = found
        extra = {"seed": seed} if takes_seed else {}
        attacked = np.asarray(function(image, **{keyword: value}, **extra), dtype=np.float32)
        if attacked.ndim == 4:
            attacked = attacked[0]
    elif attack == "jpeg":
        attacked = _jpeg(image, value)
    elif attack == "noise":
        attacked = _gaussian_noise(image, value, seed)
    else:
        attacked = _resize_down_up(image, value)
    return _as_8bit(np.clip(attacked, 0.0, 1.0))


def _attack_title(attack, strength):
    if attack == "none":
        return "no attack"
    strength = ATTACKS[attack][2] if strength is None else strength
    if attack == "jpeg":
        return f"JPEG quality {int(round(strength))}"
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
        ``net.hide(cover, secret)``, rounded to 8 bits.
    attacked : numpy.ndarray
        The container after :func:`apply_attack` (the container itself without one).
    revealed : numpy.ndarray
        ``net.reveal(attacked)``, rounded to 8 bits.
    residual : numpy.ndarray
        ``stegutils.plot.residual_image(container, cover, gain=gain)``.
    report : dict
        :func:`stegutils.metrics.image_report` of ``(cover, container)`` and
        ``(secret, revealed)``, as floats.
    gain, attack, strength : the settings that made them.
    notices : list of str
        What :func:`prepare_pair` changed.
    timings : dict
        Seconds spent in ``hide`` and ``reveal`` (the model calls).
    model, device : str
        The model's label and the device it ran on.
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

    def images(self) -> dict[str, np.ndarray]:
        """The panels in the order they are drawn, by title (attacked only with an attack)."""
        images = {"cover": self.cover, "secret": self.secret, "container": self.container}
        if self.attack != "none":
            images["attacked container"] = self.attacked
        images["revealed secret"] = self.revealed
        images[f"residual x{self.gain:g}"] = self.residual
        return images


def _hide(net, cover, secret, device):
    start = time.perf_counter()
    with tf.device(device):
        container = net.hide(cover, secret, quantize=True)
    return _as_8bit(container), time.perf_counter() - start


def _reveal(net, container, device):
    start = time.perf_counter()
    with tf.device(device):
        revealed = net.reveal(container)
    return _as_8bit(revealed), time.perf_counter() - start


def _report(cover, container, secret, revealed):
    report = _metrics.image_report(cover, container, secret, revealed)
    return {key: float(np.asarray(value).reshape(-1)[0]) for key, value in report.items()}


def playground_panels(net, cover, secret, *, gain: float = 10.0, attack: str = "none",
                      strength=None, working_size: int | None = WORKING_SIZE,
                      device: str | None = None, seed: int = 0, model: str = "") -> Panels:
    """Hide, attack, reveal and measure one pair: everything the playground shows.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        The model (:func:`stegutils.pretrained.load`).
    cover, secret : array_like
        ``(height, width, 3)`` images of any sizes (see :func:`prepare_pair`).
    gain : float, optional
        How much the residual ``|container - cover|`` is amplified.
    attack, strength, seed : optional
        What happens to the container before it is revealed (:func:`apply_attack`).
    working_size : int or None, optional
        The longer side the pair is brought down to (:func:`prepare_pair`).
    device : str, optional
        The TensorFlow device; default :func:`device_name`.
    model : str, optional
        The model's label, for titles.

    Returns
    -------
    Panels

    Introduced in chapter 8 (Playground).
    """
    device = device_name() if device is None else device
    cover, secret, notices = prepare_pair(cover, secret, working_size=working_size)
    container, hide_seconds = _hide(net, cover, secret, device)
    attacked = container if attack == "none" else apply_attack(container, attack, strength,
                                                               seed=seed)
    revealed, reveal_seconds = _reveal(net, attacked, device)
    return Panels(
        cover=cover, secret=secret, container=container, attacked=attacked,
        revealed=revealed, residual=_plot.residual_image(container, cover, gain=gain),
        report=_report(cover, container, secret, revealed), gain=float(gain),
        attack=attack, strength=strength, notices=notices,
        timings={"hide": hide_seconds, "reveal": reveal_seconds}, model=model,
        device=device,
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
            name = f"after {_attack_title(panels.attack, panels.strength)}"
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
    # data._load_builtin is the cached (name, photo) list behind data.builtin_photos.
    photos = {name: photo for name, photo in _data._load_builtin()}
    photos.update(_made_here(size))
    return photos


def _table(report, attack_title):
    def number(value, digits):
        return "inf" if np.isinf(value) else f"{value:.{digits}f}"

    right = "style='text-align:right;padding:2px 10px'"
    rows = [("cover", "container vs cover"),
            ("secret", f"revealed vs secret ({attack_title})")]
    cells = "".join(
        f"<tr><td style='padding:2px 10px 2px 0'>{html.escape(label)}</td>"
        f"<td {right}>{number(report[f'{key}_psnr'], 2)}</td>"
        f"<td {right}>{number(report[f'{key}_ssim'], 4)}</td>"
        f"<td {right}>{number(report[f'{key}_mpe'], 2)}</td></tr>"
        for key, label in rows
    )
    return (f"<table style='border-collapse:collapse'><tr><th></th><th {right}>PSNR (dB)</th>"
            f"<th {right}>SSIM</th><th {right}>mean pixel error (0-255)</th></tr>"
            + cells + "</table>")


def _download_link(filename, png, text):
    encoded = base64.b64encode(png).decode("ascii")
    return (f"<a download='{html.escape(filename)}' href='data:image/png;base64,{encoded}' "
            f"target='_blank'>&#x2B07; {html.escape(text)}</a>")


class Playground:
    """The playground's state and widgets. Make one with :func:`playground`.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole app; a notebook displays it (displaying the Playground does the same).
    cover_picker, secret_picker, model_picker, attack_picker : ipywidgets.Dropdown
    cover_upload, secret_upload : ipywidgets.FileUpload
    jpeg_quality, noise_sigma, resize_scale, gain : sliders
    hide_button, swap_button : ipywidgets.Button
    images : dict of ipywidgets.Image
        ``cover``, ``secret``, ``container``, ``attacked``, ``revealed``, ``residual``:
        PNG bytes of what :attr:`panels` holds.
    metrics, downloads, messages, status : ipywidgets.HTML
    panels : Panels or None
        What is shown now.
    device : str
        Where the model runs (:func:`device_name`).
    timings : dict
        Seconds of the last update: ``update`` (all of it), ``model`` (the model calls
        it made; 0 when only the drawing changed), ``hide``, ``reveal``, and ``load``
        (loading the model's weights, when this update did).

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
        self.live = bool(live)
        self.device = device_name()
        self.panels = None
        self.timings = {}
        self.last_error = None
        self._nets = {}
        self._hidden = None  # (key, cover, secret, container, notices)
        self._revealed = None  # (key, attacked, revealed, report)
        self._quiet = 0
        self._pngs = {}  # panel -> (the array, its PNG bytes)
        self._load_seconds = 0.0
        self._upload_notices = {}  # picture name -> what was done to it on upload

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

        model_options = []
        for name in (_pretrained.list() if models is None else models):
            model_options.append((f"{name} (shipped)", str(name)))
        for run in runs:
            run = pathlib.Path(run)
            model_options.append((f"run: {run.name}", str(run)))
        if model is None:
            keys = [key for _, key in model_options]
            model = _pretrained.DEFAULT_MODEL if _pretrained.DEFAULT_MODEL in keys else (
                keys[0] if keys else None)
        elif str(model) not in [key for _, key in model_options]:
            model_options.append((f"{pathlib.Path(model).name}", str(model)))
        model = None if model is None else str(model)

        wide = {"description_width": "initial"}
        self.cover_picker = widgets.Dropdown(options=names, value=cover, description="Cover",
                                             style=wide)
        self.secret_picker = widgets.Dropdown(options=names, value=secret,
                                              description="Secret", style=wide)
        auto = widgets.Layout(width="auto")
        self.cover_upload = widgets.FileUpload(accept="image/*", multiple=False,
                                               description="Upload a cover", layout=auto)
        self.secret_upload = widgets.FileUpload(accept="image/*", multiple=False,
                                                description="Upload a secret", layout=auto)
        self.model_picker = widgets.Dropdown(options=model_options, value=model,
                                             description="Model", style=wide)
        self.attack_picker = widgets.Dropdown(
            options=[(label, key) for key, (label, _, _) in ATTACKS.items()], value="none",
            description="Attack the container", style=wide)
        slider = {"continuous_update": False, "style": wide}
        self.jpeg_quality = widgets.IntSlider(value=ATTACKS["jpeg"][2], min=1, max=100,
                                              description="JPEG quality", **slider)
        self.noise_sigma = widgets.FloatSlider(value=ATTACKS["noise"][2], min=0.0, max=32.0,
                                               step=0.5, description="noise sd (0-255)",
                                               **slider)
        self.resize_scale = widgets.FloatSlider(value=ATTACKS["resize"][2], min=0.1, max=1.0,
                                                step=0.05, description="resize scale",
                                                **slider)
        self.gain = widgets.FloatSlider(value=10.0, min=1.0, max=50.0, step=1.0,
                                        description="residual gain", **slider)
        self.hide_button = widgets.Button(description="Hide and reveal", icon="eye-slash",
                                          button_style="primary",
                                          tooltip="hide the secret in the cover, reveal it",
                                          layout=auto)
        self.swap_button = widgets.Button(description="Swap cover and secret",
                                          icon="exchange", layout=auto)
        self.status = widgets.HTML()
        self.messages = widgets.HTML()
        self.metrics = widgets.HTML()
        self.downloads = widgets.HTML()

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
                       self.attack_picker, self.jpeg_quality, self.noise_sigma,
                       self.resize_scale, self.gain):
            picker.observe(self._changed, names="value")
        self.cover_upload.observe(lambda change: self._uploaded(change, "cover"), names="value")
        self.secret_upload.observe(lambda change: self._uploaded(change, "secret"),
                                   names="value")

        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HTML("<h3 style='margin:0'>Deep steganography playground</h3>"),
            self.status,
            widgets.HBox([self.cover_picker, self.cover_upload], layout=row),
            widgets.HBox([self.secret_picker, self.secret_upload], layout=row),
            widgets.HBox([self.model_picker, self.hide_button, self.swap_button], layout=row),
            widgets.HBox([self.attack_picker, self.jpeg_quality, self.noise_sigma,
                          self.resize_scale], layout=row),
            self.messages,
            # Two rows of three: what goes in (cover, secret, container), then what the
            # receiver gets (the attacked container, the revealed secret) and the residual.
            widgets.GridBox(cards, layout=widgets.Layout(
                grid_template_columns="repeat(3, minmax(0, 256px))", grid_gap="4px 8px")),
            widgets.HBox([self.gain], layout=row),
            widgets.HBox([self.metrics, self.downloads],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start",
                                               grid_gap="24px")),
        ])
        self._show_attack_controls()
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

    # -------------------------------------------------------------- events
    def _changed(self, change):
        if change["owner"] is self.attack_picker:
            self._show_attack_controls()
        if self.live and not self._quiet:
            self.update()

    def _show_attack_controls(self):
        attack = self.attack_picker.value
        for key, slider in (("jpeg", self.jpeg_quality), ("noise", self.noise_sigma),
                            ("resize", self.resize_scale)):
            slider.layout.display = "" if key == attack else "none"
        self._cards["attacked"].layout.display = "" if attack != "none" else "none"

    def _uploaded(self, change, role):
        files = change["new"]
        if not files:
            return
        entry = files[-1]
        name = str(entry.get("name") or "upload")
        # Empty the upload widget: its value would keep the file's bytes in the notebook
        # (and in saved widget state), and the same file could not be chosen again.
        upload = self.cover_upload if role == "cover" else self.secret_upload
        upload.value = ()
        try:
            content = entry["content"]
            image = _data.load_image(bytes(content), name=name)
        except (ValueError, TypeError, KeyError, OSError) as error:
            self._show_messages(errors=[f"Upload refused: {error}"])
            return
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
            self._show_messages(errors=[self.last_error])
            self._set_status()
            return
        self.last_error = None
        self.timings["update"] = time.perf_counter() - start
        self._set_status()

    def _update(self, force):
        model_key = self.model_picker.value
        self._load_seconds = 0.0
        net = self._net(model_key)
        cover_name, secret_name = self.cover_picker.value, self.secret_picker.value
        cover, secret = self._photos[cover_name], self._photos[secret_name]
        hide_key = (model_key, cover_name, id(cover), secret_name, id(secret),
                    self.working_size)
        timings = {"model": 0.0, "hide": 0.0, "reveal": 0.0}
        if force or self._hidden is None or self._hidden[0] != hide_key:
            self._hidden = None
            cover8, secret8, notices = prepare_pair(cover, secret,
                                                    working_size=self.working_size)
            container, seconds = _hide(net, cover8, secret8, self.device)
            self._hidden = (hide_key, cover8, secret8, container, notices)
            timings["hide"] = seconds
        _, cover8, secret8, container, notices = self._hidden
        notices = [self._upload_notices[name] for name in dict.fromkeys((cover_name, secret_name))
                   if name in self._upload_notices] + list(notices)

        attack, strength = self.attack_picker.value, self._strength()
        reveal_key = (hide_key, attack, strength)
        if force or timings["hide"] or self._revealed is None or self._revealed[0] != reveal_key:
            self._revealed = None
            # The container is already on the 8-bit grid: no attack is no change at all.
            attacked = container if attack == "none" else apply_attack(container, attack,
                                                                       strength)
            revealed, seconds = _reveal(net, attacked, self.device)
            report = _report(cover8, container, secret8, revealed)
            self._revealed = (reveal_key, attacked, revealed, report)
            timings["reveal"] = seconds
        _, attacked, revealed, report = self._revealed
        timings["model"] = timings["hide"] + timings["reveal"]
        timings["load"] = self._load_seconds

        gain = float(self.gain.value)
        self.panels = Panels(
            cover=cover8, secret=secret8, container=container, attacked=attacked,
            revealed=revealed, residual=_plot.residual_image(container, cover8, gain=gain),
            report=report, gain=gain, attack=attack, strength=strength,
            notices=list(notices), timings={"hide": timings["hide"],
                                            "reveal": timings["reveal"]},
            model=dict((v, k) for k, v in self.model_picker.options)[model_key],
            device=self.device,
        )
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
        attack_title = _attack_title(panels.attack, panels.strength)
        self._captions["attacked"].value = f"<b>after {html.escape(attack_title)}</b>"
        self._captions["residual"].value = f"<b>residual x{panels.gain:g}</b>"
        self.metrics.value = _table(panels.report, attack_title)
        size = _size_text(panels.container)
        links = [_download_link("container.png", pngs["container"],
                                f"container ({size} PNG)")]
        if panels.attack != "none":
            links.append(_download_link("attacked_container.png", pngs["attacked"],
                                        f"attacked container ({attack_title})"))
        links.append(_download_link("revealed_secret.png", pngs["revealed"],
                                    "revealed secret (PNG)"))
        self.downloads.value = "<br>".join(["<b>Download</b>", *links])
        self._show_messages(notices=panels.notices)

    def _show_messages(self, *, notices=(), errors=()):
        parts = [f"<div style='color:#b00020'><b>Error:</b> {html.escape(text)}</div>"
                 for text in errors]
        parts += [f"<div style='color:#555'>Notice: {html.escape(text)}</div>"
                  for text in notices]
        self.messages.value = "".join(parts)

    def _set_status(self):
        from stegutils import models as _models

        parts = [f"Running on the {describe_device(self.device)}",
                 f"precision {_models.resolve_precision(self.precision)}"]
        if self.working_size:
            parts.append(f"working size {self.working_size} px")
        if "update" in self.timings and self.last_error is None:
            update = (f"last update {1000 * self.timings['update']:.0f} ms "
                      f"(model {1000 * self.timings['model']:.0f} ms")
            if self.timings.get("load"):
                # The first run of a model also loads it and traces its graphs.
                update += (f", of which loading {1000 * self.timings['load']:.0f} ms; "
                           "the first call of a model also compiles it")
            parts.append(update + ")")
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
