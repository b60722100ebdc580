"""Confidence intervals for proportions, the Brier score, medians and logit-scale Wald intervals.

Vectorised over arrays of counts, so a report and the coverage benchmark
(``benchmarks/bench_coverage.py``) compute every interval with the same code. scipy has
the Clopper-Pearson and Wilson intervals only one count at a time
(``binomtest(...).proportion_ci``); the closed forms below are the same intervals for
many counts at once and are checked against it in the tests.
"""

import numpy as np
from scipy.special import expit, logit
from scipy.stats import beta, norm, quantile_test, t

PROPORTION_METHODS = ("clopper-pearson", "wilson")


def z_critical(confidence):
    """Two-sided standard-normal critical value; raises on ``confidence`` outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
    return float(norm.ppf(0.5 + confidence / 2))


def proportion_interval(successes, trials, *, method="clopper-pearson", confidence=0.95):
    """Confidence interval of a binomial proportion ``successes / trials``.

    Parameters
    ----------
    successes, trials : int or array-like of int
        Counts (broadcast together); ``trials == 0`` gives NaN bounds.
    method : {"clopper-pearson", "wilson"}, default="clopper-pearson"
        ``"clopper-pearson"``: the exact interval from beta quantiles, coverage at least
        ``confidence`` for every true proportion. ``"wilson"``: the score interval without
        continuity correction, shorter, coverage close to ``confidence`` on average.
    confidence : float, default=0.95
        Coverage of the two-sided interval.

    Returns
    -------
    low, high : float or ndarray
        Bounds, within [0, 1].

    Notes
    -----
    Clopper-Pearson: :math:`[B(\\alpha/2; x, n-x+1), B(1-\\alpha/2; x+1, n-x)]` with
    :math:`B` the beta quantile (0 for :math:`x=0`, 1 for :math:`x=n`). Wilson: the roots of
    :math:`|\\hat p - p| = z \\sqrt{p(1-p)/n}`.

    Clopper C. J., Pearson E. S. (1934). Biometrika 26:404-413.
    Wilson E. B. (1927). J. Am. Stat. Assoc. 22:209-212.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import proportion_interval
    >>> low, high = proportion_interval(9, 12)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4281, 0.9451)
    >>> low, high = proportion_interval([0, 12], [12, 12], method="wilson")
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0, 0.7575], [0.2425, 1.0])
    """
    if method not in PROPORTION_METHODS:
        raise ValueError(f"method must be one of {PROPORTION_METHODS}; got {method!r}.")
    z = z_critical(confidence)
    x, n = np.broadcast_arrays(np.asarray(successes, float), np.asarray(trials, float))
    defined = n > 0
    x, n = np.where(defined, x, 0.0), np.where(defined, n, 1.0)
    if method == "clopper-pearson":
        alpha = 1.0 - confidence
        with np.errstate(invalid="ignore"):
            low = np.where(x > 0, beta.ppf(alpha / 2, x, n - x + 1), 0.0)
            high = np.where(x < n, beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    else:
        p = x / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        # Exact ends at x = 0 and x = n (the formula gives them up to rounding).
        low = np.where(x > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
        high = np.where(x < n, np.clip(centre + half, 0.0, 1.0), 1.0)
    low, high = np.where(defined, low, np.nan), np.where(defined, high, np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def logit_wald_interval(estimate, standard_error, *, confidence=0.95):
    """Wald interval on the logit scale, mapped back: ``expit(logit(e) ± z * se / (e(1-e)))``.

    ``standard_error`` is on the original scale; the delta method gives the logit-scale
    one, :math:`SE / (e (1 - e))`. The interval stays inside (0, 1) and is asymmetric near
    the bounds, where the symmetric Wald interval overshoots and is clipped. Undefined
    (NaN) for an estimate of 0 or 1 or a zero or NaN standard error.

    Parameters
    ----------
    estimate : float or ndarray
        Estimate of a quantity in (0, 1) (AUC, Brier score).
    standard_error : float or ndarray
        Its standard error.
    confidence : float, default=0.95
        Coverage of the two-sided interval.

    Returns
    -------
    low, high : float or ndarray

    Examples
    --------
    >>> from rdinet_sklearn.metrics import logit_wald_interval
    >>> low, high = logit_wald_interval(0.9, 0.05)
    >>> round(float(low), 3), round(float(high), 3)
    (0.752, 0.964)
    """
    z = z_critical(confidence)
    e = np.asarray(estimate, float)
    se = np.asarray(standard_error, float)
    defined = (e > 0) & (e < 1) & (se > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * se / (e * (1 - e))
        centre = logit(e)
        low = np.where(defined, expit(centre - half), np.nan)
        high = np.where(defined, expit(centre + half), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def brier_interval(y_bin, proba, *, confidence=0.95):
    """Brier score with a skewness-corrected t interval (Hall's transformation).

    The Brier score is the mean of the independent per-patient losses
    :math:`L_i = (p_i - y_i)^2`. For a good model most losses are near 0 and a few are
    large, so their mean is right-skewed at the study's size and the symmetric Student-t
    interval :math:`\\bar L \\pm t\\, s / \\sqrt n` under-covers (0.86-0.90 at AUC 0.9-0.95
    with 30 patients, ``benchmarks/bench_coverage.py``). Hall's (1992) cubic transformation
    of the t statistic removes its skewness to second order; with
    :math:`\\hat\\gamma` the sample skewness of the losses, :math:`a = \\hat\\gamma / (3
    \\sqrt n)` and :math:`b = \\hat\\gamma / (6 \\sqrt n)`, the interval is
    :math:`[\\bar L - s\\, g^{-1}(t_{1-\\alpha/2}) / \\sqrt n,\\;
    \\bar L - s\\, g^{-1}(t_{\\alpha/2}) / \\sqrt n]` with
    :math:`g^{-1}(u) = ((1 + 3a(u - b))^{1/3} - 1) / a`, clipped to [0, 1]. It is the
    Student-t interval when the losses are symmetric. The class sizes are random in a
    cohort drawn from a population, so the losses are treated as one sample, not by class.
    NaN bounds when all losses are equal (zero spread) or ``n < 2``.

    Parameters
    ----------
    y_bin : array-like of bool, shape (n_samples,)
        True where the sample is positive.
    proba : array-like of shape (n_samples,)
        Predicted probability of the positive class.
    confidence : float, default=0.95
        Coverage of the two-sided interval.

    Returns
    -------
    brier, low, high : float

    References
    ----------
    .. [1] Hall P. (1992). On the removal of skewness by transformation. J. R. Stat. Soc.
       B 54(1):221-228.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import brier_interval
    >>> brier, low, high = brier_interval([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(brier, 4), round(low, 4), round(high, 4)
    (0.1581, 0.0, 0.6444)
    """
    z_critical(confidence)
    losses = (np.asarray(proba, float) - np.asarray(y_bin, float)) ** 2
    brier = float(losses.mean())
    n = losses.shape[0]
    spread = losses.std(ddof=1) if n > 1 else 0.0
    if not spread > 0:
        return brier, np.nan, np.nan
    skewness = np.mean((losses - brier) ** 3) / spread**3
    a, b = skewness / (3 * np.sqrt(n)), skewness / (6 * np.sqrt(n))
    quantiles = t.ppf([0.5 + confidence / 2, 0.5 - confidence / 2], n - 1)
    if abs(a) > 1e-8:
        quantiles = (np.cbrt(1 + 3 * a * (quantiles - b)) - 1) / a
    low, high = brier - spread * quantiles / np.sqrt(n)
    return brier, float(max(low, 0.0)), float(min(high, 1.0))


def median_interval(values, *, confidence=0.95):
    """The median of ``values`` and its distribution-free confidence interval.

    Order statistics (scipy's ``quantile_test``): the coverage is at least ``confidence``
    for any continuous distribution, so it suits long-tailed per-case scores (Dice, HD95)
    where Student's t interval of the mean under-covers
    (``benchmarks/bench_segmentation_intervals.py``).

    Parameters
    ----------
    values : array-like of float
        Non-finite values are left out.
    confidence : float, default=0.95

    Returns
    -------
    median, low, high : float
        NaN median without finite values; NaN bounds where no interval of that confidence
        exists (fewer than 6 values at 95%).
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.nan, np.nan, np.nan
    median = float(np.median(finite))
    interval = quantile_test(finite, q=median, p=0.5).confidence_interval(confidence)
    return median, float(interval.low), float(interval.high)
