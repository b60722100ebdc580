"""Reproducibility filters: keep the radiomics features whose ICC reaches a threshold, between
two raters' masks or between the original and perturbed extractions."""

import re
import warnings
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from rdinet_sklearn._cases import PERTURBATION_SUFFIX, REFERENCE_SUFFIX
from rdinet_sklearn._checks import raise_if_not_finite, row_labels
from rdinet_sklearn._sklearn_compat import Interval, StrOptions, fit_context
from rdinet_sklearn._versions import _VersionStampMixin
from rdinet_sklearn.selection._icc import ICC_KINDS, intraclass_correlation
from rdinet_sklearn.selection._validation import SelectionFallbackWarning

MIN_PAIRED_ROWS = 3
"""Fewest rows with both raters for an ICC: with 2 subjects MS_R has a single degree of
freedom and the ICC is little more than the sign of one difference."""


def _warn_no_partners(partner, n_features, unpaired):
    warnings.warn(
        f"X has no {partner} to pair with its {n_features} features, so no ICC can be "
        f"computed; unpaired features are {'kept' if unpaired == 'keep' else 'dropped'} "
        f"(unpaired={unpaired!r}).",
        SelectionFallbackWarning,
        stacklevel=4,
    )


def _reproducible_support(icc, first, partner_mask, threshold, unpaired):
    """Which columns are paired, and which are kept.

    Kept: the paired features (``first``) whose ICC reaches ``threshold`` and, with
    ``unpaired="keep"``, the features that have no partner; never a partner column.
    """
    is_paired = np.zeros(icc.shape[0], dtype=bool)
    is_paired[first] = True
    with np.errstate(invalid="ignore"):
        reproducible = is_paired & (icc >= threshold)
    passthrough = ~partner_mask & ~is_paired & (unpaired == "keep")
    return is_paired, reproducible | passthrough


