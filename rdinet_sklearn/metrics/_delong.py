"""DeLong variance of the ROC AUC and the paired DeLong test, O(n log n).

Neither scipy nor sklearn provides DeLong's method, and the fast algorithm of
Sun & Xu (2014) is a few lines over ``scipy.stats.rankdata`` midranks, so it is
written here rather than pulled in from a heavier dependency.
"""

import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm, rankdata
from sklearn.exceptions import UndefinedMetricWarning

from ._intervals import logit_wald_interval, z_critical
from ._validation import check_binary_proba


class AUCConfidenceInterval(NamedTuple):
    """ROC AUC with its DeLong variance and logit-transformed confidence interval.

    Returned by :func:`delong_auc_ci`; a named tuple, so it also unpacks as
    ``auc, variance, ci_low, ci_high``.

    Parameters
    ----------
    auc : float
        Area under the ROC curve.
    variance : float
        DeLong estimate of the variance of ``auc`` (NaN when a class has fewer than two
        samples).
    ci_low, ci_high : float
        Bounds of the confidence interval, see :func:`delong_auc_ci`.

    See Also
    --------
    delong_auc_ci : Computes it.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import delong_auc_ci
    >>> result = delong_auc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> type(result).__name__, result._fields
    ('AUCConfidenceInterval', ('auc', 'variance', 'ci_low', 'ci_high'))
    >>> auc, variance, ci_low, ci_high = result
    >>> round(auc, 3), round(ci_low, 3), round(ci_high, 3)
    (0.889, 0.261, 0.995)
    """

    auc: float
    variance: float
    ci_low: float
    ci_high: float


class DeLongResult(NamedTuple):
    """Paired DeLong comparison of two ROC AUCs on the same samples.

    Returned by :func:`delong_test`; a named tuple, so it also unpacks in field order.

    Parameters
    ----------
    auc_a, auc_b : float
        ROC AUCs of the two models.
    difference : float
        ``auc_a - auc_b``.
    z : float
        The DeLong statistic, ``difference`` over its standard error (0 or ±inf when the
        difference has zero variance).
    p_value : float
        Two-sided p-value of ``z`` under the standard normal.
    ci_low, ci_high : float
        Bounds of the normal-theory confidence interval of ``difference`` (not clipped).

    See Also
    --------
    delong_test : Computes it.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import delong_test
    >>> y = [0, 0, 0, 1, 1, 1]
    >>> result = delong_test(y, [0.1, 0.3, 0.6, 0.4, 0.8, 0.9], [0.2, 0.5, 0.3, 0.4, 0.1, 0.7])
    >>> type(result).__name__
    'DeLongResult'
    >>> round(result.auc_a, 3), round(result.auc_b, 3), round(result.z, 3)
    (0.889, 0.556, 0.866)
    >>> round(result.ci_low, 3), round(result.ci_high, 3)
    (-0.421, 1.088)
    """

    auc_a: float
    auc_b: float
    difference: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float


