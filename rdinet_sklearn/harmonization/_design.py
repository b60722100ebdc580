"""Reading ComBat's inputs from X: the batch column, the covariates and the feature block."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rdinet_sklearn._checks import row_labels

MIN_BATCH_SIZE = 2
"""Fewest samples of a batch (per feature) from which its variance can be estimated."""

RECOMMENDED_BATCH_SIZE = 10
"""Below this many samples a batch's location and scale are estimated poorly enough that a
:class:`HarmonizationWarning` says so (empirical Bayes shrinkage helps, but only so much)."""


class HarmonizationWarning(UserWarning):
    """A harmonizer's input makes its estimates weak or its work empty.

    Issued by :class:`ComBatHarmonizer` for batches with fewer than 10 samples, for a fit
    with a single batch (with ``unseen="error"`` there is nothing to harmonize), and for
    constant features, which are passed through unchanged.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np, pandas as pd
    >>> from rdinet_sklearn.harmonization import ComBatHarmonizer, HarmonizationWarning
    >>> X = pd.DataFrame({"f": np.arange(8.0), "center": ["A"] * 4 + ["B"] * 4})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = ComBatHarmonizer().fit(X)
    >>> [w.category is HarmonizationWarning for w in caught]
    [True]
    >>> message = str(caught[0].message)
    >>> message[message.index("batch"):message.index(" of column")]
    "batch(es) 'A' (4 samples), 'B' (4 samples)"
    """


def label_list(labels, counts, unit="samples"):
    pairs = zip(np.asarray(labels).tolist(), np.asarray(counts).tolist(), strict=True)
    return ", ".join(f"{label!r} ({n} {unit})" for label, n in pairs)


@dataclass(frozen=True)
class Columns:
    """Positions of the batch column, the covariates and the features among X's columns."""

    names: np.ndarray
    batch: int
    covariates: tuple
    feature_mask: np.ndarray
    owner: str

    @property
    def batch_name(self):
        return str(self.names[self.batch])

    @classmethod
    def resolve(cls, estimator):
        """Find the configured columns in the fitted ``n_features_in_`` / names, or raise."""
        owner = type(estimator).__name__
        n_columns = estimator.n_features_in_
        has_names = hasattr(estimator, "feature_names_in_")
        names = (
            np.asarray(estimator.feature_names_in_, dtype=object)
            if has_names
            else np.array([f"x{j}" for j in range(n_columns)], dtype=object)
        )
        covariates = [] if estimator.covariates is None else list(estimator.covariates)

        def position(column, role):
            if isinstance(column, str):
                if not has_names:
                    raise ValueError(
                        f"{owner}: {role} {column!r} is a column name, but X has no column names; "
                        f"pass a DataFrame with a {column!r} column, or give the column's position."
                    )
                found = np.flatnonzero(names == column)
                if found.size == 0:
                    raise ValueError(
                        f"{owner}: {role} {column!r} is not a column of X; columns: "
                        f"{list(names[:10])}{' ...' if n_columns > 10 else ''}."
                    )
                return int(found[0])
            if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
                if not 0 <= column < n_columns:
                    raise ValueError(
                        f"{owner}: {role} {column} is out of range for X's {n_columns} columns."
                    )
                return int(column)
            raise ValueError(f"{owner}: {role} must be a column name or position; got {column!r}.")

        batch = position(estimator.batch_column, "batch_column")
        covariate_positions = tuple(position(c, "covariate") for c in covariates)
        if batch in covariate_positions or len(set(covariate_positions)) < len(covariates):
            raise ValueError(
                f"{owner}: covariates {covariates} must be distinct columns other than the batch "
                f"column {names[batch]!r}."
            )
        feature_mask = np.ones(n_columns, dtype=bool)
        feature_mask[[batch, *covariate_positions]] = False
        if not feature_mask.any():
            raise ValueError(
                f"{owner}: X has no feature column besides the batch column {names[batch]!r} "
                "and the covariates."
            )
        return cls(names, batch, covariate_positions, feature_mask, owner)

    def batch_labels(self, X, X_in):
        """The batch column as an array of labels; missing labels raise naming the rows."""
        labels = np.asarray(X[:, self.batch], dtype=object)
        missing = pd.isna(labels)
        if missing.any():
            rows = row_labels(X_in, len(labels))[missing]
            raise ValueError(
                f"{self.owner}: the batch column {self.batch_name!r} is missing at rows "
                f"{rows[:5].tolist()}; every sample needs a batch label."
            )
        try:
            np.unique(labels)
        except TypeError:  # mixed types (e.g. 1 and "1") cannot be sorted: compare as text
            labels = labels.astype(str)
        return labels


