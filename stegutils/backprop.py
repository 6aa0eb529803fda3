"""Hand-written backward passes for the ``seed`` networks, and the "dilated" variant.

Automatic differentiation (:func:`stegutils.train.gradients`) records the forward pass
and replays it backwards. This module does the same by hand, for the three networks of
the ``seed`` variant and the routed loss of :mod:`stegutils.train`, so that every step
can be read:

1. :func:`forward` runs prep, hiding and reveal with ``tf.nn`` operations on the Keras
   layers' own kernels and biases, keeping every activation, and computes the losses
   exactly as :func:`stegutils.train.compute_losses` does.
2. :func:`backward` walks back from the two loss terms. Per layer
   ``y = relu(conv(x, K) + b)`` it needs three rules: the ReLU passes the gradient where
   its output is positive (:func:`relu_backward`); the bias gets the gradient summed
   over batch and pixels; the convolution sends it to its input and its kernel
   (:func:`conv_backward`: the operations ``Conv2DBackpropInput`` and
   ``Conv2DBackpropFilter``, TensorFlow 1's ``tf.nn.conv2d_backprop_input`` and
   ``tf.nn.conv2d_backprop_filter``). Between the networks: the 8-bit rounding passes
   the gradient straight through where the clip to ``[0, 1]`` is inactive (zero where
   it is active); the container collects the cover term and what the reveal network
   sends back; the concatenation ``[cover, features]`` hands its last channels to the
   prep network. The cover term is never sent into the reveal network: that is the
   routing of chapter 4, here visible as code.
3. :func:`manual_gradients` wraps both in the signature that
   :class:`stegutils.train.Trainer` takes as ``gradient_fn``, so a run with
   hand-written gradients goes through the very same training loop.

The dilated rule
----------------
The blog post {cite}`blogpost` also trained with what it calls *dilated back
propagation*: the gradient that arrives at a later layer is also added, unchanged, to
the gradients of the layers further back, a skip connection in the backward pass only.
What this module implements (``dilated=True``, :func:`dilated_gradients`), exactly:

    In each network, number the ReLU convolutions ``1..depth`` and write ``a_l`` for
    the output of layer ``l`` and ``g_l`` for the gradient the backward pass assigns to
    ``a_l``. For every layer ``l >= 2`` (its input ``a_{l-1}`` is the output of another
    ReLU convolution of the same width) the gradient sent back to ``a_{l-1}`` is the
    chain-rule term plus ``g_l`` itself, with weight 1::

        g_{l-1} = J_l^T g_l + g_l            (true backprop: g_{l-1} = J_l^T g_l)

    where ``J_l^T g_l`` is the ordinary step back through layer ``l`` (ReLU mask, then
    the transposed convolution). Nothing else changes: the output convolutions, the
    first layer of each network (its input has another width: 3 channels, or the 53
    of ``[cover, features]``), the links between networks, and the kernel and bias
    gradients computed from ``g_l`` by the usual rules.

Unrolled, ``g_{l-1} = g_depth + sum_{m=l}^{depth} J_m^T g_m``: the gradient at the last
ReLU layer reaches every earlier one unchanged, as through the identity shortcuts of a
ResNet. It is exactly the gradient of a network whose ReLU layers ``2..depth`` compute
``y = f(x) + (x - stop_gradient(x))``: the same numbers forward, an identity shortcut
backward. It is *not* the gradient of the loss any more (chapter 6 says what that means
for Adam and for convergence). Because the altered gradient of the reveal network's first
layer is what reaches the container, the hiding and prep networks' gradients change too;
the reveal network's last two layers (the output convolution and layer ``depth``) keep
their true gradients.

Only the ``seed`` variant has a hand-written pass (:data:`MANUAL_VARIANTS`), in
float32 (or float64 with :func:`seed_parameters`' ``dtype``); mixed precision is
refused with a message.

Introduced in chapter 6 (Autodiff against manual, dilated backprop).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from stegutils import models as _models
from stegutils import train as _train

__all__ = [
    "MANUAL_VARIANTS",
    "GRADIENT_KINDS",
    "ConvLayer",
    "ForwardPass",
    "seed_parameters",
    "conv_forward",
    "conv_backward",
    "relu_backward",
    "network_forward",
    "network_backward",
    "forward",
    "backward",
    "manual_gradients",
    "dilated_gradients",
    "gradient_fn",
    "make_trainer",
    "check_conv_backprop",
    "FiniteDifference",
    "finite_difference",
]

#: Variants that have a hand-written backward pass.
MANUAL_VARIANTS = ("seed",)

#: The sources of gradients that :func:`gradient_fn` knows.
GRADIENT_KINDS = ("autodiff", "manual", "dilated")


# ------------------------------------------------------------------------ parameters


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    """One convolution of a ``seed`` network: ``y = relu?(conv(x, kernel) + bias)``.

    Attributes
    ----------
    name : str
        The Keras layer's name (``"hide_conv2"``, ``"reveal_output"``).
    kernel : tf.Tensor
        ``(k, k, in_channels, out_channels)``.
    bias : tf.Tensor
        ``(out_channels,)``.
    relu : bool
        Whether a ReLU follows (all but the output convolutions).

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """

    name: str
    kernel: tf.Tensor
    bias: tf.Tensor
    relu: bool


def _check_variant(net) -> None:
    variant = getattr(net, "variant", None)
    if variant not in MANUAL_VARIANTS:
        raise ValueError(
            f"variant {variant!r} has no hand-written backward pass; the variants that "
            f"have one are {list(MANUAL_VARIANTS)} (use gradient kind 'autodiff' for "
            "the others)"
        )


def _seed_layers(net):
    """The Keras Conv2D layers of a seed model, per network, in forward order."""
    _check_variant(net)
    depth = int(net.options["depth"])
    layers = {
        "prep": [net.prep.get_layer(f"prep_conv{i + 1}") for i in range(depth)],
        "hide": [net.hiding.get_layer(f"hide_conv{i + 1}") for i in range(depth)]
        + [net.hiding.get_layer("hide_output")],
        "reveal": [net.revealing.get_layer(f"reveal_conv{i + 1}") for i in range(depth)]
        + [net.revealing.get_layer("reveal_output")],
    }
    for group in layers.values():
        for layer in group:
            if layer.compute_dtype != "float32":
                raise ValueError(
                    "the hand-written backward pass computes in float32, but layer "
                    f"{layer.name!r} computes in {layer.compute_dtype}; build the model "
                    "with precision='float32' (Config(precision='float32') for training)"
                )
    return layers


def seed_parameters(net, *, dtype=None) -> dict[str, list[ConvLayer]]:
    """The kernels and biases of a ``seed`` model, network by network.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        A ``seed`` model, built (called once) and in float32.
    dtype : tf.DType, optional
        Cast the weights to this type (``tf.float64`` for a float64 check); default:
        the variables' own values, float32.

    Returns
    -------
    dict
        ``{"prep": [ConvLayer, ...], "hide": [...], "reveal": [...]}`` in forward
        order; the hiding and reveal lists end with their linear output convolution.

    Raises
    ------
    ValueError
        For a variant without a hand-written pass (``paper``, ``fast``) or a model in
        mixed precision.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    params = {}
    for network, layers in _seed_layers(net).items():
        params[network] = []
        for layer in layers:
            kernel = tf.convert_to_tensor(layer.kernel)
            bias = tf.convert_to_tensor(layer.bias)
            if dtype is not None:
                kernel, bias = tf.cast(kernel, dtype), tf.cast(bias, dtype)
            relu = not layer.name.endswith("_output")
            params[network].append(ConvLayer(layer.name, kernel, bias, relu))
    return params


