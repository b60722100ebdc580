"""Sensitivity, specificity, PPV and NPV as metric functions and sklearn scorers.

sklearn already has sensitivity (``recall_score``) and PPV (``precision_score``);
specificity and NPV are the same quantities for the negative class, which
sklearn only exposes through ``labels``/``pos_label`` gymnastics. The four are
written here on one confusion-count helper so that they share the label rules
and the zero-denominator convention, which follows sklearn's ``zero_division``.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer, make_scorer
from sklearn.utils.validation import check_consistent_length, column_or_1d

_ZERO_DIVISION_OPTIONS = ("warn", 0.0, 1.0)


def _check_zero_division(zero_division):
    if isinstance(zero_division, str) and zero_division == "warn":
        return
    if isinstance(zero_division, float | int) and (
        np.isnan(zero_division) or zero_division in _ZERO_DIVISION_OPTIONS
    ):
        return
    raise ValueError(f'zero_division must be "warn", 0.0, 1.0 or np.nan; got {zero_division!r}.')


def _confusion_counts(y_true, y_pred, pos_label):
    """Return (tp, fp, tn, fn) where every label other than ``pos_label`` is negative."""
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    check_consistent_length(y_true, y_pred)
    labels = np.unique(np.concatenate([np.unique(y_true), np.unique(y_pred)]))
    if labels.shape[0] > 2:
        raise ValueError(
            f"Binary metrics need at most two labels; got {labels.tolist()} in y_true and y_pred."
        )
    if labels.shape[0] == 2 and pos_label not in labels.tolist():
        raise ValueError(
            f"pos_label={pos_label!r} is not a valid label; labels are {labels.tolist()}."
        )
    true_pos = y_true == pos_label
    pred_pos = y_pred == pos_label
    tp = int(np.sum(true_pos & pred_pos))
    fp = int(np.sum(~true_pos & pred_pos))
    tn = int(np.sum(~true_pos & ~pred_pos))
    fn = int(np.sum(true_pos & ~pred_pos))
    return tp, fp, tn, fn


def _ratio(numerator, denominator, zero_division, metric, denominator_name):
    _check_zero_division(zero_division)
    if denominator > 0:
        return float(numerator / denominator)
    if isinstance(zero_division, str):
        warnings.warn(
            f"{metric} is ill-defined and being set to 0.0 because there are no "
            f"{denominator_name}. Use `zero_division` to control this behavior.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return 0.0
    return float(zero_division)


def sensitivity_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Sensitivity (recall, true-positive rate): TP / (TP + FN).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (at most two distinct values; strings allowed).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    pos_label : int, str or bool, default=1
        The positive class; every other label counts as negative.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value returned when the denominator is zero (no positive samples).
        As in sklearn, ``"warn"`` returns 0.0 and raises an
        ``UndefinedMetricWarning``; a number is returned silently.

    Returns
    -------
    float
        Sensitivity in [0, 1].

    See Also
    --------
    sklearn.metrics.recall_score : Same quantity for the positive class.
    specificity_score : The negative-class counterpart.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import sensitivity_score
    >>> sensitivity_score([0, 1, 1, 1], [0, 1, 0, 1])
    0.666...
    """
    tp, _, _, fn = _confusion_counts(y_true, y_pred, pos_label)
    return _ratio(tp, tp + fn, zero_division, "Sensitivity", "true positive samples")


def specificity_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Specificity (true-negative rate): TN / (TN + FP).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (at most two distinct values; strings allowed).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    pos_label : int, str or bool, default=1
        The positive class; every other label counts as negative.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value returned when there are no negative samples (see
        :func:`sensitivity_score`).

    Returns
    -------
    float
        Specificity in [0, 1].

    Examples
    --------
    >>> from rdinet_sklearn.metrics import specificity_score
    >>> specificity_score(["no", "no", "yes"], ["no", "yes", "yes"], pos_label="yes")
    0.5
    """
    _, fp, tn, _ = _confusion_counts(y_true, y_pred, pos_label)
    return _ratio(tn, tn + fp, zero_division, "Specificity", "true negative samples")


def ppv_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Positive predictive value (precision): TP / (TP + FP).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (at most two distinct values; strings allowed).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    pos_label : int, str or bool, default=1
        The positive class; every other label counts as negative.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value returned when nothing is predicted positive (see
        :func:`sensitivity_score`).

    Returns
    -------
    float
        PPV in [0, 1].

    See Also
    --------
    sklearn.metrics.precision_score : Same quantity.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import ppv_score
    >>> ppv_score([0, 0, 1, 1], [1, 1, 1, 0])
    0.333...
    """
    tp, fp, _, _ = _confusion_counts(y_true, y_pred, pos_label)
    return _ratio(tp, tp + fp, zero_division, "PPV", "predicted positive samples")


def npv_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Negative predictive value: TN / (TN + FN).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (at most two distinct values; strings allowed).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    pos_label : int, str or bool, default=1
        The positive class; every other label counts as negative.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value returned when nothing is predicted negative (see
        :func:`sensitivity_score`).

    Returns
    -------
    float
        NPV in [0, 1].

    Examples
    --------
    >>> from rdinet_sklearn.metrics import npv_score
    >>> npv_score([0, 0, 1, 1], [0, 0, 0, 1])
    0.666...
    """
    _, _, tn, fn = _confusion_counts(y_true, y_pred, pos_label)
    return _ratio(tn, tn + fn, zero_division, "NPV", "predicted negative samples")


def paper_scoring(*, pos_label=1, zero_division=0.0):
    """Scorers for the six metrics reported in the reference study.

    Parameters
    ----------
    pos_label : int, str or bool, default=1
        Positive class for sensitivity, specificity, PPV and NPV. ROC AUC and
        accuracy do not depend on it.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default=0.0
        Passed to the four count-based metrics. The default is silent 0.0
        because small CV folds often predict a single class, and a warning per
        fold and candidate buries the search output.

    Returns
    -------
    dict of str to callable
        Keys ``roc_auc``, ``accuracy``, ``sensitivity``, ``specificity``,
        ``ppv``, ``npv``; usable as ``scoring=`` in ``cross_validate`` and
        ``GridSearchCV`` (with ``refit="roc_auc"``, say).

    Notes
    -----
    ``roc_auc`` uses sklearn's scorer (``decision_function`` or
    ``predict_proba`` of ``classes_[1]``); AUC is the same whichever class is
    called positive, so it needs no ``pos_label``. The other four score the
    hard ``predict`` output, i.e. the estimator's own threshold.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_validate
    >>> from rdinet_sklearn.metrics import paper_scoring
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> cv = cross_validate(LogisticRegression(), X, y, cv=3, scoring=paper_scoring())
    >>> sorted(key[5:] for key in cv if key.startswith("test_"))
    ['accuracy', 'npv', 'ppv', 'roc_auc', 'sensitivity', 'specificity']
    """
    options = {"pos_label": pos_label, "zero_division": zero_division}
    return {
        "roc_auc": get_scorer("roc_auc"),
        "accuracy": get_scorer("accuracy"),
        "sensitivity": make_scorer(sensitivity_score, **options),
        "specificity": make_scorer(specificity_score, **options),
        "ppv": make_scorer(ppv_score, **options),
        "npv": make_scorer(npv_score, **options),
    }


sensitivity_scorer = make_scorer(sensitivity_score)
specificity_scorer = make_scorer(specificity_score)
ppv_scorer = make_scorer(ppv_score)
npv_scorer = make_scorer(npv_score)
