"""Model comparison in the training cohort: repeated stratified CV, corrected t-tests.

The 30-patient test cohort cannot tell two good models apart (a DeLong test there has
little power); repeating a stratified k-fold CV of the training cohort r times scores
every compared model on the same r x k splits, and the corrected resampled t-test
(:func:`~rdinet_sklearn.metrics.corrected_resampled_ttest`) compares their fold AUCs
without treating the overlapping splits as independent.
"""

from __future__ import annotations

import itertools
import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold

from ..metrics import corrected_resampled_ttest
from ._cv import fold_auc, validation_predictions
from ._fit import UncomputableMetricWarning, cv_splits

logger = logging.getLogger("rdinet_sklearn.study")

COMPARISON_TITLE = "Corrected resampled t-tests (repeated CV in the training cohort)"
COMPARISON_COLUMNS = (
    "model_a",
    "model_b",
    "mean_auc_a",
    "mean_auc_b",
    "mean_auc_difference",
    "t",
    "df",
    "p_value",
)


def repeated_splits(y, settings, seed, groups=None):
    """The ``repeats`` x ``folds`` stratified train/validation splits of the training cohort.

    With ``groups`` (leave-one-group-out CV, ``group_column``): the one leave-one-group-out
    split per group, once; it has no randomness to repeat, so ``repeats`` (beyond being
    non-zero) and ``folds`` are unused.
    """
    if groups is not None:
        return cv_splits(y, cv_folds=None, seed=seed, groups=groups)
    cv = RepeatedStratifiedKFold(
        n_splits=settings.folds, n_repeats=settings.repeats, random_state=seed
    )
    y = np.asarray(y)
    return list(cv.split(np.zeros((y.shape[0], 1)), y))


def repeated_cv_aucs(estimator, params, X, y, splits, *, n_jobs=None):
    """The AUC of ``estimator`` with ``params`` on every split's validation rows."""
    y = np.asarray(y)
    [predictions] = validation_predictions(estimator, [params], X, y, splits, n_jobs=n_jobs)
    return [
        fold_auc(y[validation], p) for (_, validation), p in zip(splits, predictions, strict=True)
    ]


def comparison_table(aucs, splits):
    """One corrected resampled t-test per pair of models, on their fold AUCs.

    Parameters
    ----------
    aucs : dict of str to list of float
        Each compared model's AUC on every split (same splits, same order).
    splits : list of (train, validation) index arrays
        The splits, for the mean training and validation sizes of the correction.

    Returns
    -------
    DataFrame
        :data:`COMPARISON_COLUMNS`; ``mean_auc_difference`` is A minus B. A pair with an
        undefined fold AUC (a fold with one class) gets NaN ``t`` and ``p_value``, with a
        warning naming both models.
    """
    n_train = float(np.mean([len(train) for train, _ in splits]))
    n_test = float(np.mean([len(validation) for _, validation in splits]))
    rows = []
    for a, b in itertools.combinations(aucs, 2):
        scores_a, scores_b = np.asarray(aucs[a]), np.asarray(aucs[b])
        row = {
            "model_a": a,
            "model_b": b,
            "mean_auc_a": float(np.mean(scores_a)),
            "mean_auc_b": float(np.mean(scores_b)),
            "mean_auc_difference": float(np.mean(scores_a - scores_b)),
            "t": np.nan,
            "df": len(splits) - 1,
            "p_value": np.nan,
        }
        if np.isfinite(scores_a).all() and np.isfinite(scores_b).all():
            result = corrected_resampled_ttest(scores_a, scores_b, n_train, n_test)
            row.update(t=result.statistic, p_value=result.p_value)
        else:
            message = (
                f"models {a!r} and {b!r}, training cohort (repeated CV): a fold AUC is "
                "undefined (a fold with one class); their corrected t-test is NaN."
            )
            logger.warning(message)
            warnings.warn(message, UncomputableMetricWarning, stacklevel=2)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
