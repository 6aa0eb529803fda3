"""Checkers for chapter 5 (Training)."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from tensorflow import keras

from ._core import Case, call_student, checker, compare_array, missing

__all__ = ["ex_train_round", "ex_train_cosine"]


# -------------------------------------------------------------------------- ex-train-round


def _away_from_ties(values, levels):
    """Move values that are within 5% of a level of a tie (or on 0 or 1) off it.

    Then no rounding rule for halves and no convention for the clip's gradient at
    exactly 0 or 1 decides a case.
    """
    values = values.astype(np.float64)
    steps = np.clip(values, 0, 1) * (levels - 1)
    near_tie = np.abs(steps - np.floor(steps) - 0.5) < 0.05
    on_edge = (values == 0) | (values == 1)
    values = np.where(near_tie | on_edge, values + 0.2 / (levels - 1), values)
    return values.astype(np.float32)


def _round_cases():
    rng = np.random.default_rng(205)
    inside = _away_from_ties(rng.uniform(0.001, 0.999, (2, 4, 4, 3)), 256)
    outside = rng.uniform(-0.3, 1.3, (1, 3, 5, 3))
    outside.flat[:4] = [-0.35, 1.4, 0.2, 2.0]
    outside = _away_from_ties(outside, 16)
    vector = np.array([-0.1, 0.25, 0.6, 1.2], np.float32)
    return [Case("values inside [0, 1], shape (2, 4, 4, 3), levels=256", (inside, 256)),
            Case("values below 0 and above 1, shape (1, 3, 5, 3), levels=16", (outside, 16)),
            Case("four values [-0.1, 0.25, 0.6, 1.2], levels=4", (vector, 4))]


def _rounded(values, levels):
    clipped = np.clip(values.astype(np.float64), 0.0, 1.0)
    return np.round(clipped * (levels - 1)) / (levels - 1)


def _rounding_hint(got, values, levels):
    """Name the usual mistake in the forward values, or return ""."""
    clipped = np.clip(values.astype(np.float64), 0.0, 1.0)
    candidates = [
        (np.round(clipped * levels) / levels,
         f"{levels} levels from 0 to 1 are {levels - 1} steps apart: round(x * (levels - "
         "1)) / (levels - 1)"),
        (np.round(clipped * (levels - 1)),
         "these are level numbers: divide by levels - 1 to get back to [0, 1]"),
        (np.round(clipped),
         "the values are rounded to whole numbers: round (levels - 1) * x, then divide by "
         "levels - 1"),
        (np.round(values.astype(np.float64) * (levels - 1)) / (levels - 1),
         "values outside [0, 1] are not clipped: a file stores only its levels. Clip "
         "first (tf.clip_by_value(x, 0.0, 1.0)), then round"),
        (np.round(clipped * 255) / 255,
         "this rounds to 256 levels whatever levels says"),
    ]
    for candidate, text in candidates:
        if candidate.shape == got.shape and np.allclose(got, candidate, atol=1e-5):
            return text
    return ""


@checker("ex-train-round")
def ex_train_round(student, *, report):
    """Check ``round_levels(images, levels) -> tf.Tensor``: rounding, straight through.

    Forward: ``round((levels - 1) * clip(x, 0, 1)) / (levels - 1)``, compared value by
    value (``levels=256`` is the chapter's 8-bit rounding). Backward: the gradient of
    ``sum(upstream * round_levels(x, levels))`` with respect to ``x`` must be
    ``upstream`` where ``0 < x < 1`` (the rounding is the identity backwards) and 0
    where the clip holds the value still. Three cases with 256, 16 and 4 levels, values
    inside and outside ``[0, 1]``; no value is near a tie between two levels.
    """
    cases = _round_cases()
    rng = np.random.default_rng(206)
    for case in cases:
        values, levels = case.args
        upstream = rng.uniform(0.5, 2.0, size=values.shape).astype(np.float32)
        variable = tf.Variable(values)
        with tf.GradientTape() as tape:
            got = call_student(student, Case(case.name, (variable, levels)), report)
            if missing(got):
                continue
            if got is None:
                report(f"{case.name}: your function returned None; expected a tensor of "
                       f"shape {values.shape}. Is it finished (does it reach its return "
                       "statement)? The other cases were skipped", stop=True)
            left_tensorflow = isinstance(got, np.ndarray)
            if left_tensorflow:
                report(f"{case.name}: your function returned a NumPy array; TensorFlow "
                       "cannot differentiate through NumPy. Hint: use tf.clip_by_value, "
                       "tf.round and tf.stop_gradient, which keep a tensor")
            try:
                result = tf.cast(tf.convert_to_tensor(got), tf.float32)
                inner = tf.reduce_sum(result * upstream)
            except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
                report(f"{case.name}: the result is not a tensor of numbers of shape "
                       f"{values.shape} ({type(error).__name__}: {error})")
                continue
        got_values = result.numpy()
        want = _rounded(values, levels)
        hint = "" if got_values.shape != want.shape or np.allclose(got_values, want, atol=1e-6) \
            else _rounding_hint(got_values, values, levels)
        if not compare_array(case.name, "the rounded value", got_values, want, report,
                             rtol=0, atol=1e-6,
                             hint=hint or "round((levels - 1) * clip(x, 0, 1)) / (levels - 1)"):
            continue
        gradient = tape.gradient(inner, variable)
        if gradient is None and left_tensorflow:
            continue
        if gradient is None:
            report(f"{case.name}: no gradient reaches the input (tape.gradient returned "
                   "None): tf.round has no gradient in TensorFlow, and tf.stop_gradient "
                   "around the whole result stops it too. Hint: the straight-through "
                   "trick, clipped + tf.stop_gradient(rounded - clipped)")
            continue
        gradient = gradient.numpy()
        expected = np.where((values > 0) & (values < 1), upstream, 0.0)
        hint = ""
        if np.allclose(gradient, upstream, rtol=1e-5):
            hint = ("the gradient passes everywhere, also where the clip holds the value "
                    "still (outside [0, 1]), where it should be 0. Apply the straight-"
                    "through trick to the rounding only: clip first, then clipped + "
                    "tf.stop_gradient(rounded - clipped)")
        elif np.allclose(gradient, 0.0):
            hint = ("the gradient is 0 everywhere: tf.stop_gradient should wrap only the "
                    "change that rounding makes (rounded - clipped), not the whole result")
        elif np.allclose(gradient, (levels - 1) * expected, rtol=1e-4) or \
                np.allclose(gradient, expected / (levels - 1), rtol=1e-4):
            hint = ("the gradient is scaled by levels - 1: the scaling and unscaling "
                    "belong inside tf.stop_gradient, or must cancel")
        compare_array(case.name, "the gradient", gradient, expected, report, rtol=1e-5,
                      atol=1e-6, hint=hint or "inside (0, 1) the gradient passes unchanged; "
                      "outside it is 0")
    return len(cases)


# ------------------------------------------------------------------------- ex-train-cosine


def _cosine_reference(lr, steps, alpha, step):
    schedule = keras.optimizers.schedules.CosineDecay(lr, steps, alpha=alpha)
    return float(schedule(step))


def _cosine_wrong_answers(lr, steps, alpha, step):
    """What the usual mistakes give at ``step``, with the hint for each."""
    clamped = min(step, steps)
    cosine = math.cos(math.pi * clamped / steps)
    return [
        (lr * 0.5 * (1 + cosine),
         "the schedule ends at 0; it should end at alpha * lr: "
         "lr * ((1 - alpha) * 0.5 * (1 + cos(pi * step / steps)) + alpha)"),
        (lr * ((1 - alpha) * cosine + alpha),
         "cos(pi * step / steps) goes from 1 down to -1; 0.5 * (1 + cos(...)) goes from 1 "
         "to 0"),
        (lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / steps)) + alpha),
         "after `steps` the rate must stay at alpha * lr; the cosine climbs back up. Clamp "
         "the step: min(step, steps)"),
        ((1 - alpha) * 0.5 * (1 + cosine) + alpha,
         "this is the fraction of lr; the rate is lr times it"),
        (lr * ((1 - alpha) * 0.5 * (1 + math.cos(180 * clamped / steps)) + alpha),
         "math.cos takes radians: the angle is math.pi * step / steps, not 180 * ..."),
    ]


@checker("ex-train-cosine")
def ex_train_cosine(student, *, report):
    """Check ``cosine_lr(step, lr, steps, alpha=0.01) -> float``.

    The trainer's learning rate (``Config(lr_schedule="cosine")``):
    ``lr * ((1 - alpha) * (1 + cos(pi * min(step, steps) / steps)) / 2 + alpha)``,
    compared with ``keras.optimizers.schedules.CosineDecay(lr, steps, alpha=alpha)``
    at steps from 0 to past the end, for three settings (one with the default alpha).
    """
    settings = [(1e-3, 100, None, [0, 1, 25, 50, 75, 99, 100, 150]),
                (0.5, 10, 0.0, list(range(0, 13))),
                (2.0, 7, 0.25, [0, 2, 3, 7, 20])]
    for lr, steps, alpha, points in settings:
        used_alpha = 0.01 if alpha is None else alpha
        setting = (f"lr={lr:g}, steps={steps}, "
                   + ("alpha left at its default" if alpha is None else f"alpha={alpha:g}"))
        wrong_steps = []
        first = None
        for step in points:
            kwargs = {} if alpha is None else {"alpha": alpha}
            case = Case(f"{setting}, step={step}", (step, lr, steps), kwargs)
            got = call_student(student, case, report)
            if missing(got):
                break
            if got is None:
                report(f"{case.name}: your function returned None; expected a number. Is "
                       "it finished? The other cases were skipped", stop=True)
            try:
                value = float(np.asarray(got, dtype=np.float64))
            except (TypeError, ValueError):
                report(f"{case.name}: expected one number, got {type(got).__name__}")
                break
            want = _cosine_reference(lr, steps, used_alpha, step)
            if not (math.isfinite(value) and abs(value - want) <= 1e-6 * lr + 1e-5 * abs(want)):
                wrong_steps.append(step)
                if first is None:
                    first = (step, value, want)
        if first is None:
            continue
        step, value, want = first
        hint = ""
        for candidate, text in _cosine_wrong_answers(lr, steps, used_alpha, step):
            if math.isfinite(candidate) and abs(candidate - value) <= 1e-6 * lr + 1e-5 * abs(
                    candidate) and abs(candidate - want) > 1e-9:
                hint = text
                break
        if not hint and alpha is None:
            hint = "is the default of alpha 0.01, the trainer's?"
        report(f"{setting}: wrong at step{'s' if len(wrong_steps) > 1 else ''} "
               f"{', '.join(map(str, wrong_steps))}; at step {step} expected {want:.6g}, "
               f"got {value:.6g}" + (f". Hint: {hint}" if hint else ""))
    return len(settings)