# ------------------------------------------------------------------ one layer, both ways


def conv_forward(x, kernel, bias, *, relu):
    """``relu(conv2d(x, kernel) + bias)`` (or without the ReLU), stride 1, "SAME".

    The same operations, in the same order, as a Keras ``Conv2D(padding="same")``
    layer, so the values are identical to the model's.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    z = tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias
    return tf.nn.relu(z) if relu else z


def relu_backward(output, upstream):
    """The gradient through a ReLU: ``upstream`` where the ReLU's output is positive.

    (TensorFlow's own ReLU gradient uses the same mask, ``output > 0``; at exactly 0 the
    derivative is taken as 0.)

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    return tf.where(output > 0, upstream, tf.zeros_like(upstream))


def conv_backward(x, kernel, upstream, *, input_gradient=True):
    """Gradients of ``y = conv2d(x, kernel, stride 1, "SAME")`` given ``dL/dy``.

    Parameters
    ----------
    x : tf.Tensor
        The convolution's input, ``(batch, height, width, in_channels)``.
    kernel : tf.Tensor
        ``(k, k, in_channels, out_channels)``.
    upstream : tf.Tensor
        ``dL/dy``, ``(batch, height, width, out_channels)``.
    input_gradient : bool, optional
        Also compute ``dL/dx`` (not needed for a network's first layer).

    Returns
    -------
    dx, dkernel : tf.Tensor
        ``dL/dx`` (``None`` when ``input_gradient`` is false): the transposed
        convolution of ``upstream`` with ``kernel``; ``dL/dkernel``: the correlation of
        ``x`` with ``upstream``, summed over the batch. Both use the same "SAME"
        padding as the forward pass (for an even kernel, ``k/2 - 1`` before and ``k/2``
        after), so each input pixel gets exactly the output pixels it fed.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    # The two operations TensorFlow's own gradient of tf.nn.conv2d calls (TF 1 named
    # them tf.nn.conv2d_backprop_input and tf.nn.conv2d_backprop_filter).
    dx = None
    if input_gradient:
        dx = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=tf.shape(x), filter=kernel, out_backprop=upstream,
            strides=[1, 1, 1, 1], padding="SAME")
    dkernel = tf.raw_ops.Conv2DBackpropFilter(
        input=x, filter_sizes=tf.shape(kernel), out_backprop=upstream,
        strides=[1, 1, 1, 1], padding="SAME")
    return dx, dkernel


# ------------------------------------------------------------------- one network, both ways


def network_forward(layers, x) -> list:
    """Run one network and keep every activation.

    Returns
    -------
    list of tf.Tensor
        ``[x, a_1, ..., a_L]``: the input, then each layer's output.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    activations = [x]
    for layer in layers:
        activations.append(conv_forward(activations[-1], layer.kernel, layer.bias,
                                        relu=layer.relu))
    return activations


