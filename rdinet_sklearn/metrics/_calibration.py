"""Calibration intercept and slope (logistic recalibration) with Wald confidence intervals.

The two fits are unpenalised logistic regressions of the outcome on ``logit(proba)`` with
one or two parameters, and their Wald intervals need the observed information at the
optimum. statsmodels, which reports both, is not a dependency, and scikit-learn's
``LogisticRegression`` reports no information matrix and spells "no penalty" differently
across the supported versions (``penalty=None`` before 1.8, ``C=np.inf`` from 1.8), so the
fits are written here: a bracketed root for the intercept, a damped Newton-Raphson for the
slope, each a few lines of numpy.
"""

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from ._intervals import brier_interval, z_critical
from ._validation import check_binary_proba, warn_undefined

PROBABILITY_CLIP = 1e-6
"""Probabilities are clipped to ``[PROBABILITY_CLIP, 1 - PROBABILITY_CLIP]`` before the logit,
so models that output exactly 0 or 1 (e.g. a random forest) get a finite linear predictor."""

_MAX_NEWTON_STEPS = 100

NEAR_CONSTANT_LOGIT_SD = 0.01
"""Below this standard deviation of ``logit(proba)`` the predictions are (near-)constant: the
slope would be the ratio of noise to almost nothing (thousands, with an interval as wide)."""

SATURATED_INFORMATION = 0.01
"""Least mean Fisher information per patient, the mean of p(1 - p) at the intercept fit, for
estimable recalibration. Below it (every prediction beyond about 0.01 or 0.99) the model is
saturated: the fitted probabilities carry almost no uncertainty and the intercept and slope
measure how far the clip PROBABILITY_CLIP lies from the truth, not the model (the demo
printed an intercept of -37.1, -86.9 to 12.7)."""


class CalibrationResult(NamedTuple):
    """Calibration intercept and slope with their Wald confidence intervals.

    Returned by :func:`calibration_intercept_slope`; a named tuple, so it also unpacks in
    field order. NaN where the quantity cannot be estimated (see that function).

    Parameters
    ----------
    intercept, intercept_low, intercept_high : float
        Calibration intercept ("calibration-in-the-large") and its interval; 0 when the
        mean prediction matches the event rate.
    slope, slope_low, slope_high : float
        Calibration slope and its interval; 1 is ideal, below 1 means predictions too
        extreme (overfitting).

    See Also
    --------
    calibration_intercept_slope : Computes it.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import calibration_intercept_slope
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]
    >>> proba = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7, 0.55, 0.3]
    >>> result = calibration_intercept_slope(y, proba)
    >>> result._fields[:3]
    ('intercept', 'intercept_low', 'intercept_high')
    """

    intercept: float
    intercept_low: float
    intercept_high: float
    slope: float
    slope_low: float
    slope_high: float


def _intercept_fit(y, offset):
    """MLE and standard error of ``a`` in ``logit P(y) = a + offset``; NaN with one class."""
    events = y.sum()
    if events == 0 or events == y.shape[0]:
        return np.nan, np.nan

    def score(a):  # decreasing in a, from `events` down to `events - n`
        return events - expit(a + offset).sum()

    span = 1.0
    while score(-span) <= 0 or score(span) >= 0:
        span *= 2
    a = brentq(score, -span, span, xtol=1e-12)
    fitted = expit(a + offset)
    return a, 1.0 / np.sqrt(np.sum(fitted * (1 - fitted)))


