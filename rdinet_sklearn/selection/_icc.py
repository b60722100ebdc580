"""Intraclass correlation coefficients, vectorised over many features at once.

A radiomics study measures every feature on each patient once per rater; the reliability of
a feature is its single-rater ICC.  pingouin's ``intraclass_corr`` computes one feature per
call through a long-format ANOVA (about a millisecond each); here the two-way ANOVA mean
squares of all features come from a few array reductions, so a 1000-feature table takes well
under 10 ms.  Written by hand because neither scipy nor statsmodels vectorises ICCs.
"""

from typing import NamedTuple

import numpy as np

ICC_KINDS = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)")
"""Single-measure ICC forms of Shrout & Fleiss (1979), in their ``ICC(form, 1)`` notation."""


class ICCMeanSquares(NamedTuple):
    """Two-way ANOVA mean squares of one ratings table per feature (each an array of shape
    ``(n_features,)``).

    Returned by :func:`icc_mean_squares`; a named tuple, so it also unpacks in field order.

    Parameters
    ----------
    subjects : ndarray of shape (n_features,)
        MS_R: between subjects (rows), ``n - 1`` degrees of freedom.
    raters : ndarray of shape (n_features,)
        MS_C: between raters (columns), ``k - 1`` degrees of freedom.
    error : ndarray of shape (n_features,)
        MS_E: residual of the two-way model, ``(n - 1)(k - 1)`` degrees of freedom.
    within : ndarray of shape (n_features,)
        MS_W: within subjects (raters + residual) of the one-way model, ``n (k - 1)``
        degrees of freedom.
    n_subjects : ndarray of shape (n_features,)
        n: subjects rated by every rater (no NaN), per feature.
    n_raters : int
        k: number of raters.

    See Also
    --------
    icc_mean_squares : Computes it.
    intraclass_correlation : The ICCs built from it.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import icc_mean_squares, intraclass_correlation
    >>> ratings = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 3.0]])[:, :, None]  # 1 feature
    >>> ms = icc_mean_squares(ratings)
    >>> type(ms).__name__, ms.n_raters, ms.n_subjects
    ('ICCMeanSquares', 2, array([3]))
    >>> k = ms.n_raters
    >>> icc3 = (ms.subjects - ms.error) / (ms.subjects + (k - 1) * ms.error)  # ICC(3,1)
    >>> np.round(icc3, 3), np.round(intraclass_correlation(ratings, kind="ICC(3,1)"), 3)
    (array([0.857]), array([0.857]))
    """

    subjects: np.ndarray
    """MS_R: between subjects (rows), ``n - 1`` degrees of freedom."""
    raters: np.ndarray
    """MS_C: between raters (columns), ``k - 1`` degrees of freedom."""
    error: np.ndarray
    """MS_E: residual of the two-way model, ``(n - 1)(k - 1)`` degrees of freedom."""
    within: np.ndarray
    """MS_W: within subjects (raters + residual) of the one-way model, ``n (k - 1)`` dof."""
    n_subjects: np.ndarray
    """n: subjects rated by every rater (no NaN), per feature."""
    n_raters: int
    """k: number of raters."""


