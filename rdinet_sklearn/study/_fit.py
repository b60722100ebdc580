"""One study model: tune by stratified CV on the training cohort, refit, predict both cohorts.

The cross-validation keeps every fold's validation predictions: these out-of-fold (OOF)
probabilities give the operating threshold, the CV table's threshold metrics and the
training-cohort rows of Table 2, so no number reported for the training cohort comes from a
model that saw the patient it scores.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, ParameterGrid, StratifiedKFold

from ..metrics import (
    npv_score,
    ppv_score,
    select_threshold,
    sensitivity_score,
    specificity_score,
)
from ..nn import DivergedFitError
from ._cv import FoldDivergedError, fold_auc, validation_predictions

CV_METRICS = ("roc_auc", "accuracy", "sensitivity", "specificity", "ppv", "npv")
_THRESHOLD_METRICS = {
    "accuracy": lambda y, pred: float(np.mean(y == pred)),
    "sensitivity": lambda y, pred: sensitivity_score(y, pred, zero_division=np.nan),
    "specificity": lambda y, pred: specificity_score(y, pred, zero_division=np.nan),
    "ppv": lambda y, pred: ppv_score(y, pred, zero_division=np.nan),
    "npv": lambda y, pred: npv_score(y, pred, zero_division=np.nan),
}


class UncomputableMetricWarning(UserWarning):
    """A study model's threshold or fold metric could not be computed; the tables show NaN.

    Raised (and logged) by :func:`run_study`, naming the model and the cohort: e.g. when
    every out-of-fold probability of a model is the same, so that no operating threshold
    can be chosen, or when a cross-validation fold holds one class only.

    Examples
    --------
    >>> from rdinet_sklearn.study import UncomputableMetricWarning
    >>> issubclass(UncomputableMetricWarning, UserWarning)
    True
    """


def operating_threshold(y_true, proba, rule="youden"):
    """The threshold ``rule`` picks on ``(y_true, proba)``, or NaN where it cannot pick one.

    Youden's J needs both classes and at least two distinct probabilities; a fixed value
    (a float ``rule``) is always returned as is.
    """
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    if isinstance(rule, str) and (np.unique(y_true).size < 2 or np.ptp(proba) == 0):
        return float("nan")
    return float(select_threshold(y_true, proba, method=rule))


def fold_scores(y_true, proba, folds, threshold):
    """``{"test_<metric>": one score per fold}`` from out-of-fold predictions.

    AUC is computed per fold; the five threshold metrics call a patient positive when
    ``proba >= threshold``, the model's one operating threshold. A metric a fold cannot
    define (AUC with one class, PPV with no positive call, anything without a threshold)
    is NaN.
    """
    y_true, proba, folds = np.asarray(y_true), np.asarray(proba), np.asarray(folds)
    scores = {f"test_{metric}": [] for metric in CV_METRICS}
    for fold in np.unique(folds):
        y_fold, p_fold = y_true[folds == fold], proba[folds == fold]
        scores["test_roc_auc"].append(fold_auc(y_fold, p_fold))
        pred = (p_fold >= threshold).astype(int)
        for metric, score in _THRESHOLD_METRICS.items():
            value = np.nan if np.isnan(threshold) else score(y_fold, pred)
            scores[f"test_{metric}"].append(float(value))
    return scores


def cv_splits(y, *, cv_folds, seed, groups=None):
    """The training cohort's CV splits: stratified k-fold, or leave-one-group-out.

    With ``groups`` (one label per training row), split ``k`` holds out the rows of the
    ``k``-th group in sorted order (:class:`~sklearn.model_selection.LeaveOneGroupOut`);
    ``cv_folds`` and ``seed`` are then unused.
    """
    y = np.asarray(y)
    X = np.zeros((y.shape[0], 1))
    if groups is not None:
        groups = np.asarray(groups)
        if np.unique(groups).size < 2:
            raise ValueError(
                f"leave-one-group-out CV needs at least 2 groups in the training cohort; "
                f"got {np.unique(groups).tolist()}."
            )
        return list(LeaveOneGroupOut().split(X, y, groups))
    return list(StratifiedKFold(cv_folds, shuffle=True, random_state=seed).split(X, y))


def fit_and_predict(
    estimator,
    grid,
    train,
    test,
    *,
    cv_folds,
    seed,
    n_jobs=None,
    threshold_rule="youden",
    groups=None,
):
    """Tune by stratified CV, refit on the training cohort, predict both cohorts.

    Every (candidate, fold) pair is fitted on the fold's training part and predicts its
    validation part; the candidate with the best mean fold AUC is refitted on the whole
    training cohort (as :class:`~sklearn.model_selection.GridSearchCV` with
    ``refit="roc_auc"`` would). Its operating threshold is chosen by ``threshold_rule`` on
    its out-of-fold training predictions and applied unchanged to the test cohort.

    Parameters
    ----------
    estimator : classifier
        An unfitted estimator taking the case table (or feature table) rows.
    grid : dict
        Parameter grid (may be empty: the folds then only give out-of-fold predictions).
    train, test : tuple of (X, y)
        The two cohorts (y coded 0/1).
    cv_folds : int
        Stratified folds, at least 2.
    seed : int
        Seed of the fold shuffling.
    n_jobs : int, default=None
        Parallel fits over candidates and folds.
    threshold_rule : "youden" or float, default="youden"
        See :func:`~rdinet_sklearn.metrics.select_threshold`.
    groups : array-like of shape (n_train,), default=None
        Group (e.g. center) of each training row: the CV is then leave-one-group-out
        (fold ``k`` = the ``k``-th group in sorted order) instead of stratified k-fold, and
        a candidate's mean fold AUC skips the folds whose AUC is undefined (one class).

    Returns
    -------
    stage : dict
        ``estimator`` (refitted), ``best_params``, ``cv`` (per-fold scores at the
        threshold), ``proba_oof`` and ``fold`` (out-of-fold probability and fold of each
        training row), ``proba_test``, ``threshold`` (NaN when it cannot be chosen),
        ``fit_seconds``.

    Raises
    ------
    FoldDivergedError
        When a network diverges in a CV fold or the refit, naming which.
    """
    if not isinstance(cv_folds, int) or cv_folds < 2:
        raise ValueError(
            f"cv_folds must be an integer >= 2 (thresholds are chosen on out-of-fold "
            f"predictions); got {cv_folds!r}."
        )
    (X_train, y_train), (X_test, _) = train, test
    started = time.perf_counter()
    y = np.asarray(y_train)
    splits = cv_splits(y, cv_folds=cv_folds, seed=seed, groups=groups)
    candidates = list(ParameterGrid(grid or {}))
    predictions = validation_predictions(estimator, candidates, X_train, y, splits, n_jobs=n_jobs)
    validation_rows = [validation for _, validation in splits]
    aucs = [
        [fold_auc(y[rows], p) for rows, p in zip(validation_rows, per_split, strict=True)]
        for per_split in predictions
    ]
    if groups is None:
        mean_auc = [np.mean(fold) for fold in aucs]
    else:  # a center with one class has no AUC; rank candidates on the others
        mean_auc = [np.nanmean(fold) if np.isfinite(fold).any() else np.nan for fold in aucs]
    best = int(np.argmax(np.nan_to_num(mean_auc, nan=-np.inf)))  # ties: the first, as sklearn
    proba_oof, folds = np.empty(y.shape[0]), np.empty(y.shape[0], dtype=int)
    for fold, (rows, proba) in enumerate(zip(validation_rows, predictions[best], strict=True)):
        proba_oof[rows], folds[rows] = proba, fold
    threshold = operating_threshold(y, proba_oof, threshold_rule)
    try:
        model = clone(estimator).set_params(**candidates[best]).fit(X_train, y_train)
    except DivergedFitError as error:
        raise FoldDivergedError(error, "refit") from error
    return {
        "estimator": model,
        "best_params": candidates[best],
        "cv": fold_scores(y, proba_oof, folds, threshold),
        "proba_oof": proba_oof,
        "fold": folds,
        "proba_test": np.asarray(model.predict_proba(X_test), dtype=float)[:, 1],
        "threshold": threshold,
        "fit_seconds": time.perf_counter() - started,
    }
