"""One-call binary classification report with confidence intervals."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._delong import AUCConfidenceInterval, auc_interval
from ._intervals import brier_interval, proportion_interval
from ._validation import check_binary_proba, warn_undefined

_COUNT_METRICS = ("ACC", "SEN", "SPE", "PPV", "NPV")
CI_METHODS = {
    "exact": "clopper-pearson",
    "wilson": "wilson",
    "bootstrap": "bootstrap",
}
"""``ci`` option of :func:`binary_report` -> name of the count-metric interval it gives."""
AUC_METHOD, BRIER_METHOD = "logit-delong", "hall-t"
# Cap on resampled indices held in memory at once (about 80 MB of int64).
_MAX_DRAWS_PER_CHUNK = 10_000_000


def _count_metrics(tp, fp, tn, fn):
    """The five count-based metrics as (numerator, denominator) pairs."""
    return {
        "ACC": (tp + tn, tp + fp + tn + fn),
        "SEN": (tp, tp + fn),
        "SPE": (tn, tn + fp),
        "PPV": (tp, tp + fp),
        "NPV": (tn, tn + fn),
    }


def _safe_ratio(numerator, denominator):
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _stratified_bootstrap(y_bin, pred, n_bootstraps, rng):
    """Bootstrap replicates of the count metrics, vectorised.

    Positives and negatives are resampled separately (stratified), so each
    replicate keeps the cohort's class sizes and SEN/SPE are always defined.
    """
    pred_pos, pred_neg = pred[y_bin], pred[~y_bin]
    m, n = pred_pos.shape[0], pred_neg.shape[0]
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // max(m + n, 1))
    tp, fp = [], []
    for start in range(0, n_bootstraps, chunk):
        size = min(chunk, n_bootstraps - start)
        tp.append(pred_pos[rng.randint(0, max(m, 1), size=(size, m))].sum(axis=1))
        fp.append(pred_neg[rng.randint(0, max(n, 1), size=(size, n))].sum(axis=1))
    tp, fp = np.concatenate(tp), np.concatenate(fp)
    return {
        name: _safe_ratio(*pair) for name, pair in _count_metrics(tp, fp, n - fp, m - tp).items()
    }


def _percentile_interval(replicates, confidence):
    finite = replicates[~np.isnan(replicates)]
    if finite.size == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def _check_options(threshold, ci, n_bootstraps, confidence):
    if not isinstance(threshold, numbers.Real):
        raise ValueError(f"threshold must be a real number or NaN; got {threshold!r}.")
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {sorted(CI_METHODS)}; got {ci!r}.")
    if not isinstance(n_bootstraps, numbers.Integral) or n_bootstraps < 1:
        raise ValueError(f"n_bootstraps must be a positive integer; got {n_bootstraps!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")


def binary_report(
    y_true,
    proba,
    *,
    threshold=0.5,
    ci="exact",
    n_bootstraps=2000,
    confidence=0.95,
    random_state=0,
    pos_label=None,
    model=None,
    cohort=None,
):
    """AUC, accuracy, sensitivity, specificity, PPV, NPV and Brier score with CIs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (one or two classes; with one, the AUC and the class-specific
        metrics of the absent class are NaN).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    threshold : float, default=0.5
        Samples with ``proba >= threshold`` are called positive. Choose it on
        the training cohort (:func:`select_threshold`) and pass it unchanged
        for the test cohort. NaN, for a model whose threshold could not be
        chosen, makes ACC, SEN, SPE, PPV and NPV undefined (NaN, with the warning
        below); AUC and Brier, which need no threshold, are still given.
    ci : {"exact", "wilson", "bootstrap"}, default="exact"
        Interval for ACC, SEN, SPE, PPV and NPV: exact Clopper-Pearson binomial
        interval, Wilson score interval, or percentile stratified bootstrap
        (kept for comparison only: it under-covers at the study's size, see Notes).
    n_bootstraps : int, default=2000
        Bootstrap replicates, used with ``ci="bootstrap"`` only.
    confidence : float, default=0.95
        Coverage of the two-sided intervals.
    random_state : int, RandomState instance or None, default=0
        Seed of the bootstrap, so reports are reproducible.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    model, cohort : str, default=None
        Names used in the warning about undefined metrics, e.g. ``"RDINet"`` and
        ``"test"``.

    Returns
    -------
    pandas.DataFrame
        Rows AUC, ACC, SEN, SPE, PPV, NPV, Brier; columns ``metric``,
        ``value``, ``ci_low``, ``ci_high``, ``method`` (``"logit-delong"``;
        ``"clopper-pearson"``, ``"wilson"`` or ``"bootstrap"``; ``"hall-t"``).
        ``attrs`` holds the threshold, sample counts and CI settings. A metric
        whose denominator is zero (e.g. PPV when nothing is called positive) and
        an interval that cannot be computed (the AUC's when all predictions are
        equal or a class is missing) are NaN, with one
        :class:`~sklearn.exceptions.UndefinedMetricWarning` naming ``model`` and
        ``cohort``.

    See Also
    --------
    delong_auc_ci : The AUC row.
    proportion_interval : The count-metric intervals.
    brier_interval : The Brier row.
    table2 : Formats several reports side by side.
    calibration_table : Brier score, calibration intercept and slope.

    Notes
    -----
    In 2000 simulated cohorts of 30 patients (``benchmarks/bench_coverage.py``,
    class sizes random around 12/18 and 6/24, AUC 0.6-0.95), the logit-DeLong
    AUC interval and the Clopper-Pearson intervals cover at least 0.93; the
    DeLong interval on the AUC scale fell to 0.70 and the stratified bootstrap,
    which holds the class sizes fixed, to 0.34-0.85 for SEN, PPV and NPV.
    Clopper-Pearson intervals are conservative (coverage at least ``confidence``
    for every true proportion); Wilson intervals are shorter, with coverage close
    to ``confidence`` on average.

    Clopper C. J., Pearson E. S. (1934). Biometrika 26:404-413.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import binary_report
    >>> y = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> p = [0.1, 0.3, 0.6, 0.2, 0.7, 0.4, 0.9, 0.8]
    >>> report = binary_report(y, p, threshold=0.5)
    >>> report[["metric", "value", "method"]].round(3)
      metric  value           method
    0    AUC  0.938     logit-delong
    1    ACC  0.750  clopper-pearson
    2    SEN  0.750  clopper-pearson
    3    SPE  0.750  clopper-pearson
    4    PPV  0.750  clopper-pearson
    5    NPV  0.750  clopper-pearson
    6  Brier  0.125           hall-t
    """
    _check_options(threshold, ci, n_bootstraps, confidence)
    y_bin, proba = check_binary_proba(
        y_true, proba, pos_label=pos_label, require_both_classes=False
    )
    problems = []
    if np.isnan(threshold):
        problems.append("there is no operating threshold, so ACC, SEN, SPE, PPV and NPV are NaN")
    pred = proba >= threshold
    tp, fp = int(np.sum(pred & y_bin)), int(np.sum(pred & ~y_bin))
    tn, fn = int(np.sum(~pred & ~y_bin)), int(np.sum(~pred & y_bin))
    counts = _count_metrics(tp, fp, tn, fn)

    if y_bin.all() or not y_bin.any():
        auc = AUCConfidenceInterval(np.nan, np.nan, np.nan, np.nan)
        problems.append("only one class is present, so the AUC is undefined")
    else:
        auc, problem = auc_interval(y_bin, proba, confidence)
        problems += [] if problem is None else [problem]
    rows = [("AUC", auc.auc, auc.ci_low, auc.ci_high, AUC_METHOD)]
    if ci == "bootstrap":
        replicates = _stratified_bootstrap(
            y_bin, pred, n_bootstraps, check_random_state(random_state)
        )
    for name in _COUNT_METRICS:
        if np.isnan(threshold):
            rows.append((name, np.nan, np.nan, np.nan, CI_METHODS[ci]))
            continue
        numerator, denominator = counts[name]
        if denominator == 0:
            problems.append(f"{name} has a zero denominator")
        if ci == "bootstrap":
            low, high = _percentile_interval(replicates[name], confidence)
        else:
            low, high = proportion_interval(
                numerator, denominator, method=CI_METHODS[ci], confidence=confidence
            )
        rows.append((name, float(_safe_ratio(numerator, denominator)), low, high, CI_METHODS[ci]))
    brier, low, high = brier_interval(y_bin, proba, confidence=confidence)
    if np.isnan(low):
        problems.append("all squared errors are equal, so the Brier interval is undefined")
    rows.append(("Brier", brier, low, high, BRIER_METHOD))
    warn_undefined("binary_report", problems, model=model, cohort=cohort)

    report = pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high", "method"])
    report.attrs = {
        "threshold": float(threshold),
        "n_samples": int(y_bin.shape[0]),
        "n_positive": int(y_bin.sum()),
        "confusion": None if np.isnan(threshold) else {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "ci": ci,
        "n_bootstraps": int(n_bootstraps),
        "confidence": float(confidence),
        "random_state": random_state if isinstance(random_state, int | None) else "instance",
    }
    return report
