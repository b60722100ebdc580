"""Calibration curves (smoothed with a bootstrap band, or binned) with each model's Brier score."""

from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from ..metrics._calibration_curve import smoothed_calibration_curve
from ._inputs import check_curves
from ._style import color_for, new_axes, styled, unit_square


@styled
def plot_calibration(
    curves,
    *,
    ax=None,
    n_bins=None,
    strategy="uniform",
    pos_label=None,
    digits=3,
    title=None,
    method=None,
    n_bootstrap=200,
    random_state=0,
):
    """Plot calibration curves of several models: LOESS with a bootstrap band, or binned.

    Parameters
    ----------
    curves : dict
        ``{name: (y_true, proba)}``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new styled figure is made if None.
    n_bins : int, default=None
        Bins of :func:`sklearn.calibration.calibration_curve` (``method="bins"``); 10 if
        not given.
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning strategy of ``method="bins"``; ``"quantile"`` suits skewed
        probabilities (equal counts per bin).
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    digits : int, default=3
        Decimals of the Brier score in the legend.
    title : str, default=None
        Axes title.
    method : {"loess", "bins"}, default=None
        ``"loess"``: the smoothed curve of
        :func:`~rdinet_sklearn.metrics.smoothed_calibration_curve` with its bootstrap band,
        readable at 30 patients; ``"bins"``: the binned reliability diagram. ``None`` means
        ``"bins"`` when ``n_bins`` is given (the former behaviour), else ``"loess"``.
    n_bootstrap : int, default=200
        Bootstrap resamples of the LOESS band (0: no band).
    random_state : int, default=0
        Seed of the band.

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
    >>> ax = plot_calibration({"A": (y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])})  # LOESS + band
    >>> len(ax.get_lines()[0].get_xdata()), len(ax.collections)
    (50, 1)
    """
    if method is None:
        method = "loess" if n_bins is None else "bins"
    if method not in ("loess", "bins"):
        raise ValueError(f"method must be 'loess' or 'bins', got {method!r}")
    ax = new_axes(ax)
    for position, (name, y_bin, proba) in enumerate(check_curves(curves, pos_label=pos_label)):
        brier = brier_score_loss(y_bin, proba)
        label = f"{name} (Brier {brier:.{digits}f})"
        if method == "bins":
            observed, predicted = calibration_curve(
                y_bin, proba, n_bins=10 if n_bins is None else n_bins, strategy=strategy
            )
            marker = {"marker": "o", "markersize": 4}
            ax.plot(predicted, observed, color=color_for(position), label=label, **marker)
            continue
        curve = smoothed_calibration_curve(
            y_bin, proba, n_bootstrap=n_bootstrap, random_state=random_state
        )
        ax.plot(curve["predicted"], curve["observed"], color=color_for(position), label=label)
        if n_bootstrap:
            ax.fill_between(
                curve["predicted"],
                curve["ci_low"],
                curve["ci_high"],
                color=color_for(position),
                alpha=0.15,
                linewidth=0,
            )
    unit_square(
        ax,
        diagonal="Perfectly calibrated",
        xlabel="Mean predicted probability",
        ylabel="Observed fraction of positives",
    )
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    return ax
