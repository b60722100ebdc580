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


def _rows(data, indices):
    return data.iloc[indices] if hasattr(data, "iloc") else np.asarray(data)[indices]


def _fit_predict(estimator, params, X, y, train, validation):
    model = clone(estimator).set_params(**params).fit(_rows(X, train), _rows(y, train))
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
    """
    jobs = [(params, train, validation) for params in candidates for train, validation in splits]
    flat = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(estimator, params, X, y, train, validation)
        for params, train, validation in jobs
    )
    n_splits = len(splits)
    return [flat[c * n_splits : (c + 1) * n_splits] for c in range(len(candidates))]


def fold_auc(y_true, proba):
    """ROC AUC, or NaN where the rows hold a single class (the AUC is then undefined)."""
    y_true = np.asarray(y_true)
    if np.unique(y_true).size < 2:
        return float("nan")
    return float(roc_auc_score(y_true, proba))
