"""The prep, hiding and reveal networks, and the named variants that build them.

A *variant* is a recipe for the three networks. Every variant is fully convolutional, so
a model trained on small crops hides and reveals at any height and width (variants that
work at a lower resolution need sizes divisible by their ``multiple``; :meth:`StegoNet.hide`
and :meth:`StegoNet.reveal` pad and crop back for you).

Variants shipped with the library:

``seed``
    The blog post's reading of the paper {cite}`blogpost`: each network five ReLU
    convolutions of 50 channels, kernel 3 in prep, 4 in hiding and 5 in reveal; the hiding
    and reveal networks end in a 3-channel convolution.
``paper``
    Baluja's own networks {cite}`baluja2017hiding`: every layer concatenates parallel
    3x3, 4x4 and 5x5 convolutions of 50, 10 and 5 filters; 2 prep layers, 5 hiding, 5
    reveal, each of the last two closed by a 1x1 convolution to 3 channels.
``fast``
    This project's variant, designed for training on a laptop CPU: a space-to-depth step
    moves every network to half resolution, the hiding network predicts a small residual
    that is added to the cover, and the reveal network, where quality is hardest to get,
    is the widest and deepest of the three. Explained in chapter 3.
``invertible``
    HiNet-style invertible hiding (:mod:`stegutils.invertible`): affine coupling blocks
    on Haar wavelet sub-bands; revealing runs the hiding blocks backwards. Chapter 9.

Introduced in chapter 3 (Designing the networks).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import os
from typing import Callable

import tensorflow as tf
import keras

__all__ = [
    "StegoNet",
    "Variant",
    "VARIANTS",
    "register_variant",
    "build",
    "build_ready",
    "variant_names",
    "quantize_8bit",
    "scale_residual",
    "count_params",
    "count_flops",
    "receptive_field",
    "resolve_precision",
    "widen_from",
    "cpu_supports_bfloat16",
    "machine_description",
]


# ----------------------------------------------------------------------------- precision


@functools.lru_cache(maxsize=1)
def cpu_supports_bfloat16() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX).

    Without it, TensorFlow emulates bfloat16 and a ``mixed_bfloat16`` model is usually
    *slower* than a float32 one, so ``precision="auto"`` only picks bfloat16 when this is
    true.

    Returns
    -------
    bool
        True when ``/proc/cpuinfo`` lists ``avx512_bf16`` or ``amx_bf16``; False
        elsewhere (including on systems without ``/proc``).

    Introduced in chapter 5 (Training).
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def machine_description() -> dict:
    """The facts about this computer that speed and training-time figures depend on.

    Returns
    -------
    dict
        Operating system, architecture, CPU model, logical CPU count, whether the CPU
        has native bfloat16, the GPUs TensorFlow sees, and the TensorFlow version.

    Introduced in chapter 5 (Training).
    """
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "os": platform.system(),
        "architecture": platform.machine(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "bfloat16": cpu_supports_bfloat16(),
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
    }


def resolve_precision(precision: str = "auto") -> str:
    """Turn a precision name into a Keras dtype policy name.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16", "float16"}
        ``"auto"`` gives ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on a CPU with
        native bfloat16 support (see :func:`cpu_supports_bfloat16`) and ``float32``
        otherwise. ``"bfloat16"`` and ``"float16"`` mean mixed precision: variables
        stay float32, the convolutions compute in 16 bits.

    Returns
    -------
    str
        One of ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``.

    Raises
    ------
    ValueError
        For any other name.

    Introduced in chapter 5 (Training).
    """
    choices = {"auto", "float32", "bfloat16", "float16", "mixed_bfloat16", "mixed_float16"}
    if precision not in choices:
        raise ValueError(
            f"precision must be one of {sorted(choices)}, got {precision!r}"
        )
    if precision == "auto":
        if tf.config.list_physical_devices("GPU"):
            return "mixed_float16"
        return "mixed_bfloat16" if cpu_supports_bfloat16() else "float32"
    if precision in ("bfloat16", "float16"):
        return f"mixed_{precision}"
    return precision


# ------------------------------------------------------------------------- small layers


@keras.saving.register_keras_serializable(package="stegutils")
class SpaceToDepth(keras.layers.Layer):
    """Rearrange each ``factor x factor`` block of pixels into channels (lossless)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return tf.nn.space_to_depth(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = lambda n: None if n is None else n // self.factor  # noqa: E731
        return (batch, scale(height), scale(width), channels * self.factor**2)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="stegutils")
