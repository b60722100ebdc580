"""The corrected resampled t-test (Nadeau-Bengio) against hand computations."""

import math

import numpy as np
import pytest
from scipy import stats

from rdinet_sklearn.metrics import ResampledTTestResult, corrected_resampled_ttest


def test_matches_a_hand_computation():
    # differences 0.1, 0.0, 0.2: mean 0.1, sample variance 0.01; J = 3, n_test/n_train = 1/2
    result = corrected_resampled_ttest([0.9, 0.7, 0.8], [0.8, 0.7, 0.6], n_train=40, n_test=20)
    assert isinstance(result, ResampledTTestResult)
    expected_t = 0.1 / math.sqrt(0.01 * (1 / 3 + 1 / 2))
    assert result.mean_difference == pytest.approx(0.1)
    assert result.statistic == pytest.approx(expected_t)
    assert result.df == 2
    assert result.p_value == pytest.approx(2 * stats.t.sf(expected_t, 2))


def test_is_the_paired_t_test_with_the_variance_inflated_by_the_split_overlap():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.6, 0.9, 25), rng.uniform(0.6, 0.9, 25)
    plain = stats.ttest_rel(a, b)
    corrected = corrected_resampled_ttest(a, b, n_train=93.6, n_test=23.4)
    shrink = math.sqrt((1 / 25) / (1 / 25 + 23.4 / 93.6))
    assert corrected.statistic == pytest.approx(plain.statistic * shrink)
    assert corrected.p_value > plain.pvalue  # the correction is conservative
    swapped = corrected_resampled_ttest(b, a, n_train=93.6, n_test=23.4)
    assert swapped.statistic == pytest.approx(-corrected.statistic)
    assert swapped.p_value == pytest.approx(corrected.p_value)


def test_constant_differences():
    tied = corrected_resampled_ttest([0.7, 0.8], [0.7, 0.8], n_train=8, n_test=2)
    assert tied.mean_difference == 0 and np.isnan(tied.statistic) and np.isnan(tied.p_value)
    shifted = corrected_resampled_ttest([0.75, 0.5], [0.5, 0.25], n_train=8, n_test=2)
    assert shifted.statistic == np.inf and shifted.p_value == 0


@pytest.mark.parametrize(
    ("a", "b", "sizes", "message"),
    [
        ([0.7, 0.8], [0.7], (8, 2), "one length"),
        ([0.7], [0.6], (8, 2), "at least two splits"),
        ([0.7, np.nan], [0.6, 0.5], (8, 2), "finite"),
        ([0.7, 0.8], [0.6, 0.5], (0, 2), "n_train must be a positive"),
        ([0.7, 0.8], [0.6, 0.5], (8, -1), "n_test must be a positive"),
    ],
)
def test_bad_input_is_named(a, b, sizes, message):
    with pytest.raises(ValueError, match=message):
        corrected_resampled_ttest(a, b, *sizes)
