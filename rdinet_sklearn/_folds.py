"""Stratified folds for small cohorts: as many as the smallest class allows, or a clear refusal.

Stratified k-fold needs ``k`` members of every class. A study's cohort of 12-20 patients
has classes of 3-8 in training and fewer in each outer fold's training part, so a fixed
5-fold inner CV (LASSO's choice of ``C``, the SVM's calibration) fails with scikit-learn's
``n_splits=5 cannot be greater than the number of members in each class``. The rule here:

* an *inner* CV, which the user does not choose, adapts: ``min(k, smallest class size)``
  folds (:func:`fold_count`, :class:`ClassCountStratifiedKFold`), never fewer than 2;
* a CV the user sets (the study's ``cv_folds``) is checked up front by
  :func:`require_folds`, which refuses with the smallest class and the folds needed.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .exceptions import RdinetInputError

MIN_FOLDS = 2
"""Fewest folds a cross-validation can have."""


class TooFewCasesError(RdinetInputError):
    """The smallest outcome class has fewer cases than the cross-validation needs.

    Examples
    --------
    >>> from rdinet_sklearn._folds import TooFewCasesError, require_folds
    >>> try:
    ...     require_folds(["r", "r", "r", "n", "n", "n", "n"], 5, what="cv_folds")
    ... except TooFewCasesError as err:
    ...     print(err)
    cv_folds=5 needs 5 cases of each class; class 'r' has 3 (set cv_folds <= 3 or add cases)
    """


def _smallest_class(y):
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    smallest = int(np.argmin(counts))
    return classes[smallest], int(counts[smallest])


def require_folds(y, n_splits, *, what):
    """Refuse ``y`` unless each class has at least ``n_splits`` members.

    Parameters
    ----------
    y : array-like
        Class labels of the rows the CV splits.
    n_splits : int
        The folds asked for.
    what : str
        The setting that asked for them, named in the error (e.g. ``"cv_folds"``).

    Raises
    ------
    TooFewCasesError
        Naming the smallest class, its size and the folds needed.
    """
    label, count = _smallest_class(y)
    if count < n_splits:
        advice = f"set {what} <= {count} or add cases" if count >= MIN_FOLDS else "add cases"
        label = label.item() if hasattr(label, "item") else label
        raise TooFewCasesError(
            f"{what}={n_splits} needs {n_splits} cases of each class; class {label!r} has "
            f"{count} ({advice})"
        )


def fold_count(y, n_splits, *, what):
    """``n_splits`` lowered to the smallest class's size (at least :data:`MIN_FOLDS`).

    Raises :class:`TooFewCasesError` when the smallest class has fewer than 2 members.

    Examples
    --------
    >>> from rdinet_sklearn._folds import fold_count
    >>> fold_count([0, 0, 0, 1, 1, 1, 1], 5, what="inner CV")
    3
    """
    require_folds(y, MIN_FOLDS, what=what)
    return min(n_splits, _smallest_class(y)[1])


class ClassCountStratifiedKFold:
    """Shuffled stratified k-fold with at most ``max_splits`` folds, fewer for small classes.

    A CV splitter (``split``, ``get_n_splits``) for the inner CVs of estimators such as
    :class:`~sklearn.calibration.CalibratedClassifierCV`: with ``y`` given it makes
    ``min(max_splits, smallest class size)`` folds (:func:`fold_count`). The maximum is not
    called ``n_splits`` on purpose: scikit-learn checks an ``n_splits`` attribute against the
    class counts before splitting.

    Parameters
    ----------
    max_splits : int, default=5
        Folds when every class has at least this many members.
    random_state : int or None, default=None
        Seeds the shuffling.

    Examples
    --------
    >>> from rdinet_sklearn._folds import ClassCountStratifiedKFold
    >>> cv = ClassCountStratifiedKFold(5, random_state=0)
    >>> y = [0, 0, 0, 1, 1, 1, 1, 1]
    >>> cv.get_n_splits(y=y), len(list(cv.split([[0]] * 8, y)))
    (3, 3)
    """

    def __init__(self, max_splits=5, *, random_state=None):
        self.max_splits = max_splits
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """The folds :meth:`split` makes for ``y`` (``max_splits`` without ``y``)."""
        if y is None:
            return self.max_splits
        return fold_count(y, self.max_splits, what="the inner stratified CV")

    def split(self, X, y, groups=None):
        """Train/test indices of each fold, as :class:`~sklearn.model_selection.StratifiedKFold`."""
        folds = StratifiedKFold(
            self.get_n_splits(X, y), shuffle=True, random_state=self.random_state
        )
        return folds.split(X, y)

    def __repr__(self):
        return (
            f"{type(self).__name__}(max_splits={self.max_splits}, random_state={self.random_state})"
        )