class DepthToSpace(keras.layers.Layer):
    """The inverse of :class:`SpaceToDepth` (a pixel shuffle, Shi et al. 2016)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = lambda n: None if n is None else n * self.factor  # noqa: E731
        return (batch, scale(height), scale(width), channels // self.factor**2)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


# ------------------------------------------------------------------------------ StegoNet


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """What a builder knows about one network that Keras does not record.

    ``kernels`` lists, stage by stage, the largest kernel of each sequential stage (for
    the receptive field); ``factor`` is the resolution divisor the convolutions run at.
    """

    kernels: tuple[int, ...]
    factor: int = 1


def quantize_8bit(images: tf.Tensor) -> tf.Tensor:
    """Clip to ``[0, 1]`` and round to the nearest of 256 levels, straight through.

    The forward pass is exactly what saving as an 8-bit PNG does; the backward pass
    treats the rounding as the identity (a straight-through estimator) so that training
    can see through it. Clipping keeps its true gradient (zero outside the range).

    Parameters
    ----------
    images : tf.Tensor
        Float images, any shape.

    Returns
    -------
    tf.Tensor
        Float images whose values are multiples of 1/255 in ``[0, 1]``.

    Introduced in chapter 5 (Training).
    """
    clipped = tf.clip_by_value(images, 0.0, 1.0)
    rounded = tf.round(clipped * 255.0) / 255.0
    return clipped + tf.stop_gradient(rounded - clipped)


def _check_strength(strength) -> float:
    """``strength`` as a float, or a ValueError that says what was expected."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise ValueError(f"strength must be a finite number above 0 (1 keeps the container "
                         f"as it is), got {strength!r}")
    return value


def scale_residual(cover, container, strength: float, *, quantize: bool = True):
    """The container with its residual scaled: ``cover + strength * (container - cover)``.

    One trained model offers a family of trade-offs: a strength below 1 makes the
    container closer to the cover and the hidden signal weaker (less robust to JPEG
    and noise), above 1 the other way. The networks are not retrained; the reveal
    network reads the weaker or stronger signal as it is. Give the container *before*
    rounding (``net.hide(cover, secret, quantize=False)``), so that only one rounding
    happens, after the scaling.

    Parameters
    ----------
    cover, container : array-like
        Float images in ``[0, 1]`` of the same shape, ``(H, W, 3)`` or ``(B, H, W, 3)``.
    strength : float
        The factor of the residual, a finite number above 0 (1 gives the container back).
    quantize : bool, optional
        Round the result to 8 bits, as saving it as a PNG would (default); otherwise
        it is only clipped to ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        The scaled container, float32 in ``[0, 1]``, the shape of ``cover``.

    Raises
    ------
    ValueError
        If ``strength`` is not a finite number above 0, or the shapes differ.

    Introduced in chapter 10 (Surviving the channel).
    """
    value = _check_strength(strength)
    cover = tf.convert_to_tensor(cover, tf.float32)
    container = tf.convert_to_tensor(container, tf.float32)
    if cover.shape != container.shape:
        raise ValueError(f"cover and container must have the same shape, got "
                         f"{tuple(cover.shape)} and {tuple(container.shape)}")
    scaled = cover + value * (container - cover)
    scaled = quantize_8bit(scaled) if quantize else tf.clip_by_value(scaled, 0.0, 1.0)
    return scaled.numpy()


