"""Metrics: scorers, thresholds, DeLong, binary_report, Table 1 and Table 2."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit, logit
from sklearn.datasets import make_classification
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_predict,
    cross_validate,
    train_test_split,
)

from rdinet_sklearn.metrics import (
    apply_threshold,
    binary_report,
    brier_interval,
    calibration_intercept_slope,
    calibration_report,
    calibration_table,
    delong_auc_ci,
    delong_test,
    hanley_mcneil_score_interval,
    logit_wald_interval,
    npv_score,
    paper_scoring,
    ppv_score,
    proportion_interval,
    select_threshold,
    sensitivity_score,
    specificity_score,
    table1,
    table2,
    youden_threshold,
)
from rdinet_sklearn.metrics._intervals import median_interval


@pytest.fixture
def scored_sample():
    """120 samples with informative, tied (rounded) scores from two models."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    proba_a = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, 120), 0, 1).round(2)
    proba_b = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.25, 120), 0, 1).round(2)
    return y, proba_a, proba_b


# ---------------------------------------------------------------- scorers


def test_count_metrics_match_hand_counts_and_sklearn():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 0, 1, 0, 1, 0, 0, 1]  # tp=3 fn=1 tn=3 fp=1
    assert sensitivity_score(y_true, y_pred) == 0.75
    assert specificity_score(y_true, y_pred) == 0.75
    assert ppv_score(y_true, y_pred) == 0.75
    assert npv_score(y_true, y_pred) == 0.75
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    assert sensitivity_score(y_true, y_pred) == pytest.approx(recall_score(y_true, y_pred))
    assert ppv_score(y_true, y_pred) == pytest.approx(precision_score(y_true, y_pred))
    assert specificity_score(y_true, y_pred) == pytest.approx(
        recall_score(y_true, y_pred, pos_label=0)
    )
    assert npv_score(y_true, y_pred) == pytest.approx(precision_score(y_true, y_pred, pos_label=0))


def test_count_metrics_accept_string_labels():
    y_true = ["R", "R", "NR", "NR", "NR"]
    y_pred = ["R", "NR", "NR", "R", "NR"]
    assert sensitivity_score(y_true, y_pred, pos_label="R") == 0.5
    assert specificity_score(y_true, y_pred, pos_label="R") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        sensitivity_score(y_true, y_pred)
    with pytest.raises(ValueError, match="at most two labels"):
        sensitivity_score([0, 1, 2], [0, 1, 1])


def test_zero_division_follows_sklearn_convention():
    y_true, y_pred = [0, 0, 1], [0, 0, 0]  # nothing predicted positive: PPV undefined
    with pytest.warns(UndefinedMetricWarning, match="PPV is ill-defined"):
        assert ppv_score(y_true, y_pred) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(ppv_score(y_true, y_pred, zero_division=np.nan))
        assert ppv_score(y_true, y_pred, zero_division=1.0) == 1.0
        assert np.isnan(specificity_score([1, 1], [1, 0], zero_division=np.nan))
    with pytest.raises(ValueError, match="zero_division"):
        ppv_score(y_true, y_pred, zero_division="nan")


def test_paper_scoring_in_cross_validate_with_string_labels():
    X, y = make_classification(n_samples=60, random_state=0)
    labels = np.where(y == 1, "responder", "non-responder")
    scoring = paper_scoring(pos_label="responder")
    assert list(scoring) == ["roc_auc", "accuracy", "sensitivity", "specificity", "ppv", "npv"]
    result = cross_validate(LogisticRegression(), X, labels, cv=3, scoring=scoring)
    predicted = cross_val_predict(LogisticRegression(), X, labels, cv=3)
    assert np.all((result["test_sensitivity"] >= 0) & (result["test_sensitivity"] <= 1))
    # Per-fold sensitivities average to roughly the pooled one.
    pooled = sensitivity_score(labels, predicted, pos_label="responder")
    assert abs(result["test_sensitivity"].mean() - pooled) < 0.1


