"""L1-penalised logistic regression selector with the penalty chosen by inner cross-validation."""

import warnings
from numbers import Integral

import numpy as np
import sklearn
from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.preprocessing import StandardScaler
from sklearn.svm import l1_min_c
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from rdinet_sklearn._checks import binary_target_tags, check_binary_target
from rdinet_sklearn._folds import fold_count
from rdinet_sklearn._sklearn_compat import Interval, StrOptions, fit_context, parse_version
from rdinet_sklearn._versions import _VersionStampMixin
from rdinet_sklearn.selection._validation import SelectionFallbackWarning

C_GRID_DECADES = 3
"""Span of the automatic C grid above the empty-model bound, like glmnet's
``lambda.min.ratio=0.01`` for p > n; beyond it the L1 fit is barely penalised."""


def l1_penalty_options(version=sklearn.__version__):
    """Keyword arguments that make ``LogisticRegression`` a pure L1 fit on this scikit-learn.

    scikit-learn 1.8 deprecated ``penalty`` in favour of ``l1_ratio`` (``l1_ratio=1`` is
    pure L1); before 1.8, ``l1_ratio`` is ignored unless ``penalty="elasticnet"`` and the
    default ``penalty="l2"`` wins, so ``penalty="l1"`` must be passed. Each spelling is
    used only where it is current, so neither version warns.

    Parameters
    ----------
    version : str, default=sklearn.__version__
        scikit-learn version to spell the options for.

    Returns
    -------
    options : dict
        ``{"penalty": "l1"}`` before 1.8, ``{"l1_ratio": 1.0}`` from 1.8.

    Examples
    --------
    >>> from rdinet_sklearn.selection._lasso import l1_penalty_options
    >>> l1_penalty_options("1.7.2"), l1_penalty_options("1.8.0")
    ({'penalty': 'l1'}, {'l1_ratio': 1.0})
    """
    release = parse_version(parse_version(version).base_version)  # 1.8.0rc1 counts as 1.8
    if release < parse_version("1.8"):
        return {"penalty": "l1"}
    return {"l1_ratio": 1.0}


def first_feature_on_l1_path(X_standardised, is_positive):
    """Index of the first feature to enter the L1 path: the largest ``|x_j^T (y - mean(y))|``.

    At the smallest penalty that leaves the model non-empty, the lasso gradient is largest
    for this feature; on standardised data it is the feature with the largest absolute
    point-biserial correlation with y.

    Parameters
    ----------
    X_standardised : ndarray of shape (n_samples, n_features)
        Features, standardised (zero mean, unit variance) as the lasso sees them.
    is_positive : ndarray of shape (n_samples,)
        1.0 for positive-class samples and 0.0 for the others (booleans work too).

    Returns
    -------
    index : int
        Column of ``X_standardised`` that enters the path first (the first one on ties).

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import first_feature_on_l1_path
    >>> X = np.array([[1.0, -1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    >>> is_positive = np.array([0.0, 0.0, 1.0, 1.0])  # follows the second column
    >>> first_feature_on_l1_path(X, is_positive)
    1
    """
    centred = is_positive - is_positive.mean()
    return int(np.argmax(np.abs(X_standardised.T @ centred)))