def _log_likelihood(y, eta):
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _slope_fit(y, x):
    """MLE and standard errors of ``(a, b)`` in ``logit P(y) = a + b x`` by Newton-Raphson.

    Returns ``None`` when the maximum is not finite (x separates the classes) or not
    identified (x constant); the caller reports why.
    """
    design = np.column_stack([np.ones_like(x), x])
    params = np.array([0.0, 1.0])
    current = _log_likelihood(y, design @ params)
    for _ in range(_MAX_NEWTON_STEPS):
        fitted = expit(design @ params)
        information = design.T @ (design * (fitted * (1 - fitted))[:, None])
        step = np.linalg.solve(information, design.T @ (y - fitted))
        # Halve the step until the likelihood does not decrease (damped Newton).
        for _ in range(30):
            candidate = _log_likelihood(y, design @ (params + step))
            if candidate >= current - 1e-12:
                break
            step /= 2
        params, previous, current = params + step, current, candidate
        if abs(current - previous) < 1e-12 and np.max(np.abs(step)) < 1e-9:
            fitted = expit(design @ params)
            information = design.T @ (design * (fitted * (1 - fitted))[:, None])
            return params, np.sqrt(np.diag(np.linalg.inv(information)))
    return None


def _separates(y, x):
    """True when a threshold on x puts the classes apart (ties allowed): no finite slope."""
    return x[y == 1].min() >= x[y == 0].max() or x[y == 1].max() <= x[y == 0].min()


