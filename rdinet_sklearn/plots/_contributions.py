"""Feature-contribution figure: mean |SHAP| bars, or a beeswarm of every patient's values.

Drawn with matplotlib on our own Figure rather than with ``shap.plots``, which draws on
pyplot's current figure (global state the rest of :mod:`rdinet_sklearn.plots` avoids) and
cannot take an ``ax``.
"""

import numpy as np
import pandas as pd

from ._style import PALETTE, new_axes, styled


@styled
def plot_contributions(
    contributions, *, features=None, kind="beeswarm", max_features=15, ax=None, title=None
):
    """Plot each feature's contributions (SHAP values), most important on top.

    Parameters
    ----------
    contributions : DataFrame of shape (n_patients, n_features)
        From :func:`rdinet_sklearn.explain.feature_contributions`.
    features : DataFrame, default=None
        The feature values of the same patients (same columns); colours the beeswarm's
        points from low (blue) to high (orange) value within each feature.
    kind : {"beeswarm", "bar"}, default="beeswarm"
        ``"beeswarm"``: one point per patient and feature; ``"bar"``: mean absolute value.
    max_features : int, default=15
        Features shown, by mean absolute contribution.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new styled figure is made if None.
    title : str, default=None
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.plots import plot_contributions
    >>> values = pd.DataFrame({"cas": [0.2, -0.1, 0.3], "age": [0.01, -0.02, 0.0]})
    >>> ax = plot_contributions(values, kind="bar")
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['age', 'cas']
    """
    if kind not in ("beeswarm", "bar"):
        raise ValueError(f"kind must be 'beeswarm' or 'bar', got {kind!r}")
    if not isinstance(contributions, pd.DataFrame) or contributions.empty:
        raise ValueError("contributions must be a non-empty DataFrame (patients x features)")
    importance = contributions.abs().mean().sort_values(ascending=False, kind="stable")
    shown = importance.index[:max_features][::-1]  # least important at the bottom
    height = 0.8 + 0.28 * len(shown)
    ax = new_axes(ax, figsize=(5.5, height))
    positions = np.arange(len(shown))
    if kind == "bar":
        ax.barh(positions, importance[shown], color=PALETTE[0])
        ax.set_xlabel("Mean |SHAP value| (probability)")
    else:
        rng = np.random.default_rng(0)  # vertical jitter only, for legibility
        for position, name in zip(positions, shown, strict=True):
            values = contributions[name].to_numpy(float)
            colour = {"color": PALETTE[5]}
            if features is not None:
                rank = pd.Series(features[name].to_numpy(float)).rank(pct=True).fillna(0.5)
                colour = {"c": rank.to_numpy(), "cmap": "coolwarm", "vmin": 0, "vmax": 1}
            jitter = rng.uniform(-0.25, 0.25, len(values))
            ax.scatter(values, position + jitter, s=10, **colour)
        ax.axvline(0, color="0.5", linewidth=0.8)
        ax.set_xlabel("SHAP value (effect on the predicted probability)")
    ax.set_yticks(positions, [str(name) for name in shown])
    if title:
        ax.set_title(title)
    return ax
