"""Calibration at n=30: the LOESS curve with its bootstrap band, and "not estimable" values."""

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import UndefinedMetricWarning

from rdinet_sklearn.metrics import (
    calibration_intercept_slope,
    calibration_report,
    smoothed_calibration_curve,
)
from rdinet_sklearn.metrics._calibration_curve import _loess
from rdinet_sklearn.plots import plot_calibration


def test_loess_reproduces_a_line_and_a_weighted_mean():
    x = np.linspace(0, 1, 30)
    grid = np.linspace(0.1, 0.9, 7)
    # A local *linear* fit reproduces any line exactly, whatever the weights.
    np.testing.assert_allclose(_loess(x, 0.2 + 0.5 * x, grid, 2 / 3), 0.2 + 0.5 * grid)
    # With every point in the window and x constant around the grid point, the fit is the
    # tricube-weighted mean: here the plain mean of 0/1 outcomes at one x.
    y = np.array([0, 1, 1, 0, 1] * 6, float)
    assert _loess(np.full(30, 0.4), y, np.array([0.4]), 1.0)[0] == pytest.approx(y.mean())


def test_smoothed_curve_follows_the_truth_and_its_band_covers_it():
    rng = np.random.default_rng(1)
    proba = rng.uniform(0.05, 0.95, 300)
    truth = expit(2 * (proba - 0.5))  # miscalibrated: flatter than the diagonal
    y = (rng.uniform(size=300) < truth).astype(int)
    curve = smoothed_calibration_curve(y, proba, n_bootstrap=100, random_state=0)
    expected = expit(2 * (curve["predicted"] - 0.5))
    assert np.abs(curve["observed"] - expected).max() < 0.12
    inside = (curve["ci_low"] <= expected) & (expected <= curve["ci_high"])
    assert inside.mean() > 0.8
    assert (curve["ci_low"] <= curve["observed"] + 1e-12).all()
    assert (curve["observed"] <= curve["ci_high"] + 1e-12).all()
    assert curve["predicted"].iloc[[0, -1]].tolist() == [proba.min(), proba.max()]
    again = smoothed_calibration_curve(y, proba, n_bootstrap=100, random_state=0)
    assert again.equals(curve)  # seeded
    assert smoothed_calibration_curve(y, proba, n_bootstrap=0)["ci_low"].isna().all()


def test_plot_calibration_default_is_smoothed_with_a_band_and_bins_stay_available():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 30)
    proba = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.2, 30), 0.01, 0.99)
    ax = plot_calibration({"A": (y, proba)})
    assert len(ax.get_lines()[0].get_xdata()) == 50 and len(ax.collections) == 1
    binned = plot_calibration({"A": (y, proba)}, method="bins")
    assert len(binned.get_lines()[0].get_xdata()) <= 10 and not binned.collections
    assert len(plot_calibration({"A": (y, proba)}, n_bins=4).get_lines()[0].get_xdata()) <= 4
    with pytest.raises(ValueError, match="method must be 'loess' or 'bins'"):
        plot_calibration({"A": (y, proba)}, method="isotonic")


def test_saturated_predictions_are_not_estimable_with_a_reason():
    # An overconfident model: every probability at 1e-9 or 1 - 1e-9, two of them wrong.
    # Before, the intercept came out around -20 with an interval tens of units wide.
    y = np.array([0] * 18 + [1] * 12)
    proba = np.where(y == 1, 1 - 1e-9, 1e-9)
    proba[[0, 20]] = proba[[20, 0]]
    with pytest.warns(UndefinedMetricWarning, match="model 'RF', cohort 'test'.*saturated"):
        result = calibration_intercept_slope(y, proba, model="RF", cohort="test")
    assert np.isnan(result).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        report = calibration_report(y, proba).set_index("metric")
    assert report.loc["Brier", "note"] == "" and np.isfinite(report.loc["Brier", "value"])
    for metric in ("Calibration intercept", "Calibration slope"):
        assert np.isnan(report.loc[metric, "value"])
        assert "saturated at 0 or 1" in report.loc[metric, "note"]


def test_near_constant_predictions_have_no_slope_but_an_intercept():
    y = np.array([0, 1] * 15)
    proba = 0.4 + np.linspace(0, 1e-4, 30)
    with pytest.warns(UndefinedMetricWarning, match="near-constant"):
        report = calibration_report(y, proba).set_index("metric")
    assert np.isnan(report.loc["Calibration slope", "value"])
    assert "near-constant" in report.loc["Calibration slope", "note"]
    # Calibration-in-the-large stays defined: the mean prediction against the event rate.
    assert report.loc["Calibration intercept", "value"] == pytest.approx(
        np.log(0.5 / 0.5) - np.log(0.4 / 0.6), abs=1e-3
    )
    assert report.loc["Calibration intercept", "note"] == ""
