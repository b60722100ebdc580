"""``ComBatHarmonizer``: remove center/scanner effects from radiomics features, inside the folds.

ComBat (Johnson et al., Biostatistics 2007; Fortin et al., NeuroImage 2017/2018 for imaging
and radiomics) models each feature ``g`` of sample ``j`` in batch ``i`` as

    y_ijg = alpha_g + x_j . beta_g + gamma_ig + sqrt(delta_ig) * eps_ijg,

standardises it by the pooled mean and SD, estimates each batch's additive (``gamma``) and
multiplicative (``delta``) effect with empirical Bayes shrinkage across features, and maps
every sample onto the pooled reference. Covariates ``x`` (age, sex, ...) are protected.

Written here rather than wrapped, because no Python ComBat fits a scikit-learn pipeline
(checked 2026-12): ``combatlearn`` 2.3 takes the batch labels of every row at construction
(so it cannot transform a cohort it was not built with: a new index raises ``KeyError``),
cannot be run through ``check_estimator`` (its ``TransformerMixin`` comes after
``BaseEstimator``), rejects unseen batches and pulls in umap-learn, plotly and seaborn;
``neuroHarmonize`` 2.5 is a pair of functions, pins ``numpy<2`` and applies a model only to
the training sites; ``neuroCombat`` and ``inmoose``'s ``pycombat_norm`` harmonize a whole
data set at once (nothing to fit on training folds); ``neurocombat-sklearn`` (2019) passes
sites to ``fit`` as a separate argument, which a Pipeline cannot route to ``transform``.
None handles NaN (the rater-2 columns of our feature tables) or a center never seen in
training, which external validation needs.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from rdinet_sklearn._sklearn_compat import Interval, StrOptions, check_feature_names_in, fit_context
from rdinet_sklearn._versions import _VersionStampMixin
from rdinet_sklearn.harmonization._design import (
    Columns,
    CovariateEncoder,
    HarmonizationWarning,
    check_batch_counts,
    feature_block,
    label_list,
    warn_small_batches,
)
from rdinet_sklearn.harmonization._empirical_bayes import batch_moments, shrunk_batch_effects

_CONSTANT_TOL = 1e-12
"""A feature whose pooled residual variance is below this fraction of its mean square is
treated as constant: ComBat's standardisation would divide by (almost) zero."""


