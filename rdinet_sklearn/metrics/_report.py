"""One-call binary classification report with confidence intervals."""

import numbers

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.utils import check_random_state

from ._delong import delong_auc_ci
from ._validation import check_binary_proba

_COUNT_METRICS = ("ACC", "SEN", "SPE", "PPV", "NPV")
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


def _stratified_bootstrap(y_bin, proba, pred, n_bootstraps, rng):
    """Bootstrap replicates of the count metrics and Brier score, vectorised.

    Positives and negatives are resampled separately (stratified), so each
    replicate keeps the cohort's class sizes and SEN/SPE are always defined.
    """
    pred_pos, pred_neg = pred[y_bin], pred[~y_bin]
    loss_pos, loss_neg = (1.0 - proba[y_bin]) ** 2, proba[~y_bin] ** 2
    m, n = pred_pos.shape[0], pred_neg.shape[0]
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // (m + n))
    tp, fp, brier = [], [], []
    for start in range(0, n_bootstraps, chunk):
        size = min(chunk, n_bootstraps - start)
        draw_pos = rng.randint(0, m, size=(size, m))
        draw_neg = rng.randint(0, n, size=(size, n))
        tp.append(pred_pos[draw_pos].sum(axis=1))
        fp.append(pred_neg[draw_neg].sum(axis=1))
        brier.append((loss_pos[draw_pos].sum(axis=1) + loss_neg[draw_neg].sum(axis=1)) / (m + n))
    tp, fp = np.concatenate(tp), np.concatenate(fp)
    replicates = {
        name: _safe_ratio(*pair) for name, pair in _count_metrics(tp, fp, n - fp, m - tp).items()
    }
    replicates["Brier"] = np.concatenate(brier)
    return replicates


def _percentile_interval(replicates, confidence):
    finite = replicates[~np.isnan(replicates)]
    if finite.size == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def _clopper_pearson(successes, trials, confidence):
    if trials == 0:
        return np.nan, np.nan
    interval = binomtest(int(successes), int(trials)).proportion_ci(
        confidence_level=confidence, method="exact"
    )
    return float(interval.low), float(interval.high)


def _check_options(threshold, ci, n_bootstraps, confidence):
    if not isinstance(threshold, numbers.Real) or np.isnan(threshold):
        raise ValueError(f"threshold must be a real number; got {threshold!r}.")
    if ci not in ("bootstrap", "exact"):
        raise ValueError(f'ci must be "bootstrap" or "exact"; got {ci!r}.')
    if not isinstance(n_bootstraps, numbers.Integral) or n_bootstraps < 1:
        raise ValueError(f"n_bootstraps must be a positive integer; got {n_bootstraps!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")


def binary_report(
    y_true,
    proba,
    *,
    threshold=0.5,
    ci="bootstrap",
    n_bootstraps=2000,
    confidence=0.95,
    random_state=0,
    pos_label=None,
):
    """AUC, accuracy, sensitivity, specificity, PPV, NPV and Brier score with CIs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    threshold : float, default=0.5
        Samples with ``proba >= threshold`` are called positive. Choose it on
        the training cohort (:func:`select_threshold`) and pass it unchanged
        for the test cohort.
    ci : {"bootstrap", "exact"}, default="bootstrap"
        Interval for ACC, SEN, SPE, PPV and NPV: percentile stratified
        bootstrap, or exact Clopper-Pearson binomial interval.
    n_bootstraps : int, default=2000
        Bootstrap replicates (also used for the Brier score interval).
    confidence : float, default=0.95
        Coverage of the two-sided intervals.
    random_state : int, RandomState instance or None, default=0
        Seed of the bootstrap, so reports are reproducible.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    pandas.DataFrame
        Rows AUC, ACC, SEN, SPE, PPV, NPV, Brier; columns ``metric``,
        ``value``, ``ci_low``, ``ci_high``, ``method`` (``"delong"``,
        ``"bootstrap"`` or ``"clopper-pearson"``). ``attrs`` holds the
        threshold, sample counts and CI settings. A metric whose denominator
        is zero (e.g. PPV when nothing is called positive) is NaN.

    See Also
    --------
    delong_auc_ci : The AUC row.
    table2 : Formats several reports side by side.

    Notes
    -----
    The stratified bootstrap resamples positives and negatives separately,
    which keeps class sizes fixed, as recommended for small clinical cohorts.
    Clopper-Pearson intervals are conservative (coverage at least
    ``confidence``).

    Clopper C. J., Pearson E. S. (1934). Biometrika 26:404-413.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import binary_report
    >>> y = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> p = [0.1, 0.3, 0.6, 0.2, 0.7, 0.4, 0.9, 0.8]
    >>> report = binary_report(y, p, threshold=0.5, ci="exact")
    >>> report[["metric", "value", "method"]].round(3)
      metric  value           method
    0    AUC  0.938           delong
    1    ACC  0.750  clopper-pearson
    2    SEN  0.750  clopper-pearson
    3    SPE  0.750  clopper-pearson
    4    PPV  0.750  clopper-pearson
    5    NPV  0.750  clopper-pearson
    6  Brier  0.125        bootstrap
    """
    _check_options(threshold, ci, n_bootstraps, confidence)
    y_bin, proba = check_binary_proba(y_true, proba, pos_label=pos_label)
    pred = proba >= threshold
    tp, fp = int(np.sum(pred & y_bin)), int(np.sum(pred & ~y_bin))
    tn, fn = int(np.sum(~pred & ~y_bin)), int(np.sum(~pred & y_bin))
    counts = _count_metrics(tp, fp, tn, fn)
    replicates = _stratified_bootstrap(
        y_bin, proba, pred, n_bootstraps, check_random_state(random_state)
    )

    auc = delong_auc_ci(y_bin, proba, confidence=confidence, pos_label=True)
    rows = [("AUC", auc.auc, auc.ci_low, auc.ci_high, "delong")]
    for name in _COUNT_METRICS:
        value = float(_safe_ratio(*counts[name]))
        if ci == "exact":
            low, high = _clopper_pearson(*counts[name], confidence)
            rows.append((name, value, low, high, "clopper-pearson"))
        else:
            rows.append((name, value, *_percentile_interval(replicates[name], confidence), ci))
    brier = float(np.mean((proba - y_bin) ** 2))
    rows.append(
        ("Brier", brier, *_percentile_interval(replicates["Brier"], confidence), "bootstrap")
    )

    report = pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high", "method"])
    report.attrs = {
        "threshold": float(threshold),
        "n_samples": int(y_bin.shape[0]),
        "n_positive": int(y_bin.sum()),
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "ci": ci,
        "n_bootstraps": int(n_bootstraps),
        "confidence": float(confidence),
        "random_state": random_state if isinstance(random_state, int | None) else "instance",
    }
    return report