def _structural_components(y_bin, scores):
    """AUCs and DeLong placement values for score rows in ``scores`` (k, n_samples).

    Returns ``aucs`` (k,), ``v10`` (k, n_positive) and ``v01`` (k, n_negative):
    v10[i] is the fraction of negatives ranked below positive i (ties count
    half), v01[j] the fraction of positives ranked above negative j.
    """
    positives, negatives = scores[:, y_bin], scores[:, ~y_bin]
    m, n = positives.shape[1], negatives.shape[1]
    # Midranks within each class and in the pooled sample (Sun & Xu, eqs. 8-10).
    rank_pos = rankdata(positives, axis=1)
    rank_neg = rankdata(negatives, axis=1)
    rank_all = rankdata(np.concatenate([positives, negatives], axis=1), axis=1)
    aucs = (rank_all[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    v10 = (rank_all[:, :m] - rank_pos) / n
    v01 = 1.0 - (rank_all[:, m:] - rank_neg) / m
    return aucs, v10, v01


def _delong_covariance(v10, v01):
    """Covariance matrix S = S10 / m + S01 / n of the k AUC estimates."""
    m, n = v10.shape[1], v01.shape[1]
    if m < 2 or n < 2:
        return np.full((v10.shape[0], v10.shape[0]), np.nan)
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return s10 / m + s01 / n


def hanley_mcneil_score_interval(auc, n_positive, n_negative, *, confidence=0.95):
    """Score-type AUC interval from the Hanley-McNeil variance (Newcombe's method 5).

    The interval is the set of :math:`\\theta` with
    :math:`(\\widehat{AUC} - \\theta)^2 \\le z^2 V(\\theta)`, where :math:`V` is the
    Hanley & McNeil (1982) variance with both group sizes replaced by
    :math:`N^* = (m + n) / 2`:

    .. math:: V(\\theta) = \\frac{\\theta(1-\\theta)}{mn}
              \\left[1 + (N^* - 1)\\left(\\frac{1-\\theta}{2-\\theta}
              + \\frac{\\theta}{1+\\theta}\\right)\\right]

    Because :math:`V` is evaluated at :math:`\\theta` rather than at the estimate, the
    interval keeps a positive width at an observed AUC of 0 or 1, where the DeLong variance
    is zero and a Wald interval (plain or logit) degenerates; it is the fallback of
    :func:`delong_auc_ci` there.

    Parameters
    ----------
    auc : float
        Observed AUC.
    n_positive, n_negative : int
        Class sizes :math:`m` and :math:`n`.
    confidence : float, default=0.95
        Coverage of the two-sided interval.

    Returns
    -------
    low, high : float

    References
    ----------
    .. [1] Hanley J. A., McNeil B. J. (1982). The meaning and use of the area under a
       receiver operating characteristic (ROC) curve. Radiology 143:29-36.
    .. [2] Newcombe R. G. (2006). Confidence intervals for an effect size measure based
       on the Mann-Whitney statistic. Part 2: asymptotic methods and evaluation.
       Statistics in Medicine 25:559-573.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import hanley_mcneil_score_interval
    >>> low, high = hanley_mcneil_score_interval(1.0, 6, 24)
    >>> round(low, 3), high
    (0.797, 1.0)
    """
    z = z_critical(confidence)
    m, n = n_positive, n_negative
    half_n = (m + n) / 2

    def excess(theta):  # negative inside the interval
        bracket = 1 + (half_n - 1) * ((1 - theta) / (2 - theta) + theta / (1 + theta))
        return (auc - theta) ** 2 - z**2 * theta * (1 - theta) / (m * n) * bracket

    # V(theta) > 0 on (0, 1), so the estimate itself is inside; the bounds are the roots
    # on either side (or the end of [0, 1] when the estimate sits on it).
    tiny = 1e-12
    low = 0.0 if auc <= tiny else brentq(excess, 0.0, min(auc, 1 - tiny))
    high = 1.0 if auc >= 1 - tiny else brentq(excess, max(auc, tiny), 1.0)
    return float(low), float(high)


def auc_interval(y_bin, proba, confidence):
    """:class:`AUCConfidenceInterval` and why its interval is undefined (None if it is not)."""
    aucs, v10, v01 = _structural_components(y_bin, proba[np.newaxis, :])
    auc = float(aucs[0])
    variance = float(_delong_covariance(v10, v01)[0, 0])
    m, n = v10.shape[1], v01.shape[1]
    if np.ptp(proba) == 0:
        problem = "all predictions are equal, so the AUC interval is undefined"
        return AUCConfidenceInterval(auc, variance, np.nan, np.nan), problem
    if np.isnan(variance):
        problem = (
            f"a class has fewer than two samples ({m} positive, {n} negative), "
            "so the DeLong variance and AUC interval are undefined"
        )
        return AUCConfidenceInterval(auc, variance, np.nan, np.nan), problem
    low, high = logit_wald_interval(auc, np.sqrt(variance), confidence=confidence)
    if np.isnan(low):  # AUC 0 or 1, or zero variance
        low, high = hanley_mcneil_score_interval(auc, m, n, confidence=confidence)
    return AUCConfidenceInterval(auc, variance, low, high), None


def delong_auc_ci(y_true, proba, *, confidence=0.95, pos_label=None):
    """ROC AUC with DeLong variance and confidence interval.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability (or any score) of the positive class.
    confidence : float, default=0.95
        Coverage of the two-sided interval.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    AUCConfidenceInterval
        Named tuple ``(auc, variance, ci_low, ci_high)``. The interval is the
        Wald interval of ``logit(auc)`` mapped back (see Notes); variance and
        interval are NaN when a class has fewer than two samples, and the
        interval is NaN when all predictions are equal, each with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`.

    See Also
    --------
    delong_test : Paired comparison of two AUCs.
    hanley_mcneil_score_interval : The interval at an observed AUC of 0 or 1.

    Notes
    -----
    With placement values :math:`V_{10}(X_i)` (fraction of negatives below
    positive :math:`i`) and :math:`V_{01}(Y_j)` (fraction of positives above
    negative :math:`j`),

    .. math:: \\mathrm{Var}(\\widehat{AUC}) = \\frac{s^2_{10}}{m} + \\frac{s^2_{01}}{n}

    with sample variances over the :math:`m` positives and :math:`n` negatives.
    The interval is :math:`\\mathrm{expit}(\\mathrm{logit}(\\widehat{AUC}) \\pm z\\,
    SE / (\\widehat{AUC}(1 - \\widehat{AUC})))`, the delta-method standard error on
    the logit scale. Unlike ``auc ± z * SE`` clipped to [0, 1], it is asymmetric near 1,
    where the AUC's sampling distribution is skewed, and keeps its coverage at the
    study's size (``benchmarks/bench_coverage.py``: at least 0.93 for AUC 0.6-0.95 with
    12/18 and 6/24 patients). Where the observed AUC is 0 or 1 or the DeLong variance is
    zero, the logit scale is undefined and the score-type interval of
    :func:`hanley_mcneil_score_interval` is returned instead (never a zero-width one).

    DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Biometrics 44:837-845.
    Sun X., Xu W. (2014). Fast implementation of DeLong's algorithm for comparing
    the areas under correlated receiver operating characteristic curves. IEEE
    Signal Processing Letters 21(11):1389-1393.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import delong_auc_ci
    >>> result = delong_auc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(result.auc, 3), round(result.variance, 4)
    (0.889, 0.0247)
    >>> round(result.ci_low, 3), round(result.ci_high, 3)
    (0.261, 0.995)
    """
    z_critical(confidence)
    y_bin, proba = check_binary_proba(y_true, proba, pos_label=pos_label)
    result, problem = auc_interval(y_bin, proba, confidence)
    if problem is not None:
        warnings.warn(f"delong_auc_ci: {problem}.", UndefinedMetricWarning, stacklevel=2)
    return result


def delong_test(y_true, proba_a, proba_b, *, confidence=0.95, pos_label=None):
    """Paired DeLong test of two ROC AUCs computed on the same samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes).
    proba_a, proba_b : array-like of shape (n_samples,) or (n_samples, 2)
        Positive-class probabilities of the two models, same sample order.
    confidence : float, default=0.95
        Coverage of the interval for ``auc_a - auc_b``.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    DeLongResult
        Named tuple ``(auc_a, auc_b, difference, z, p_value, ci_low, ci_high)``
        with ``difference = auc_a - auc_b``, two-sided p-value and the normal
        interval of the difference. When the difference has zero variance
        (e.g. identical predictions), ``z`` is 0 and ``p_value`` 1 if the AUCs
        are equal, else ``z`` is ±inf and ``p_value`` 0.

    See Also
    --------
    delong_auc_ci : AUC and confidence interval of one model.

    Notes
    -----
    With :math:`S` the 2x2 DeLong covariance of the two AUC estimates,

    .. math:: z = \\frac{\\widehat{AUC}_a - \\widehat{AUC}_b}
              {\\sqrt{S_{aa} + S_{bb} - 2 S_{ab}}}

    is referred to the standard normal. Midranks handle ties, as in
    Sun & Xu (2014).

    Examples
    --------
    >>> from rdinet_sklearn.metrics import delong_test
    >>> y = [0, 0, 0, 1, 1, 1]
    >>> result = delong_test(y, [0.1, 0.3, 0.6, 0.4, 0.8, 0.9], [0.2, 0.5, 0.3, 0.4, 0.1, 0.7])
    >>> round(result.difference, 3), round(result.p_value, 3)
    (0.333, 0.386)
    """
    z_crit = z_critical(confidence)
    y_bin, proba_a = check_binary_proba(y_true, proba_a, pos_label=pos_label, name="proba_a")
    _, proba_b = check_binary_proba(y_true, proba_b, pos_label=pos_label, name="proba_b")
    aucs, v10, v01 = _structural_components(y_bin, np.vstack([proba_a, proba_b]))
    cov = _delong_covariance(v10, v01)
    difference = float(aucs[0] - aucs[1])
    variance = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    # Floating-point cancellation can leave a tiny positive variance for identical inputs.
    if np.isnan(variance) or variance > 1e-12:
        z = difference / np.sqrt(variance)
        p_value = 2 * norm.sf(abs(z))
    elif np.isclose(difference, 0.0):
        z, p_value = 0.0, 1.0
    else:
        z, p_value = np.copysign(np.inf, difference), 0.0
    half_width = z_crit * np.sqrt(max(variance, 0.0)) if not np.isnan(variance) else np.nan
    return DeLongResult(
        float(aucs[0]),
        float(aucs[1]),
        difference,
        float(z),
        float(p_value),
        float(difference - half_width),
        float(difference + half_width),
    )
