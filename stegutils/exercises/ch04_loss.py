"""Checkers for chapter 4 (Loss and gradient flow)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import models
from ._core import (Case, HintOnce, call_student, checker, compare_array, compare_scalar,
                    missing, returned_none)

__all__ = ["ex_loss_l1", "ex_loss_psnr"]


# A `fast` model small enough to build and differentiate in a fraction of a second.
_TINY_OPTIONS = {"width": 8, "prep_depth": 1, "hide_depth": 2, "reveal_depth": 2,
                 "reveal_width": 8}
_tiny_net = None


def _tiny():
    """The checker's model, built once, with weights drawn from its own generator.

    Built without ``seed=`` so that checking does not reseed the reader's session.
    """
    global _tiny_net
    if _tiny_net is None:
        net = models.build("fast", precision="float32", **_TINY_OPTIONS)
        rng = np.random.default_rng(404)
        for variable in net.trainable_variables:
            variable.assign(rng.normal(0.0, 0.2, variable.shape).astype(np.float32))
        _tiny_net = net
    return _tiny_net


def _l1_reference(net, *, cover, secret, beta):
    """Values and per-network gradient norms of the three terms: {term: (value, norms)}."""
    with tf.GradientTape(persistent=True) as tape:
        container, revealed = net({"cover": cover, "secret": secret}, training=True)
        cover_term = tf.reduce_mean(tf.abs(cover - container))
        secret_term = tf.reduce_mean(tf.abs(secret - revealed))
        total = cover_term + beta * secret_term
    reference = {}
    for name, term in (("cover term", cover_term), ("secret term", secret_term),
                       ("total", total)):
        norms = {}
        for part, network in net.networks.items():
            grads = [g for g in tape.gradient(term, network.trainable_variables)
                     if g is not None]
            norms[part] = float(tf.linalg.global_norm(grads)) if grads else None
        reference[name] = (float(term), norms)
    # Values a typical slip gives, for the hints.
    reference["squared"] = (float(tf.reduce_mean((cover - container) ** 2)),
                            float(tf.reduce_mean((secret - revealed) ** 2)))
    reference["summed"] = (float(tf.reduce_sum(tf.abs(cover - container))),
                           float(tf.reduce_sum(tf.abs(secret - revealed))))
    del tape
    return reference


_NETWORK = {"prep": "prep network", "hide": "hiding network", "reveal": "reveal network"}


def _and(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _close(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-4 * abs(b) + 1e-7


@checker("ex-loss-l1")
def ex_loss_l1(student, *, report):
    """Check ``l1_losses(net, *, cover, secret, beta) -> (cover_term, secret_term, total)``.

    The loss of the chapter with mean *absolute* errors: ``mean|cover - container|``,
    ``mean|secret - revealed|`` and ``cover_term + beta * secret_term``, from
    ``net({"cover": cover, "secret": secret}, training=True)`` (no rounding, no noise).
    Checks the three values and, with a tape around the call, which networks each term
    sends a gradient to (the cover term: prep and hide, never reveal; the others: all
    three) and how large that gradient is. Two cases on a tiny ``fast`` model. The
    images and beta are passed by name, so any order of those parameters works.
    """
    net = _tiny()
    rng = np.random.default_rng(405)
    cases = []
    for batch, beta in ((2, 0.75), (3, 2.0)):
        secret = tf.constant(rng.random((batch, 8, 8, 3), dtype=np.float32))
        cover = tf.constant(rng.random((batch, 8, 8, 3), dtype=np.float32))
        cases.append(Case(f"a batch of {batch} pairs of 8x8 images, beta={beta}", (net,),
                          {"cover": cover, "secret": secret, "beta": beta}))
    hint_once = HintOnce()

    def report_with_hint(message):
        if "unexpected keyword argument" in message:
            message += hint_once(
                ". Hint: the checker calls l1_losses(net, cover=..., secret=..., beta=...); "
                "name the parameters cover, secret and beta")
        report(message)

    for case in cases:
        cover, secret, beta = (case.kwargs[name] for name in ("cover", "secret", "beta"))
        reference = _l1_reference(net, cover=cover, secret=secret, beta=beta)
        with tf.GradientTape(persistent=True) as tape:
            got = call_student(student, case, report_with_hint)
        if missing(got):
            continue
        if returned_none(case.name, got, "(cover_term, secret_term, total)", report):
            break
        try:
            terms = dict(zip(("cover term", "secret term", "total"), got, strict=True))
        except (TypeError, ValueError):
            report(f"{case.name}: expected three values (cover_term, secret_term, total), "
                   f"got {type(got).__name__}")
            continue
        values_ok = {}
        for index, (name, term) in enumerate(terms.items()):
            want = reference[name][0]
            hint = ""
            try:
                value = float(np.asarray(term, dtype=np.float64))
            except (TypeError, ValueError):
                value = None
            if name != "total" and _close(value, reference["squared"][index]):
                hint = "a mean *absolute* error: tf.abs(...), not a square"
            elif name != "total" and _close(value, reference["summed"][index]):
                hint = "a mean over pixels (tf.reduce_mean), not a sum"
            elif name == "total" and _close(
                    value, beta * reference["cover term"][0] + reference["secret term"][0]):
                hint = "beta weighs the secret term: cover_term + beta * secret_term"
            values_ok[name] = compare_scalar(case.name, f"the {name}", term, want, report,
                                             hint=hint_once(hint))
        detached = [name for name, term in terms.items()
                    if not tf.is_tensor(term) or isinstance(term, tf.Variable)]
        if detached:
            kinds = sorted({type(terms[name]).__name__ for name in detached})
            report(f"{case.name}: the {_and(detached)} {'is' if len(detached) == 1 else 'are'}"
                   f" {' and '.join(kinds)}, not TensorFlow tensors, so no gradient can flow "
                   "back from them (did you call .numpy() or float()?)")
        routed = True
        for name, term in terms.items():
            if name in detached:
                continue
            for part, network in net.networks.items():
                grads = [g for g in tape.gradient(term, network.trainable_variables)
                         if g is not None]
                want_norm = reference[name][1][part]
                if want_norm is None and grads:
                    routed = False
                    report(f"{case.name}: the {name} sends a gradient to the "
                           f"{_NETWORK[part]}, which it does not depend on. Hint: the cover "
                           "term compares the cover with the container only")
                elif want_norm is not None and not grads:
                    routed = False
                    report(f"{case.name}: no gradient of the {name} reaches the "
                           f"{_NETWORK[part]}'s weights" + hint_once(
                               ". Hint: compute every term with TensorFlow operations "
                               "from net({'cover': ..., 'secret': ...}), not from "
                               "NumPy values, net.hide (which rounds) or "
                               "tf.stop_gradient"))
                elif grads and routed and values_ok.get(name):
                    norm = float(tf.linalg.global_norm(grads))
                    if abs(norm - want_norm) > 1e-3 * want_norm + 1e-8:
                        report(f"{case.name}: the gradient of the {name} for the "
                               f"{_NETWORK[part]} has norm {norm:.6g}, expected "
                               f"{want_norm:.6g}: part of the computation does not pass "
                               "gradients (tf.stop_gradient, or a value copied out of "
                               "TensorFlow?)")
        del tape
    return len(cases)


# -------------------------------------------------------------------------- ex-loss-psnr


@checker("ex-loss-psnr")
def ex_loss_psnr(student, *, report):
    """Check ``psnr_from_mse(mse, data_range=1.0) -> decibels``.

    ``10 * log10(data_range**2 / mse)``, for one number or an array of them (one per
    image), and ``inf`` where the mean squared error is 0 (identical images). Six cases.
    """
    cases = [
        Case("mse=0.01", (np.float64(0.01),)),
        Case("mse=0.0001", (np.float64(1e-4),)),
        Case("mse=0.002 (an awkward number)", (np.float64(0.002),)),
        Case("an array of three values, mse=[0.01, 0.001, 0.0004]",
             (np.array([0.01, 1e-3, 4e-4]),)),
        Case("mse=65.025 on the 0-255 scale, data_range=255", (np.float64(65.025),),
             {"data_range": 255.0}),
        Case("mse=0 (identical images)", (np.float64(0.0),)),
    ]
    hint_once = HintOnce()
    for case in cases:
        mse = case.args[0]
        data_range = case.kwargs.get("data_range", 1.0)
        raised = []
        with np.errstate(divide="ignore", invalid="ignore"):
            got = call_student(student, case, raised.append)
            want = 10 * np.log10(data_range ** 2 / mse)
        if missing(got):
            zero_hint = (". Hint: an error of 0 should give inf; NumPy's "
                         "np.log10(1 / np.float64(0)) is inf, Python's 1 / 0.0 raises")
            report(raised[0] + (zero_hint if np.all(mse == 0) else ""))
            continue
        if returned_none(case.name, got, "the PSNR in decibels", report):
            break
        if np.all(mse == 0):
            try:
                value = float(np.asarray(got, dtype=np.float64))
            except (TypeError, ValueError):
                value = None
            if value != np.inf:
                report(f"{case.name}: expected inf (no error at all: the ratio is "
                       f"infinite), got {got!r:.40}. Hint: NumPy's "
                       "np.log10(1 / np.float64(0)) is inf, Python's 1 / 0.0 raises")
            continue
        try:
            array = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        hint = ""
        if array is not None and array.shape == np.shape(want):
            with np.errstate(divide="ignore", invalid="ignore"):
                if np.allclose(array, 2 * want, rtol=1e-4):
                    hint = ("PSNR is 10 * log10 of a ratio of squared values "
                            "(20 * log10 goes with the root of the MSE)")
                elif np.allclose(array, want * np.log(10), rtol=1e-4):
                    hint = "decibels use the logarithm in base 10 (np.log10), not np.log"
                elif np.allclose(array, -want, rtol=1e-4):
                    hint = "the MSE goes in the denominator: PSNR grows as the error shrinks"
                elif data_range != 1 and np.allclose(
                        array, 10 * np.log10(data_range / mse), rtol=1e-4):
                    hint = "square the data range: 10 * log10(data_range**2 / mse)"
                elif data_range != 1 and np.allclose(array, 10 * np.log10(1 / mse),
                                                     rtol=1e-4):
                    hint = "use data_range: 10 * log10(data_range**2 / mse)"
        hint = hint_once(hint)
        if np.ndim(want):
            compare_array(case.name, "the PSNR", got, want, report, rtol=1e-5, hint=hint)
        else:
            compare_scalar(case.name, "the PSNR", got, float(want), report, rtol=1e-5,
                           hint=hint)
    return len(cases)
