"""Univariate two-sample test filter: keep the features that differ between the two classes."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from rdinet_sklearn._checks import binary_target_tags, check_binary_target
from rdinet_sklearn._sklearn_compat import Interval, StrOptions, fit_context
from rdinet_sklearn._versions import _VersionStampMixin
from rdinet_sklearn.selection._validation import SelectionFallbackWarning

TESTS = ("welch", "student", "mannwhitney")


def two_sample_test(X, y, *, test="welch"):
    """Two-sample test of every feature (column) of X between the two classes of y.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite feature values.
    y : array-like of shape (n_samples,)
        Binary class labels.
    test : {"welch", "student", "mannwhitney"}, default="welch"
        ``"welch"``: :func:`scipy.stats.ttest_ind` with ``equal_var=False``;
        ``"student"``: the pooled-variance t-test; ``"mannwhitney"``:
        :func:`scipy.stats.mannwhitneyu`, two-sided, with scipy's ``method="auto"``
        decided for each column on its own (exact for small samples without ties,
        asymptotic otherwise), so a column's p-value never depends on the other columns.
        All vectorised over the columns.

    Returns
    -------
    statistics : ndarray of shape (n_features,)
        t statistic (positive class minus negative class) or Mann-Whitney U of the
        positive class; 0 (t) or ``n1 * n0 / 2`` (U) for constant features.
    pvalues : ndarray of shape (n_features,)
        Two-sided p-values; 1 for constant features (which scipy would give NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import two_sample_test
    >>> X = np.array([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0], [7.0, 3.0], [8.0, 3.0], [9.0, 3.0]])
    >>> statistic, pvalue = two_sample_test(X, [0, 0, 0, 1, 1, 1], test="student")
    >>> statistic.round(3), pvalue.round(4)
    (array([7.348, 0.   ]), array([0.0018, 1.    ]))
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}.")
    X = np.asarray(X, dtype=np.float64)
    _, positive = check_binary_target(y, estimator_name="two_sample_test")
    group1, group0 = X[positive], X[~positive]
    # Constant columns give 0/0 in scipy (NaN and a RuntimeWarning); they carry no evidence.
    varying = np.ptp(X, axis=0) > 0
    statistics = np.zeros(X.shape[1])
    pvalues = np.ones(X.shape[1])
    if test == "mannwhitney":
        statistics[:] = group1.shape[0] * group0.shape[0] / 2
    if varying.any():
        a, b = group1[:, varying], group0[:, varying]
        if test == "mannwhitney":
            statistic, pvalue = _mann_whitney_per_column(a, b)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                result = stats.ttest_ind(a, b, equal_var=test == "student", axis=0)
            statistic, pvalue = result.statistic, result.pvalue
        statistics[varying] = statistic
        pvalues[varying] = np.nan_to_num(pvalue, nan=1.0)
    return statistics, pvalues


def _mann_whitney_per_column(a, b):
    """:func:`scipy.stats.mannwhitneyu` with ``method="auto"`` chosen column by column.

    One vectorised call decides the method once for all columns: a single tied column
    switches every column to the asymptotic p-value. Calling it once on the columns without
    ties and once on those with ties gives each column the method that ``"auto"`` picks for
    it alone (within each group the choice depends only on the shared sample sizes).
    """
    pooled = np.sort(np.concatenate([a, b]), axis=0)
    tied = (np.diff(pooled, axis=0) == 0).any(axis=0)
    statistics, pvalues = np.empty(a.shape[1]), np.empty(a.shape[1])
    for columns in (tied, ~tied):
        if columns.any():
            result = stats.mannwhitneyu(a[:, columns], b[:, columns], alternative="two-sided")
            statistics[columns], pvalues[columns] = result.statistic, result.pvalue
    return statistics, pvalues


