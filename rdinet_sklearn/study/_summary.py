"""The study's answer in one table: the best model of each family, chosen in training.

Each family's model is chosen by its mean cross-validated AUC in the training cohort, never by
a test-cohort figure, so the test AUC reported beside it is an honest estimate. The table
also gives calibration in the test cohort: the Brier score with its interval and
the mean predicted probability next to the observed event rate.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from ..metrics import binary_report
from ._results import TEST

FAMILY_LABELS = {
    "radiomics": "Radiomics",
    "resnet": "ResNet",
    "rdinet": "RDINet",
    "rdinet_clinical": "RDINet+clinical",
}

SUMMARY_COLUMNS = (
    "family",
    "model",
    "chosen_by",
    "cv_auc_mean",
    "cv_auc_sd",
    "test_auc",
    "test_auc_ci_low",
    "test_auc_ci_high",
    "brier",
    "brier_ci_low",
    "brier_ci_high",
    "predicted_rate",
    "observed_rate",
    "threshold",
    "n_test",
    "n_test_positive",
)


SUMMARY_CAPTION = (
    "Each family's model is the one with the best mean cross-validated AUC in the training "
    "cohort; the test cohort only reports how the chosen models did. Intervals are 95% "
    "(logit-DeLong for the AUC, Hall-corrected t for the Brier score, lower is better). "
    "Event rate: mean predicted probability against the observed rate in the test cohort."
)


def _cv_auc(stage):
    scores = (stage.cv or {}).get("test_roc_auc")
    if not scores:
        return np.nan, np.nan
    return float(np.mean(scores)), float(np.std(scores, ddof=1)) if len(scores) > 1 else np.nan


def _family_best(names, stages):
    """The model with the best mean CV AUC; a family without CV scores cannot be ranked."""
    scored = {name: _cv_auc(stages[name])[0] for name in names}
    ranked = [name for name in names if not np.isnan(scored[name])]
    if ranked:
        return max(ranked, key=scored.__getitem__), "CV AUC (training)"
    if len(names) == 1:
        return names[0], "only model of its family"
    # Choosing by any test-cohort figure would bias the reported test AUC upwards.
    return names[0], "first fitted (no CV scores to rank by)"


def summary_table(stages, y_test):
    """One row per model family: its best model by training CV AUC and its test performance.

    Parameters
    ----------
    stages : dict of str to FittedModel
        The study's models: their ``family``, ``cv`` (fold scores, ``test_roc_auc``
        used), test-cohort probabilities and ``threshold``.
    y_test : array-like of shape (n_test,)
        0/1 outcome of the test cohort.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`, families in the order the study fitted them.
    """
    y_test = np.asarray(y_test).astype(int)
    families = {}
    for name, stage in stages.items():
        families.setdefault(stage.family, []).append(name)
    rows = []
    for family, names in families.items():
        name, chosen_by = _family_best(names, stages)
        stage = stages[name]
        # The summary shows no threshold metric, and the warnings about undefined metrics
        # are already given by Table 2, so they are not repeated.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            report = binary_report(
                y_test,
                stage.proba(TEST),
                threshold=stage.threshold,
                model=name,
                cohort="test",
            ).set_index("metric")
        cv_mean, cv_sd = _cv_auc(stage)
        rows.append(
            {
                "family": FAMILY_LABELS.get(family, family),
                "model": name,
                "chosen_by": chosen_by,
                "cv_auc_mean": cv_mean,
                "cv_auc_sd": cv_sd,
                "test_auc": report.loc["AUC", "value"],
                "test_auc_ci_low": report.loc["AUC", "ci_low"],
                "test_auc_ci_high": report.loc["AUC", "ci_high"],
                "brier": report.loc["Brier", "value"],
                "brier_ci_low": report.loc["Brier", "ci_low"],
                "brier_ci_high": report.loc["Brier", "ci_high"],
                "predicted_rate": float(np.mean(stage.proba(TEST))),
                "observed_rate": float(np.mean(y_test)),
                "threshold": float(stage.threshold),
                "n_test": int(y_test.size),
                "n_test_positive": int(y_test.sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _with_interval(value, low, high, digits=2):
    if np.isnan(value):
        return "NA"
    if np.isnan(low) or np.isnan(high):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def format_summary(summary):
    """The summary table as a reader sees it: intervals and rates as short strings.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`summary_table`.

    Returns
    -------
    pandas.DataFrame
        One row per family.
    """
    frame = pd.DataFrame(
        {
            "Family": summary["family"],
            "Best model": summary["model"],
            "CV AUC, training (mean ± SD)": [
                "NA" if np.isnan(m) else (f"{m:.2f}" if np.isnan(s) else f"{m:.2f} ± {s:.2f}")
                for m, s in zip(summary["cv_auc_mean"], summary["cv_auc_sd"], strict=True)
            ],
            "Test AUC (95% CI)": [
                _with_interval(*row)
                for row in summary[["test_auc", "test_auc_ci_low", "test_auc_ci_high"]].to_numpy()
            ],
            "Test Brier (95% CI)": [
                _with_interval(*row)
                for row in summary[["brier", "brier_ci_low", "brier_ci_high"]].to_numpy()
            ],
            "Test event rate, predicted vs observed": [
                f"{p:.0%} vs {o:.0%}"
                for p, o in zip(summary["predicted_rate"], summary["observed_rate"], strict=True)
            ],
        }
    )
    return frame.reset_index(drop=True)


def _calibration_phrase(predicted, observed):
    gap = predicted - observed
    if abs(gap) < 0.05:
        return f"its mean predicted probability ({predicted:.0%}) matched the observed rate"
    direction = "over" if gap > 0 else "under"
    return (
        f"it {direction}estimated the event rate ({predicted:.0%} predicted, "
        f"{observed:.0%} observed)"
    )


def summary_reading(summary):
    """One plain-language sentence: the model best in training and how it did in the test.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`summary_table`.

    Returns
    -------
    str
        The reading; empty when the summary has no rows.
    """
    if summary.empty:
        return ""
    ranked = summary.dropna(subset=["cv_auc_mean"])
    best = (ranked if not ranked.empty else summary).sort_values(
        "cv_auc_mean", ascending=False, kind="stable"
    )
    row = best.iloc[0]
    selection = (
        "ranked best by cross-validation in the training cohort"
        if not ranked.empty
        else "the study's model (no cross-validation scores to rank by)"
    )
    if np.isnan(row.test_auc_ci_low) or np.isnan(row.test_auc_ci_high):
        auc = _with_interval(row.test_auc, np.nan, np.nan)
    else:
        auc = f"{row.test_auc:.2f} (95% CI {row.test_auc_ci_low:.2f}-{row.test_auc_ci_high:.2f}"
        auc += ", which includes chance, 0.5)" if row.test_auc_ci_low <= 0.5 else ")"
    return (
        f"{row.model}, {selection}, reached a test AUC of {auc} on {row.n_test} cases "
        f"({row.n_test_positive} with the outcome), and "
        f"{_calibration_phrase(row.predicted_rate, row.observed_rate)}."
    )