class LassoSelector(_VersionStampMixin, SelectorMixin, BaseEstimator):
    """Keep the features with non-zero coefficients of an L1-penalised logistic regression.

    The features are standardised (a :class:`~sklearn.preprocessing.StandardScaler` fitted
    on the data passed to ``fit`` only) and the inverse penalty ``C`` is chosen by stratified
    inner cross-validation over a log grid, then the model is refitted on all fit data.

    Parameters
    ----------
    Cs : int or array-like of float, default=20
        Grid of ``C`` values.  An int gives that many log-spaced values from
        :func:`sklearn.svm.l1_min_c` (the largest penalty with an empty model) up to
        ``10**3`` times it; an array is used as given.
    cv : int, cross-validation generator or iterable, default=5
        Inner cross-validation.  An int gives a shuffled
        :class:`~sklearn.model_selection.StratifiedKFold` seeded by ``random_state``, with
        fewer folds (and a :class:`SelectionFallbackWarning`) when the smallest class has
        fewer members than ``cv``; a class of one member is refused.
    rule : {"min", "1se"}, default="min"
        ``"min"``: the ``C`` with the best mean CV score.  ``"1se"``: the smallest ``C``
        (most regularised, usually fewer features) whose mean score is within one standard
        error of the best, like glmnet's ``lambda.1se``.
    scoring : str or callable, default="roc_auc"
        Inner-CV score, see :func:`sklearn.metrics.get_scorer`.
    max_features : int, default=None
        Keep at most this many of the non-zero coefficients, the largest ``|coef_|`` first.
    class_weight : dict, "balanced" or None, default=None
        Passed to :class:`~sklearn.linear_model.LogisticRegression`.
    max_iter : int, default=1000
        Iteration limit of the liblinear solver.
    random_state : int, RandomState instance or None, default=None
        Seeds the inner folds and the solver; an int makes ``fit`` deterministic.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features_in_,)
        Coefficients of the refitted model, on the standardised scale.
    intercept_ : float
        Its intercept.
    C_ : float
        The chosen ``C``.
    Cs_ : ndarray of shape (n_Cs,)
        The ascending grid of ``C`` values.
    cv_scores_ : ndarray of shape (n_Cs, n_splits)
        Inner-CV test scores for each ``C`` and fold.
    n_iter_ : int
        Solver iterations of the refitted model.
    classes_ : ndarray of shape (2,)
        The two class labels.
    support_ : ndarray of bool, shape (n_features_in_,)
        The selected features.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Input column names; defined only when X has string column names.

    See Also
    --------
    sklearn.linear_model.LogisticRegressionCV : CV over C without the 1-SE rule.
    sklearn.feature_selection.SelectFromModel : Selection from any fitted model.
    TTestSelector : Univariate two-sample test filter.

    Notes
    -----
    For each ``C`` the model minimises
    :math:`\\|w\\|_1 + C \\sum_i \\log(1 + e^{-y_i (x_i^T w + b)})` (liblinear).  With mean
    fold scores :math:`\\bar s(C)` and the standard error of the best,
    :math:`SE = sd(s_{k}(C^*)) / \\sqrt{K}` over the ``K`` folds, the 1-SE rule picks
    :math:`\\min\\{C : \\bar s(C) \\ge \\bar s(C^*) - SE\\}` (Hastie, Tibshirani & Friedman,
    *The Elements of Statistical Learning*, 2nd ed., section 7.10).

    When every coefficient at ``C_`` is zero, the single feature that enters the L1 path
    first (largest absolute correlation with y, see :func:`first_feature_on_l1_path`) is kept
    with a :class:`SelectionFallbackWarning`, so a pipeline never gets an empty feature set;
    ``coef_`` stays all zero.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from rdinet_sklearn.selection import LassoSelector
    >>> X, y = make_classification(n_samples=100, n_features=8, n_informative=2,
    ...                            n_redundant=0, shuffle=False, random_state=0)
    >>> selector = LassoSelector(Cs=10, rule="1se", random_state=0).fit(X, y)
    >>> selector.get_feature_names_out()
    array(['x1'], dtype=object)
    >>> selector.cv_scores_.shape
    (10, 5)
    """

    _parameter_constraints: dict = {
        "Cs": [Interval(Integral, 2, None, closed="left"), "array-like"],
        "cv": ["cv_object"],
        "rule": [StrOptions({"min", "1se"})],
        "scoring": [StrOptions(set(get_scorer_names())), callable],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        Cs=20,
        cv=5,
        rule="min",
        scoring="roc_auc",
        max_features=None,
        class_weight=None,
        max_iter=1000,
        random_state=None,
    ):
        self.Cs = Cs
        self.cv = cv
        self.rule = rule
        self.scoring = scoring
        self.max_features = max_features
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Choose ``C`` by inner CV, refit on all of X and select the non-zero coefficients.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite feature values (any scale: they are standardised inside).
        y : array-like of shape (n_samples,)
            Binary class labels.

        Returns
        -------
        self : LassoSelector
            The fitted selector.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, is_positive = check_binary_target(y, estimator_name=type(self).__name__)
        # One seed drawn up front so the folds and the solver agree across the grid.
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        X_standardised = StandardScaler().fit_transform(X)
        self.Cs_ = self._grid(X_standardised, y)

        self.cv_scores_ = self._inner_scores(X, y, seed)
        self.C_ = float(self.Cs_[self._chosen_index()])

        final = self._logistic(C=self.C_, seed=seed).fit(X_standardised, y)
        self.coef_ = final.coef_.ravel()
        self.intercept_ = float(final.intercept_[0])
        self.n_iter_ = int(final.n_iter_.max())
        self.support_ = self._support(X_standardised, is_positive.astype(np.float64))
        return self

    def _inner_scores(self, X, y, seed):
        """Scores of every C on every inner fold, shape (n_Cs, n_folds).

        A plain loop rather than ``validation_curve`` over a pipeline: the grid is fitted
        hundreds of times per outer fit, and skipping the per-fit cloning and re-validation
        of already validated arrays makes the selector about 3x faster.
        """
        folds = list(self._inner_cv(y, seed).split(X, y))
        scorer = check_scoring(LogisticRegression(), scoring=self.scoring)
        scores = np.empty((len(self.Cs_), len(folds)))
        with config_context(assume_finite=True, skip_parameter_validation=True):
            for j, (train, test) in enumerate(folds):
                scaler = StandardScaler().fit(X[train])
                X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
                for i, C in enumerate(self.Cs_):
                    model = self._logistic(C=C, seed=seed).fit(X_train, y[train])
                    scores[i, j] = scorer(model, X_test, y[test])
        return scores

    def _logistic(self, *, C, seed):
        return LogisticRegression(
            C=C,
            solver="liblinear",
            **l1_penalty_options(),
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            random_state=seed,
        )

    def _grid(self, X_standardised, y):
        if not isinstance(self.Cs, Integral):
            return np.sort(np.asarray(self.Cs, dtype=np.float64))
        if not X_standardised.any():  # only constant features: l1_min_c is undefined
            return np.logspace(-4, 4, self.Cs)
        c_min = l1_min_c(X_standardised, y, loss="log")
        return c_min * np.logspace(0, C_GRID_DECADES, self.Cs)

    def _inner_cv(self, y, seed):
        if isinstance(self.cv, Integral):
            # Small cohorts: as many folds as the smallest class allows (rdinet_sklearn._folds).
            n_splits = fold_count(y, self.cv, what=f"{type(self).__name__}'s inner CV")
            if n_splits < self.cv:
                warnings.warn(
                    f"The smallest class has {n_splits} members: the inner CV uses "
                    f"{n_splits} folds instead of cv={self.cv}.",
                    SelectionFallbackWarning,
                    stacklevel=5,
                )
            return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return check_cv(self.cv, y, classifier=True)

    def _chosen_index(self):
        mean = self.cv_scores_.mean(axis=1)
        best = int(np.argmax(mean))  # first maximum: the most regularised among ties
        if self.rule == "min":
            return best
        n_splits = self.cv_scores_.shape[1]
        standard_error = self.cv_scores_[best].std(ddof=1) / np.sqrt(n_splits)
        return int(np.flatnonzero(mean >= mean[best] - standard_error)[0])

    def _support(self, X_standardised, is_positive):
        magnitude = np.abs(self.coef_)
        support = magnitude > 0
        if not support.any():
            warnings.warn(
                f"All L1 coefficients are zero at C={self.C_:.3g}; keeping the first feature "
                "to enter the L1 path instead.",
                SelectionFallbackWarning,
                stacklevel=4,
            )
            support[first_feature_on_l1_path(X_standardised, is_positive)] = True
        elif self.max_features is not None and support.sum() > self.max_features:
            largest = np.argsort(-magnitude, kind="stable")[: self.max_features]
            support = np.zeros_like(support)
            support[largest] = True
        return support

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        return binary_target_tags(super().__sklearn_tags__())