def test_paper_workflow_as_written():
    """The documented search -> threshold -> report -> DeLong workflow, at small size."""
    X, y = make_classification(n_samples=120, n_informative=4, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    model, grid = LogisticRegression(), {"C": [0.1, 1.0]}
    search = GridSearchCV(
        model, grid, cv=StratifiedKFold(5), scoring=paper_scoring(), refit="roc_auc"
    )
    search.fit(X_train, y_train)
    assert {"mean_test_sensitivity", "mean_test_npv"} <= set(search.cv_results_)
    oof = cross_val_predict(
        search.best_estimator_, X_train, y_train, cv=StratifiedKFold(5), method="predict_proba"
    )
    search_threshold = select_threshold(y_train, oof[:, 1])
    proba_test = search.predict_proba(X_test)[:, 1]
    report = binary_report(y_test, proba_test, threshold=search_threshold, n_bootstraps=200)
    assert list(report.columns) == ["metric", "value", "ci_low", "ci_high", "method"]
    assert report.attrs["threshold"] == search_threshold
    proba_a = proba_test
    proba_b = LogisticRegression(C=1e-3).fit(X_train[:, :2], y_train).predict_proba(X_test[:, :2])
    result = delong_test(y_test, proba_a, proba_b[:, 1])
    assert result.difference == pytest.approx(result.auc_a - result.auc_b)
    assert 0.0 <= result.p_value <= 1.0


# ---------------------------------------------------------------- thresholds


def test_youden_threshold_hand_example_and_brute_force(scored_sample):
    assert youden_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.6)
    y, proba, _ = scored_sample
    threshold = youden_threshold(y, proba)
    j_at = lambda t: np.mean(proba[y == 1] >= t) - np.mean(proba[y == 0] >= t)  # noqa: E731
    best = max(j_at(t) for t in np.unique(proba))
    assert j_at(threshold) == pytest.approx(best)


def test_youden_ties_are_exact_and_keep_the_highest_vertex():
    # J = 1/3 at the vertices 0.7 and 0.5 (float rounding made 0.5 win); the highest
    # vertex wins, and the threshold is halfway to the next lower distinct score 0.6.
    y, proba = [1, 0, 1, 0, 0, 1], [0.7, 0.6, 0.5, 0.3, 0.9, 0.9]
    assert youden_threshold(y, proba) == pytest.approx(0.65)
    # The tie rule is independent of the sample order and of the label spelling.
    order = [5, 3, 1, 0, 4, 2]
    labels = np.where(np.array(y) == 1, "yes", "no")[order]
    assert youden_threshold(labels, np.array(proba)[order], pos_label="yes") == pytest.approx(0.65)
    # No J > 0: just above every score, nobody called positive.
    threshold = youden_threshold([1, 0], [0.2, 0.8])
    assert threshold > 0.8 and apply_threshold([0.2, 0.8], threshold).tolist() == [0, 0]


def test_select_and_apply_threshold():
    y, proba = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert select_threshold(y, proba) == youden_threshold(y, proba)
    assert select_threshold(y, proba, method=0.3) == 0.3
    for bad in ("roc", 1.5, None):
        with pytest.raises(ValueError, match="method must be"):
            select_threshold(y, proba, method=bad)
    assert apply_threshold(np.array([[0.9, 0.1], [0.4, 0.6]]), 0.5).tolist() == [0, 1]
    with pytest.raises(ValueError, match="threshold must be a real number"):
        apply_threshold(proba, "youden")


# ---------------------------------------------------------------- DeLong


def _brute_force_delong(y, scores):
    """O(n^2) Mann-Whitney kernel: AUCs and covariance, independent of ranks."""
    y = np.asarray(y).astype(bool)
    aucs, v10s, v01s = [], [], []
    for score in scores:
        pos, neg = score[y], score[~y]
        kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        aucs.append(kernel.mean())
        v10s.append(kernel.mean(axis=1))
        v01s.append(kernel.mean(axis=0))
    m, n = y.sum(), (~y).sum()
    cov = np.cov(np.array(v10s)) / m + np.cov(np.array(v01s)) / n
    return np.array(aucs), np.atleast_2d(cov)