def _has_backward_skip(layers, index) -> bool:
    # The dilated rule's one condition: a ReLU layer whose input is the output of the
    # previous ReLU layer of the same network, of the same width.
    layer = layers[index]
    return (index >= 1 and layer.relu and layers[index - 1].relu
            and layer.kernel.shape[-2] == layer.kernel.shape[-1])


def network_backward(layers, activations, upstream, *, dilated=False, input_gradient=True):
    """Backpropagate ``upstream`` (``dL/d output``) through one network.

    Parameters
    ----------
    layers : list of ConvLayer
    activations : list of tf.Tensor
        What :func:`network_forward` returned.
    upstream : tf.Tensor
        The gradient at the network's output.
    dilated : bool, optional
        Add the dilated rule's backward-only skip (see the module docstring).
    input_gradient : bool, optional
        Also return the gradient at the network's input.

    Returns
    -------
    grads : list of (dkernel, dbias)
        One pair per layer, in forward order.
    input_grad : tf.Tensor or None
        ``dL/dx`` at the network's input.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    grads = [None] * len(layers)
    grad = upstream  # dL / d(output of the current layer)
    for index in reversed(range(len(layers))):
        layer = layers[index]
        x, y = activations[index], activations[index + 1]
        grad_z = relu_backward(y, grad) if layer.relu else grad  # through the ReLU
        # b was added at every pixel of every image: sum over batch, height, width
        # (BiasAddGrad is that sum, the operation automatic differentiation uses too).
        dbias = tf.raw_ops.BiasAddGrad(out_backprop=grad_z)
        need_dx = index > 0 or input_gradient
        dx, dkernel = conv_backward(x, layer.kernel, grad_z, input_gradient=need_dx)
        if dilated and _has_backward_skip(layers, index):
            dx = dx + grad  # the backward-only identity skip, weight 1
        grads[index] = (dkernel, dbias)
        grad = dx
    return grads, grad


# -------------------------------------------------------------------- the whole model


@dataclasses.dataclass(kw_only=True)
class ForwardPass:
    """Everything :func:`backward` needs from :func:`forward` (built by keyword only).

    Attributes
    ----------
    cover, secret : tf.Tensor
        The batch.
    prep, hide, reveal : list of tf.Tensor
        Each network's activations ``[input, a_1, ..., output]``: ``hide[0]`` is
        ``[cover, features]``, ``hide[-1]`` the container, ``reveal[0]`` the distorted
        container, ``reveal[-1]`` the revealed secret.
    clip_mask : tf.Tensor or None
        Where the (noisy) container lay inside ``[0, 1]`` before 8-bit rounding, so
        where the straight-through gradient passes; ``None`` without rounding.
    losses : stegutils.train.Losses
    beta : float
    global_batch_size : tf.Tensor
        The divisor of :func:`tf.nn.compute_average_loss`.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """

    cover: tf.Tensor
    secret: tf.Tensor
    prep: list
    hide: list
    reveal: list
    clip_mask: tf.Tensor | None
    losses: _train.Losses
    beta: float
    global_batch_size: tf.Tensor

    @property
    def container(self):
        return self.hide[-1]

    @property
    def revealed(self):
        return self.reveal[-1]


def _mean_squared_error_per_example(a, b):
    return tf.reduce_mean(tf.math.squared_difference(a, b), axis=[1, 2, 3])


def forward(params, *, cover, secret, beta, noise=0.0, quantize=True, seed=None,
            global_batch_size=None) -> ForwardPass:
    """The forward pass of :func:`stegutils.train.compute_losses`, keeping activations.

    Parameters
    ----------
    params : dict
        From :func:`seed_parameters`.
    cover, secret : tf.Tensor, keyword-only
        Batches of images in ``[0, 1]`` of the parameters' dtype.
    beta, noise, quantize, seed, global_batch_size
        As for :func:`stegutils.train.compute_losses`. The noise is drawn by
        :func:`stegutils.train.distort_container` (float32, stateless with ``seed``),
        so the same seed gives the same noise as automatic differentiation sees.

    Returns
    -------
    ForwardPass

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    dtype = params["prep"][0].kernel.dtype
    secret = tf.cast(secret, dtype)
    cover = tf.cast(cover, dtype)
    prep = network_forward(params["prep"], secret)
    hide = network_forward(params["hide"], tf.concat([cover, prep[-1]], axis=-1))
    container = hide[-1]

    # What happens to the container on the way (train.distort_container): noise, then
    # rounding. The noise draw is float32, as in training; adding it to zeros gives
    # the draw itself, which a float64 pass can then add in float64.
    distorted = container
    if noise:
        draw = _train.distort_container(tf.zeros(tf.shape(container), tf.float32),
                                        noise=noise, quantize=False, seed=seed)
        distorted = distorted + tf.cast(draw, dtype)
    clip_mask = None
    if quantize:
        clip_mask = (distorted >= 0) & (distorted <= 1)
        distorted = _models.quantize_8bit(distorted)
    reveal = network_forward(params["reveal"], distorted)

    batch = global_batch_size if global_batch_size else tf.shape(secret)[0]
    cover_loss = tf.nn.compute_average_loss(
        _mean_squared_error_per_example(cover, container), global_batch_size=batch)
    secret_loss = tf.nn.compute_average_loss(
        _mean_squared_error_per_example(secret, reveal[-1]), global_batch_size=batch)
    losses = _train.Losses(cover_loss + beta * secret_loss, cover_loss, secret_loss)
    return ForwardPass(cover=cover, secret=secret, prep=prep, hide=hide, reveal=reveal,
                       clip_mask=clip_mask, losses=losses, beta=beta,
                       global_batch_size=tf.cast(batch, dtype))


