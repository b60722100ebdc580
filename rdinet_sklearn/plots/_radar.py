"""Radar (spider) chart comparing the six metrics across models."""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..metrics import TABLE2_METRICS
from ._style import color_for, new_axes, styled


def _scores_frame(scores):
    """Models x metrics numeric frame from a frame, dict of dicts or dict of reports."""
    if isinstance(scores, pd.DataFrame):
        frame = scores
    elif isinstance(scores, Mapping) and scores:
        rows = {}
        for model, values in scores.items():
            if isinstance(values, pd.DataFrame) and {"metric", "value"} <= set(values.columns):
                values = values.set_index("metric")["value"]  # a binary_report
            rows[model] = pd.Series(values, dtype=float)
        frame = pd.DataFrame(rows).T
    else:
        raise ValueError("scores must be a DataFrame (models x metrics) or a non-empty dict.")
    if frame.empty:
        raise ValueError("scores is empty.")
    return frame


@styled
def plot_radar(scores, *, metrics=None, ax=None, ylim=(0.0, 1.0), fill_alpha=0.08, title=None):
    """Radar chart of several metrics (axes) for several models (polygons).

    Parameters
    ----------
    scores : DataFrame or dict
        Models as rows and metrics as columns; or ``{model: {metric: value}}``;
        or ``{model: binary_report(...)}``.
    metrics : list of str, default=None
        Spokes in order; default AUC, ACC, SEN, SPE, PPV, NPV where present,
        else every column.
    ax : matplotlib.axes.Axes, default=None
        A polar Axes; a new styled figure is made if None.
    ylim : (float, float), default=(0, 1)
        Radial limits.
    fill_alpha : float, default=0.08
        Opacity of each polygon's fill (0 for none).
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.axes.projections.polar.PolarAxes
        One closed line per model.

    Examples
    --------
    >>> from rdinet_sklearn.plots import plot_radar
    >>> scores = {"radiomics": {"AUC": 0.8, "SEN": 0.7, "SPE": 0.9},
    ...           "RDINet": {"AUC": 0.9, "SEN": 0.85, "SPE": 0.88}}
    >>> ax = plot_radar(scores)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['AUC', 'SEN', 'SPE']
    """
    frame = _scores_frame(scores)
    if metrics is None:
        metrics = [m for m in TABLE2_METRICS if m in frame.columns] or list(frame.columns)
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"scores has no column(s) {missing}; columns: {list(frame.columns)}.")
    values = frame[list(metrics)].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError("scores contain NaN; radar polygons need every metric.")
    ax = new_axes(ax, figsize=(4.8, 4.8), polar=True)
    angles = np.linspace(0.0, 2 * np.pi, len(metrics), endpoint=False)
    closed_angles = np.append(angles, angles[0])
    for position, (model, row) in enumerate(zip(frame.index, values, strict=True)):
        closed = np.append(row, row[0])
        color = color_for(position)
        ax.plot(closed_angles, closed, color=color, label=str(model), marker="o", markersize=3)
        if fill_alpha:
            ax.fill(closed_angles, closed, color=color, alpha=fill_alpha)
    ax.set_theta_offset(np.pi / 2)  # first metric at the top, clockwise like most papers
    ax.set_theta_direction(-1)
    ax.set_xticks(angles, [str(m) for m in metrics])
    ax.set_ylim(*ylim)
    ax.set_yticks(np.linspace(ylim[0], ylim[1], 6)[1:])
    ax.yaxis.set_zorder(5)
    for label in ax.get_yticklabels():
        # A translucent box keeps the radial labels legible where polygons cross them.
        label.set_bbox({"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.8})
    # Radial labels halfway between the first two spokes, clear of the lines.
    ax.set_rlabel_position(180 / len(metrics))
    ax.tick_params(axis="y", labelsize=7.5)
    if title:
        ax.set_title(title, pad=16)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.12))
    return ax
