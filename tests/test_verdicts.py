"""The words the chapters print follow the numbers and their spread."""

import numpy as np
import pytest

from stegutils import verdicts


def test_correlation_value_is_pearsons_r_and_the_interval_contains_it():
    rng = np.random.default_rng(1)
    x = rng.normal(size=64)
    y = 0.8 * x + rng.normal(size=64)
    interval = verdicts.correlation_interval(x, y)
    assert interval.value == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert interval.low < interval.value < interval.high
    assert verdicts.correlation_interval(x, y) == interval  # seeded: the same every build


def test_a_clear_correlation_is_named_by_its_size():
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    strong = verdicts.correlation_interval(x, x + 0.3 * rng.normal(size=200))
    assert strong.excludes_zero
    assert verdicts.describe_correlation(strong) == "a strong positive relation"
    negative = verdicts.correlation_interval(x, -x + 3 * rng.normal(size=200))
    assert verdicts.describe_correlation(negative).endswith("negative relation")


def test_an_interval_that_includes_zero_claims_nothing():
    # Chapter 7's case: r = 0.17 on 64 pairs is not a finding.
    rng = np.random.default_rng(3)
    x = rng.normal(size=64)
    y = 0.17 * x + np.sqrt(1 - 0.17 ** 2) * rng.normal(size=64)
    interval = verdicts.correlation_interval(x, y)
    assert interval.low < 0 < interval.high
    assert verdicts.describe_correlation(interval) == "no clear relation"


def test_bad_correlation_input_is_refused_in_one_line():
    with pytest.raises(ValueError, match="same length"):
        verdicts.correlation_interval([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        verdicts.correlation_interval([1, 2, np.nan], [1, 2, 3])


def test_compare_says_moved_only_beyond_the_spread():
    # The JPEG fine-tune of chapter 7: 13.27 against 12.79 dB, spread 2.3 dB, 32 pairs.
    moved, sentence = verdicts.compare("the JPEG run", "the secret after JPEG 70",
                                       13.27, 2.28, 32, 12.79, 2.25, 32, than="over the control")
    assert not moved and "no change can be claimed" in sentence
    # The noise fine-tune: 23.36 against 18.51 dB at noise 8, spreads 1.4 and 0.4.
    moved, sentence = verdicts.compare("the noise run", "the secret after noise 8",
                                       23.36, 1.36, 32, 18.51, 0.44, 32, than="over the control")
    assert moved and "raised" in sentence and "more than the spread" in sentence
    moved, sentence = verdicts.compare("the JPEG run", "the cover", 18.57, 2.0, 32,
                                       36.27, 2.0, 32, than="against the control")
    assert moved and "lowered the cover by 17.70 dB" in sentence


def test_mean_and_difference_intervals():
    interval = verdicts.mean_interval(10.0, 2.0, 16)
    assert interval.low == pytest.approx(10 - 1.96 * 0.5, abs=1e-3)
    difference = verdicts.difference_interval(5.0, 1.0, 100, 4.0, 1.0, 100)
    assert difference.value == 1.0 and difference.excludes_zero
    assert "95% interval" in difference.format(".1f", " dB")
    with pytest.raises(ValueError):
        verdicts.mean_interval(1.0, 1.0, 1)


def test_interval_of_values_uses_students_t_for_few_seeds():
    interval = verdicts.interval_of_values([1.0, 2.0, 3.0])
    # t(0.975, 2) = 4.303, standard error 1/sqrt(3)
    assert interval.high - interval.value == pytest.approx(4.3027 / np.sqrt(3), rel=1e-3)


def test_ratio_interval_of_noisy_timings_includes_one():
    # Chapter 6's step times: dilated against autodiff, seven interleaved rounds.
    autodiff = [2.84, 2.45, 4.46, 3.47, 7.09, 3.12, 2.99]
    dilated = [3.49, 3.37, 5.09, 3.11, 3.10, 8.85, 3.22]
    interval = verdicts.ratio_interval(dilated, autodiff)
    assert interval.low < 1 < interval.high
    clear = verdicts.ratio_interval([2.0, 2.1, 1.9, 2.05], [1.0, 1.0, 1.0, 1.0])
    assert clear.low > 1.5
    with pytest.raises(ValueError, match="positive"):
        verdicts.ratio_interval([1.0, -1.0], [1.0, 1.0])
