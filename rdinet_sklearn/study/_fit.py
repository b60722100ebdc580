"""One study model: tune by stratified CV on the training cohort, refit, predict both cohorts."""

from __future__ import annotations

import time

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from ..metrics import paper_scoring, youden_threshold

CV_METRICS = ("roc_auc", "accuracy", "sensitivity", "specificity", "ppv", "npv")


def _best_fold_scores(search, n_folds):
    """``{"test_<metric>": fold scores}`` at the best parameters, as cross_validate gives."""
    best = search.best_index_
    return {
        f"test_{metric}": [
            float(search.cv_results_[f"split{fold}_test_{metric}"][best]) for fold in range(n_folds)
        ]
        for metric in CV_METRICS
    }


def fit_and_predict(estimator, grid, train, test, *, cv_folds, seed, n_jobs=None):
    """Tune (when ``cv_folds`` > 1), refit on the training cohort, predict both cohorts.

    The operating threshold is Youden's J on the refitted model's training-cohort
    probabilities and is applied unchanged to the test cohort.

    Parameters
    ----------
    estimator : classifier
        An unfitted estimator taking the case table (or feature table) rows.
    grid : dict
        Parameter grid for :class:`~sklearn.model_selection.GridSearchCV` (may be empty).
    train, test : tuple of (X, y)
        The two cohorts.
    cv_folds : int
        Stratified folds for tuning; 0 or 1 fits once with the given parameters.
    seed : int
        Seed of the fold shuffling.
    n_jobs : int, default=None
        Parallel fits of the grid search.

    Returns
    -------
    stage : dict
        ``estimator`` (refitted), ``best_params``, ``cv`` (per-fold scores or None),
        ``proba_train``, ``proba_test``, ``threshold``, ``fit_seconds``.
    """
    (X_train, y_train), (X_test, _) = train, test
    started = time.perf_counter()
    cv_scores, best_params = None, {}
    if cv_folds and cv_folds > 1:
        search = GridSearchCV(
            estimator,
            grid or {},
            cv=StratifiedKFold(cv_folds, shuffle=True, random_state=seed),
            scoring=paper_scoring(),
            refit="roc_auc",
            n_jobs=n_jobs,
            error_score="raise",
        )
        search.fit(X_train, y_train)
        model, best_params = search.best_estimator_, search.best_params_
        cv_scores = _best_fold_scores(search, cv_folds)
    else:
        model = estimator.fit(X_train, y_train)
    proba_train = np.asarray(model.predict_proba(X_train))[:, 1]
    proba_test = np.asarray(model.predict_proba(X_test))[:, 1]
    return {
        "estimator": model,
        "best_params": best_params,
        "cv": cv_scores,
        "proba_train": proba_train,
        "proba_test": proba_test,
        "threshold": float(youden_threshold(y_train, proba_train)),
        "fit_seconds": time.perf_counter() - started,
    }
