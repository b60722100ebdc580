"""Input checks shared by the metric, report and plotting functions.

Every public function that takes ``(y_true, proba)`` funnels through
:func:`check_binary_proba`, so bad input fails the same way everywhere and the
error names the offending rows (pandas index labels when given a Series).
:func:`warn_undefined` is the one warning for values that cannot be computed (NaN in a
table), naming the model and cohort.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import column_or_1d

# Label sets whose positive class is unambiguous (same rule as sklearn's
# ``_check_pos_label_consistency``): anything else needs an explicit pos_label.
_CONVENTIONAL_LABEL_SETS = ({0, 1}, {-1, 1}, {0}, {1}, {-1})


def _row_names(mask, index, limit=10):
    """Describe the rows flagged by ``mask`` by index label (or position)."""
    names = index[mask].tolist() if index is not None else np.flatnonzero(mask).tolist()
    shown = ", ".join(repr(name) for name in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]"


def _as_1d(values, name):
    index = values.index if isinstance(values, pd.Series | pd.DataFrame) else None
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 2 and name == "proba":
        # Accept ``predict_proba`` output directly: the positive column is the second.
        array = array[:, 1]
    try:
        array = column_or_1d(array)
    except ValueError as exc:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}.") from exc
    return array, index


def resolve_pos_label(classes, pos_label):
    """Return the positive label among ``classes`` (sorted unique labels)."""
    if pos_label is None:
        if not set(classes.tolist()) <= set().union(*_CONVENTIONAL_LABEL_SETS):
            raise ValueError(
                f"y_true has labels {classes.tolist()}, which are not {{0, 1}} or {{-1, 1}}; "
                "pass pos_label to say which one is the positive class."
            )
        return 1 if classes.dtype != bool else True
    if pos_label not in classes.tolist():
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels in y_true: {classes.tolist()}."
        )
    return pos_label


def check_binary_proba(y_true, proba, *, pos_label=None, name="proba", require_both_classes=True):
    """Validate a binary target and probabilities of the positive class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels with exactly two classes.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Probability of the positive class (or ``predict_proba`` output).
    pos_label : int, str or bool, default=None
        Positive class; inferred only for labels {0, 1} or {-1, 1}.
    name : str, default="proba"
        Name of the probability argument used in error messages.
    require_both_classes : bool, default=True
        If False, a ``y_true`` with a single class is accepted (for reports that show
        the undefined metrics as NaN); its positive class must then be inferable from
        conventional labels or given as ``pos_label``.

    Returns
    -------
    y_bin : ndarray of shape (n_samples,), dtype=bool
        True where ``y_true == pos_label``.
    proba : ndarray of shape (n_samples,), dtype=float
        Validated probabilities.

    Raises
    ------
    ValueError
        On mismatched lengths, empty input, missing labels, NaN or out-of-range
        probabilities, a number of classes other than two, or labels whose positive class is
        ambiguous without ``pos_label``; row names come from a pandas index when given.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.metrics import check_binary_proba
    >>> y_bin, proba = check_binary_proba(
    ...     ["no", "yes", "yes"], [[0.8, 0.2], [0.3, 0.7], [0.4, 0.6]], pos_label="yes"
    ... )
    >>> y_bin.tolist(), proba.tolist()
    ([False, True, True], [0.2, 0.7, 0.6])
    >>> y = pd.Series([0, 1, 1], index=["P1", "P2", "P3"])
    >>> check_binary_proba(y, [0.2, float("nan"), 0.5])
    Traceback (most recent call last):
    ...
    ValueError: proba contains NaN at rows ['P2'].
    """
    y_array, y_index = _as_1d(y_true, "y_true")
    p_array, p_index = _as_1d(proba, "proba")
    if y_array.shape[0] != p_array.shape[0]:
        raise ValueError(
            f"y_true has {y_array.shape[0]} samples but {name} has {p_array.shape[0]}; "
            "they must have the same length."
        )
    if y_array.shape[0] == 0:
        raise ValueError("y_true and proba are empty.")
    index = y_index if y_index is not None else p_index
    missing = np.asarray(pd.isna(y_array), dtype=bool)
    if missing.any():
        raise ValueError(f"y_true contains NaN/None at rows {_row_names(missing, index)}.")
    try:
        p_array = p_array.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric probabilities.") from exc
    if np.isnan(p_array).any():
        raise ValueError(f"{name} contains NaN at rows {_row_names(np.isnan(p_array), index)}.")
    outside = (p_array < 0) | (p_array > 1)
    if outside.any():
        raise ValueError(
            f"{name} must be probabilities in [0, 1]; rows {_row_names(outside, index)} "
            f"have values such as {p_array[outside][0]!r}."
        )
    classes = np.unique(y_array)
    if classes.shape[0] > 2 or (classes.shape[0] < 2 and require_both_classes):
        raise ValueError(
            f"y_true must contain exactly two classes; got {classes.shape[0]}: "
            f"{classes.tolist()}. Metrics such as AUC, sensitivity and specificity need both."
        )
    if classes.shape[0] == 1 and pos_label is not None:
        return y_array == pos_label, p_array  # the positive class may be the absent one
    positive = resolve_pos_label(classes, pos_label)
    return y_array == positive, p_array


def context_label(model=None, cohort=None):
    """``"model 'A', cohort 'test'"`` (the parts given), for warnings; ``""`` if neither."""
    named = (("model", model), ("cohort", cohort))
    return ", ".join(f"{kind} {name!r}" for kind, name in named if name is not None)


def warn_undefined(what, problems, *, model=None, cohort=None):
    """One :class:`~sklearn.exceptions.UndefinedMetricWarning` listing ``problems``."""
    if problems:
        where = context_label(model, cohort)
        prefix = f"{what} for {where}" if where else what
        warnings.warn(
            f"{prefix}: {'; '.join(problems)}. The table shows NaN there.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
