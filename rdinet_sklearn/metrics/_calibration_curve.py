"""Smoothed calibration curve (LOESS) with a bootstrap band, for small cohorts.

Ten bins of a 30-patient test cohort hold three patients each, so a binned reliability
diagram is mostly noise. The smoothed curve of Austin and Steyerberg (2014) regresses the
outcome on the predicted probability by locally weighted linear regression (LOESS), and
the bootstrap over patients shows how far it could move. statsmodels' ``lowess`` is not a
dependency and its robustness iterations are wrong for 0/1 outcomes (they down-weight every
surprise), so the one-pass local linear fit is written here: a few lines of numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import check_binary_proba

DEFAULT_SPAN = 2 / 3
"""Fraction of the patients in each local fit (the classic LOESS default)."""


def _loess(x, y, grid, span):
    """Local linear fit of ``y`` on ``x`` with tricube weights, evaluated on ``grid``."""
    n_local = max(3, int(np.ceil(span * len(x))))
    fitted = np.empty(len(grid))
    for i, point in enumerate(grid):
        distance = np.abs(x - point)
        radius = np.partition(distance, n_local - 1)[n_local - 1]
        radius = radius if radius > 0 else 1.0
        weight = np.clip(1 - (distance / (radius * 1.0001)) ** 3, 0, None) ** 3
        total = weight.sum()
        mean_x, mean_y = weight @ x / total, weight @ y / total
        spread = weight @ (x - mean_x) ** 2
        slope = 0.0 if spread <= 1e-12 else weight @ ((x - mean_x) * (y - mean_y)) / spread
        fitted[i] = mean_y + slope * (point - mean_x)
    return np.clip(fitted, 0.0, 1.0)


def smoothed_calibration_curve(
    y_true,
    proba,
    *,
    span=DEFAULT_SPAN,
    n_points=50,
    n_bootstrap=200,
    confidence=0.95,
    random_state=0,
    pos_label=None,
):
    """LOESS calibration curve with a percentile bootstrap band.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    span : float, default=2/3
        Fraction of the patients in each local fit; larger is smoother.
    n_points : int, default=50
        Grid points, evenly spaced between the smallest and largest prediction (the curve
        is not extrapolated beyond them).
    n_bootstrap : int, default=200
        Bootstrap resamples of the patients for the band; 0 for none (NaN band).
    confidence : float, default=0.95
        Coverage of the band.
    random_state : int, default=0
        Seed of the resamples.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    curve : DataFrame
        Columns ``predicted`` (the grid), ``observed`` (smoothed observed frequency),
        ``ci_low`` and ``ci_high`` (pointwise percentile band).

    See Also
    --------
    rdinet_sklearn.plots.plot_calibration : Draws it (``method="loess"``).
    calibration_intercept_slope : The two-number summary.

    Notes
    -----
    Austin P. C., Steyerberg E. W. (2014). Graphical assessment of internal and external
    calibration of logistic regression models by using loess smoothers. *Stat. Med.*
    33:517-535.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.metrics import smoothed_calibration_curve
    >>> rng = np.random.default_rng(0)
    >>> proba = rng.uniform(0.05, 0.95, 200)
    >>> y = (rng.uniform(size=200) < proba).astype(int)  # calibrated by construction
    >>> curve = smoothed_calibration_curve(y, proba, n_bootstrap=50)
    >>> curve.columns.tolist()
    ['predicted', 'observed', 'ci_low', 'ci_high']
    >>> bool(np.abs(curve["observed"] - curve["predicted"]).max() < 0.15)
    True
    """
    y, proba = check_binary_proba(y_true, proba, pos_label=pos_label)
    y, proba = np.asarray(y, float), np.asarray(proba, float)
    grid = np.linspace(proba.min(), proba.max(), n_points)
    observed = _loess(proba, y, grid, span)
    low = high = np.full(n_points, np.nan)
    if n_bootstrap:
        rng = np.random.default_rng(random_state)
        draws = []
        for _ in range(n_bootstrap):
            rows = rng.integers(0, len(y), len(y))
            draws.append(_loess(proba[rows], y[rows], grid, span))
        tail = 100 * (1 - confidence) / 2
        low, high = np.percentile(np.asarray(draws), [tail, 100 - tail], axis=0)
    return pd.DataFrame({"predicted": grid, "observed": observed, "ci_low": low, "ci_high": high})