@keras.saving.register_keras_serializable(package="stegutils")
class StegoNet(keras.Model):
    """The three networks of one model: ``prep``, ``hide`` and ``reveal``.

    Calling the model on a dict, ``net({"cover": cover, "secret": secret})``, returns
    ``(container, revealed)`` where the container is *not* rounded (training decides what
    happens to it in between; see :mod:`stegutils.train`). A tuple is refused with a
    ``TypeError``: two images of the same shape in a tuple cannot say which is the cover,
    and a swapped pair would run without error. :meth:`hide_raw` takes the two images as
    keywords for the same reason. For using a model, :meth:`hide` (cover first, then
    secret) and :meth:`reveal` take care of padding, rounding and batching.

    Parameters
    ----------
    prep, hide, reveal : keras.Model
        The prep network (secret -> features), the hiding network
        (``[cover, features]`` -> container or residual) and the reveal network
        (container -> secret).
    variant : str
        The registered variant name.
    options : dict
        The variant's build options, so that a model on disk can be rebuilt.
    residual : bool
        Whether the hiding network predicts ``container - cover`` rather than the
        container itself.
    multiple : int
        Height and width must be divisible by this.
    specs : dict
        ``{"prep": NetworkSpec, "hide": ..., "reveal": ...}``.

    Introduced in chapter 3 (Designing the networks).
    """

    def __init__(self, prep, hide, reveal, *, variant, options, residual, multiple,
                 specs=None, **kwargs):
        super().__init__(**kwargs)
        self.prep = prep
        self.hiding = hide
        self.revealing = reveal
        self.variant = variant
        self.options = dict(options)
        self.residual = bool(residual)
        self.multiple = int(multiple)
        self._specs = dict(specs or {})

    # Keras reserves no names ``hide``/``reveal`` but we want methods with those names
    # for users, so the networks live in ``hiding`` and ``revealing``.
    @property
    def networks(self) -> dict[str, keras.Model]:
        """The three networks by their book names: prep, hide, reveal."""
        return {"prep": self.prep, "hide": self.hiding, "reveal": self.revealing}

    @property
    def specs(self) -> dict[str, NetworkSpec]:
        return dict(self._specs)

    def hide_raw(self, *, cover, secret, training=False):
        """The container before clipping and rounding, on inputs of a valid size.

        ``cover`` and ``secret`` are keyword-only (``net.hide_raw(cover=c, secret=s)``),
        so that a call cannot swap them without an error.
        """
        features = self.prep(secret, training=training)
        output = self.hiding([cover, features], training=training)
        output = tf.cast(output, tf.float32)
        return cover + output if self.residual else output

    def __call__(self, inputs, *args, **kwargs):
        # Checked before Keras sees the inputs, so that the error is this one line.
        _cover_and_secret(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=False):
        """``{"cover": ..., "secret": ...}`` -> ``(container, revealed)``, unrounded."""
        cover, secret = _cover_and_secret(inputs)
        container = self.hide_raw(cover=cover, secret=secret, training=training)
        revealed = tf.cast(self.revealing(container, training=training), tf.float32)
        return container, revealed

    def get_config(self):
        # Models are rebuilt from the variant registry, never deserialised from code.
        return {"variant": self.variant, "options": self.options}

    @classmethod
    def from_config(cls, config):
        return build(config["variant"], **config["options"])

    # -------------------------------------------------------------- using a model
    def _pad(self, images):
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        m = self.multiple
        pad_h = (-height) % m
        pad_w = (-width) % m
        padded = tf.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="SYMMETRIC")
        return padded, height, width

    def hide(self, cover, secret, *, quantize: bool = True, batch_size: int = 16,
             strength: float = 1.0):
        """Hide ``secret`` inside ``cover`` and return the container.

        The cover comes first, then the secret: ``net.hide(cover, secret)``, or by name,
        ``net.hide(cover=cover, secret=secret)``. Wherever the library takes both images
        positionally, the cover comes first; elsewhere it takes them by keyword only.

        Parameters
        ----------
        cover, secret : array-like
            Float images in ``[0, 1]``, shape ``(H, W, 3)`` or ``(B, H, W, 3)``, the
            same shape for both. Any height and width: sizes the network cannot take
            are padded (symmetric) and the result cropped back.
        quantize : bool, optional
            Round the container to 8 bits, as saving it as a PNG would (default).
        batch_size : int, optional
            How many pairs go through the networks at once.
        strength : float, optional
            The factor of the residual (:func:`scale_residual`): 1, the default, is the
            model as trained; below 1 the container is closer to the cover and the
            secret weaker, above 1 the other way. Rounded once, after the scaling.

        Returns
        -------
        numpy.ndarray
            The container, float32 in ``[0, 1]``, the shape of ``cover``.

        Raises
        ------
        ValueError
            If the shapes differ or are not images, or ``strength`` is not a finite
            number above 0.
        """
        strength = _check_strength(strength)
        cover_b, single = _as_batch(cover, "cover")
        secret_b, _ = _as_batch(secret, "secret")
        if cover_b.shape != secret_b.shape:
            raise ValueError(
                "cover and secret must have the same shape, got "
                f"{tuple(cover_b.shape)} and {tuple(secret_b.shape)}; resize the secret "
                "to the cover first (stegutils.data.resize)"
            )
        outputs = []
        for start in range(0, cover_b.shape[0], batch_size):
            c = cover_b[start:start + batch_size]
            s = secret_b[start:start + batch_size]
            # A tensor, not a Python bool: one traced function serves both settings.
            if strength == 1.0:
                outputs.append(self._hide_batch(c, s, tf.constant(bool(quantize))))
            else:
                raw = self._hide_batch(c, s, tf.constant(False))
                outputs.append(tf.constant(scale_residual(c, raw, strength,
                                                          quantize=quantize)))
        result = tf.concat(outputs, axis=0).numpy()
        return result[0] if single else result

    def reveal(self, container, *, batch_size: int = 16):
        """Recover the secret hidden in ``container``.

        Parameters
        ----------
        container : array-like
            Float images in ``[0, 1]``, shape ``(H, W, 3)`` or ``(B, H, W, 3)``.
        batch_size : int, optional
            How many containers go through the network at once.

        Returns
        -------
        numpy.ndarray
            The revealed secret, float32, clipped to ``[0, 1]``.
        """
        container_b, single = _as_batch(container, "container")
        outputs = [
            self._reveal_batch(container_b[start:start + batch_size])
            for start in range(0, container_b.shape[0], batch_size)
        ]
        result = tf.concat(outputs, axis=0).numpy()
        return result[0] if single else result

    def prep_features(self, secret):
        """The prep network's output for ``secret`` (for looking at it, chapter 3)."""
        secret_b, single = _as_batch(secret, "secret")
        padded, height, width = self._pad(secret_b)
        features = tf.cast(self.prep(padded, training=False), tf.float32)
        factor = self._specs.get("prep", NetworkSpec((), 1)).factor
        features = features[:, : -(-height // factor), : -(-width // factor)].numpy()
        return features[0] if single else features

    @tf.function(reduce_retracing=True)
    def _hide_batch(self, cover, secret, quantize):
        cover_p, height, width = self._pad(cover)
        secret_p, _, _ = self._pad(secret)
        container = self.hide_raw(cover=cover_p, secret=secret_p)[:, :height, :width]
        return tf.cond(quantize, lambda: quantize_8bit(container),
                       lambda: tf.clip_by_value(container, 0.0, 1.0))

    @tf.function(reduce_retracing=True)
    def _reveal_batch(self, container):
        padded, height, width = self._pad(container)
        revealed = tf.cast(self.revealing(padded, training=False), tf.float32)
        return tf.clip_by_value(revealed[:, :height, :width], 0.0, 1.0)


def _cover_and_secret(inputs):
    """``(cover, secret)`` from :meth:`StegoNet.call`'s dict; a TypeError for anything else."""
    if isinstance(inputs, collections.abc.Mapping):
        keys = set(inputs)
        if keys != {"cover", "secret"}:
            raise TypeError(
                "StegoNet takes a dict with exactly the keys 'cover' and 'secret', got "
                f"the keys {sorted(map(str, keys))}"
            )
        return inputs["cover"], inputs["secret"]
    if isinstance(inputs, (tuple, list)):
        kind = type(inputs).__name__
        raise TypeError(
            f"StegoNet takes a dict {{'cover': ..., 'secret': ...}}, not a {kind}: two "
            f"images in a {kind} cannot say which is the cover, and a swapped pair would "
            "run without an error"
        )
    raise TypeError(
        "StegoNet takes a dict {'cover': ..., 'secret': ...}, got "
        f"{type(inputs).__name__}"
    )


def _as_batch(images, name):
    tensor = tf.convert_to_tensor(images)
    if not tensor.dtype.is_floating:
        raise TypeError(
            f"{name} must be float images in [0, 1], got dtype {tensor.dtype.name}; "
            "convert uint8 images with stegutils.data.to_float"
        )
    tensor = tf.cast(tensor, tf.float32)
    if tensor.shape.rank == 3:
        tensor, single = tensor[tf.newaxis], True
    elif tensor.shape.rank == 4:
        single = False
    else:
        raise ValueError(
            f"{name} must have shape (height, width, 3) or (batch, height, width, 3), "
            f"got {tuple(tensor.shape)}"
        )
    if tensor.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 colour channels, got shape {tuple(tensor.shape)}")
    return tensor, single


# ------------------------------------------------------------------------------ registry


@dataclasses.dataclass(frozen=True)
class Variant:
    """A registered recipe for the three networks."""

    name: str
    builder: Callable[..., StegoNet]
    description: str
    defaults: dict


VARIANTS: dict[str, Variant] = {}


def register_variant(name: str, *, description: str, **defaults):
    """Register a builder function under ``name`` (a decorator).

    The builder takes keyword options (``defaults`` gives their values) plus
    ``dtype`` (a Keras dtype policy name) and returns a :class:`StegoNet`. Later
    variants plug in here and every tool (training, the command line, the widgets)
    finds them by name.

    Introduced in chapter 3 (Designing the networks).
    """

    def decorator(builder):
        if name in VARIANTS:
            raise ValueError(f"variant {name!r} is already registered")
        VARIANTS[name] = Variant(name, builder, description, dict(defaults))
        return builder

    return decorator


def variant_names() -> list[str]:
    """The registered variant names, in registration order."""
    return list(VARIANTS)


def build(variant: str = "fast", *, precision: str = "float32", seed: int | None = None,
          **options) -> StegoNet:
    """Build the three networks of a variant, with fresh weights.

    Parameters
    ----------
    variant : str
        A registered name: see :func:`variant_names`.
    precision : str, optional
        ``"float32"`` (default), ``"bfloat16"``, ``"float16"`` or ``"auto"``; see
        :func:`resolve_precision`.
    seed : int, optional
        Seeds the weight initialisation, so that two builds with the same seed are
        identical.
    **options
        The variant's options (for ``fast``: ``width``, ``prep_depth``,
        ``hide_depth``, ``reveal_depth``, ``reveal_width``, ``factor``).

    Returns
    -------
    StegoNet

    Raises
    ------
    ValueError
        For an unknown variant or option.

    Introduced in chapter 3 (Designing the networks).
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"unknown variant {variant!r}; the registered variants are {variant_names()}"
        )
    spec = VARIANTS[variant]
    unknown = set(options) - set(spec.defaults)
    if unknown:
        raise ValueError(
            f"variant {variant!r} has no option(s) {sorted(unknown)}; "
            f"its options are {sorted(spec.defaults)}"
        )
    merged = {**spec.defaults, **options}
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    return spec.builder(dtype=resolve_precision(precision), **merged)


def build_ready(variant: str = "fast", *, precision: str = "float32", seed: int | None = None,
                **options) -> StegoNet:
    """:func:`build`, then one call on a tiny pair so that Keras builds the whole model.

    A :class:`StegoNet` is a subclassed Keras model, which Keras counts as built only
    after its first call: before it, loading weights or a checkpoint into it, or
    building an optimizer against its variables, cannot rely on them being there. This
    is the net every tool starts from (training, loading shipped weights, copies for
    fine-tuning).

    Introduced in chapter 5 (Training).
    """
    net = build(variant, precision=precision, seed=seed, **options)
    probe = tf.zeros([1, 2 * net.multiple, 2 * net.multiple, 3])
    net({"cover": probe, "secret": probe})
    return net


# ------------------------------------------------------------------------------ builders


def _conv(filters, kernel, name, dtype, activation="relu"):
    return keras.layers.Conv2D(
        filters, kernel, padding="same", activation=activation, name=name, dtype=dtype
    )


def _image_input(name, channels=3):
    return keras.Input(shape=(None, None, channels), name=name)


def _output_conv(kernel, name, channels=3):
    # The last layer computes in float32 even under mixed precision: it produces pixels.
    return keras.layers.Conv2D(channels, kernel, padding="same", name=name, dtype="float32")


@register_variant(
    "seed",
    description="the blog post's reading: 5 ReLU layers of 50 channels per network, "
    "kernels 3 (prep), 4 (hide), 5 (reveal)",
    channels=50,
    depth=5,
)
def _build_seed(*, dtype, channels, depth):
    secret = _image_input("secret")
    x = secret
    for i in range(depth):
        x = _conv(channels, 3, f"prep_conv{i + 1}", dtype)(x)
    prep = keras.Model(secret, x, name="prep")

    cover = _image_input("cover")
    features = _image_input("features", channels)
    x = keras.layers.Concatenate(name="hide_concat", dtype=dtype)([cover, features])
    for i in range(depth):
        x = _conv(channels, 4, f"hide_conv{i + 1}", dtype)(x)
    container = _output_conv(4, "hide_output")(x)
    hide = keras.Model([cover, features], container, name="hide")

    container_in = _image_input("container")
    x = container_in
    for i in range(depth):
        x = _conv(channels, 5, f"reveal_conv{i + 1}", dtype)(x)
    revealed = _output_conv(5, "reveal_output")(x)
    reveal = keras.Model(container_in, revealed, name="reveal")

    specs = {
        "prep": NetworkSpec((3,) * depth),
        "hide": NetworkSpec((4,) * depth + (4,)),
        "reveal": NetworkSpec((5,) * depth + (5,)),
    }
    return StegoNet(prep, hide, reveal, variant="seed",
                    options={"channels": channels, "depth": depth},
                    residual=False, multiple=1, specs=specs, name="seed")


def _branches(x, name, dtype, filters=(50, 10, 5), kernels=(3, 4, 5)):
    outputs = [
        _conv(f, k, f"{name}_{k}x{k}", dtype)(x) for f, k in zip(filters, kernels)
    ]
    return keras.layers.Concatenate(name=f"{name}_concat", dtype=dtype)(outputs)


@register_variant(
    "paper",
    description="Baluja's networks: every layer runs 3x3, 4x4 and 5x5 convolutions "
    "(50, 10, 5 filters) in parallel; 2 prep, 5 hiding, 5 reveal layers",
    prep_depth=2,
    hide_depth=5,
    reveal_depth=5,
)
def _build_paper(*, dtype, prep_depth, hide_depth, reveal_depth):
    secret = _image_input("secret")
    x = secret
    for i in range(prep_depth):
        x = _branches(x, f"prep{i + 1}", dtype)
    prep = keras.Model(secret, x, name="prep")
    feature_channels = 65

    cover = _image_input("cover")
    features = _image_input("features", feature_channels)
    x = keras.layers.Concatenate(name="hide_concat", dtype=dtype)([cover, features])
    for i in range(hide_depth):
        x = _branches(x, f"hide{i + 1}", dtype)
    container = _output_conv(1, "hide_output")(x)
    hide = keras.Model([cover, features], container, name="hide")

    container_in = _image_input("container")
    x = container_in
    for i in range(reveal_depth):
        x = _branches(x, f"reveal{i + 1}", dtype)
    revealed = _output_conv(1, "reveal_output")(x)
    reveal = keras.Model(container_in, revealed, name="reveal")

    specs = {
        "prep": NetworkSpec((5,) * prep_depth),
        "hide": NetworkSpec((5,) * hide_depth + (1,)),
        "reveal": NetworkSpec((5,) * reveal_depth + (1,)),
    }
    options = {"prep_depth": prep_depth, "hide_depth": hide_depth,
               "reveal_depth": reveal_depth}
    return StegoNet(prep, hide, reveal, variant="paper", options=options,
                    residual=False, multiple=1, specs=specs, name="paper")


def _residual_stack(x, *, width, depth, name, dtype):
    """``depth`` 3x3 ReLU convolutions; from the second on, each adds to its input.

    Identity shortcuts let a deeper stack train as fast as a shallow one (He et al.);
    they change nothing about what the network can compute.
    """
    x = _conv(width, 3, f"{name}_conv1", dtype)(x)
    for i in range(1, depth):
        y = _conv(width, 3, f"{name}_conv{i + 1}", dtype)(x)
        x = keras.layers.Add(name=f"{name}_add{i + 1}", dtype=dtype)([x, y])
    return x


def _half_resolution_hiding(*, dtype, width, prep_depth, hide_depth, hide_width, factor):
    """The prep and hiding networks of ``fast`` (and ``robust``): space-to-depth to
    ``1/factor`` resolution, residual stacks (``width`` wide for prep, ``hide_width`` for
    hiding), and a hiding network that predicts the change to the cover."""
    channels = 3 * factor * factor

    secret = _image_input("secret")
    x = SpaceToDepth(factor, name="prep_s2d", dtype=dtype)(secret)
    x = _residual_stack(x, width=width, depth=prep_depth, name="prep", dtype=dtype)
    prep = keras.Model(secret, x, name="prep")

    cover = _image_input("cover")
    features = _image_input("features", width)
    x = SpaceToDepth(factor, name="hide_s2d", dtype=dtype)(cover)
    x = keras.layers.Concatenate(name="hide_concat", dtype=dtype)([x, features])
    x = _residual_stack(x, width=hide_width, depth=hide_depth, name="hide", dtype=dtype)
    x = _output_conv(3, "hide_output", channels)(x)
    residual = DepthToSpace(factor, name="hide_d2s", dtype="float32")(x)
    hide = keras.Model([cover, features], residual, name="hide")
    return prep, hide


@register_variant(
    "fast",
    description="this project's CPU-friendly design: space-to-depth to half resolution, "
    "a residual container (cover + predicted change), a wide, deep reveal network",
    width=64,
    prep_depth=2,
    hide_depth=4,
    reveal_depth=6,
    reveal_width=96,
    factor=2,
)
def _build_fast(*, dtype, width, prep_depth, hide_depth, reveal_depth, reveal_width, factor):
    channels = 3 * factor * factor
    prep, hide = _half_resolution_hiding(dtype=dtype, width=width, prep_depth=prep_depth,
                                         hide_depth=hide_depth, hide_width=width,
                                         factor=factor)

    container = _image_input("container")
    x = SpaceToDepth(factor, name="reveal_s2d", dtype=dtype)(container)
    x = _residual_stack(x, width=reveal_width, depth=reveal_depth, name="reveal", dtype=dtype)
    x = _output_conv(3, "reveal_output", channels)(x)
    revealed = DepthToSpace(factor, name="reveal_d2s", dtype="float32")(x)
    reveal = keras.Model(container, revealed, name="reveal")

    specs = {
        "prep": NetworkSpec((3,) * prep_depth, factor),
        "hide": NetworkSpec((3,) * hide_depth + (3,), factor),
        "reveal": NetworkSpec((3,) * reveal_depth + (3,), factor),
    }
    options = {"width": width, "prep_depth": prep_depth, "hide_depth": hide_depth,
               "reveal_depth": reveal_depth, "reveal_width": reveal_width,
               "factor": factor}
    return StegoNet(prep, hide, reveal, variant="fast", options=options,
                    residual=True, multiple=factor, specs=specs, name="fast")


@register_variant(
    "robust",
    description="trained through the channel (chapter 10): the fast design's hiding side, "
    "and a reveal network at full resolution with dilated convolutions, so that a crop "
    "at any offset shifts what it reveals and nothing else",
    width=48,
    prep_depth=2,
    hide_depth=4,
    hide_width=64,
    reveal_width=48,
    dilations=(1, 2, 4, 8, 4, 2, 1),
    factor=2,
)
def _build_robust(*, dtype, width, prep_depth, hide_depth, hide_width, reveal_width,
                  dilations, factor):
    dilations = tuple(int(d) for d in dilations)
    prep, hide = _half_resolution_hiding(dtype=dtype, width=width, prep_depth=prep_depth,
                                         hide_depth=hide_depth, hide_width=hide_width,
                                         factor=factor)

    # Stride 1 everywhere: shifting the container shifts the revealed image (away from
    # the borders), which is what makes a crop at an odd offset harmless. Dilated
    # kernels see far (JPEG spreads its error over 8x8 blocks) at the cost of 3x3 ones.
    container = _image_input("container")
    x = keras.layers.Conv2D(reveal_width, 3, padding="same", activation="relu",
                            dilation_rate=dilations[0], name="reveal_conv1", dtype=dtype)(container)
    for i, rate in enumerate(dilations[1:], start=2):
        y = keras.layers.Conv2D(reveal_width, 3, padding="same", activation="relu",
                                dilation_rate=rate, name=f"reveal_conv{i}", dtype=dtype)(x)
        x = keras.layers.Add(name=f"reveal_add{i}", dtype=dtype)([x, y])
    revealed = _output_conv(3, "reveal_output")(x)
    reveal = keras.Model(container, revealed, name="reveal")

    specs = {
        "prep": NetworkSpec((3,) * prep_depth, factor),
        "hide": NetworkSpec((3,) * hide_depth + (3,), factor),
        # A dilated 3x3 kernel spans 1 + 2 * rate pixels.
        "reveal": NetworkSpec(tuple(1 + 2 * d for d in dilations) + (3,), 1),
    }
    options = {"width": width, "prep_depth": prep_depth, "hide_depth": hide_depth,
               "hide_width": hide_width, "reveal_width": reveal_width,
               "dilations": list(dilations), "factor": factor}
    return StegoNet(prep, hide, reveal, variant="robust", options=options,
                    residual=True, multiple=factor, specs=specs, name="robust")


# ------------------------------------------------------------------------------ counting


def count_params(net: StegoNet) -> dict[str, int]:
    """Trainable parameters per network and in total.

    Returns
    -------
    dict
        ``{"prep": ..., "hide": ..., "reveal": ..., "total": ...}``.

    Introduced in chapter 3 (Designing the networks).
    """
    counts, seen = {}, set()
    for name, model in net.networks.items():
        # A weight two networks share (the invertible variant's) counts once, in the first.
        own = [v for v in model.trainable_weights if id(v) not in seen]
        seen.update(id(v) for v in own)
        counts[name] = int(sum(int(tf.size(v)) for v in own))
    counts["total"] = sum(counts.values())
    return counts


def count_flops(net: StegoNet, size: int | tuple[int, int] = 256) -> dict[str, int]:
    """Floating-point operations of one forward pass, per network and in total.

    A convolution with a ``k x k`` kernel from ``c_in`` to ``c_out`` channels at
    ``h x w`` positions costs ``2 * h * w * k * k * c_in * c_out`` operations (one
    multiply and one add each); bias additions and activations are left out, as is usual.

    Parameters
    ----------
    net : StegoNet
    size : int or (int, int), optional
        Image height and width in pixels (default 256).

    Returns
    -------
    dict
        ``{"prep": ..., "hide": ..., "reveal": ..., "total": ...}`` for one image.

    Introduced in chapter 3 (Designing the networks).
    """
    height, width = (size, size) if isinstance(size, int) else size
    flops = {}
    for name, model in net.networks.items():
        factor = net.specs[name].factor
        positions = (height // factor) * (width // factor)
        total = 0
        for layer in _conv_layers(model):
            kernel = layer.kernel
            total += 2 * positions * int(tf.size(kernel))
        flops[name] = total
    flops["total"] = sum(flops.values())
    return flops


def widen_from(target: StegoNet, source: StegoNet) -> None:
    """Start ``target``, a wider model of ``source``'s design, where ``source`` stands.

    Function-preserving widening (Net2Net, Chen, Goodfellow and Shlens, 2016, here in
    its zero-initialised form): each convolution of ``target`` holds ``source``'s kernel
    and bias in its first input and output channels; the weights from a new input
    channel to an old output channel are zero, so the old channels compute exactly what
    they did and the new ones are never read by them; the new output channels keep
    ``target``'s fresh initialisation. ``target`` therefore hides and reveals what
    ``source`` does (to rounding), and training can put the new channels to use: their
    outgoing weights start at zero but receive gradients, since the new channels'
    activations do not.

    Only options that set a width (``width``, ``hide_width``, ``reveal_width``...) may
    differ, and only upwards; depth, kernels, dilations and the grid must be the same,
    since changing them would change what the network computes.

    Raises
    ------
    ValueError
        If the two are different variants, differ in an option that is not a width,
        or ``target`` is narrower anywhere.

    Used by :class:`stegutils.train.Trainer` when ``init_from`` names a narrower model
    (``stegutils train --init-from robust --variant-options '{"reveal_width": 96}'``).
    """
    if target.variant != source.variant:
        raise ValueError(f"cannot widen a {source.variant} model into a {target.variant} one")
    changed = sorted(k for k in {*target.options, *source.options}
                     if target.options.get(k) != source.options.get(k))
    fixed = [k for k in changed if not k.endswith("width")]
    if fixed:
        raise ValueError(
            f"only widths may change when a model is widened; {source.variant} options "
            + ", ".join(f"{k}: {source.options.get(k)!r} -> {target.options.get(k)!r}"
                        for k in fixed)
            + " differ"
        )
    narrower = [k for k in changed if target.options[k] < source.options[k]]
    if narrower:
        raise ValueError(
            "a widened model must be at least as wide as its source everywhere; "
            + ", ".join(f"{k}: {source.options[k]} -> {target.options[k]}" for k in narrower)
        )
    updates = []
    for name in ("prep", "hide", "reveal"):
        new_layers = {layer.name: layer for layer in _conv_layers(target.networks[name])}
        old_layers = {layer.name: layer for layer in _conv_layers(source.networks[name])}
        if sorted(new_layers) != sorted(old_layers):
            raise ValueError(f"the {name} networks of the two models have different layers")
        for layer_name, old in old_layers.items():
            new = new_layers[layer_name]
            kernel = new.kernel.numpy()
            old_kernel = old.kernel.numpy()
            kh, kw, cin, cout = old_kernel.shape
            if kernel.shape[:2] != (kh, kw) or kernel.shape[2] < cin or kernel.shape[3] < cout:
                raise ValueError(f"{name}/{layer_name} has kernel {kernel.shape}, which cannot "
                                 f"hold the source's {old_kernel.shape}")
            kernel[:, :, :, :cout] = 0.0
            kernel[:, :, :cin, :cout] = old_kernel
            updates.append((new.kernel, kernel))
            if new.use_bias:
                bias = new.bias.numpy()
                bias[:cout] = old.bias.numpy()
                updates.append((new.bias, bias))
    for variable, value in updates:
        variable.assign(value)


def _conv_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            yield layer


def receptive_field(net: StegoNet) -> dict[str, int]:
    """The receptive field of each network, in input pixels (one side of the square).

    ``prep+hide`` is the field of one container pixel in the secret: what the hiding
    path can spread one secret pixel over; ``reveal`` is the field of one revealed pixel
    in the container. For stride-1 convolutions the field grows by ``k - 1`` per layer;
    a network at ``1/f`` resolution sees ``f`` times as far (one more block of ``f``
    pixels for the space-to-depth step itself).

    Introduced in chapter 3 (Designing the networks).
    """
    def field(kernels, factor):
        grid = 1 + sum(k - 1 for k in kernels)
        return grid * factor

    specs = net.specs
    factor = specs["prep"].factor
    fields = {name: field(spec.kernels, spec.factor) for name, spec in specs.items()}
    fields["prep+hide"] = field(specs["prep"].kernels + specs["hide"].kernels, factor)
    return fields


# The variants that live in modules of their own register themselves on import.
from stegutils import invertible as _invertible  # noqa: E402,F401