def test_delong_matches_hand_worked_example():
    # Positives 0.35, 0.8, 0.9; negatives 0.1, 0.4, 0.2.
    # V10 = (2/3, 1, 1), V01 = (1, 2/3, 1): both sample variances 1/27, so
    # Var = 1/27/3 + 1/27/3 = 2/81.
    result = delong_auc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    assert result.auc == pytest.approx(8 / 9)
    assert result.variance == pytest.approx(2 / 81)
    # Logit scale: logit(8/9) = log 8, SE = sqrt(2/81) / (8/9 * 1/9) = 81 sqrt(2) / 72.
    half = stats.norm.ppf(0.975) * 81 * np.sqrt(2) / 72
    assert result.ci_low == pytest.approx(8 / (8 + np.exp(half)))
    assert result.ci_high == pytest.approx(8 / (8 + np.exp(-half)))
    assert 0 < result.ci_low < result.auc < result.ci_high < 1


def test_auc_interval_at_one_is_the_newcombe_score_interval():
    # Perfect separation, 3 positives and 4 negatives: DeLong variance 0, so the score
    # interval (|1 - theta| <= z sqrt(V(theta)), Hanley-McNeil V with N* = 3.5) is used.
    y, proba = [0, 0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8]
    result = delong_auc_ci(y, proba)
    assert (result.auc, result.variance, result.ci_high) == (1.0, 0.0, 1.0)
    theta, z = result.ci_low, stats.norm.ppf(0.975)
    bracket = 1 + 2.5 * ((1 - theta) / (2 - theta) + theta / (1 + theta))
    assert (1 - theta) ** 2 == pytest.approx(z**2 * theta * (1 - theta) / 12 * bracket)
    assert 0.3 < theta < 0.9
    assert hanley_mcneil_score_interval(1.0, 3, 4) == pytest.approx((theta, 1.0))
    # Mirror image at AUC 0; interior estimates lie inside their interval.
    low, high = hanley_mcneil_score_interval(0.0, 3, 4)
    assert (low, high) == pytest.approx((0.0, 1 - theta))
    low, high = hanley_mcneil_score_interval(0.7, 12, 18)
    assert low < 0.7 < high


def test_auc_interval_is_nan_with_a_warning_when_undefined():
    with pytest.warns(UndefinedMetricWarning, match="all predictions are equal"):
        result = delong_auc_ci([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])
    assert result.auc == 0.5 and np.isnan(result.ci_low) and np.isnan(result.ci_high)
    with pytest.warns(UndefinedMetricWarning, match="fewer than two samples"):
        result = delong_auc_ci([0, 1, 0, 0], [0.1, 0.9, 0.3, 0.2])
    assert np.isnan(result.ci_low)


@pytest.mark.parametrize("method", ["clopper-pearson", "wilson"])
def test_proportion_interval_matches_scipy_binomtest(method):
    scipy_method = {"clopper-pearson": "exact", "wilson": "wilson"}[method]
    successes = np.array([0, 1, 7, 11, 12])
    low, high = proportion_interval(successes, 12, method=method, confidence=0.9)
    for k, lo, hi in zip(successes, low, high, strict=True):
        expected = stats.binomtest(int(k), 12).proportion_ci(0.9, method=scipy_method)
        assert (lo, hi) == pytest.approx((expected.low, expected.high))
    assert np.isnan(proportion_interval(0, 0, method=method)).all()


def test_logit_wald_interval_by_hand():
    low, high = logit_wald_interval(0.8, 0.1, confidence=0.95)
    half = stats.norm.ppf(0.975) * 0.1 / 0.16
    assert (low, high) == pytest.approx((expit(logit(0.8) - half), expit(logit(0.8) + half)))
    assert np.isnan(logit_wald_interval(1.0, 0.1)).all()