def backward(params, fwd: ForwardPass, *, dilated=False, loss_scale=None) -> dict:
    """The hand-written backward pass of the routed loss.

    Parameters
    ----------
    params : dict
        From :func:`seed_parameters`.
    fwd : ForwardPass
        From :func:`forward` with the same ``params``.
    dilated : bool, optional
        Use the dilated rule (module docstring) instead of the true gradient.
    loss_scale : tf.Tensor or float, optional
        Multiply every gradient by this (a loss scale is linear).

    Returns
    -------
    dict
        ``{"prep": [(dkernel, dbias), ...], "hide": [...], "reveal": [...]}``, in the
        order of ``params``.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    dtype = fwd.container.dtype
    # Each loss is (1/B) * sum over the batch of (1/N) * sum over the N values of an
    # image of squared differences, so d loss / d value = 2 * (difference) / (N * B).
    # (Written in the order automatic differentiation evaluates it, 1/B, then 1/N, then
    # times 2, so that the two agree to the last bit where the operations allow.)
    values_per_example = tf.cast(tf.reduce_prod(tf.shape(fwd.cover)[1:]), dtype)
    one = tf.ones([], dtype) if loss_scale is None else tf.cast(loss_scale, dtype)
    per_value_cover = one / fwd.global_batch_size / values_per_example
    per_value_secret = (one * fwd.beta) / fwd.global_batch_size / values_per_example

    # The secret term trains all three networks: start at the reveal network's output.
    grad_revealed = -((2.0 * per_value_secret) * (fwd.secret - fwd.revealed))
    reveal_grads, grad_distorted = network_backward(params["reveal"], fwd.reveal,
                                                    grad_revealed, dilated=dilated)

    # Straight-through rounding: identity where the clip to [0, 1] was inactive. Noise
    # is added, so it passes the gradient unchanged.
    if fwd.clip_mask is not None:
        grad_distorted = tf.where(fwd.clip_mask, grad_distorted,
                                  tf.zeros_like(grad_distorted))

    # The container gets the cover term directly and the secret term from the reveal
    # network; the cover term goes no further down than here: it never enters reveal.
    grad_container = -((2.0 * per_value_cover) * (fwd.cover - fwd.container)) + grad_distorted
    hide_grads, grad_hide_input = network_backward(params["hide"], fwd.hide,
                                                   grad_container, dilated=dilated)

    # [cover, features]: the first 3 channels are the cover (a constant), the rest the
    # prep network's output.
    grad_features = grad_hide_input[..., 3:]
    prep_grads, _ = network_backward(params["prep"], fwd.prep, grad_features,
                                     dilated=dilated, input_gradient=False)
    return {"prep": prep_grads, "hide": hide_grads, "reveal": reveal_grads}


def _relu_masks(fwd: ForwardPass, params) -> list:
    # Where every ReLU unit of the three networks is active.
    masks = []
    for name, activations in (("prep", fwd.prep), ("hide", fwd.hide), ("reveal", fwd.reveal)):
        for layer, output in zip(params[name], activations[1:]):
            if layer.relu:
                masks.append(output > 0)
    if fwd.clip_mask is not None:
        masks.append(fwd.clip_mask)
    return masks


def _same_masks(a, b) -> bool:
    return all(bool(tf.reduce_all(tf.equal(x, y))) for x, y in zip(a, b))


@dataclasses.dataclass(frozen=True)
class FiniteDifference:
    """One central difference against the hand-written gradient (:func:`finite_difference`).

    Attributes
    ----------
    network, layer : str, int
        Which kernel: ``params[network][layer].kernel``.
    entry : tuple of int
        The kernel entry that was moved.
    step : float
        The step ``h`` of ``(L(theta + h) - L(theta - h)) / 2h``.
    numeric, analytic : float
        The central difference and the hand-written gradient of that entry.
    tolerance : float
        The largest difference that float rounding explains (see :func:`finite_difference`).
    tried : int
        How many (entry, step) candidates were rejected because the step moved a ReLU
        unit or the clip across its kink.
    """

    network: str
    layer: int
    entry: tuple
    step: float
    numeric: float
    analytic: float
    tolerance: float
    tried: int

    @property
    def difference(self) -> float:
        return abs(self.numeric - self.analytic)

    @property
    def ok(self) -> bool:
        return self.difference <= self.tolerance


def finite_difference(params, *, cover, secret, network="prep", layer=0, beta, noise=0.0,
                      quantize=False, seed=None, candidates=8,
                      steps=(1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)) -> FiniteDifference:
    """Check one kernel entry's hand-written gradient with a central difference.

    The loss of the ``seed`` networks is piecewise smooth: between two kinks (a ReLU
    unit switching on or off, the clip before rounding becoming active) every network
    is linear in each single weight, so the loss is a *quadratic* function of it, and a
    central difference is exact there up to float rounding, for any step. Only a step
    that carries some unit across its kink makes it wrong. So this function does what a
    careful check does:

    1. candidates are the kernel entries with the largest hand-written gradients (a
       relative comparison needs a gradient far from zero), in that order;
    2. for each candidate and each step, largest first, both perturbed forward passes
       are run and the ReLU masks (and the clip mask) compared with the unperturbed
       pass; a step whose masks change is rejected and the next, smaller one tried
       (some pre-activation is always within about 1e-9 of its kink in networks this
       size, so the steps go down that far), then the next entry;
    3. the tolerance follows from the step: each loss value carries a rounding error of
       about ``eps * |L|`` per operation that touched it, so the difference quotient is
       good to about ``n * eps * |L| / h`` (``n = 64``, generous for a few hundred
       summed terms), plus ``n * eps`` of the gradient itself.

    Parameters
    ----------
    params : dict
        From :func:`seed_parameters`, with ``tf.Variable`` kernels (float64 advised:
        float32 leaves too few digits for a difference quotient).
    cover, secret : tf.Tensor, keyword-only
        One batch.
    network, layer : str, int, optional
        Which kernel to test (default: the first prep layer, the farthest from the loss).
    beta, noise, quantize, seed
        As for :func:`forward`. Rounding is off by default: the staircase has derivative
        0 almost everywhere, and the straight-through gradient is a choice, not a
        derivative.
    candidates : int, optional
        How many entries to try.
    steps : sequence of float, optional
        Steps to try for each entry, each relative to ``max(|theta|, 1)``.

    Returns
    -------
    FiniteDifference
        Check ``.ok`` (or compare ``.difference`` with ``.tolerance``).

    Raises
    ------
    RuntimeError
        If every candidate step crosses a kink (then try more candidates or smaller steps).

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    options = dict(beta=beta, noise=noise, quantize=quantize, seed=seed)
    variable = params[network][layer].kernel
    if not isinstance(variable, tf.Variable):
        raise TypeError("finite_difference needs tf.Variable kernels; wrap seed_parameters' "
                        "kernels in tf.Variable (chapter 6 shows how)")
    dtype = variable.dtype
    eps = float(np.finfo(dtype.as_numpy_dtype).eps)
    fwd = forward(params, cover=cover, secret=secret, **options)
    masks = _relu_masks(fwd, params)
    index = [name for name in ("prep", "hide", "reveal")].index(network)
    analytic = backward(params, fwd)[("prep", "hide", "reveal")[index]][layer][0].numpy()
    order = np.argsort(-np.abs(analytic), axis=None)[:candidates]
    tried = 0
    original = variable.numpy()
    try:
        for flat in order:
            entry = tuple(int(i) for i in np.unravel_index(flat, analytic.shape))
            theta = float(original[entry])
            for relative_step in steps:
                h = relative_step * max(abs(theta), 1.0)
                values = []
                crossed = False
                for sign in (+1, -1):
                    moved = original.copy()
                    moved[entry] = theta + sign * h
                    variable.assign(moved)
                    moved_fwd = forward(params, cover=cover, secret=secret, **options)
                    if not _same_masks(masks, _relu_masks(moved_fwd, params)):
                        crossed = True
                        break
                    values.append(float(moved_fwd.losses.total))
                variable.assign(original)
                if crossed:
                    tried += 1
                    continue
                numeric = (values[0] - values[1]) / (2 * h)
                gradient = float(analytic[entry])
                tolerance = 64 * eps * (max(abs(v) for v in values) / h + abs(gradient))
                return FiniteDifference(network, layer, entry, h, numeric, gradient,
                                        tolerance, tried)
    finally:
        variable.assign(original)
    raise RuntimeError(
        f"every one of {tried} steps tried on the {candidates} largest entries of "
        f"{network}[{layer}] moved a unit across its kink; pass more candidates or "
        "smaller steps"
    )