class TTestSelector(_VersionStampMixin, SelectorMixin, BaseEstimator):
    """Keep the features whose two-sample test between the classes of y is significant.

    Parameters
    ----------
    alpha : float, default=0.05
        A feature is kept when its (adjusted) p-value is below ``alpha``.
    test : {"welch", "student", "mannwhitney"}, default="welch"
        Two-sample test, see :func:`two_sample_test`.
    correction : {None, "fdr_bh"}, default=None
        ``"fdr_bh"`` adjusts the p-values for the number of features with the
        Benjamini-Hochberg procedure (:func:`scipy.stats.false_discovery_control`), so the
        kept set has an expected false discovery rate of at most ``alpha``.
    min_features : int, default=1
        Fewest features kept: when fewer pass, the ``min_features`` features with the
        smallest p-values are kept instead and a :class:`SelectionFallbackWarning` is
        issued, so a pipeline never ends up with an empty feature set.  0 disables it.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features_in_,)
        Test statistics, see :func:`two_sample_test`.
    pvalues_ : ndarray of shape (n_features_in_,)
        Raw two-sided p-values (1 for constant features).
    adjusted_pvalues_ : ndarray of shape (n_features_in_,)
        p-values compared with ``alpha``: BH-adjusted with ``correction="fdr_bh"``, else
        equal to ``pvalues_``.
    classes_ : ndarray of shape (2,)
        The two class labels; ``classes_[1]`` is the positive class of the statistics.
    support_ : ndarray of bool, shape (n_features_in_,)
        The selected features.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Input column names; defined only when X has string column names.

    See Also
    --------
    sklearn.feature_selection.SelectFdr : ANOVA F-test filter with BH control.
    LassoSelector : Multivariate L1-penalised selection.

    Notes
    -----
    Welch's t statistic for feature ``j`` is
    :math:`t_j = (\\bar x_{1j} - \\bar x_{0j}) / \\sqrt{s_{1j}^2 / n_1 + s_{0j}^2 / n_0}`
    with Welch-Satterthwaite degrees of freedom.  With ``m`` features and ordered p-values
    :math:`p_{(1)} \\le \\dots \\le p_{(m)}`, the BH-adjusted p-value is
    :math:`q_{(i)} = \\min_{l \\ge i} \\min(1, m\\, p_{(l)} / l)` (Benjamini & Hochberg 1995).
    Ties at the ``min_features`` fallback are broken by column order.

    References
    ----------
    .. [1] Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate: a practical
       and powerful approach to multiple testing", J. R. Stat. Soc. B 57(1), 289-300, 1995.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import TTestSelector
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.normal(size=(40, 5))
    >>> X[:, 2] += 2 * y  # the only informative feature
    >>> selector = TTestSelector(alpha=0.05, correction="fdr_bh").fit(X, y)
    >>> selector.get_feature_names_out()
    array(['x2'], dtype=object)
    >>> bool(selector.adjusted_pvalues_[2] < 1e-6)
    True
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "test": [StrOptions(set(TESTS))],
        "correction": [StrOptions({"fdr_bh"}), None],
        "min_features": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, alpha=0.05, *, test="welch", correction=None, min_features=1):
        self.alpha = alpha
        self.test = test
        self.correction = correction
        self.min_features = min_features

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Test every feature and select those with p-value below ``alpha``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite feature values.
        y : array-like of shape (n_samples,)
            Binary class labels.

        Returns
        -------
        self : TTestSelector
            The fitted selector.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, _ = check_binary_target(y, estimator_name=type(self).__name__)
        self.statistics_, self.pvalues_ = two_sample_test(X, y, test=self.test)
        if self.correction == "fdr_bh":
            self.adjusted_pvalues_ = stats.false_discovery_control(self.pvalues_, method="bh")
        else:
            self.adjusted_pvalues_ = self.pvalues_.copy()
        self.support_ = self.adjusted_pvalues_ < self.alpha
        wanted = min(self.min_features, self.n_features_in_)
        if self.support_.sum() < wanted:
            warnings.warn(
                f"{self.support_.sum()} feature(s) have a p-value below alpha={self.alpha}; "
                f"keeping the {wanted} with the smallest p-values (min_features={wanted}).",
                SelectionFallbackWarning,
                stacklevel=3,
            )
            self.support_[np.argsort(self.adjusted_pvalues_, kind="stable")[:wanted]] = True
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        return binary_target_tags(super().__sklearn_tags__())
