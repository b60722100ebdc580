"""ROC curves of several models with logit-DeLong AUC intervals in the legend."""

import numpy as np
from sklearn.metrics import roc_curve

from ..metrics import delong_auc_ci
from ._inputs import check_curves
from ._style import color_for, new_axes, styled, unit_square


@styled
def plot_roc(curves, *, ax=None, confidence=0.95, pos_label=None, digits=2, title=None):
    """Plot ROC curves of several models, AUC and its CI in the legend.

    Parameters
    ----------
    curves : dict
        ``{name: (y_true, proba)}``; each entry is one curve (models on the
        same cohort, or one model on several cohorts).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new styled figure is made if None.
    confidence : float, default=0.95
        Coverage of the interval shown as ``AUC 0.90 (0.81-0.98)``: the logit-transformed
        DeLong interval of :func:`~rdinet_sklearn.metrics.delong_auc_ci`; ``(CI NA)``
        where it cannot be computed (all predictions equal).
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    digits : int, default=2
        Decimals in the legend.
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes; ``ax.figure`` is the Figure (save with ``save_figure``).

    See Also
    --------
    sklearn.metrics.RocCurveDisplay : One curve per call, no interval.
    rdinet_sklearn.metrics.delong_test : Compare two of the AUCs.

    Examples
    --------
    >>> from rdinet_sklearn.plots import plot_roc
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> ax = plot_roc({"A": (y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['A: AUC 0.89 (0.26-0.99)', 'Chance']
    """
    ax = new_axes(ax)
    for position, (name, y_bin, proba) in enumerate(check_curves(curves, pos_label=pos_label)):
        fpr, tpr, _ = roc_curve(y_bin, proba)
        auc = delong_auc_ci(y_bin, proba, confidence=confidence, pos_label=True)
        low, high = auc.ci_low, auc.ci_high
        interval = "CI NA" if np.isnan(low) else f"{low:.{digits}f}-{high:.{digits}f}"
        label = f"{name}: AUC {auc.auc:.{digits}f} ({interval})"
        ax.plot(fpr, tpr, color=color_for(position), label=label, drawstyle="default")
    unit_square(
        ax,
        diagonal="Chance",
        xlabel="1 - Specificity (false-positive rate)",
        ylabel="Sensitivity (true-positive rate)",
    )
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    return ax
