"""Words decided by the data: confidence intervals and the verdicts the chapters print.

A chapter that reads a results file must not say more than the file holds. The
functions here turn measurements into the sentences the pages print, so that the words
change when the numbers do:

- :func:`correlation_interval` bootstraps Pearson's r (pairs resampled with
  replacement, a percentile interval); :func:`describe_correlation` names its size
  ("weak", "moderate", "strong") only when the interval excludes zero, and says "no
  clear relation" otherwise;
- :func:`mean_interval` and :func:`difference_interval` give 95% intervals for a mean
  and for a difference of two means from their per-image spreads (normal approximation,
  unequal variances);
- :func:`compare` decides whether one measurement moved another by more than its
  spread: "moved" only when the 95% interval of the difference excludes zero.

Introduced in chapter 7 (When hiding fails).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "Interval",
    "correlation_interval",
    "describe_correlation",
    "mean_interval",
    "interval_of_values",
    "ratio_interval",
    "difference_interval",
    "compare",
]

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class Interval:
    """An estimate with a 95% interval: ``value`` in ``[low, high]``."""

    value: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def format(self, spec: str = ".2f", unit: str = "") -> str:
        """``"0.17 (95% interval -0.08 to 0.41)"``."""
        return (f"{self.value:{spec}}{unit} (95% interval {self.low:{spec}} to "
                f"{self.high:{spec}}{unit})")


def _pearson(x, y):
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (x * y).sum(axis=-1) / denominator, np.nan)


def correlation_interval(x, y, *, resamples: int = 4000, seed: int = 0,
                         level: float = 0.95) -> Interval:
    """Pearson's r of ``x`` and ``y`` with a bootstrap percentile interval.

    Parameters
    ----------
    x, y : array-like
        Paired measurements, one value per image (same length, at least 3).
    resamples : int, optional
        Bootstrap resamples of the pairs.
    seed : int, optional
        Seeds the resampling, so that a page prints the same interval every build.
    level : float, optional
        Coverage of the interval.

    Returns
    -------
    Interval

    Raises
    ------
    ValueError
        If the inputs are not two equally long 1-D sequences of at least 3 finite values.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 3:
        raise ValueError(f"correlation_interval needs two sequences of the same length "
                         f"(at least 3), got {x.size} and {y.size} values")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("correlation_interval needs finite values")
    value = float(_pearson(x, y))
    rng = np.random.default_rng(seed)
    index = rng.integers(0, x.size, size=(resamples, x.size))
    draws = _pearson(x[index], y[index])
    draws = draws[np.isfinite(draws)]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return Interval(value, float(low), float(high))


def describe_correlation(interval: Interval) -> str:
    """Words for a correlation that match its size and its interval.

    ``"no clear relation"`` when the interval includes 0; otherwise ``"a weak"``
    (``|r| < 0.3``), ``"a moderate"`` (``< 0.5``) or ``"a strong"`` positive or negative
    relation, the conventional bands of Cohen (1988).
    """
    if not interval.excludes_zero:
        return "no clear relation"
    size = abs(interval.value)
    strength = "weak" if size < 0.3 else "moderate" if size < 0.5 else "strong"
    direction = "positive" if interval.value > 0 else "negative"
    return f"a {strength} {direction} relation"


def mean_interval(mean: float, std: float, count: int) -> Interval:
    """A 95% interval for a mean of ``count`` values with standard deviation ``std``."""
    if count < 2:
        raise ValueError(f"mean_interval needs at least 2 values, got {count}")
    half = Z95 * float(std) / math.sqrt(count)
    return Interval(float(mean), float(mean) - half, float(mean) + half)


def interval_of_values(values) -> Interval:
    """A 95% interval for the mean of a few values (Student's t: right for 3 seeds too)."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size < 2 or not np.isfinite(values).all():
        raise ValueError(f"interval_of_values needs at least 2 finite values, got {values.size}")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return Interval(mean, mean - half, mean + half)


def ratio_interval(numerators, denominators) -> Interval:
    """A 95% interval for the typical ratio of paired positive samples (e.g. step times).

    The mean of the log ratios with Student's t, exponentiated: a ratio of 1 inside the
    interval means no difference can be claimed.
    """
    a = np.asarray(numerators, dtype=np.float64).ravel()
    b = np.asarray(denominators, dtype=np.float64).ravel()
    if a.shape != b.shape or (a <= 0).any() or (b <= 0).any():
        raise ValueError("ratio_interval needs two equally long sequences of positive values")
    logs = interval_of_values(np.log(a / b))
    return Interval(math.exp(logs.value), math.exp(logs.low), math.exp(logs.high))


def difference_interval(mean_a, std_a, count_a, mean_b, std_b, count_b) -> Interval:
    """A 95% interval for ``mean_a - mean_b`` (independent samples, unequal variances).

    On the same images the two measurements are paired, and a paired interval would be
    narrower: this one is conservative.
    """
    if min(count_a, count_b) < 2:
        raise ValueError("difference_interval needs at least 2 values on each side")
    difference = float(mean_a) - float(mean_b)
    half = Z95 * math.sqrt(float(std_a) ** 2 / count_a + float(std_b) ** 2 / count_b)
    return Interval(difference, difference - half, difference + half)


def compare(name: str, measure: str, mean_a, std_a, count_a, mean_b, std_b, count_b, *,
            than: str, unit: str = " dB") -> tuple[bool, str]:
    """Whether ``a`` differs from ``b`` by more than the spread, and a sentence saying so.

    Returns
    -------
    (bool, str)
        ``True`` when the 95% interval of the difference excludes zero, and a sentence
        such as ``"noise raised the secret after noise of 8 levels by 4.85 dB (95%
        interval 3.6 to 6.1 dB) over the control: more than the spread."``
    """
    interval = difference_interval(mean_a, std_a, count_a, mean_b, std_b, count_b)
    moved = interval.excludes_zero
    if moved:
        verb = "raised" if interval.value > 0 else "lowered"
        verdict = "more than the spread"
    else:
        verb = "changed"
        verdict = "within the spread, so no change can be claimed"
    amount = abs(interval.value) if moved else interval.value
    sentence = (f"{name} {verb} {measure} by {amount:.2f}{unit} (95% interval of the "
                f"difference {interval.low:.2f} to {interval.high:.2f}{unit}) {than}: "
                f"{verdict}.")
    return moved, sentence