def icc_mean_squares(ratings):
    """Two-way ANOVA mean squares for each feature of a subjects x raters x features array.

    Subjects with a NaN from any rater are left out for that feature only (listwise deletion
    per feature, like pingouin's ``nan_policy="omit"``), so each feature uses all the subjects
    for which it is complete.

    Parameters
    ----------
    ratings : array-like of shape (n_subjects, n_raters, n_features)
        ``ratings[i, j, f]`` is feature ``f`` of subject ``i`` measured by rater ``j``.

    Returns
    -------
    mean_squares : ICCMeanSquares
        MS_R, MS_C, MS_E, MS_W and the number of complete subjects per feature (NaN mean
        squares where fewer than 2 subjects are complete).

    See Also
    --------
    intraclass_correlation : The ICC computed from these mean squares.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import icc_mean_squares
    >>> ratings = np.array(  # 3 subjects x 2 raters x 2 features; one missing rating
    ...     [[[1.0, 10.0], [1.0, 12.0]], [[2.0, 20.0], [3.0, 22.0]], [[3.0, 30.0], [3.0, np.nan]]]
    ... )
    >>> ms = icc_mean_squares(ratings)
    >>> ms.n_subjects  # the second feature leaves out the third subject
    array([3, 2])
    >>> np.round(ms.subjects, 3), np.round(ms.raters, 3), np.round(ms.error, 3)
    (array([  2.167, 100.   ]), array([0.167, 4.   ]), array([0.167, 0.   ]))
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    if ratings.ndim != 3 or ratings.shape[1] < 2:
        raise ValueError(
            "ratings must have shape (n_subjects, n_raters >= 2, n_features); "
            f"got shape {ratings.shape}."
        )
    k = ratings.shape[1]
    complete = np.isfinite(ratings).all(axis=1)  # (n, p)
    used = complete[:, None, :]
    n = complete.sum(axis=0)  # (p,)
    zeroed = np.where(used, ratings, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        subject_means = zeroed.mean(axis=1)  # (n, p), 0 for unused subjects
        rater_means = zeroed.sum(axis=0) / n  # (k, p)
        grand_mean = zeroed.sum(axis=(0, 1)) / (k * n)  # (p,)
        ss_subjects = k * np.sum(np.where(complete, subject_means - grand_mean, 0.0) ** 2, axis=0)
        ss_raters = n * np.sum((rater_means - grand_mean) ** 2, axis=0)
        # The residual is summed directly (not as SS_total - SS_R - SS_C) to keep full
        # precision when the subject variance dwarfs the rater disagreement.
        residuals = ratings - subject_means[:, None, :] - rater_means[None] + grand_mean
        ss_error = np.sum(np.where(used, residuals, 0.0) ** 2, axis=(0, 1))
        few = n < 2
        dof_subjects = np.where(few, np.nan, n - 1.0)
        return ICCMeanSquares(
            subjects=ss_subjects / dof_subjects,
            raters=np.where(few, np.nan, ss_raters / (k - 1)),
            error=ss_error / (dof_subjects * (k - 1)),
            within=np.where(few, np.nan, (ss_raters + ss_error) / (n * (k - 1))),
            n_subjects=n,
            n_raters=k,
        )


def _has_no_subject_variance(ratings):
    """True for features whose complete subjects all share one value within each rater."""
    complete = np.isfinite(ratings).all(axis=1, keepdims=True)
    masked = np.where(complete, ratings, np.nan)
    # fmax/fmin skip NaN without the all-NaN warning of nanmax/nanmin.
    spread = np.fmax.reduce(masked, axis=0) - np.fmin.reduce(masked, axis=0)  # (k, p)
    return np.all(spread == 0, axis=0)


def intraclass_correlation(ratings, *, kind="ICC(2,1)"):
    """Single-rater intraclass correlation of every feature of a ratings array.

    Parameters
    ----------
    ratings : array-like of shape (n_subjects, n_raters, n_features)
        ``ratings[i, j, f]`` is feature ``f`` of subject ``i`` measured by rater ``j``.
        Subjects with a NaN from any rater are left out for that feature only.
    kind : {"ICC(2,1)", "ICC(3,1)", "ICC(1,1)"}, default="ICC(2,1)"
        - ``"ICC(1,1)"``: one-way random effects, absolute agreement.
        - ``"ICC(2,1)"``: two-way random effects, absolute agreement (McGraw & Wong's
          ICC(A,1); pingouin's ``ICC2``): a systematic offset between raters lowers it.
        - ``"ICC(3,1)"``: two-way mixed effects, consistency (McGraw & Wong's ICC(C,1);
          pingouin's ``ICC3``): a systematic offset between raters is ignored.

    Returns
    -------
    icc : ndarray of shape (n_features,)
        The ICC of each feature; NaN where it is undefined: fewer than 2 complete subjects,
        or no between-subject variance (each rater gives every subject the same value, e.g.
        a constant feature), where the ANOVA ratio is 0/0.

    See Also
    --------
    icc_mean_squares : The mean squares the ICC is built from.
    ReproducibilityFilter : Keeps the features whose inter-rater ICC reaches a threshold.

    Notes
    -----
    With ``n`` subjects, ``k`` raters and the two-way ANOVA mean squares between subjects
    :math:`MS_R`, between raters :math:`MS_C`, residual :math:`MS_E` and the one-way
    within-subject mean square :math:`MS_W = (SS_C + SS_E) / (n (k - 1))`
    (Shrout & Fleiss 1979, Table 2; McGraw & Wong 1996, Table 4):

    .. math::

        ICC(1,1) = \\frac{MS_R - MS_W}{MS_R + (k - 1) MS_W}

        ICC(2,1) = \\frac{MS_R - MS_E}{MS_R + (k - 1) MS_E + \\frac{k}{n} (MS_C - MS_E)}

        ICC(3,1) = \\frac{MS_R - MS_E}{MS_R + (k - 1) MS_E}

    These equal the rows ``ICC(1,1)``, ``ICC(A,1)`` and ``ICC(C,1)`` of pingouin's
    ``intraclass_corr`` (named ``ICC1``, ``ICC2`` and ``ICC3`` in older pingouin releases).

    References
    ----------
    .. [1] P. E. Shrout and J. L. Fleiss, "Intraclass correlations: uses in assessing rater
       reliability", Psychological Bulletin 86(2), 420-428, 1979.
    .. [2] K. O. McGraw and S. P. Wong, "Forming inferences about some intraclass correlation
       coefficients", Psychological Methods 1(1), 30-46, 1996.
    .. [3] T. K. Koo and M. Y. Li, "A guideline of selecting and reporting intraclass
       correlation coefficients for reliability research", J. Chiropr. Med. 15(2), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import intraclass_correlation
    >>> rater1 = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    >>> rater2 = rater1 + [[0.0, 0.0], [0.1, 0.0], [-0.1, 0.0], [0.0, 0.0]]
    >>> ratings = np.stack([rater1, rater2], axis=1)  # (subjects, raters, features)
    >>> intraclass_correlation(ratings, kind="ICC(2,1)").round(3)
    array([0.998,   nan])
    """
    if kind not in ICC_KINDS:
        raise ValueError(f"kind must be one of {ICC_KINDS}, got {kind!r}.")
    ratings = np.asarray(ratings, dtype=np.float64)
    ms = icc_mean_squares(ratings)
    k, n = ms.n_raters, ms.n_subjects
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "ICC(1,1)":
            icc = (ms.subjects - ms.within) / (ms.subjects + (k - 1) * ms.within)
        elif kind == "ICC(2,1)":
            icc = (ms.subjects - ms.error) / (
                ms.subjects + (k - 1) * ms.error + k * (ms.raters - ms.error) / n
            )
        else:
            icc = (ms.subjects - ms.error) / (ms.subjects + (k - 1) * ms.error)
    icc[_has_no_subject_variance(ratings)] = np.nan
    return icc