def _calibration_with_problems(y_bin, proba, confidence=0.95):
    """:class:`CalibrationResult` and why parts of it are undefined (empty list if none)."""
    z = z_critical(confidence)
    y = np.asarray(y_bin, float)
    x = logit(np.clip(np.asarray(proba, float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP))
    problems = []
    if y.sum() in (0, y.shape[0]):
        problems.append("only one class is present, so calibration cannot be estimated")
        return CalibrationResult(*[np.nan] * 6), problems
    intercept, intercept_se = _intercept_fit(y, x)
    information = 1.0 / (intercept_se**2 * y.shape[0])
    slope_fit = None
    if information < SATURATED_INFORMATION:
        problems.append(
            f"the predictions are saturated at 0 or 1 (mean p(1 - p) at the fit {information:.2g}"
            f" < {SATURATED_INFORMATION:g}), so the calibration intercept and slope are not "
            "estimable: they would measure the clipping of the probabilities, not the model"
        )
        intercept = intercept_se = np.nan
    elif np.ptp(x) == 0:
        problems.append("all predictions are equal, so the calibration slope is undefined")
    elif np.std(x) < NEAR_CONSTANT_LOGIT_SD:
        problems.append(
            f"the predictions are near-constant (SD of logit(proba) {np.std(x):.2g} < "
            f"{NEAR_CONSTANT_LOGIT_SD:g}), so the calibration slope is not estimable"
        )
    elif _separates(y, x):
        problems.append(
            "the predictions separate the classes perfectly, so the calibration slope is infinite"
        )
    else:
        slope_fit = _slope_fit(y, x)
        if slope_fit is None:
            problems.append("the calibration slope fit did not converge")
    slope, slope_se = (np.nan, np.nan) if slope_fit is None else (slope_fit[0][1], slope_fit[1][1])
    result = CalibrationResult(
        float(intercept),
        float(intercept - z * intercept_se),
        float(intercept + z * intercept_se),
        float(slope),
        float(slope - z * slope_se),
        float(slope + z * slope_se),
    )
    return result, problems


def calibration_intercept_slope(
    y_true, proba, *, confidence=0.95, pos_label=None, model=None, cohort=None
):
    """Calibration intercept and slope of predicted probabilities, with Wald intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    confidence : float, default=0.95
        Coverage of the two-sided intervals.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    model, cohort : str, default=None
        Names used in the warning about undefined values.

    Returns
    -------
    CalibrationResult
        ``(intercept, intercept_low, intercept_high, slope, slope_low, slope_high)``.
        Undefined values are NaN, with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning` saying why: everything when
        only one class is present; the intercept and the slope when the predictions are
        saturated at 0 or 1 (they would measure the clipping of the probabilities); the
        slope alone when the predictions are equal or near-constant, or separate the
        classes perfectly (the maximum-likelihood slope is then infinite).

    See Also
    --------
    rdinet_sklearn.metrics.calibration_table : The numbers for several models and cohorts.
    rdinet_sklearn.plots.plot_calibration : The calibration curve.

    Notes
    -----
    With the linear predictor :math:`x = \\mathrm{logit}(p)` (probabilities clipped to
    :math:`[10^{-6}, 1 - 10^{-6}]`), the calibration slope :math:`b` is that of the
    logistic recalibration :math:`\\mathrm{logit}\\,P(y = 1) = a + b x` (Cox 1958), and the
    calibration intercept :math:`a_0` that of :math:`\\mathrm{logit}\\,P(y = 1) = a_0 + x`,
    the slope fixed at 1 ("calibration-in-the-large", Van Calster et al. 2016). Both are
    maximum-likelihood fits; the intervals are :math:`\\hat\\theta \\pm z\\, SE` with SE
    from the inverse observed information. In ``benchmarks/bench_coverage.py`` (30
    patients) they cover 0.91-0.97 (intercept) and about 0.96 (slope, where it is finite).

    Cox D. R. (1958). Two further applications of a model for binary regression.
    Biometrika 45:562-565.
    Van Calster B. et al. (2016). A calibration hierarchy for risk models was defined:
    from utopia to empirical data. J. Clin. Epidemiol. 74:167-176.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import calibration_intercept_slope
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]
    >>> proba = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7, 0.55, 0.3]
    >>> result = calibration_intercept_slope(y, proba)
    >>> round(result.intercept, 3), round(result.slope, 3)
    (0.053, 1.909)
    """
    y_bin, proba = check_binary_proba(
        y_true, proba, pos_label=pos_label, require_both_classes=False
    )
    result, problems = _calibration_with_problems(y_bin, proba, confidence)
    warn_undefined("calibration_intercept_slope", problems, model=model, cohort=cohort)
    return result


def calibration_report(y_true, proba, *, confidence=0.95, pos_label=None, model=None, cohort=None):
    """Brier score, calibration intercept and calibration slope with confidence intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (two classes; with one, only the Brier score is defined).
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probability of the positive class.
    confidence : float, default=0.95
        Coverage of the two-sided intervals.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.
    model, cohort : str, default=None
        Names used in the warning about undefined values.

    Returns
    -------
    pandas.DataFrame
        Rows ``Brier``, ``Calibration intercept``, ``Calibration slope``; columns
        ``metric``, ``value``, ``ci_low``, ``ci_high``, ``method`` (``"hall-t"`` for the
        Brier score, see :func:`brier_interval`; ``"wald"`` for the other two, see
        :func:`calibration_intercept_slope`) and ``note`` (why a value is not estimable,
        else ``""``). Undefined values are NaN, with one
        :class:`~sklearn.exceptions.UndefinedMetricWarning` naming ``model`` and
        ``cohort``.

    See Also
    --------
    calibration_table : Several models and cohorts side by side.
    binary_report : The discrimination and threshold metrics.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import calibration_report
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]
    >>> proba = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7, 0.55, 0.3]
    >>> calibration_report(y, proba)[["metric", "value", "method"]].round(3)
                      metric  value  method
    0                  Brier  0.143  hall-t
    1  Calibration intercept  0.053    wald
    2      Calibration slope  1.909    wald
    """
    y_bin, proba = check_binary_proba(
        y_true, proba, pos_label=pos_label, require_both_classes=False
    )
    brier = brier_interval(y_bin, proba, confidence=confidence)
    result, problems = _calibration_with_problems(y_bin, proba, confidence)
    if np.isnan(brier[1]):
        problems.insert(0, "all squared errors are equal, so the Brier interval is undefined")
    warn_undefined("calibration_report", problems, model=model, cohort=cohort)
    rows = [
        ("Brier", *brier, "hall-t", _note(problems, "Brier")),
        ("Calibration intercept", *result[:3], "wald", _note(problems, "intercept")),
        ("Calibration slope", *result[3:], "wald", _note(problems, "slope")),
    ]
    columns = ["metric", "value", "ci_low", "ci_high", "method", "note"]
    return pd.DataFrame(rows, columns=columns)


def _note(problems, *keys):
    """The problems that concern one row (by a word they contain), joined; "" if none."""
    one_class = "only one class"
    return "; ".join(p for p in problems if any(k in p for k in keys) or p.startswith(one_class))
