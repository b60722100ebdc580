"""ComBat's empirical Bayes estimates of each batch's location and scale (Johnson et al., 2007).

Everything works on the standardised data ``Z`` (features already centred on the pooled
reference and divided by the pooled SD) through per-batch sufficient statistics of each
feature (count, mean, sum of squared deviations), so missing values (NaN) simply do not
count, and the non-parametric prior needs no pass over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONVERGENCE_TOL = 1e-4
"""Relative change at which the parametric iteration stops (the value of R's ``sva::ComBat``)."""

MAX_ITER = 1000

_BLOCK = 512
"""Features per block of the non-parametric weights (a block x features matrix per step)."""


@dataclass(frozen=True)
class BatchMoments:
    """Per-batch statistics of each standardised feature: arrays (n_batches, n_features)."""

    count: np.ndarray
    mean: np.ndarray
    sum_squares: np.ndarray  # about the batch mean

    @property
    def variance(self):
        """Unbiased (ddof=1) variance; needs ``count >= 2``."""
        return self.sum_squares / (self.count - 1)


def batch_moments(Z, batch_codes, n_batches):
    """Count, mean and sum of squared deviations of each column of Z per batch, ignoring NaN."""
    finite = np.isfinite(Z)
    members = np.zeros((n_batches, Z.shape[0]))
    members[batch_codes, np.arange(Z.shape[0])] = 1.0
    count = members @ finite
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (members @ np.where(finite, Z, 0.0)) / count
    deviation = np.where(finite, Z - mean[batch_codes], 0.0)
    return BatchMoments(count, mean, members @ deviation**2)


def _prior_moments(values):
    """Mean and unbiased variance over features, or a NaN variance if fewer than two."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return (values.mean() if values.size else np.nan), np.nan
    return values.mean(), values.var(ddof=1)


def _informative(variance, mean):
    """Whether a prior's spread is defined and not zero up to rounding."""
    return bool(np.isfinite(variance) and variance > 1e-12 * max(mean**2, 1e-12))


def _parametric(moments, b):
    """Posterior means under a normal prior on the location and inverse gamma on the variance.

    The hyperparameters are the method-of-moments estimates over the batch's features
    (Johnson et al., 2007, section 3.1); the posterior is found by the paper's alternating
    iteration. A prior whose spread is undefined (a single feature) or zero (every feature
    has the same estimate) carries no information beyond the estimates, so they are kept.
    """
    n, gamma_hat, ss = moments.count[b], moments.mean[b], moments.sum_squares[b]
    delta_hat = moments.variance[b]
    gamma_bar, tau2 = _prior_moments(gamma_hat)
    mean_delta, var_delta = _prior_moments(delta_hat)
    shrink_gamma = _informative(tau2, gamma_bar)
    shrink_delta = _informative(var_delta, mean_delta)
    if not (shrink_gamma or shrink_delta):
        return gamma_hat, delta_hat
    if shrink_delta:
        a = (2 * var_delta + mean_delta**2) / var_delta
        b_prior = (mean_delta * var_delta + mean_delta**3) / var_delta
    gamma, delta = gamma_hat, delta_hat
    for _ in range(MAX_ITER):
        if shrink_gamma:
            gamma_new = (n * tau2 * gamma_hat + delta * gamma_bar) / (n * tau2 + delta)
        else:
            gamma_new = gamma_hat
        if shrink_delta:
            sum2 = ss + n * (gamma_hat - gamma_new) ** 2  # sum of (z - gamma_new)^2
            delta_new = (b_prior + 0.5 * sum2) / (n / 2 + a - 1)
        else:
            delta_new = delta_hat
        with np.errstate(invalid="ignore", divide="ignore"):
            change = np.nanmax(
                np.concatenate(
                    [
                        np.abs(gamma_new - gamma) / np.maximum(np.abs(gamma), 1e-12),
                        np.abs(delta_new - delta) / np.maximum(delta, 1e-12),
                    ]
                )
            )
        gamma, delta = gamma_new, delta_new
        if change < CONVERGENCE_TOL:
            break
    return gamma, delta


def _nonparametric(moments, b):
    """Posterior means under the empirical distribution of the other features' estimates.

    Feature ``g``'s location and scale become averages of the other features' estimates,
    weighted by the likelihood of ``g``'s standardised values under each of them (Johnson et
    al., 2007, section 3.2), computed in log space to avoid the underflow of the raw product.
    """
    n, gamma_hat, ss = moments.count[b], moments.mean[b], moments.sum_squares[b]
    delta_hat = moments.variance[b]
    usable = np.isfinite(gamma_hat) & (delta_hat > 0)
    candidates = np.flatnonzero(usable)
    if candidates.size < 2:
        return gamma_hat, delta_hat
    g_c, d_c = gamma_hat[candidates], delta_hat[candidates]
    gamma, delta = gamma_hat.copy(), delta_hat.copy()
    targets = np.flatnonzero(np.isfinite(gamma_hat))
    for start in range(0, targets.size, _BLOCK):
        rows = targets[start : start + _BLOCK]
        n_r, ss_r = n[rows, None], ss[rows, None]
        sum2 = ss_r + n_r * (gamma_hat[rows, None] - g_c[None, :]) ** 2
        log_lik = -0.5 * n_r * np.log(2 * np.pi * d_c) - sum2 / (2 * d_c)
        log_lik[rows[:, None] == candidates[None, :]] = -np.inf  # leave the feature itself out
        weights = np.exp(log_lik - log_lik.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        gamma[rows], delta[rows] = weights @ g_c, weights @ d_c
    return gamma, delta


ESTIMATORS = {
    "parametric": _parametric,
    "nonparametric": _nonparametric,
    "none": lambda moments, b: (moments.mean[b], moments.variance[b]),
}
"""``prior`` -> function of (moments, batch row) giving that batch's (gamma*, delta*)."""


def shrunk_batch_effects(moments, prior):
    """EB-adjusted location ``gamma*`` and variance ``delta*`` of every batch and feature.

    Parameters
    ----------
    moments : BatchMoments
        Per-batch statistics of the standardised features.
    prior : {"parametric", "nonparametric", "none"}
        Form of the prior; ``"none"`` keeps the per-batch estimates (no shrinkage).

    Returns
    -------
    gamma, delta : ndarray of shape (n_batches, n_features)
        Location and variance of each batch on the standardised scale.
    """
    estimate = ESTIMATORS[prior]
    pairs = [estimate(moments, b) for b in range(moments.count.shape[0])]
    return np.array([g for g, _ in pairs]), np.array([d for _, d in pairs])
