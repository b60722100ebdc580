"""Input checks shared by the selectors: binary targets, finite columns, row labels."""

import numpy as np
from sklearn.utils import ClassifierTags
from sklearn.utils.multiclass import type_of_target


class SelectionFallbackWarning(UserWarning):
    """A selector applied its documented fallback because its criterion kept too few features."""


def check_binary_target(y, *, estimator_name):
    """Check that ``y`` holds exactly two classes and return them with a boolean target.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    estimator_name : str
        Name used in the error messages.

    Returns
    -------
    classes : ndarray of shape (2,)
        The sorted class labels; ``classes[1]`` is the positive class.
    is_positive : ndarray of bool, shape (n_samples,)
        ``y == classes[1]``.
    """
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {y_type!r}. {estimator_name} compares two classes and "
            "needs a binary y (e.g. responder / non-responder)."
        )
    classes = np.unique(y)
    if classes.size == 1:
        raise ValueError(
            f"{estimator_name} needs two classes in y, but y has only one class "
            f"({classes[0]!r}); check that the training rows contain both outcomes."
        )
    if classes.size > 2:
        raise ValueError(
            f"{estimator_name} needs a binary y, but y has {classes.size} classes "
            f"({list(classes)!r})."
        )
    return classes, np.asarray(y) == classes[1]


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
