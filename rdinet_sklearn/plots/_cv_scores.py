"""Box + strip plot of cross-validation scores across strategies or models."""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._style import color_for, new_axes, styled


def cv_scores_frame(cv_results, *, metrics=None):
    """Long table of per-fold test scores from several ``cross_validate`` runs.

    Parameters
    ----------
    cv_results : dict
        ``{name: cross_validate(...) output}`` (or ``GridSearchCV.cv_results_``
        is *not* accepted: pass per-fold results).
    metrics : list of str, default=None
        Metric names (without ``test_``); default all ``test_*`` keys.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``metric``, ``fold``, ``score``; feed to
        :func:`plot_cv_scores`.

    Examples
    --------
    >>> from rdinet_sklearn.plots import cv_scores_frame
    >>> cv_scores_frame({"A": {"test_roc_auc": [0.8, 0.9], "fit_time": [1, 1]}}).shape
    (2, 4)
    """
    if not isinstance(cv_results, Mapping) or not cv_results:
        raise ValueError("cv_results must be a non-empty {name: cross_validate output} dict.")
    rows = []
    for model, result in cv_results.items():
        names = metrics or [key[5:] for key in result if key.startswith("test_")]
        for metric in names:
            if f"test_{metric}" not in result:
                raise ValueError(f"cv_results[{model!r}] has no 'test_{metric}' scores.")
            for fold, score in enumerate(np.asarray(result[f"test_{metric}"], dtype=float)):
                rows.append((model, metric, fold, score))
    return pd.DataFrame(rows, columns=["model", "metric", "fold", "score"])


def _levels(data, column, order):
    if order is not None:
        return list(order)
    values = data[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    return list(pd.unique(values))


def _check_data(data, x, y, hue):
    if not isinstance(data, pd.DataFrame):
        raise ValueError("data must be a long-format pandas DataFrame.")
    needed = [c for c in (x, y, hue) if c is not None and c not in data.columns]
    if needed:
        raise ValueError(f"data has no column(s) {needed}; columns: {list(data.columns)}.")
    if data[y].isna().any():
        raise ValueError(
            f"column {y!r} contains NaN at rows {data.index[data[y].isna()].tolist()}."
        )


def _box_with_points(ax, scores, center, width, color, spread, label):
    """One translucent box at ``center`` and its fold scores as points shifted by ``spread``."""
    box = ax.boxplot(
        scores,
        positions=[center],
        widths=width * 0.8,
        patch_artist=True,
        showfliers=False,
        manage_ticks=False,
    )
    for patch in box["boxes"]:
        patch.set(facecolor=color, alpha=0.25, edgecolor=color)
    for part in ("whiskers", "caps", "medians"):
        for line in box[part]:
            line.set_color(color)
    ax.scatter(center + spread, scores, s=14, color=color, zorder=3, label=label)


@styled
def plot_cv_scores(
    data,
    *,
    x="model",
    y="score",
    hue=None,
    order=None,
    hue_order=None,
    ax=None,
    jitter=0.08,
    random_state=0,
    title=None,
):
    """Box plot with the individual fold scores overlaid as jittered points.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per fold (e.g. from :func:`cv_scores_frame`).
    x : str, default="model"
        Column giving the groups on the x axis (ROI strategy, model, ...).
    y : str, default="score"
        Column with the scores.
    hue : str, default=None
        Optional column splitting each group into coloured boxes.
    order, hue_order : list, default=None
        Level orders; default categorical order or order of appearance.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new styled figure is made if None.
    jitter : float, default=0.08
        Horizontal spread of the points, in box-position units.
    random_state : int, default=0
        Seed of the jitter, so figures are reproducible.
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One box and one point cloud per (x, hue) combination.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.plots import plot_cv_scores
    >>> data = pd.DataFrame({"model": ["A"] * 3 + ["B"] * 3,
    ...                      "score": [0.7, 0.8, 0.75, 0.85, 0.9, 0.8]})
    >>> ax = plot_cv_scores(data)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['A', 'B']
    """
    _check_data(data, x, y, hue)
    groups = _levels(data, x, order)
    hues = _levels(data, hue, hue_order) if hue is not None else [None]
    width = 0.7 / len(hues)
    rng = check_random_state(random_state)
    n_boxes = len(groups) * len(hues)
    ax = new_axes(ax, figsize=(min(9.0, max(4.0, 1.2 + 0.55 * n_boxes)), 3.8))
    for hue_position, hue_level in enumerate(hues):
        offset = (hue_position - (len(hues) - 1) / 2) * width
        for group_position, group in enumerate(groups):
            mask = data[x] == group
            if hue is not None:
                mask &= data[hue] == hue_level
            scores = data.loc[mask, y].to_numpy(dtype=float)
            if scores.size == 0:
                continue
            color = color_for(hue_position if hue is not None else group_position)
            spread = rng.uniform(-jitter, jitter, size=scores.size) * (width / 0.7)
            label = str(hue_level) if hue is not None and group_position == 0 else None
            _box_with_points(ax, scores, group_position + offset, width, color, spread, label)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups])
    ax.set(xlim=(-0.6, len(groups) - 0.4), xlabel=x, ylabel=y)
    ax.grid(axis="x", visible=False)
    if hue is not None:
        ax.legend(title=hue, loc="best")
    if title:
        ax.set_title(title)
    return ax
