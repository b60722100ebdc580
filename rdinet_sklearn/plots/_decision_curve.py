"""Decision-curve analysis (Vickers & Elkin 2006): net benefit vs threshold.

The formula is two lines, so it is written here: the ``dcurves`` package would
add a dependency that pins pandas<3, which this project cannot take.
"""

import numpy as np

from ..metrics import check_binary_proba
from ._inputs import check_curves
from ._style import color_for, new_axes, styled

DEFAULT_THRESHOLDS = np.round(np.linspace(0.01, 0.99, 99), 2)


def _check_thresholds(thresholds):
    thresholds = np.asarray(thresholds, dtype=float).ravel()
    if thresholds.size == 0 or np.isnan(thresholds).any():
        raise ValueError("thresholds must be a non-empty array of numbers.")
    if (thresholds < 0).any() or (thresholds >= 1).any():
        raise ValueError("thresholds must lie in [0, 1): net benefit is undefined at 1.")
    return thresholds


def net_benefit(y_true, proba, thresholds=DEFAULT_THRESHOLDS, *, pos_label=None):
    """Net benefit of treating patients whose ``proba >= pt``, for each ``pt``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    thresholds : array-like of float in [0, 1), default=0.01, 0.02, ..., 0.99
        Threshold probabilities ``pt``.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    ndarray of shape (n_thresholds,)
        Net benefit at each threshold.

    Notes
    -----
    .. math:: \\mathrm{NB}(p_t) = \\frac{TP}{n} - \\frac{FP}{n}\\,\\frac{p_t}{1 - p_t}

    The treat-all strategy is ``net_benefit(y, ones)``; treat-none is 0.

    Vickers A. J., Elkin E. B. (2006). Decision curve analysis: a novel method
    for evaluating prediction models. Medical Decision Making 26:565-574.

    Examples
    --------
    >>> from rdinet_sklearn.plots import net_benefit
    >>> net_benefit([1, 1, 0, 0, 1], [0.9, 0.6, 0.7, 0.2, 0.3], [0.25, 0.5]).round(4)
    array([0.5333, 0.2   ])
    """
    y_bin, proba = check_binary_proba(y_true, proba, pos_label=pos_label)
    thresholds = _check_thresholds(thresholds)
    n = y_bin.shape[0]
    # Sorted scores + searchsorted count the calls at every threshold in O(n log n).
    positives, negatives = np.sort(proba[y_bin]), np.sort(proba[~y_bin])
    tp = positives.shape[0] - np.searchsorted(positives, thresholds, side="left")
    fp = negatives.shape[0] - np.searchsorted(negatives, thresholds, side="left")
    return tp / n - fp / n * thresholds / (1 - thresholds)


@styled
def plot_decision_curve(
    curves, *, thresholds=DEFAULT_THRESHOLDS, ax=None, pos_label=None, ylim=None, title=None
):
    """Plot decision curves of several models with treat-all and treat-none.

    Parameters
    ----------
    curves : dict
        ``{name: (y_true, proba)}`` on the same cohort; the treat-all curve
        uses the prevalence of the first entry.
    thresholds : array-like of float in [0, 1), default=0.01, ..., 0.99
        Threshold probabilities on the x axis.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new styled figure is made if None.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    ylim : (float, float), default=None
        y limits; by default from -0.05 to just above the prevalence, since
        treat-all plunges at high thresholds.
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One line per model, then "Treat all" and "Treat none".

    See Also
    --------
    net_benefit : The plotted quantity.

    Examples
    --------
    >>> from rdinet_sklearn.plots import plot_decision_curve
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> ax = plot_decision_curve({"A": (y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['A', 'Treat all', 'Treat none']
    """
    thresholds = _check_thresholds(thresholds)
    checked = check_curves(curves, pos_label=pos_label)
    ax = new_axes(ax)
    highest = 0.0
    for position, (name, y_bin, proba) in enumerate(checked):
        benefit = net_benefit(y_bin, proba, thresholds, pos_label=True)
        ax.plot(thresholds, benefit, color=color_for(position), label=name)
        highest = max(highest, float(benefit.max()))
    y_first = checked[0][1]
    treat_all = net_benefit(y_first, np.ones(y_first.shape[0]), thresholds, pos_label=True)
    ax.plot(thresholds, treat_all, color="0.45", linewidth=1.2, label="Treat all")
    ax.axhline(0.0, color="0.15", linestyle="--", linewidth=1.2, label="Treat none")
    prevalence = float(y_first.mean())
    ax.set(
        xlim=(thresholds.min(), thresholds.max()),
        ylim=ylim if ylim is not None else (-0.05, max(highest, prevalence) + 0.05),
        xlabel="Threshold probability",
        ylabel="Net benefit",
    )
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right")
    return ax