def _in_variable_order(net, grads_by_network):
    """Map per-layer gradients onto ``net.trainable_variables``, in that order."""
    by_variable = {}
    for network, layers in _seed_layers(net).items():
        for layer, (dkernel, dbias) in zip(layers, grads_by_network[network]):
            by_variable[id(layer.kernel)] = dkernel
            by_variable[id(layer.bias)] = dbias
    ordered = []
    for variable in net.trainable_variables:
        if id(variable) not in by_variable:
            raise ValueError(
                f"variable {variable.path!r} is not a kernel or bias of the seed "
                "networks; the hand-written pass knows only those"
            )
        ordered.append(by_variable[id(variable)])
    return ordered


def _model_gradients(net, *, cover, secret, beta, noise, quantize, seed,
                     global_batch_size, dilated, loss_scale, extra):
    if extra:
        raise TypeError(
            f"unexpected option(s) {sorted(extra)}; the hand-written pass takes beta, "
            "noise, quantize, seed, global_batch_size and loss_scale"
        )
    params = seed_parameters(net)
    fwd = forward(params, cover=cover, secret=secret, beta=beta, noise=noise,
                  quantize=quantize, seed=seed, global_batch_size=global_batch_size)
    scale = None
    if loss_scale is not None:
        # A loss scale multiplies the loss, so it multiplies every gradient.
        scale = loss_scale(tf.ones([], tf.float32))
    grads = backward(params, fwd, dilated=dilated, loss_scale=scale)
    return fwd.losses, _in_variable_order(net, grads)