def feature_block(X, X_in, columns):
    """The feature columns as float64; non-numeric columns and inf raise naming them."""
    block = X[:, columns.feature_mask]
    names = columns.names[columns.feature_mask]
    try:
        values = block.astype(np.float64)
    except (TypeError, ValueError):
        bad = []
        for j in range(block.shape[1]):
            try:
                block[:, j].astype(np.float64)
            except (TypeError, ValueError):
                bad.append(str(names[j]))
        raise ValueError(
            f"{columns.owner}: feature column(s) {bad[:5]} are not numeric; only the batch "
            f"column {columns.batch_name!r} and the covariates may hold text."
        ) from None
    infinite = np.isinf(values)
    if infinite.any():
        j = int(np.flatnonzero(infinite.any(axis=0))[0])
        rows = row_labels(X_in, len(values))[infinite[:, j]]
        raise ValueError(
            f"Input X contains inf in feature {str(names[j])!r} at rows {rows[:5].tolist()}; "
            f"{columns.owner} accepts NaN (as missing) but not inf."
        )
    return values


def check_batch_counts(Y, codes, labels, columns, when="fit"):
    """Raise unless every batch has at least 2 samples, and 2 finite values per feature."""
    sizes = np.bincount(codes, minlength=len(labels))
    small = sizes < MIN_BATCH_SIZE
    if small.any():
        raise ValueError(
            f"{columns.owner}: batch(es) {label_list(labels[small], sizes[small])} of column "
            f"{columns.batch_name!r} in {when}: ComBat needs at least {MIN_BATCH_SIZE} samples "
            f"per batch to estimate its variance (found 1 sample)."
        )
    finite = np.zeros((len(labels), Y.shape[1]))
    np.add.at(finite, codes, np.isfinite(Y))
    few = finite < MIN_BATCH_SIZE
    if few.any():
        b, j = (int(k[0]) for k in np.nonzero(few))
        names = columns.names[columns.feature_mask]
        label = np.asarray(labels).tolist()[b]
        raise ValueError(
            f"{columns.owner}: feature {str(names[j])!r} has {int(finite[b, j])} non-missing "
            f"value(s) in batch {label!r} of column {columns.batch_name!r} in {when}; "
            f"ComBat needs at least {MIN_BATCH_SIZE} per batch ({int(few.sum())} feature/batch "
            "pair(s) fall short)."
        )


def warn_small_batches(sizes, labels, columns, where):
    small = sizes < RECOMMENDED_BATCH_SIZE
    if small.any():
        warnings.warn(
            f"{columns.owner}: batch(es) {label_list(labels[small], sizes[small])} of column "
            f"{columns.batch_name!r} {where} have fewer than {RECOMMENDED_BATCH_SIZE} samples; "
            "their effects are poorly estimated.",
            HarmonizationWarning,
            stacklevel=4,
        )


class CovariateEncoder:
    """Numeric covariates as they are, categorical ones as indicators (first level dropped)."""

    def __init__(self, columns, levels=None):
        self.columns = columns
        self.levels_ = levels  # per covariate: None (numeric) or its sorted levels (text)

    def fit(self, X, X_in):
        self.levels_, self.terms_ = [], []
        for position in self.columns.covariates:
            name = str(self.columns.names[position])
            values = self._raw(X, X_in, position)
            if self._is_numeric(X_in, position, values):
                self.levels_.append(None)
                self.terms_.append(name)
            else:
                levels = np.unique(values.astype(str)).tolist()
                self.levels_.append(levels)
                self.terms_.extend(f"{name}={level}" for level in levels[1:])
        return self

    def _raw(self, X, X_in, position):
        values = np.asarray(X[:, position], dtype=object)
        missing = pd.isna(values)
        if missing.any():
            rows = row_labels(X_in, len(values))[missing]
            raise ValueError(
                f"{self.columns.owner}: covariate {str(self.columns.names[position])!r} is "
                f"missing at rows {rows[:5].tolist()}."
            )
        return values

    @staticmethod
    def _is_numeric(X_in, position, values):
        if isinstance(X_in, pd.DataFrame):
            dtype = X_in.dtypes.iloc[position]
            return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        try:
            values.astype(np.float64)
        except (TypeError, ValueError):
            return False
        return True

    def transform(self, X, X_in):
        """The encoded covariates, shape (n_samples, n_terms)."""
        blocks = [np.zeros((X.shape[0], 0))]
        for position, levels in zip(self.columns.covariates, self.levels_, strict=True):
            values = self._raw(X, X_in, position)
            if levels is None:
                blocks.append(values.astype(np.float64)[:, None])
                continue
            text = values.astype(str)
            unknown = ~np.isin(text, levels)
            if unknown.any():
                rows = row_labels(X_in, len(text))[unknown]
                new_levels = sorted(set(text[unknown].tolist()))
                raise ValueError(
                    f"{self.columns.owner}: covariate {str(self.columns.names[position])!r} has "
                    f"level(s) {new_levels} at rows {rows[:5].tolist()} that were not seen in fit "
                    f"(levels: {levels})."
                )
            blocks.append((text[:, None] == np.asarray(levels)[None, 1:]).astype(np.float64))
        return np.hstack(blocks)