def test_brier_interval_is_hall_corrected_t():
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0, 0, 1])
    proba = np.array([0.1, 0.2, 0.05, 0.9, 0.6, 0.7, 0.8, 0.3, 0.1, 0.2])
    brier, low, high = brier_interval(y, proba)
    losses = (proba - y) ** 2
    n, mean, sd = 10, losses.mean(), losses.std(ddof=1)
    a = np.mean((losses - mean) ** 3) / sd**3 / (3 * np.sqrt(n))
    inverse = lambda u: (np.cbrt(1 + 3 * a * (u - a / 2)) - 1) / a  # noqa: E731
    t = stats.t.ppf(0.975, n - 1)
    assert brier == pytest.approx(brier_score_loss(y, proba))
    assert low == pytest.approx(mean - sd * inverse(t) / np.sqrt(n))
    assert high == pytest.approx(mean - sd * inverse(-t) / np.sqrt(n))
    # Right-skewed losses: the interval reaches further above the mean than below.
    assert high - brier > brier - low > 0
    assert np.isnan(brier_interval([0, 1], [0.5, 0.5])[1])


def test_calibration_intercept_and_slope_match_logistic_regression():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    proba = expit(1.5 * (y - 0.5) + rng.normal(0, 1.2, 80))
    result = calibration_intercept_slope(y, proba, confidence=0.9)
    x = logit(proba)
    fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(x[:, None], y)
    assert result.slope == pytest.approx(fit.coef_[0, 0], rel=1e-5)
    # Intercept with the slope fixed at 1 (offset): the event count is matched exactly.
    assert np.sum(expit(result.intercept + x)) == pytest.approx(y.sum())
    fitted = expit(fit.intercept_[0] + fit.coef_[0, 0] * x)
    design = np.column_stack([np.ones(80), x])
    covariance = np.linalg.inv(design.T @ (design * (fitted * (1 - fitted))[:, None]))
    half = stats.norm.ppf(0.95) * np.sqrt(covariance[1, 1])
    assert (result.slope_low, result.slope_high) == pytest.approx(
        (result.slope - half, result.slope + half), rel=1e-5
    )
    p0 = expit(result.intercept + x)
    half = stats.norm.ppf(0.95) / np.sqrt(np.sum(p0 * (1 - p0)))
    assert result.intercept_high - result.intercept == pytest.approx(half)


def test_calibration_slope_undefined_cases_warn_with_model_and_cohort():
    with pytest.warns(UndefinedMetricWarning, match="model 'RF', cohort 'test'.*separate"):
        result = calibration_intercept_slope(
            [0, 0, 1, 1], [0.0, 0.2, 0.7, 1.0], model="RF", cohort="test"
        )
    assert np.isnan(result.slope) and np.isfinite(result.intercept)
    with pytest.warns(UndefinedMetricWarning, match="all predictions are equal"):
        result = calibration_intercept_slope([0, 1, 0, 1], [0.4] * 4)
    assert np.isnan(result.slope_low) and result.intercept == pytest.approx(logit(0.5) - logit(0.4))


def test_delong_matches_brute_force_kernel_and_sklearn(scored_sample):
    y, proba_a, proba_b = scored_sample
    aucs, cov = _brute_force_delong(y, [proba_a, proba_b])
    single = delong_auc_ci(y, proba_a)
    assert single.auc == pytest.approx(roc_auc_score(y, proba_a))
    assert single.auc == pytest.approx(aucs[0])
    assert single.variance == pytest.approx(cov[0, 0])
    result = delong_test(y, proba_a, proba_b)
    z = (aucs[0] - aucs[1]) / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert result.auc_b == pytest.approx(roc_auc_score(y, proba_b))
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert result.ci_low < result.difference < result.ci_high
    swapped = delong_test(y, proba_b, proba_a)
    assert swapped.z == pytest.approx(-result.z)
    assert swapped.p_value == pytest.approx(result.p_value)