class ComBatHarmonizer(_VersionStampMixin, TransformerMixin, BaseEstimator):
    r"""ComBat harmonization of features across centers or scanners, as a pipeline step.

    The batch (center, scanner, protocol) of each sample is read from a column of X and
    dropped from the output, as are the covariates; every other column is a feature and is
    harmonized: standardised by the pooled training mean and SD, its batch's location and
    scale effect (shrunk by empirical Bayes across features) removed, and mapped back onto
    the pooled training reference. Fitted in a Pipeline it learns from the training folds
    only. A batch never seen in ``fit`` (an external center) raises by default; with
    ``unseen="estimate"`` its effect is estimated from the rows being transformed (see
    Notes).

    Parameters
    ----------
    batch_column : str or int, default="center"
        Column of X holding each sample's batch label (a name, or a position for arrays).
    covariates : list of str or int, default=None
        Columns of biological covariates whose effect on the features ComBat must preserve
        (e.g. ``["age", "sex"]``): numeric columns enter linearly, text or categorical ones
        as indicators. Never the outcome: see Notes.
    prior : {"parametric", "nonparametric", "none"}, default="parametric"
        Empirical Bayes prior of the batch effects: normal / inverse-gamma (Johnson et al.,
        2007), the empirical distribution over features (slower, for features whose batch
        effects are far from normal), or ``"none"`` for the unshrunk per-batch estimates.
    unseen : {"error", "estimate"}, default="error"
        What ``transform`` does with rows of a batch absent from ``fit``: raise a ValueError
        naming it, or estimate that batch's effect from those rows and map them onto the
        training reference.

    Attributes
    ----------
    batches_ : ndarray of shape (n_batches,)
        The batch labels seen in ``fit``, sorted.
    batch_sizes_ : ndarray of shape (n_batches,)
        Training samples per batch.
    grand_mean_ : ndarray of shape (n_features_out,)
        Pooled reference location of each feature (covariates at zero).
    coef_ : ndarray of shape (n_covariate_terms, n_features_out)
        Covariate effects on each feature (rows named by ``covariate_terms_``).
    covariate_terms_ : list of str
        ``"age"``, ``"sex=M"``, ...: the encoded covariates.
    covariate_levels_ : list of (None or list of str)
        Per covariate, None if numeric, else its levels seen in ``fit`` (the first is the
        reference level).
    scale_ : ndarray of shape (n_features_out,)
        Pooled residual SD of each feature (1 for constant features).
    gamma_ : ndarray of shape (n_batches, n_features_out)
        Empirical Bayes location of each batch, in pooled-SD units.
    delta_ : ndarray of shape (n_batches, n_features_out)
        Empirical Bayes variance of each batch, relative to the pooled variance.
    constant_features_ : ndarray of bool, shape (n_features_out,)
        Features without residual variance in ``fit``, passed through unchanged.
    n_features_in_ : int
        Number of input columns (batch and covariates included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Input column names; defined only when X has string column names.

    See Also
    --------
    rdinet_sklearn.datasets.ScannerShift : Simulates the scanner effects this removes.
    sklearn.preprocessing.StandardScaler : Standardisation without batches.

    Notes
    -----
    For feature :math:`g` of sample :math:`j` in batch :math:`i` with covariates
    :math:`x_j`, ordinary least squares on the batch indicators and covariates gives the
    pooled reference :math:`\alpha_g + x_j\beta_g` (:math:`\alpha_g` weights the batch
    intercepts by batch size) and SD :math:`\sigma_g`;
    :math:`z_{ijg} = (y_{ijg} - \alpha_g - x_j\beta_g) / \sigma_g`. The batch mean
    :math:`\hat\gamma_{ig}` and variance :math:`\hat\delta_{ig}` of :math:`z` are shrunk
    to :math:`\gamma^*_{ig}, \delta^*_{ig}` and the output is
    :math:`\sigma_g (z_{ijg} - \gamma^*_{ig}) / \sqrt{\delta^*_{ig}} + \alpha_g +
    x_j\beta_g`.

    **Why not y.** Passing the outcome as a covariate (as some ComBat tools allow) uses the
    labels of the rows being transformed: in cross-validation the test fold's labels would
    shape its own features, and a new patient has no label. Protect the outcome by
    balancing it across batches or by protecting its clinical correlates instead.

    **Unseen batches** (``unseen="estimate"``). The rows of each new batch are
    standardised with the fitted reference, and the batch's :math:`\hat\gamma,
    \hat\delta` and their priors (estimated across that batch's features, as ComBat does
    for every batch) are computed from these rows alone: no labels, nothing refitted. This
    assumes that the new batch's cases, after the covariates, are distributed like the
    training pool (a center whose patients are sicker will have part of that difference
    removed as a scanner effect), and it needs enough cases per batch: at least 2, and a
    :class:`HarmonizationWarning` below 10. Transform a new center's cohort in one call:
    the result for a row depends on the other rows of its batch.

    **Missing values.** NaN counts as missing, as in
    :class:`~sklearn.preprocessing.StandardScaler`: ignored when estimating, kept in the
    output, so the harmonizer can come before
    :class:`~rdinet_sklearn.selection.ReproducibilityFilter` (whose rater-2 columns are
    NaN for patients without a second mask; give the harmonizer
    ``set_output(transform="pandas")`` there, as the filter pairs columns by name). Each
    feature needs 2 finite values per batch.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from rdinet_sklearn.harmonization import ComBatHarmonizer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["f1", "f2", "f3"])
    >>> X["center"] = np.repeat(["A", "B"], 30)
    >>> at_b = X["center"] == "B"  # center B's scanner: twice the spread, shifted by 3
    >>> X.loc[at_b, ["f1", "f2", "f3"]] = X.loc[at_b, ["f1", "f2", "f3"]] * 2 + 3
    >>> harmonizer = ComBatHarmonizer(batch_column="center").set_output(transform="pandas")
    >>> Xh = harmonizer.fit_transform(X)
    >>> list(Xh.columns)
    ['f1', 'f2', 'f3']
    >>> def mean_sd(frame):  # of f1, per center
    ...     return frame.groupby(X["center"])["f1"].agg(["mean", "std"]).round(1).values.tolist()
    >>> mean_sd(X), mean_sd(Xh)
    ([[-0.1, 1.2], [2.5, 2.1]], [[1.3, 1.8], [1.1, 1.6]])

    A center never seen in ``fit`` is mapped onto the training reference from its own rows:

    >>> new = pd.DataFrame(rng.normal(size=(20, 3)) * 0.5 - 4, columns=["f1", "f2", "f3"])
    >>> new["center"] = "C"
    >>> mapped = harmonizer.set_params(unseen="estimate").transform(new)
    >>> mapped["f1"].agg(["mean", "std"]).round(1).tolist()
    [1.2, 1.6]
    """

    _parameter_constraints: dict = {
        "batch_column": [str, Interval(Integral, 0, None, closed="left")],
        "covariates": ["array-like", None],
        "prior": [StrOptions({"parametric", "nonparametric", "none"})],
        "unseen": [StrOptions({"error", "estimate"})],
    }

    def __init__(
        self, batch_column="center", *, covariates=None, prior="parametric", unseen="error"
    ):
        self.batch_column = batch_column
        self.covariates = covariates
        self.prior = prior
        self.unseen = unseen

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the pooled reference, the covariate effects and every batch's effect.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in)
            Features, the batch column and any covariate columns.
        y : None
            Ignored (see Notes: the outcome must not steer harmonization).

        Returns
        -------
        self : ComBatHarmonizer
            The fitted harmonizer.
        """
        X_in = X
        X = validate_data(self, X, dtype=None, ensure_all_finite=False)
        columns = self._columns()
        batch = columns.batch_labels(X, X_in)
        self.batches_, codes, self.batch_sizes_ = np.unique(
            batch, return_inverse=True, return_counts=True
        )
        if self.batches_.size == 1 and self.unseen == "error":
            only = self.batches_.tolist()[0]
            warnings.warn(
                f"{type(self).__name__}: every training row is in batch {only!r} of column "
                f"{columns.batch_name!r}, so there is nothing to harmonize between; only "
                "unseen='estimate' makes use of this fit (mapping new batches onto this one).",
                HarmonizationWarning,
                stacklevel=3,
            )
        encoder = CovariateEncoder(columns).fit(X, X_in)
        self.covariate_levels_, self.covariate_terms_ = encoder.levels_, encoder.terms_
        Y = feature_block(X, X_in, columns)
        check_batch_counts(Y, codes, self.batches_, columns)
        warn_small_batches(self.batch_sizes_, self.batches_, columns, "in fit")
        self._fit_reference(Y, codes, encoder.transform(X, X_in))
        return self

    def _fit_reference(self, Y, codes, covariates):
        n_batches = self.batches_.size
        design = np.hstack([np.eye(n_batches)[codes], covariates])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise ValueError(
                f"{type(self).__name__}: the covariates {self.covariate_terms_} are collinear "
                f"with the batches of column {self._columns().batch_name!r} (e.g. a covariate "
                "constant within each batch), so their effects cannot be told apart."
            )
        finite = np.isfinite(Y)
        Y0 = np.where(finite, Y, 0.0)
        # One least-squares fit per feature over its finite rows: (D' W_g D) B_g = D' W_g y_g.
        gram = np.einsum("np,ng,nq->gpq", design, finite.astype(float), design)
        moment = (design.T @ Y0).T[:, :, None]
        coef = (np.linalg.pinv(gram) @ moment)[:, :, 0]  # (n_features, n_terms)
        count = (np.eye(n_batches)[codes].T @ finite).T  # (n_features, n_batches)
        self.grand_mean_ = (coef[:, :n_batches] * count).sum(axis=1) / count.sum(axis=1)
        self.coef_ = coef[:, n_batches:].T
        residual = np.where(finite, Y - design @ coef.T, 0.0)
        variance = (residual**2).sum(axis=0) / finite.sum(axis=0)
        mean_square = (Y0**2).sum(axis=0) / finite.sum(axis=0)
        self.constant_features_ = variance <= _CONSTANT_TOL * np.maximum(mean_square, 1.0)
        if self.constant_features_.any():
            names = self.get_feature_names_out()[self.constant_features_]
            warnings.warn(
                f"{type(self).__name__}: {names.size} feature(s) have no variance within the "
                f"batches and are passed through unchanged: {list(names[:5])}.",
                HarmonizationWarning,
                stacklevel=4,
            )
        self.scale_ = np.where(self.constant_features_, 1.0, np.sqrt(variance))
        Z = self._standardise(Y, covariates)
        self.gamma_, self.delta_ = self._batch_effects(Z, codes, n_batches)

    def _standardise(self, Y, covariates):
        return (Y - self.grand_mean_ - covariates @ self.coef_) / self.scale_

    def _batch_effects(self, Z, codes, n_batches):
        """(gamma*, delta*) of each batch, with constant features left at (0, 1)."""
        varying = ~self.constant_features_
        gamma = np.zeros((n_batches, Z.shape[1]))
        delta = np.ones((n_batches, Z.shape[1]))
        moments = batch_moments(Z[:, varying], codes, n_batches)
        gamma[:, varying], delta[:, varying] = shrunk_batch_effects(moments, self.prior)
        return gamma, delta

    def transform(self, X):
        """Harmonize X onto the pooled training reference.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in)
            The columns seen in ``fit``. Rows of a batch absent from ``fit`` need
            ``unseen="estimate"`` and at least 2 rows of that batch.

        Returns
        -------
        X_harmonized : ndarray of shape (n_samples, n_features_out)
            The feature columns (batch and covariate columns removed), harmonized; NaN stays
            NaN; float64 (a DataFrame with ``set_output(transform="pandas")``).
        """
        check_is_fitted(self)
        X_in = X
        X = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)
        columns = self._columns()
        batch = columns.batch_labels(X, X_in)
        covariates = CovariateEncoder(columns, self.covariate_levels_).transform(X, X_in)
        Y = feature_block(X, X_in, columns)
        Z = self._standardise(Y, covariates)
        known = np.isin(batch, self.batches_)
        gamma = np.empty_like(Z)
        delta = np.empty_like(Z)
        codes = np.searchsorted(self.batches_, batch[known])
        gamma[known], delta[known] = self.gamma_[codes], self.delta_[codes]
        if not known.all():
            self._estimate_unseen(Z, batch, known, columns, gamma, delta)
        with np.errstate(invalid="ignore", divide="ignore"):
            Z_star = (Z - gamma) / np.sqrt(np.where(delta > 0, delta, 1.0))
        harmonized = Z_star * self.scale_ + self.grand_mean_ + covariates @ self.coef_
        return np.where(self.constant_features_, Y, harmonized)

    def _estimate_unseen(self, Z, batch, known, columns, gamma, delta):
        new_labels, new_codes, sizes = np.unique(
            batch[~known], return_inverse=True, return_counts=True
        )
        if self.unseen == "error":
            listed = label_list(new_labels, sizes, "rows")
            raise ValueError(
                f"{type(self).__name__}: batch(es) {listed} of column {columns.batch_name!r} "
                f"were not seen in fit (fitted: {self.batches_.tolist()}). Set unseen='estimate' "
                "to estimate a new batch's effect from its own rows."
            )
        Z_new = Z[~known]
        check_batch_counts(Z_new, new_codes, new_labels, columns, when="transform")
        warn_small_batches(sizes, new_labels, columns, "to estimate (unseen in fit)")
        new_gamma, new_delta = self._batch_effects(Z_new, new_codes, new_labels.size)
        gamma[~known], delta[~known] = new_gamma[new_codes], new_delta[new_codes]

    def _columns(self):
        return Columns.resolve(self)

    def get_feature_names_out(self, input_features=None):
        """Names of the harmonized features: the input columns less batch and covariates.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input column names; by default ``feature_names_in_`` (or ``x0, x1, ...``).

        Returns
        -------
        feature_names_out : ndarray of str objects
            The feature columns, in input order.
        """
        check_is_fitted(self, "n_features_in_")
        names = check_feature_names_in(self, input_features)
        return np.asarray(names, dtype=object)[self._columns().feature_mask]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True  # the batch and categorical covariate columns
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