class ReproducibilityFilter(_VersionStampMixin, SelectorMixin, BaseEstimator):
    """Keep the features that two raters reproduce (ICC >= threshold); drop rater-2 columns.

    The radiomics extractor emits, for each feature ``f`` computed on the first rater's
    mask, a column ``f + suffix`` computed on the second rater's mask (NaN for patients
    without a second mask).  ``fit`` pairs the columns by name, computes the single-rater ICC
    of every pair over the training rows that have both values, and keeps the rater-1
    features with ``ICC >= threshold``.  Rater-2 columns are always dropped: they measure
    the segmentation, not the patient, and are missing for most patients.

    Parameters
    ----------
    threshold : float, default=0.75
        Smallest ICC kept; 0.75 is the lower bound of "good" reliability of Koo & Li (2016).
    icc : {"ICC(2,1)", "ICC(3,1)", "ICC(1,1)"}, default="ICC(2,1)"
        ICC form, see :func:`intraclass_correlation`.  ``"ICC(2,1)"`` (two-way random,
        absolute agreement) penalises a systematic offset between the raters' masks.
    suffix : str, default="__rater2"
        Suffix that marks a rater-2 column (``rdinet_sklearn._cases.REFERENCE_SUFFIX``).
    unpaired : {"keep", "drop"}, default="keep"
        What to do with a rater-1 feature that has no rater-2 column (e.g. a clinical
        column, or every column of a plain array, which has no names to pair): its
        reproducibility cannot be assessed, so by default it is passed through.

    Attributes
    ----------
    icc_ : ndarray of shape (n_features_in_,)
        ICC of each paired rater-1 feature, aligned with the input columns; NaN for rater-2
        and unpaired columns and where the ICC is undefined (constant feature).
    n_pairs_ : ndarray of shape (n_features_in_,)
        Training rows with both raters' values, per paired rater-1 feature (0 elsewhere).
    rater2_mask_ : ndarray of bool, shape (n_features_in_,)
        True for the rater-2 columns.
    support_ : ndarray of bool, shape (n_features_in_,)
        The selected columns.
    icc_table_ : pandas.DataFrame
        One row per rater-1 feature: ``icc``, ``n_pairs``, ``paired`` and ``selected``.
    n_features_in_ : int
        Number of input columns (both raters).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Input column names; defined only when X has string column names.

    See Also
    --------
    intraclass_correlation : The vectorised ICC used here.
    TTestSelector : Univariate two-sample test filter.

    Notes
    -----
    The ICC of each feature uses only the rows of the data passed to ``fit`` that have
    finite values from both raters, so inside a pipeline it is computed from the training
    fold alone.  At least 3 such rows are needed per paired feature (else ValueError).

    A feature with no between-subject variance (each rater gives every patient the same
    value, e.g. a constant feature) has an undefined ICC (0/0): its ``icc_`` is NaN and it
    is dropped as not reproducible.

    NaN is accepted only in rater-2 columns; NaN in a rater-1 column, or inf anywhere, raises
    a ValueError naming the feature and the rows (the estimator's ``allow_nan`` tag is
    therefore False).  When X has no rater-2 column at all a
    :class:`SelectionFallbackWarning` says that nothing could be assessed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from rdinet_sklearn.selection import ReproducibilityFilter
    >>> rng = np.random.default_rng(0)
    >>> volume, texture = rng.normal(size=(2, 12))
    >>> X = pd.DataFrame({
    ...     "volume": volume, "volume__rater2": volume + rng.normal(scale=0.1, size=12),
    ...     "texture": texture, "texture__rater2": rng.normal(size=12),
    ... })
    >>> X.loc[:3, ["volume__rater2", "texture__rater2"]] = np.nan  # no second mask
    >>> selector = ReproducibilityFilter(threshold=0.75).fit(X)
    >>> selector.get_feature_names_out()
    array(['volume'], dtype=object)
    >>> selector.icc_table_.round(2)
              icc  n_pairs  paired  selected
    volume   1.00        8    True      True
    texture -0.04        8    True     False
    """

    _parameter_constraints: dict = {
        "threshold": [Interval(Real, -1, 1, closed="both")],
        "icc": [StrOptions(set(ICC_KINDS))],
        "suffix": [str],
        "unpaired": [StrOptions({"keep", "drop"})],
    }

    def __init__(self, threshold=0.75, *, icc="ICC(2,1)", suffix=REFERENCE_SUFFIX, unpaired="keep"):
        self.threshold = threshold
        self.icc = icc
        self.suffix = suffix
        self.unpaired = unpaired

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the ICC of each paired feature on X and select the reproducible ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rater-1 feature columns and their ``<feature><suffix>`` rater-2 partners.
        y : None
            Ignored.

        Returns
        -------
        self : ReproducibilityFilter
            The fitted filter.
        """
        X_in = X
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        rows = row_labels(X_in, X.shape[0])
        names = self._input_names()
        self.rater2_mask_ = np.array([name.endswith(self.suffix) for name in names], dtype=bool)
        rater1 = np.flatnonzero(~self.rater2_mask_)
        raise_if_not_finite(
            X[:, rater1],
            feature_names=names[rater1],
            rows=rows,
            estimator_name=type(self).__name__,
            what="rater-1 feature",
        )
        column_of = {name: j for j, name in enumerate(names)}
        partner = np.array([column_of.get(names[j] + self.suffix, -1) for j in rater1], dtype=int)
        paired = partner >= 0
        first, second = rater1[paired], partner[paired]

        self.icc_ = np.full(self.n_features_in_, np.nan)
        self.n_pairs_ = np.zeros(self.n_features_in_, dtype=int)
        if paired.any():
            self.n_pairs_[first] = np.isfinite(X[:, second]).sum(axis=0)
            self._check_enough_pairs(names[first], self.n_pairs_[first])
            ratings = np.stack([X[:, first], X[:, second]], axis=1)
            self.icc_[first] = intraclass_correlation(ratings, kind=self.icc)
        else:
            partner = f"rater-2 column (suffix {self.suffix!r})"
            _warn_no_partners(partner, rater1.size, self.unpaired)
        is_paired, self.support_ = _reproducible_support(
            self.icc_, first, self.rater2_mask_, self.threshold, self.unpaired
        )
        self.icc_table_ = pd.DataFrame(
            {
                "icc": self.icc_[rater1],
                "n_pairs": self.n_pairs_[rater1],
                "paired": is_paired[rater1],
                "selected": self.support_[rater1],
            },
            index=names[rater1],
        )
        return self

    def transform(self, X):
        """Keep the selected rater-1 columns, which must be finite.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            The same columns as in ``fit``; rater-2 columns may hold NaN.

        Returns
        -------
        X_selected : ndarray of shape (n_samples, n_selected_features)
            The reproducible (and, with ``unpaired="keep"``, unpaired) rater-1 features, as
            float64 (a DataFrame with ``set_output(transform="pandas")``).
        """
        # Not SelectorMixin.transform, which would reject the NaN of the rater-2 columns.
        check_is_fitted(self)
        X_in = X
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        rows = row_labels(X_in, X.shape[0])
        selected = X[:, self.support_]
        raise_if_not_finite(
            selected,
            feature_names=self.get_feature_names_out(),
            rows=rows,
            estimator_name=type(self).__name__,
        )
        return selected

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def _input_names(self):
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.feature_names_in_, dtype=object)
        return np.array([f"x{j}" for j in range(self.n_features_in_)], dtype=object)

    def _check_enough_pairs(self, feature_names, n_pairs):
        few = n_pairs < MIN_PAIRED_ROWS
        if few.any():
            shown = zip(feature_names[few][:5], n_pairs[few][:5], strict=True)
            listed = ", ".join(f"{name!r} ({n})" for name, n in shown)
            raise ValueError(
                f"{type(self).__name__} needs at least {MIN_PAIRED_ROWS} rows with both "
                f"raters' values per feature to compute an ICC; {few.sum()} feature(s) have "
                f"fewer (rows with a finite '{self.suffix}' value): {listed}."
            )


class PerturbationReproducibilityFilter(ReproducibilityFilter):
    """Keep the features that survive image perturbations (ICC >= threshold), without a rater 2.

    For cohorts segmented once: :class:`~rdinet_sklearn.radiomics.RadiomicsExtractor` with
    ``perturbations=k`` emits, next to each feature ``f``, its values ``f__perturbed1`` ...
    ``f__perturbed<k>`` on perturbed versions of the image and ROI (noise, small rotation and
    translation, one-voxel dilation or erosion: Zwanenburg et al., Sci Rep 2019). ``fit``
    groups the columns by name, computes over the training rows the single-measure ICC of
    each feature across the original and the ``k`` perturbed extractions (each perturbation
    acting as one more rater), and keeps the features with ``ICC >= threshold``. Perturbed
    columns are always dropped.

    Parameters
    ----------
    threshold : float, default=0.75
        Smallest ICC kept (Koo & Li's lower bound of "good" reliability).
    icc : {"ICC(1,1)", "ICC(2,1)", "ICC(3,1)"}, default="ICC(1,1)"
        ICC form, see :func:`intraclass_correlation`; Zwanenburg et al. use the one-way
        ``"ICC(1,1)"``, which counts the systematic change of a dilation or erosion as
        disagreement.
    suffix : str, default="__perturbed"
        A perturbed column is named ``<feature><suffix><k>``, ``k = 1, 2, ...``.
    unpaired : {"keep", "drop"}, default="keep"
        What to do with a feature without perturbed columns (e.g. a clinical column).

    Attributes
    ----------
    icc_ : ndarray of shape (n_features_in_,)
        ICC of each perturbed feature, aligned with the input columns; NaN for perturbed and
        unpaired columns and where the ICC is undefined (constant feature).
    n_perturbations_ : int
        Number of perturbations found (largest ``k``).
    perturbed_mask_ : ndarray of bool, shape (n_features_in_,)
        True for the perturbed columns.
    support_ : ndarray of bool, shape (n_features_in_,)
        The selected columns.
    icc_table_ : pandas.DataFrame
        One row per original feature: ``icc``, ``paired`` and ``selected``.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Input column names; defined only when X has string column names.

    See Also
    --------
    ReproducibilityFilter : The same selection from a second rater's masks.
    rdinet_sklearn.radiomics.RadiomicsExtractor : Its ``perturbations`` parameter.

    Notes
    -----
    Inside a pipeline the ICCs come from the training fold alone; the perturbed extractions
    themselves are cached by the extractor, so a grid search extracts each (case,
    perturbation) once. At least 3 rows are needed. A feature must have all ``k`` perturbed
    columns to be assessed, else ValueError; NaN or inf in a feature or in a perturbed column
    of an assessed feature raises a ValueError naming the feature and the rows (the extractor
    reports failed perturbations, e.g. an ROI that erodes to nothing, naming the patient and
    the perturbation, rather than emit NaN). When X has no perturbed column a
    :class:`SelectionFallbackWarning` says that nothing could be assessed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from rdinet_sklearn.selection import PerturbationReproducibilityFilter
    >>> rng = np.random.default_rng(0)
    >>> volume, texture = rng.normal(size=(2, 12))
    >>> X = pd.DataFrame({"volume": volume, "texture": texture})
    >>> for k in (1, 2):
    ...     X[f"volume__perturbed{k}"] = volume + rng.normal(scale=0.1, size=12)
    ...     X[f"texture__perturbed{k}"] = rng.normal(size=12)
    >>> selector = PerturbationReproducibilityFilter(threshold=0.75).fit(X)
    >>> selector.get_feature_names_out()
    array(['volume'], dtype=object)
    >>> selector.n_perturbations_
    2
    >>> selector.icc_table_.round(2)
              icc  paired  selected
    volume   0.99    True      True
    texture  0.12    True     False
    """

    def __init__(
        self, threshold=0.75, *, icc="ICC(1,1)", suffix=PERTURBATION_SUFFIX, unpaired="keep"
    ):
        super().__init__(threshold, icc=icc, suffix=suffix, unpaired=unpaired)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute each feature's ICC across the original and perturbed extractions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature columns and their ``<feature><suffix><k>`` perturbed partners.
        y : None
            Ignored.

        Returns
        -------
        self : PerturbationReproducibilityFilter
            The fitted filter.
        """
        X_in = X
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        rows = row_labels(X_in, X.shape[0])
        names = self._input_names()
        pattern = re.compile(rf"{re.escape(self.suffix)}([1-9][0-9]*)$")
        found = [pattern.search(name) for name in names]
        self.perturbed_mask_ = np.array([match is not None for match in found], dtype=bool)
        self.n_perturbations_ = max((int(m.group(1)) for m in found if m), default=0)
        original = np.flatnonzero(~self.perturbed_mask_)
        column_of = {name: j for j, name in enumerate(names)}
        partners = np.array(
            [
                [column_of.get(f"{names[j]}{self.suffix}{k}", -1) for k in self._chain()]
                for j in original
            ],
            dtype=int,
        ).reshape(len(original), self.n_perturbations_)
        has_any = (partners >= 0).any(axis=1)
        incomplete = has_any & (partners < 0).any(axis=1)
        if incomplete.any():
            listed = ", ".join(repr(names[j]) for j in original[incomplete][:5])
            raise ValueError(
                f"{type(self).__name__}: {incomplete.sum()} feature(s) lack some of the "
                f"{self.n_perturbations_} perturbed columns '<feature>{self.suffix}<k>': "
                f"{listed}."
            )
        first = original[has_any]
        columns = np.column_stack([first[:, None], partners[has_any]])
        checked = np.concatenate([original, columns[:, 1:].ravel()])
        raise_if_not_finite(
            X[:, checked],
            feature_names=names[checked],
            rows=rows,
            estimator_name=type(self).__name__,
            what="feature or perturbed feature",
        )
        self.icc_ = np.full(self.n_features_in_, np.nan)
        if first.size:
            if X.shape[0] < MIN_PAIRED_ROWS:
                raise ValueError(
                    f"{type(self).__name__} needs at least {MIN_PAIRED_ROWS} rows to compute "
                    f"an ICC; got {X.shape[0]}."
                )
            ratings = np.stack([X[:, columns[:, r]] for r in range(columns.shape[1])], axis=1)
            self.icc_[first] = intraclass_correlation(ratings, kind=self.icc)
        else:
            _warn_no_partners(
                f"perturbed column (suffix {self.suffix!r} + number)", original.size, self.unpaired
            )
        is_paired, self.support_ = _reproducible_support(
            self.icc_, first, self.perturbed_mask_, self.threshold, self.unpaired
        )
        self.icc_table_ = pd.DataFrame(
            {
                "icc": self.icc_[original],
                "paired": is_paired[original],
                "selected": self.support_[original],
            },
            index=names[original],
        )
        return self

    def _chain(self):
        return range(1, self.n_perturbations_ + 1)