def test_delong_test_identical_predictions_and_string_labels(scored_sample):
    y, proba_a, _ = scored_sample
    same = delong_test(y, proba_a, proba_a)
    assert (same.difference, same.z, same.p_value) == (0.0, 0.0, 1.0)
    labels = np.where(y == 1, "responder", "non-responder")
    named = delong_auc_ci(labels, proba_a, pos_label="responder")
    assert named.auc == pytest.approx(roc_auc_score(y, proba_a))


# ---------------------------------------------------------------- binary_report


def test_binary_report_values_match_sklearn(scored_sample):
    y, proba, _ = scored_sample
    report = binary_report(y, proba, threshold=0.5, n_bootstraps=100).set_index("metric")
    pred = (proba >= 0.5).astype(int)
    assert list(report.index) == ["AUC", "ACC", "SEN", "SPE", "PPV", "NPV", "Brier"]
    expected = {
        "AUC": roc_auc_score(y, proba),
        "ACC": accuracy_score(y, pred),
        "SEN": recall_score(y, pred),
        "SPE": recall_score(y, pred, pos_label=0),
        "PPV": precision_score(y, pred),
        "NPV": precision_score(y, pred, pos_label=0),
        "Brier": brier_score_loss(y, proba),
    }
    for metric, value in expected.items():
        assert report.loc[metric, "value"] == pytest.approx(value)
        assert report.loc[metric, "ci_low"] <= value <= report.loc[metric, "ci_high"]
    assert report.loc["AUC", "method"] == "logit-delong"
    assert set(report["method"].iloc[1:6]) == {"clopper-pearson"}
    assert report.loc["Brier", "method"] == "hall-t"
    wilson = binary_report(y, proba, ci="wilson").set_index("metric")
    tp, fp = int(np.sum((proba >= 0.5) & (y == 1))), int(np.sum((proba >= 0.5) & (y == 0)))
    interval = stats.binomtest(tp, tp + fp).proportion_ci(method="wilson")
    assert wilson.loc["PPV", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [interval.low, interval.high]
    )


def test_binary_report_bootstrap_equals_naive_loop(scored_sample):
    """The vectorised stratified bootstrap reproduces a per-replicate sklearn loop."""
    y, proba, _ = scored_sample
    n_boot = 40
    report = binary_report(
        y, proba, threshold=0.45, ci="bootstrap", n_bootstraps=n_boot, random_state=3
    )
    rng = np.random.RandomState(3)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    draw_pos = rng.randint(0, pos.size, size=(n_boot, pos.size))
    draw_neg = rng.randint(0, neg.size, size=(n_boot, neg.size))
    sens, ppvs = [], []
    for row_pos, row_neg in zip(draw_pos, draw_neg, strict=True):
        idx = np.concatenate([pos[row_pos], neg[row_neg]])
        sens.append(recall_score(y[idx], (proba[idx] >= 0.45).astype(int)))
        ppvs.append(precision_score(y[idx], (proba[idx] >= 0.45).astype(int)))
    by_metric = report.set_index("metric")
    assert by_metric.loc["SEN", "ci_low"] == pytest.approx(np.quantile(sens, 0.025))
    assert by_metric.loc["PPV", "ci_high"] == pytest.approx(np.quantile(ppvs, 0.975))
    assert set(report["method"].iloc[1:6]) == {"bootstrap"}


def test_binary_report_exact_intervals_and_seeds(scored_sample):
    y, proba, _ = scored_sample
    exact = binary_report(y, proba, ci="exact", n_bootstraps=20).set_index("metric")
    pred = proba >= 0.5
    tp, fn = int(np.sum(pred & (y == 1))), int(np.sum(~pred & (y == 1)))
    interval = stats.binomtest(tp, tp + fn).proportion_ci(method="exact")
    assert exact.loc["SEN", "method"] == "clopper-pearson"
    assert exact.loc["SEN", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [interval.low, interval.high]
    )
    first = binary_report(y, proba, ci="bootstrap", n_bootstraps=50, random_state=1)
    again = binary_report(y, proba, ci="bootstrap", n_bootstraps=50, random_state=1)
    other = binary_report(y, proba, ci="bootstrap", n_bootstraps=50, random_state=2)
    pd.testing.assert_frame_equal(first, again)
    assert not first["ci_low"].equals(other["ci_low"])


