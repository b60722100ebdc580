"""Input checks shared by the estimators: binary targets, finite columns, row labels."""

import numpy as np
import pandas as pd
from sklearn.utils import ClassifierTags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d


def check_binary_target(y, *, estimator_name, rows=None):
    """Check that ``y`` holds exactly two classes and return them with a boolean target.

    The one check of a binary outcome in the package: the selectors, the networks and the
    study call it, so a bad ``y`` fails with the same message everywhere.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (numbers, booleans or strings); a pandas Series' index names the rows
        in error messages.
    estimator_name : str
        Name used in the error messages.
    rows : array-like of shape (n_samples,), default=None
        Row labels for error messages when ``y`` has no index (e.g. the case table's).

    Returns
    -------
    classes : ndarray of shape (2,)
        The sorted class labels; ``classes[1]`` is the positive class.
    is_positive : ndarray of bool, shape (n_samples,)
        ``y == classes[1]``.

    Raises
    ------
    ValueError
        If ``y`` is None, not one-dimensional, empty, has missing values (the rows are
        named), is continuous, or does not hold exactly two classes.

    Examples
    --------
    >>> from rdinet_sklearn._checks import check_binary_target
    >>> classes, is_positive = check_binary_target(["no", "yes", "yes"], estimator_name="demo")
    >>> classes.tolist(), is_positive.tolist()
    (['no', 'yes'], [False, True, True])
    >>> check_binary_target([1, 1], estimator_name="demo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: demo needs two classes in y, but y has only one class (1); ...
    """
    if y is None:
        raise ValueError(
            f"{estimator_name} requires y to be passed, but the target y is None "
            "(give one label per row, e.g. responder / non-responder)."
        )
    index = getattr(y, "index", None)
    rows = np.asarray(index if index is not None else rows if rows is not None else [])
    y = column_or_1d(y, warn=True)
    if y.dtype == object and not any(isinstance(v, str) for v in y):
        y = np.asarray(y.tolist())  # an object column of numbers or booleans: type it
    missing = np.asarray(pd.isna(y), dtype=bool)
    if missing.any():
        where = rows[missing] if len(rows) == len(y) else np.flatnonzero(missing)
        raise ValueError(
            f"{estimator_name}: y is missing (NaN or None) at rows {where[:10].tolist()}; "
            "every row needs a label."
        )
    if len(y) == 0:
        raise ValueError(f"{estimator_name} needs two classes in y, but y has no rows.")
    try:
        y_type = type_of_target(y, input_name="y")
        classes = np.unique(y)
    except TypeError as exc:  # labels of several types cannot be ordered
        raise ValueError(
            f"{estimator_name}: y mixes label types ({exc}); use one kind, e.g. 0/1 or strings."
        ) from exc
    if y_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {y_type!r}. {estimator_name} compares two classes and "
            "needs a binary y (e.g. responder / non-responder)."
        )
    if classes.size == 1:
        raise ValueError(
            f"{estimator_name} needs two classes in y, but y has only one class "
            f"({classes.tolist()[0]!r}); check that the training rows contain both outcomes."
        )
    if classes.size > 2:
        raise ValueError(
            f"Only binary classification is supported: {estimator_name} needs a binary y, "
            f"but y has {classes.size} classes ({classes.tolist()!r})."
        )
    return classes, y == classes[1]


def row_labels(X, n_samples):
    """Index labels of a DataFrame X, else the positions ``0 .. n_samples - 1``."""
    index = getattr(X, "index", None)
    return np.asarray(index) if index is not None else np.arange(n_samples)


def binary_target_tags(tags):
    """Declare in sklearn tags that y must have exactly two classes.

    ``classifier_tags.multi_class=False`` is sklearn's only way to say "binary y only"; the
    estimator checks then give these selectors two-class targets.  It does not make the
    estimator a classifier (that is ``estimator_type``).
    """
    tags.target_tags.required = True
    tags.classifier_tags = ClassifierTags(multi_class=False)
    return tags


def raise_if_not_finite(values, *, feature_names, rows, estimator_name, what="feature"):
    """Raise a ValueError naming the first columns and rows with NaN or inf.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_columns)
    feature_names : array-like of str, shape (n_columns,)
    rows : array-like of shape (n_samples,)
        Row labels (DataFrame index or positions) used in the message.
    estimator_name : str
    what : str
        How the columns are called in the message.
    """
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    bad_columns = np.flatnonzero(bad.any(axis=0))
    first = bad_columns[0]
    bad_rows = np.asarray(rows)[bad[:, first]]
    kind = "NaN" if np.isnan(values[bad[:, first], first]).any() else "inf"
    names = [str(feature_names[j]) for j in bad_columns[:5]]
    more = f" (and {bad_columns.size - 5} more)" if bad_columns.size > 5 else ""
    raise ValueError(
        f"Input X contains {kind} in {what} {names[0]!r} at rows {list(bad_rows[:5])!r}; "
        f"{estimator_name} needs finite values there. {what.capitalize()}s with NaN or inf: "
        f"{names}{more}."
    )
