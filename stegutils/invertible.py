"""Invertible hiding: affine coupling blocks on Haar wavelet sub-bands (HiNet style).

The ``invertible`` variant follows HiNet {cite}`jing2021hinet` and ISN: cover and secret
each go through a Haar wavelet transform (four sub-bands at half resolution, 12
channels), then through a stack of coupling blocks. Block ``k`` updates the two streams
in turn::

    x1 = x1 + phi_k(x2)                                   (the cover's bands)
    x2 = x2 * exp(clamp * (2 sigmoid(rho_k(x1)) - 1)) + eta_k(x1)   (the secret's bands)

``phi``, ``rho`` and ``eta`` are small convolutional networks (3x3 convolutions with
LeakyReLU, the last one initialised to zero, so that a fresh model is the identity: the
container is the cover). The clamp bounds each block's scale to ``exp(+-clamp)``, which
keeps training stable. After the last block the inverse wavelet transform of ``x1`` is
the container; ``x2`` is the *lost information*: it does not leave the hiding network.

Revealing runs the same blocks backwards, which undoes them exactly::

    x2 = (x2 - eta_k(x1)) * exp(-clamp * (2 sigmoid(rho_k(x1)) - 1))
    x1 = x1 - phi_k(x2)

starting from the container's bands and, in place of the lost information that the
receiver does not have, zeros. So the reveal network has no weights of its own: it *is*
the hiding network run in reverse, and training has to teach the blocks to leave
nothing of the secret in the lost branch. Between the two passes the container is still
rounded to 8 bits, as for every other variant: this is where the published figures,
measured on floating-point containers, and a real PNG part ways (chapter 9).

The wavelet step and the coupling arithmetic compute in float32 whatever the precision
policy; only the sub-networks' convolutions use bfloat16 under ``mixed_bfloat16``.

The variant also adds HiNet's low-frequency term to the loss
(:meth:`InvertibleNet.auxiliary_loss`): the squared error between the LL sub-bands of
container and cover, which keeps the secret out of the band where changes are most
visible.

Introduced in chapter 9 (Beyond Baluja: invertible hiding).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import keras

from stegutils import models as _models

__all__ = [
    "haar_dwt",
    "haar_iwt",
    "HaarDWT",
    "HaarIWT",
    "InvertibleNet",
]

# The orthonormal 2x2 Haar analysis matrix. Rows: the LL, HL, LH and HH sub-bands;
# columns: the pixels of a 2x2 block in tf.nn.space_to_depth order, (row, column) =
# (0, 0), (0, 1), (1, 0), (1, 1). Its rows are orthonormal, so its transpose inverts it.
_HAAR = 0.5 * np.array(
    [
        [1.0, 1.0, 1.0, 1.0],    # LL: the block's sum (twice its mean)
        [-1.0, 1.0, -1.0, 1.0],  # HL: right column minus left column
        [-1.0, -1.0, 1.0, 1.0],  # LH: bottom row minus top row
        [1.0, -1.0, -1.0, 1.0],  # HH: the diagonal difference
    ],
    dtype=np.float32,
)

#: Names of the four sub-bands, in the order of the wavelet's channel groups.
BANDS = ("LL", "HL", "LH", "HH")


def _analysis_matrix(channels):
    # bands[..., b * C + c] = sum_p _HAAR[b, p] * blocks[..., p * C + c]: one matrix
    # product per position (kron(_HAAR^T, I_C)); orthonormal, so its transpose inverts it.
    return tf.constant(np.kron(_HAAR.T, np.eye(channels, dtype=np.float32)))


def haar_dwt(images: tf.Tensor) -> tf.Tensor:
    """One level of the 2D Haar wavelet transform, orthonormal.

    Parameters
    ----------
    images : tf.Tensor
        ``(batch, height, width, channels)``, height and width even.

    Returns
    -------
    tf.Tensor
        ``(batch, height / 2, width / 2, 4 * channels)``, float32: the LL, HL, LH and HH
        sub-bands (each ``channels`` wide, in that order). The transform is orthonormal:
        it keeps the sum of squares, and :func:`haar_iwt` undoes it exactly.

    Introduced in chapter 9 (Beyond Baluja: invertible hiding).
    """
    images = tf.cast(images, tf.float32)
    blocks = tf.nn.space_to_depth(images, 2)  # channels: pixel of the block, then colour
    return tf.tensordot(blocks, _analysis_matrix(images.shape[-1]), axes=[[3], [0]])


def haar_iwt(bands: tf.Tensor) -> tf.Tensor:
    """The inverse of :func:`haar_dwt`: sub-bands back to images at full resolution.

    Introduced in chapter 9 (Beyond Baluja: invertible hiding).
    """
    bands = tf.cast(bands, tf.float32)
    synthesis = tf.transpose(_analysis_matrix(bands.shape[-1] // 4))
    return tf.nn.depth_to_space(tf.tensordot(bands, synthesis, axes=[[3], [0]]), 2)


# ------------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="stegutils")
class HaarDWT(keras.layers.Layer):
    """:func:`haar_dwt` as a layer (float32, no weights)."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def call(self, inputs):
        return haar_dwt(inputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        half = lambda n: None if n is None else n // 2  # noqa: E731
        return (batch, half(height), half(width), 4 * channels)


@keras.saving.register_keras_serializable(package="stegutils")
class HaarIWT(keras.layers.Layer):
    """:func:`haar_iwt` as a layer (float32, no weights)."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def call(self, inputs):
        return haar_iwt(inputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        double = lambda n: None if n is None else n * 2  # noqa: E731
        return (batch, double(height), double(width), channels // 4)


@keras.saving.register_keras_serializable(package="stegutils")
class AdditiveStep(keras.layers.Layer):
    """``x + t`` (or ``x - t`` with ``sign=-1``) in float32: the cover stream's update."""

    def __init__(self, sign: int = 1, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.sign = int(sign)

    def call(self, inputs):
        x, t = inputs
        t = tf.cast(t, tf.float32)
        return x + t if self.sign > 0 else x - t

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "sign": self.sign}


@keras.saving.register_keras_serializable(package="stegutils")
class AffineStep(keras.layers.Layer):
    """The secret stream's update, or (``inverse=True``) its exact inverse, in float32.

    Forward ``x * exp(clamp * (2 sigmoid(s) - 1)) + t``; inverse
    ``(x - t) * exp(-clamp * (2 sigmoid(s) - 1))``. The log-scale is bounded by
    ``clamp``, as in HiNet.
    """

    def __init__(self, clamp: float = 2.0, inverse: bool = False, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.clamp = float(clamp)
        self.inverse = bool(inverse)

    def call(self, inputs):
        x, s, t = inputs
        log_scale = self.clamp * (2.0 * tf.sigmoid(tf.cast(s, tf.float32)) - 1.0)
        t = tf.cast(t, tf.float32)
        if self.inverse:
            return (x - t) * tf.exp(-log_scale)
        return x * tf.exp(log_scale) + t

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "clamp": self.clamp, "inverse": self.inverse}


@keras.saving.register_keras_serializable(package="stegutils")
class ZerosLike(keras.layers.Layer):
    """Zeros of the input's shape: what the reveal pass puts in place of the lost branch."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def call(self, inputs):
        return tf.zeros_like(tf.cast(inputs, tf.float32))

    def compute_output_shape(self, input_shape):
        return input_shape


class _Coupling:
    """The coupling blocks' layers and the two directions through them.

    A plain Python object, not a Keras layer: the layers are tracked (and saved) once,
    through the hiding network that uses them; the reveal network and the band-level
    functions share them.
    """

    def __init__(self, blocks, clamp):
        self.blocks = blocks  # [(phi, rho, eta)], each a list of Conv2D layers
        self.clamp = clamp

    @staticmethod
    def _apply(layers, x):
        for layer in layers:
            x = layer(x)
        return x

    def forward(self, x1, x2):
        for index, (phi, rho, eta) in enumerate(self.blocks):
            x1 = AdditiveStep(+1)([x1, self._apply(phi, x2)])
            x2 = AffineStep(self.clamp)([x2, self._apply(rho, x1), self._apply(eta, x1)])
        return x1, x2

    def inverse(self, y1, y2):
        for phi, rho, eta in reversed(self.blocks):
            y2 = AffineStep(self.clamp, inverse=True)(
                [y2, self._apply(rho, y1), self._apply(eta, y1)])
            y1 = AdditiveStep(-1)([y1, self._apply(phi, y2)])
        return y1, y2


def _subnet(name, *, width, depth, out_channels, dtype):
    """``depth`` 3x3 LeakyReLU convolutions of ``width``, then a zero-initialised one."""
    layers = [
        keras.layers.Conv2D(width, 3, padding="same", activation="leaky_relu",
                            name=f"{name}_conv{i + 1}", dtype=dtype)
        for i in range(depth)
    ]
    layers.append(keras.layers.Conv2D(out_channels, 3, padding="same",
                                      kernel_initializer="zeros", bias_initializer="zeros",
                                      name=f"{name}_out", dtype=dtype))
    return layers


# ------------------------------------------------------------------------------ the model


@keras.saving.register_keras_serializable(package="stegutils")
class InvertibleNet(_models.StegoNet):
    """A :class:`~stegutils.models.StegoNet` whose reveal network inverts its hiding one.

    ``prep`` is the secret's wavelet transform (no weights), ``hiding`` the coupling
    blocks forward, ``revealing`` the same blocks backwards from the container's bands
    and zeros; :func:`stegutils.models.count_params` counts the shared weights once,
    under ``hide``. :meth:`forward_bands` and :meth:`inverse_bands` expose the blocks on
    the sub-bands, with the lost branch, for checking that one undoes the other.

    Introduced in chapter 9 (Beyond Baluja: invertible hiding).
    """

    def __init__(self, prep, hide, reveal, *, coupling=None, low_weight=0.0, **kwargs):
        super().__init__(prep, hide, reveal, **kwargs)
        # Not tracked by Keras (a plain object): its layers belong to ``hiding``.
        object.__setattr__(self, "_coupling", coupling)
        self.low_weight = float(low_weight)

    def forward_bands(self, cover_bands, secret_bands):
        """The blocks forward on sub-bands: ``(container bands, lost branch)``."""
        return self._coupling.forward(tf.cast(cover_bands, tf.float32),
                                      tf.cast(secret_bands, tf.float32))

    def inverse_bands(self, container_bands, lost):
        """The blocks backwards: ``(cover bands, secret bands)`` from the two outputs."""
        return self._coupling.inverse(tf.cast(container_bands, tf.float32),
                                      tf.cast(lost, tf.float32))

    def auxiliary_loss(self, cover, container):
        """HiNet's low-frequency term, per example, weighted by ``low_weight``.

        The mean squared difference between the LL sub-bands of container and cover
        (the orthonormal Haar transform's LL is twice each 2x2 block's mean).
        :func:`stegutils.train.compute_losses` adds it to the total loss.
        """
        channels = 3
        low_container = haar_dwt(container)[..., :channels]
        low_cover = haar_dwt(cover)[..., :channels]
        error = tf.reduce_mean(tf.math.squared_difference(low_container, low_cover),
                               axis=[1, 2, 3])
        return self.low_weight * error


@_models.register_variant(
    "invertible",
    description="HiNet-style invertible hiding: affine coupling blocks on Haar wavelet "
    "sub-bands; the reveal network is the hiding network run backwards",
    blocks=8,
    width=32,
    depth=3,
    clamp=2.0,
    low_weight=1.0,
)
def _build_invertible(*, dtype, blocks, width, depth, clamp, low_weight):
    for name, value in (("blocks", blocks), ("width", width), ("depth", depth)):
        if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                and value >= 1):
            raise ValueError(f"invertible: {name} must be a positive integer, got {value!r}")
    if not (float(clamp) > 0 and np.isfinite(clamp)):
        raise ValueError(f"invertible: clamp must be a positive number, got {clamp!r}")
    if not (float(low_weight) >= 0 and np.isfinite(low_weight)):
        raise ValueError(f"invertible: low_weight must be >= 0, got {low_weight!r}")
    bands = 12  # four sub-bands of three colours
    layers = []
    for k in range(blocks):
        layers.append(tuple(
            _subnet(f"block{k + 1}_{role}", width=width, depth=depth, out_channels=bands,
                    dtype=dtype)
            for role in ("phi", "rho", "eta")
        ))
    coupling = _Coupling(layers, float(clamp))

    secret = keras.Input(shape=(None, None, 3), name="secret")
    prep = keras.Model(secret, HaarDWT(name="prep_dwt")(secret), name="prep")

    cover = keras.Input(shape=(None, None, 3), name="cover")
    features = keras.Input(shape=(None, None, bands), name="features")
    x1, _ = coupling.forward(HaarDWT(name="hide_dwt")(cover), features)
    hide = keras.Model([cover, features], HaarIWT(name="hide_iwt")(x1), name="hide")

    container = keras.Input(shape=(None, None, 3), name="container")
    y1 = HaarDWT(name="reveal_dwt")(container)
    _, x2 = coupling.inverse(y1, ZerosLike(name="reveal_lost")(y1))
    reveal = keras.Model(container, HaarIWT(name="reveal_iwt")(x2), name="reveal")

    # The longest chain of convolutions: phi, then rho/eta (in parallel), block after
    # block, less one sub-network: hiding never uses the last block's rho and eta (they
    # only change the lost branch), revealing never uses the first block's phi (it only
    # changes the recovered cover).
    chain = (3,) * ((2 * blocks - 1) * (depth + 1))
    specs = {
        "prep": _models.NetworkSpec((), 2),
        "hide": _models.NetworkSpec(chain, 2),
        "reveal": _models.NetworkSpec(chain, 2),
    }
    options = {"blocks": int(blocks), "width": int(width), "depth": int(depth),
               "clamp": float(clamp), "low_weight": float(low_weight)}
    return InvertibleNet(prep, hide, reveal, coupling=coupling, low_weight=low_weight,
                         variant="invertible", options=options, residual=False,
                         multiple=2, specs=specs, name="invertible")