def manual_gradients(net, *, cover, secret, beta, noise=0.0, quantize=True, seed=None,
                     global_batch_size=None, loss_scale=None, **extra):
    """The true gradients of the total loss, computed by the hand-written pass.

    A drop-in replacement for :func:`stegutils.train.gradients` (the ``gradient_fn``
    of :class:`stegutils.train.Trainer`), for ``seed`` models in float32.

    Parameters
    ----------
    net : stegutils.models.StegoNet
        A built ``seed`` model.
    cover, secret : tf.Tensor, keyword-only
        Batches of float images in ``[0, 1]``.
    beta, noise, quantize, seed, global_batch_size
        As for :func:`stegutils.train.compute_losses`.
    loss_scale : callable, optional
        As for :func:`stegutils.train.gradients`.

    Returns
    -------
    (stegutils.train.Losses, list of tf.Tensor)
        The losses and one gradient per ``net.trainable_variables``, in that order.

    Raises
    ------
    ValueError
        For a variant without a hand-written pass, or mixed precision.
    TypeError
        For an option the pass does not know.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    return _model_gradients(net, cover=cover, secret=secret, beta=beta, noise=noise,
                            quantize=quantize, seed=seed,
                            global_batch_size=global_batch_size, dilated=False,
                            loss_scale=loss_scale, extra=extra)


def dilated_gradients(net, *, cover, secret, beta, noise=0.0, quantize=True, seed=None,
                      global_batch_size=None, loss_scale=None, **extra):
    """The blog post's "dilated" gradients: the true pass plus backward-only skips.

    Same signature and results as :func:`manual_gradients`, except that in each
    network the gradient at every ReLU layer ``l >= 2`` is also added, unchanged, to
    the gradient of layer ``l - 1`` (the exact rule is in the module docstring). The
    losses are the true losses; the gradients are not their gradients.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    return _model_gradients(net, cover=cover, secret=secret, beta=beta, noise=noise,
                            quantize=quantize, seed=seed,
                            global_batch_size=global_batch_size, dilated=True,
                            loss_scale=loss_scale, extra=extra)


