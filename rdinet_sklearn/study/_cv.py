"""Cross-validation that keeps each fold's validation predictions.

:class:`~sklearn.model_selection.GridSearchCV` scores its folds but discards the
predictions, and refitting the chosen candidate with
:func:`~sklearn.model_selection.cross_val_predict` would train every network twice; the
study needs those predictions (its operating thresholds, CV table and training-cohort rows
come from them), so this loop fits each (candidate, fold) pair once, as the grid search
would, and returns them.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.parallel import Parallel, delayed

from ..nn import DivergedFitError


class FoldDivergedError(Exception):
    """A network diverged while the study fitted it in one CV fold (1-based) or the refit.

    Raised instead of a NaN score, so that the study records the model as diverged
    (:meth:`record`) and goes on with the others.
    """

    def __init__(self, error, fold):
        super().__init__(error, fold)  # args rebuild it when joblib pickles it
        self.error, self.fold = error, fold

    def __str__(self):
        return f"fold {self.fold}: {self.error}"

    def record(self, model):
        """The ``results.json["diverged"]`` entry of ``model``."""
        return {**self.error.as_record(), "model": model, "fold": self.fold}


def _rows(data, indices):
    return data.iloc[indices] if hasattr(data, "iloc") else np.asarray(data)[indices]


def _fit_predict(estimator, params, X, y, fold, train, validation):
    try:
        model = clone(estimator).set_params(**params).fit(_rows(X, train), _rows(y, train))
    except DivergedFitError as error:
        raise FoldDivergedError(error, fold) from error
    return np.asarray(model.predict_proba(_rows(X, validation)), dtype=float)[:, 1]


def validation_predictions(estimator, candidates, X, y, splits, *, n_jobs=None):
    """Positive-class probabilities of each candidate on each split's validation rows.

    Parameters
    ----------
    estimator : classifier
        Unfitted; cloned and given each candidate's parameters for every split.
    candidates : list of dict
        Parameter settings (e.g. a :class:`~sklearn.model_selection.ParameterGrid`).
    X, y : array-like or DataFrame/Series
        The training cohort (y coded 0/1).
    splits : list of (train, validation) index arrays
    n_jobs : int, default=None
        Parallel fits, over candidates and splits.

    Returns
    -------
    predictions : list of list of ndarray
        ``predictions[c][s]``: candidate ``c``'s probabilities on split ``s``'s validation rows.

    Raises
    ------
    FoldDivergedError
        When a network diverges in a split (never a NaN prediction in its place).
    """
    jobs = [(params, fold) for params in candidates for fold in range(len(splits))]
    flat = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(estimator, params, X, y, fold + 1, *splits[fold])
        for params, fold in jobs
    )
    n_splits = len(splits)
    return [flat[c * n_splits : (c + 1) * n_splits] for c in range(len(candidates))]


def fold_auc(y_true, proba):
    """ROC AUC, or NaN where the rows hold a single class (the AUC is then undefined)."""
    y_true = np.asarray(y_true)
    if np.unique(y_true).size < 2:
        return float("nan")
    return float(roc_auc_score(y_true, proba))