def test_binary_report_zero_denominator_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="PPV has a zero denominator"):
        report = binary_report([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], threshold=0.9)
    ppv = report.set_index("metric").loc["PPV"]
    assert np.isnan(ppv["value"]) and np.isnan(ppv["ci_low"])
    assert report.set_index("metric").loc["SEN", "value"] == 0.0


def test_binary_report_without_threshold_keeps_auc_and_brier():
    y, proba = [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    with pytest.warns(UndefinedMetricWarning, match="model 'M'.*no operating threshold"):
        report = binary_report(y, proba, threshold=np.nan, model="M").set_index("metric")
    with_threshold = binary_report(y, proba, threshold=0.5).set_index("metric")
    counts = ["ACC", "SEN", "SPE", "PPV", "NPV"]
    assert report.loc[counts, ["value", "ci_low", "ci_high"]].isna().all().all()
    for metric in ("AUC", "Brier"):
        assert report.loc[metric].equals(with_threshold.loc[metric])
    assert np.isnan(report.attrs["threshold"]) and report.attrs["confusion"] is None
    with pytest.raises(ValueError, match="threshold must be a real number or NaN"):
        binary_report(y, proba, threshold="youden")


def test_binary_report_one_class_and_equal_predictions_warn_with_context():
    with pytest.warns(UndefinedMetricWarning, match="model 'CNN', cohort 'test'.*one class"):
        report = binary_report([1, 1, 1], [0.2, 0.7, 0.9], model="CNN", cohort="test")
    by_metric = report.set_index("metric")
    assert np.isnan(by_metric.loc["AUC", "value"]) and np.isnan(by_metric.loc["SPE", "value"])
    assert by_metric.loc["SEN", "value"] == pytest.approx(2 / 3)
    with pytest.warns(UndefinedMetricWarning, match="cohort 'train'.*all predictions are equal"):
        report = binary_report([0, 1, 0, 1], [0.6] * 4, cohort="train")
    auc = report.set_index("metric").loc["AUC"]
    assert auc["value"] == 0.5 and np.isnan(auc["ci_low"]) and np.isnan(auc["ci_high"])


@pytest.mark.parametrize(
    ("y", "proba", "message"),
    [
        ([0, 1, 1], [0.2, 1.3, 0.5], r"in \[0, 1\]; rows \[1\]"),
        ([0, 1, 2], [0.2, 0.3, 0.5], "exactly two classes; got 3"),
        ([0, 1, 1], [0.2, 0.3], "y_true has 3 samples but proba has 2"),
        ([0, 1, 1], [0.2, np.nan, 0.5], r"proba contains NaN at rows \[1\]"),
        ([0, None, 1], [0.2, 0.3, 0.5], r"y_true contains NaN/None at rows \[1\]"),
        (["a", "b", "a"], [0.2, 0.3, 0.5], "pass pos_label"),
    ],
)
def test_bad_input_raises_clear_errors(y, proba, message):
    with pytest.raises(ValueError, match=message):
        binary_report(y, proba, n_bootstraps=10)


def test_bad_input_names_patient_index_labels():
    y = pd.Series([0, 1, 1], index=["P001", "P002", "P003"])
    with pytest.raises(ValueError, match="'P003'"):
        delong_auc_ci(y, pd.Series([0.1, 0.2, -0.5], index=y.index))


# ---------------------------------------------------------------- tables


@pytest.fixture
def clinical():
    rng = np.random.default_rng(4)
    n = 80
    frame = pd.DataFrame(
        {
            "age": rng.normal(48, 8, n),
            "duration": rng.exponential(5, n),
            "sex": rng.choice(["F", "M"], n),
            "smoker": np.where(np.arange(n) % 20 == 0, "yes", "no"),
            "side": rng.choice(["left", "right", "both"], n),
        },
        index=[f"P{i:03d}" for i in range(n)],
    )
    groups = pd.Series(np.where(np.arange(n) < 50, "train", "test"), index=frame.index)
    return frame, groups


def test_table1_p_values_match_scipy(clinical):
    frame, groups = clinical
    table = table1(frame, groups, group_order=["train", "test"])
    first = table.drop_duplicates("variable").set_index("variable")
    train, test = groups == "train", groups == "test"

    assert first.loc["age", "test"] == "Welch t-test"
    expected = stats.ttest_ind(frame.age[train], frame.age[test], equal_var=False).pvalue
    assert first.loc["age", "p_value"] == pytest.approx(expected)
    assert first.loc["duration", "test"] == "Mann-Whitney U"
    expected = stats.mannwhitneyu(frame.duration[train], frame.duration[test]).pvalue
    assert first.loc["duration", "p_value"] == pytest.approx(expected)

    crosstab = pd.crosstab(frame.sex, groups)[["train", "test"]].to_numpy()
    assert first.loc["sex", "test"] == "chi-squared"
    assert first.loc["sex", "p_value"] == pytest.approx(stats.chi2_contingency(crosstab).pvalue)
    crosstab = pd.crosstab(frame.smoker, groups)[["train", "test"]].to_numpy()
    assert first.loc["smoker", "test"] == "Fisher exact"
    assert first.loc["smoker", "p_value"] == pytest.approx(stats.fisher_exact(crosstab).pvalue)
    crosstab = pd.crosstab(frame.side, groups)[["train", "test"]].to_numpy()
    assert first.loc["side", "p_value"] == pytest.approx(stats.chi2_contingency(crosstab).pvalue)


def test_table1_layout_summaries_and_rendering(clinical):
    frame, groups = clinical
    frame = frame.assign(group=groups)
    frame.loc["P000", "age"] = np.nan
    table = table1(frame, "group", group_order=["train", "test"])
    assert list(table.columns) == [
        "variable",
        "level",
        "train (n=50)",
        "test (n=30)",
        "p_value",
        "test",
    ]
    age = frame.age[groups == "test"]
    assert table.iloc[0]["test (n=30)"] == f"{age.mean():.1f} ± {age.std():.1f}"
    assert table.iloc[1][["level", "train (n=50)"]].tolist() == ["missing, n", "1"]
    females = int(((frame.sex == "F") & (groups == "train")).sum())
    row = table[(table.variable == "sex") & (table.level == "F, n (%)")].iloc[0]
    assert row["train (n=50)"] == f"{females} ({100 * females / 50:.1f}%)"
    assert "<table" in table.to_html()
    assert "| age" in table.to_markdown()


def test_table1_rejects_more_than_two_groups(clinical):
    frame, _ = clinical
    with pytest.raises(ValueError, match="exactly two groups"):
        table1(frame, np.arange(len(frame)) % 3)
    with pytest.raises(ValueError, match="not a column"):
        table1(frame, "cohort")


def test_table2_formats_reports(scored_sample):
    y, proba_a, proba_b = scored_sample
    results = {
        "A": {"train": (y[:60], proba_a[:60], 0.5), "test": (y[60:], proba_a[60:], 0.5)},
        "B": {"train": (y[:60], proba_b[:60], 0.4), "test": (y[60:], proba_b[60:], 0.4)},
    }
    table = table2(results)
    assert list(table.columns) == ["AUC", "ACC", "SEN", "SPE", "PPV", "NPV"]
    assert table.index.tolist() == [("A", "train"), ("A", "test"), ("B", "train"), ("B", "test")]
    assert all(
        re.fullmatch(r"\d\.\d{3} \(\d\.\d{2} to \d\.\d{2}\)", c) for c in table.to_numpy().ravel()
    )
    assert "AUC: logit-transformed DeLong" in table.attrs["caption"]
    assert "ACC, SEN, SPE, PPV, NPV: Clopper-Pearson exact" in table.attrs["caption"]
    assert table.attrs["ci_methods"]["SEN"] == "clopper-pearson"
    numeric = table2(results, formatted=False)
    assert "Clopper-Pearson" in numeric.attrs["caption"]
    report = binary_report(y[60:], proba_b[60:], threshold=0.4)
    value = numeric.query("model == 'B' and cohort == 'test' and metric == 'SEN'")["value"]
    assert value.item() == report.set_index("metric").loc["SEN", "value"]
    assert table.loc[("B", "test"), "AUC"].startswith(f"{roc_auc_score(y[60:], proba_b[60:]):.3f}")
    with pytest.raises(ValueError, match=r"must be \(y_true, proba, threshold\)"):
        table2({"A": {"test": (y, proba_a)}})
    wilson = table2(results, ci="wilson")
    assert "Wilson score" in wilson.attrs["caption"]


def test_table2_shows_na_and_warns_naming_model_and_cohort():
    results = {"flat": {"test": ([0, 1, 0, 1, 1], [0.5] * 5, 0.5)}}
    with pytest.warns(UndefinedMetricWarning, match="model 'flat', cohort 'test'"):
        table = table2(results)
    assert table.loc[("flat", "test"), "AUC"] == "0.500 (NA)"
    with pytest.warns(UndefinedMetricWarning, match="NPV has a zero denominator"):
        numeric = table2(results, formatted=False)
    npv = numeric.query("metric == 'NPV'")
    assert np.isnan(npv["value"].item()) and np.isnan(npv["ci_low"].item())


def test_calibration_table_matches_its_reports(scored_sample):
    y, proba_a, proba_b = scored_sample
    results = {"A": {"train": (y[:60], proba_a[:60], 0.5)}, "B": {"test": (y[60:], proba_b[60:])}}
    table = calibration_table(results)
    assert list(table.columns) == ["Brier", "Calibration intercept", "Calibration slope"]
    assert table.index.tolist() == [("A", "train"), ("B", "test")]
    assert "Calibration intercept, Calibration slope: Wald" in table.attrs["caption"]
    assert "Brier: t with Hall's skewness correction" in table.attrs["caption"]
    numeric = calibration_table(results, formatted=False).set_index(["model", "metric"])
    expected = calibration_intercept_slope(y[60:], proba_b[60:])
    assert numeric.loc[("B", "Calibration slope"), "value"] == pytest.approx(expected.slope)
    assert numeric.loc[("B", "Calibration slope"), "ci_low"] == pytest.approx(expected.slope_low)
    assert numeric.loc[("A", "Brier"), "value"] == pytest.approx(
        brier_score_loss(y[:60], proba_a[:60])
    )
    report = calibration_report(y[60:], proba_b[60:]).set_index("metric")
    assert report.loc["Calibration intercept", "value"] == pytest.approx(expected.intercept)
    with pytest.raises(ValueError, match=r"must be \(y_true, proba\[, threshold\]\)"):
        calibration_table({"A": {"test": (y,)}})


def test_median_interval_is_the_order_statistics_of_the_binomial():
    values = np.array([13.5, 0.6, 0.5, 2.0, 0.8, 1.5, 0.9, 1.0, 1.2, 0.7, 1.3, 5.0, np.nan])
    median, low, high = median_interval(values)
    # 12 finite values: the 3rd and 10th, as P(Binomial(12, 1/2) <= 2) = 0.019 <= 0.025
    assert stats.binom.cdf(2, 12, 0.5) <= 0.025 < stats.binom.cdf(3, 12, 0.5)
    assert (median, low, high) == (1.1, 0.7, 2.0)
    # the coverage the order statistics guarantee: 1 - 2 P(X <= 2) >= 95%
    assert 1 - 2 * stats.binom.cdf(2, 12, 0.5) >= 0.95
    assert np.isnan(median_interval([1.0, 2.0, 3.0, 4.0, 5.0])[1])  # no 95% interval at 5
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0])[0] == 3.0
    assert all(np.isnan(median_interval([np.nan])))