def gradient_fn(kind: str = "manual") -> Callable:
    """The ``gradient_fn`` for :class:`stegutils.train.Trainer` of a gradient source.

    Parameters
    ----------
    kind : {"autodiff", "manual", "dilated"}
        :func:`stegutils.train.gradients`, :func:`manual_gradients` or
        :func:`dilated_gradients`.

    Raises
    ------
    ValueError
        For another kind.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    functions = {"autodiff": _train.gradients, "manual": manual_gradients,
                 "dilated": dilated_gradients}
    if kind not in functions:
        raise ValueError(f"kind must be one of {list(GRADIENT_KINDS)}, got {kind!r}")
    return functions[kind]


def make_trainer(config, run_dir, *, kind: str = "manual", **kwargs):
    """A :class:`stegutils.train.Trainer` whose gradients come from ``kind``.

    Everything else (data order, initial weights, optimizer, learning rate, steps) is
    what ``config`` says, as for any other run: two runs with the same config and
    different ``kind`` differ only in where their gradients come from.

    Parameters
    ----------
    config : stegutils.train.Config
        For ``"manual"`` and ``"dilated"``: a ``seed`` variant in float32.
    run_dir : path
    kind : {"autodiff", "manual", "dilated"}, optional
    **kwargs
        Passed to the Trainer (``train_images``, ``val_images``, ``strategy``).

    Raises
    ------
    ValueError
        For an unknown kind, or a config the hand-written pass cannot follow.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    function = gradient_fn(kind)
    if kind != "autodiff":
        if config.variant not in MANUAL_VARIANTS:
            raise ValueError(
                f"variant {config.variant!r} has no hand-written backward pass; the "
                f"variants that have one are {list(MANUAL_VARIANTS)}"
            )
        policy = _models.resolve_precision(config.precision)
        if policy != "float32":
            raise ValueError(
                f"the hand-written backward pass computes in float32, but precision "
                f"{config.precision!r} means {policy!r} here; use precision='float32'"
            )
    return _train.Trainer(config, run_dir, gradient_fn=function, **kwargs)


# ------------------------------------------------------------------- exercise checker


