"""The corrected resampled t-test: comparing two models scored on the same CV splits.

A paired t-test over the J scores of a repeated cross-validation treats them as
independent, but their training sets overlap, so the variance of the mean difference is
underestimated and the test rejects far too often (Dietterich 1998). Nadeau and Bengio's
correction inflates the variance by the overlap; scipy has no such test, hence this module.
"""

import numbers
from typing import NamedTuple

import numpy as np
from scipy import stats


class ResampledTTestResult(NamedTuple):
    """Corrected resampled t-test of two models scored on the same splits.

    Returned by :func:`corrected_resampled_ttest`; a named tuple, so it also unpacks in
    field order.

    Parameters
    ----------
    mean_difference : float
        Mean over the splits of ``scores_a - scores_b``.
    statistic : float
        The corrected t statistic.
    df : int
        Degrees of freedom, the number of splits minus one.
    p_value : float
        Two-sided p-value of ``statistic`` under Student's t with ``df`` degrees of freedom.

    See Also
    --------
    corrected_resampled_ttest : Computes it.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import corrected_resampled_ttest
    >>> result = corrected_resampled_ttest([0.8, 0.7, 0.9], [0.7, 0.7, 0.7], 40, 20)
    >>> type(result).__name__, result.df
    ('ResampledTTestResult', 2)
    """

    mean_difference: float
    statistic: float
    df: int
    p_value: float


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
    return float(value)


def _mean_and_scale(scores_a, scores_b, n_train, n_test):
    """Mean difference, its corrected standard error and the degrees of freedom (checked)."""
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"scores_a and scores_b must be 1-D and of one length; got shapes {a.shape} "
            f"and {b.shape}."
        )
    if a.shape[0] < 2:
        raise ValueError(f"at least two splits are needed; got {a.shape[0]}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores_a and scores_b must be finite (a split's score is NaN or inf).")
    ratio = _positive(n_test, "n_test") / _positive(n_train, "n_train")
    differences = a - b
    n_splits = differences.shape[0]
    mean = float(np.mean(differences))
    variance = float(np.var(differences, ddof=1))
    df = n_splits - 1
    scale = np.sqrt(variance * (1.0 / n_splits + ratio))
    return mean, float(scale), df


def corrected_resampled_ttest(scores_a, scores_b, n_train, n_test):
    """Paired t-test of two models' resampled scores with the Nadeau-Bengio correction.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n_splits,)
        The two models' scores (e.g. AUC) on the same J train/validation splits, in the
        same order (e.g. every fold of a repeated stratified k-fold).
    n_train, n_test : float
        Training and validation rows per split (their means when the splits differ a
        little, as k-fold splits do).

    Returns
    -------
    ResampledTTestResult
        ``mean_difference`` (mean of ``scores_a - scores_b``), ``statistic``, ``df``
        (J - 1) and two-sided ``p_value``. With no variation in the differences the
        statistic is +/-inf (p = 0) for a non-zero mean and NaN (p NaN) for a zero mean.

    Raises
    ------
    ValueError
        When the score arrays differ in length, hold fewer than two splits or non-finite
        values, or a size is not positive.

    See Also
    --------
    delong_test : Paired comparison of two AUCs on one test cohort.
    scipy.stats.ttest_rel : The uncorrected paired t-test.

    Notes
    -----
    With differences :math:`d_j` over :math:`J` splits, mean :math:`\\bar d` and sample
    variance :math:`\\hat\\sigma^2` (ddof 1),

    .. math:: t = \\frac{\\bar d}{\\sqrt{\\hat\\sigma^2 \\,(1/J + n_{test}/n_{train})}},

    compared with Student's t with J - 1 degrees of freedom. The term
    :math:`n_{test}/n_{train}` accounts for the correlation between splits that share
    training rows; for r repetitions of k-fold CV it is 1/(k - 1). Bouckaert and Frank
    (2004) found the test, on r x k-fold CV (e.g. 10 x 10 or 5 x 5), close to its nominal
    type I error where the uncorrected test was far above it.

    Nadeau C., Bengio Y. (2003). Inference for the generalization error. *Machine
    Learning* 52:239-281.

    Bouckaert R. R., Frank E. (2004). Evaluating the replicability of significance tests
    for comparing learning algorithms. *PAKDD 2004*, LNCS 3056:3-12.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import corrected_resampled_ttest
    >>> a = [0.81, 0.78, 0.84, 0.80, 0.79, 0.83]
    >>> b = [0.75, 0.77, 0.78, 0.74, 0.76, 0.79]
    >>> result = corrected_resampled_ttest(a, b, n_train=80, n_test=20)
    >>> round(result.mean_difference, 4), round(result.statistic, 2), result.df
    (0.0433, 3.25, 5)
    >>> round(result.p_value, 4)
    0.0227
    """
    mean, scale, df = _mean_and_scale(scores_a, scores_b, n_train, n_test)
    if scale == 0.0:
        statistic = np.nan if mean == 0.0 else np.copysign(np.inf, mean)
    else:
        statistic = mean / scale
    p_value = np.nan if np.isnan(statistic) else float(2 * stats.t.sf(abs(statistic), df))
    return ResampledTTestResult(mean, float(statistic), df, p_value)


def corrected_resampled_interval(scores_a, scores_b, n_train, n_test, confidence=0.95):
    """Two-sided interval of the mean difference, with the corrected resampled t-test's SE.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n_splits,)
        The two models' scores on the same splits, as in :func:`corrected_resampled_ttest`.
    n_train, n_test : float
        Training and validation rows per split.
    confidence : float, default=0.95
        Coverage of the interval.

    Returns
    -------
    low, high : float
        ``mean difference -/+ t_{(1 + confidence) / 2, J - 1} * SE`` (Nadeau-Bengio SE).

    Raises
    ------
    ValueError
        As :func:`corrected_resampled_ttest`.

    See Also
    --------
    corrected_resampled_ttest : The test with the same standard error.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import corrected_resampled_interval
    >>> a = [0.81, 0.78, 0.84, 0.80, 0.79, 0.83]
    >>> b = [0.75, 0.77, 0.78, 0.74, 0.76, 0.79]
    >>> low, high = corrected_resampled_interval(a, b, n_train=80, n_test=20)
    >>> round(low, 4), round(high, 4)
    (0.0091, 0.0776)
    """
    mean, scale, df = _mean_and_scale(scores_a, scores_b, n_train, n_test)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * scale
    return mean - half, mean + half
