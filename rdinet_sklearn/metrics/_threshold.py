"""Operating threshold: chosen once on training data, then applied unchanged.

Reporting sensitivity/specificity on a test cohort at a threshold tuned on that
same cohort inflates them; these helpers make the two steps explicit.
"""

import numbers

import numpy as np

from ._validation import check_binary_proba


def youden_threshold(y_true, proba, *, pos_label=None):
    """Threshold maximising Youden's J = sensitivity + specificity - 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes) of the *training* data.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class on the same samples
        (ideally out-of-fold, e.g. from ``cross_val_predict``).
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    float
        The threshold ``t``; a sample is called positive when ``proba >= t``
        (sklearn's ``roc_curve`` convention).

    See Also
    --------
    select_threshold : Youden or a fixed value, by name.
    apply_threshold : Turn probabilities into 0/1 calls.
    sklearn.model_selection.TunedThresholdClassifierCV : The estimator form;
        ``scoring="balanced_accuracy"`` maximises the same J, since
        J = 2 * balanced accuracy - 1.

    Notes
    -----
    J is evaluated at every distinct score (the ROC vertices). The threshold
    returned is the midpoint between the best vertex and the next lower
    distinct score, so that a test sample scoring just
    below the training vertex is not treated differently from one between two
    training scores; on the training data the calls are identical to
    thresholding at the vertex. J is compared exactly, as the integer
    :math:`n_+ n_- J = TP \\cdot n_- - FP \\cdot n_+`, and ties in J keep the
    highest vertex (the most specific call). If no threshold reaches J > 0, the
    one returned lies just above every score (nobody is called positive).

    .. math:: J(t) = \\mathrm{TPR}(t) - \\mathrm{FPR}(t)

    Youden W. J. (1950). Index for rating diagnostic tests. *Cancer* 3:32-35.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import youden_threshold
    >>> round(youden_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 3)
    0.6

    J = 1/3 at the vertices 0.7 and 0.5; the higher one wins, halfway down to 0.6:

    >>> round(youden_threshold([1, 0, 1, 0, 0, 1], [0.7, 0.6, 0.5, 0.3, 0.9, 0.9]), 3)
    0.65
    """
    y_bin, proba = check_binary_proba(y_true, proba, pos_label=pos_label)
    vertices, tp, fp = _roc_vertex_counts(y_bin, proba)
    n_pos, n_neg = int(tp[-1]), int(fp[-1])
    # J * n_pos * n_neg in integers: ties are exact, not decided by float rounding.
    scaled_j = tp * n_neg - fp * n_pos
    best = int(np.argmax(scaled_j))  # vertices descend: the first maximum is the highest
    if scaled_j[best] <= 0:
        return float(np.nextafter(vertices[0], np.inf))
    # J = 0 at the lowest vertex (everybody positive), so a best vertex has one below it.
    return float((vertices[best] + vertices[best + 1]) / 2)


def _roc_vertex_counts(y_bin, proba):
    """Distinct scores, descending, with the true and false positives called at each.

    Returns ``(vertices, tp, fp)``: calling ``proba >= vertices[k]`` positive gives
    ``tp[k]`` true and ``fp[k]`` false positives (int64 counts).
    """
    vertices, inverse = np.unique(-proba, return_inverse=True)
    positives = np.bincount(inverse, weights=y_bin, minlength=vertices.shape[0])
    totals = np.bincount(inverse, minlength=vertices.shape[0])
    tp = np.cumsum(positives.astype(np.int64))
    fp = np.cumsum(totals) - tp
    return -vertices, tp, fp


def select_threshold(y_true, proba, method="youden", *, pos_label=None):
    """Choose the operating threshold on training data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of the training data.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    method : "youden" or float, default="youden"
        ``"youden"`` maximises Youden's J (:func:`youden_threshold`); a float
        in [0, 1] is returned as is (e.g. 0.5), after the inputs are checked.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    float
        Threshold to pass unchanged to :func:`apply_threshold` and
        :func:`~rdinet_sklearn.metrics.binary_report` on the test cohort.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import select_threshold
    >>> select_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], method=0.5)
    0.5
    """
    check_binary_proba(y_true, proba, pos_label=pos_label)
    if isinstance(method, str):
        if method != "youden":
            raise ValueError(f'method must be "youden" or a float in [0, 1]; got {method!r}.')
        return youden_threshold(y_true, proba, pos_label=pos_label)
    if isinstance(method, numbers.Real) and 0.0 <= float(method) <= 1.0:
        return float(method)
    raise ValueError(f'method must be "youden" or a float in [0, 1]; got {method!r}.')


def apply_threshold(proba, threshold):
    """Call samples positive (1) where ``proba >= threshold``, else 0.

    Parameters
    ----------
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    threshold : float
        Threshold chosen on training data (see :func:`select_threshold`).

    Returns
    -------
    ndarray of shape (n_samples,), dtype=int
        Predicted labels 0/1.

    See Also
    --------
    sklearn.model_selection.FixedThresholdClassifier : The estimator form.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import apply_threshold
    >>> apply_threshold([0.2, 0.6, 0.5], 0.5).tolist()
    [0, 1, 1]
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 2 and proba.shape[1] == 2:
        proba = proba[:, 1]
    if not isinstance(threshold, numbers.Real) or np.isnan(threshold):
        raise ValueError(f"threshold must be a real number; got {threshold!r}.")
    return (proba >= threshold).astype(int)