def _conv_cases():
    rng = np.random.default_rng(6)
    shapes = [((1, 4, 4, 1), (4, 4, 1, 1)),
              ((1, 5, 7, 1), (4, 4, 1, 1)),
              ((2, 6, 6, 3), (4, 4, 3, 2))]
    cases = []
    for x_shape, k_shape in shapes:
        x = rng.standard_normal(x_shape)
        kernel = rng.standard_normal(k_shape)
        upstream = rng.standard_normal(x_shape[:3] + k_shape[3:])
        cases.append((x, kernel, upstream))
    return cases


def _reference_conv_gradients(x, kernel, upstream):
    # Independent of conv_backward: automatic differentiation of the forward op.
    x_t = tf.constant(x)
    k_t = tf.constant(kernel)
    with tf.GradientTape() as tape:
        tape.watch([x_t, k_t])
        y = tf.nn.conv2d(x_t, k_t, strides=1, padding="SAME")
        inner = tf.reduce_sum(y * tf.constant(upstream))
    dx, dkernel = tape.gradient(inner, [x_t, k_t])
    return dx.numpy(), dkernel.numpy()


def check_conv_backprop(student_fn, *, rtol: float = 1e-4) -> str:
    """Check a reader's gradients of a 4x4, stride 1, "SAME" convolution.

    Runs ``student_fn(x, kernel, upstream) -> (dx, dkernel)`` on three small cases
    (float64 NumPy arrays; ``x`` is ``(batch, height, width, in)``, ``kernel`` is
    ``(4, 4, in, out)``, ``upstream`` is ``dL/dy``, the shape of the output) and
    compares with automatic differentiation of ``tf.nn.conv2d``.

    Parameters
    ----------
    student_fn : callable
        The reader's function. Anything array-like may come back (NumPy, tensors).
    rtol : float, optional
        Allowed largest difference, relative to the largest expected value (generous
        enough for a float32 answer).

    Returns
    -------
    str
        A one-line message saying what passed.

    Raises
    ------
    AssertionError
        With a message in words: which case, which output (``dx`` or ``dkernel``), the
        expected and received shapes, or the largest difference and where it is.
    TypeError
        If ``student_fn`` is not callable.

    Introduced in chapter 6 (Autodiff against manual, dilated backprop).
    """
    if not callable(student_fn):
        raise TypeError(f"student_fn must be a function, got {type(student_fn).__name__}")
    cases = _conv_cases()
    for number, (x, kernel, upstream) in enumerate(cases, start=1):
        where = (f"case {number} (x {x.shape}, kernel {kernel.shape}, "
                 f"upstream {upstream.shape})")
        try:
            answer = student_fn(x.copy(), kernel.copy(), upstream.copy())
        except Exception as error:  # noqa: BLE001 (the reader's code may raise anything)
            raise AssertionError(
                f"{where}: your function raised {type(error).__name__}: {error}"
            ) from error
        if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
            raise AssertionError(
                f"{where}: your function must return a pair (dx, dkernel), got "
                f"{type(answer).__name__}"
                + (f" of length {len(answer)}" if isinstance(answer, (tuple, list)) else "")
            )
        expected = dict(zip(("dx", "dkernel"), _reference_conv_gradients(x, kernel, upstream)))
        for name, got in zip(("dx", "dkernel"), answer):
            want = expected[name]
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise AssertionError(
                    f"{where}: {name} is not an array of numbers ({error})") from None
            if got.shape != want.shape:
                raise AssertionError(
                    f"{where}: {name} has shape {got.shape}, expected {want.shape} "
                    f"(the shape of {'x' if name == 'dx' else 'kernel'})"
                )
            difference = np.abs(got - want)
            worst = np.unravel_index(int(np.argmax(difference)), difference.shape)
            allowed = rtol * max(1.0, float(np.max(np.abs(want))))
            if not np.all(np.isfinite(got)) or difference[worst] > allowed:
                raise AssertionError(
                    f"{where}: {name} is wrong: the largest difference is "
                    f"{difference[worst]:.3g} at index {tuple(int(i) for i in worst)} "
                    f"(expected {want[worst]:.6g}, got {got[worst]:.6g}; allowed "
                    f"{allowed:.2g}). Hint: 'SAME' padding for a 4x4 kernel pads 1 row "
                    "and column before and 2 after."
                )
    return (f"All {len(cases)} cases pass: dx and dkernel match automatic "
            "differentiation of tf.nn.conv2d.")
