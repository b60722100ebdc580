"""Reliability diagram with the Brier score of each model in the legend."""

from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from ._inputs import check_curves
from ._style import color_for, new_axes, styled


@styled
def plot_calibration(
    curves, *, ax=None, n_bins=10, strategy="uniform", pos_label=None, digits=3, title=None
):
    """Plot calibration (reliability) curves of several models.

    Parameters
    ----------
    curves : dict
        ``{name: (y_true, proba)}``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new styled figure is made if None.
    n_bins : int, default=10
        Bins of :func:`sklearn.calibration.calibration_curve`.
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning strategy; ``"quantile"`` suits small cohorts with skewed
        probabilities (equal counts per bin).
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    digits : int, default=3
        Decimals of the Brier score in the legend.
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes with one line per model plus the diagonal.

    See Also
    --------
    sklearn.calibration.CalibrationDisplay : One curve per call.

    Notes
    -----
    Brier score :math:`\\frac{1}{n}\\sum_i (p_i - y_i)^2`; lower is better.

    Examples
    --------
    >>> from rdinet_sklearn.plots import plot_calibration
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> ax = plot_calibration({"A": (y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])}, n_bins=3)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['A (Brier 0.114)', 'Perfectly calibrated']
    """
    ax = new_axes(ax)
    for position, (name, y_bin, proba) in enumerate(check_curves(curves, pos_label=pos_label)):
        observed, predicted = calibration_curve(y_bin, proba, n_bins=n_bins, strategy=strategy)
        brier = brier_score_loss(y_bin, proba)
        ax.plot(
            predicted,
            observed,
            marker="o",
            markersize=4,
            color=color_for(position),
            label=f"{name} (Brier {brier:.{digits}f})",
        )
    ax.plot(
        [0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1.0, label="Perfectly calibrated"
    )
    ax.set(
        xlim=(-0.01, 1.01),
        ylim=(-0.01, 1.01),
        xlabel="Mean predicted probability",
        ylabel="Observed fraction of positives",
        aspect="equal",
    )
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    return ax
