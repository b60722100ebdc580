"""Coverage of every confidence interval the study reports, on test cohorts of 30 patients.

Run: ``python benchmarks/bench_coverage.py [--n-sims 2000] [--seed 0]``.  Target (issue 13):
every AUC and count-metric (ACC, SEN, SPE, PPV, NPV) interval covers the true value in at
least 93 % of 2000 simulated cohorts, for AUC 0.6-0.95 and about 12/18 or 6/24 patients.

Simulation (binormal model): a cohort of 30 patients has Binomial(30, pi) positives, pi = 0.4
or 0.2 (drawn again when a class has fewer than 2 patients), so the class sizes vary as in a
real test cohort. A latent score is N(0, 1) for negatives and N(mu, 1) for positives, with
mu = sqrt(2) * Phi^-1(AUC), and the model's probability is expit(c + d * L(s)) with L the
true log-odds of the population, L(s) = logit(pi) + mu * s - mu^2 / 2, and d = 1.25,
c = -0.25: a slightly overconfident model (true calibration slope 1 / d = 0.8) that
overestimates risk a little. The operating threshold is fixed in advance at s = mu / 2, so
SEN = SPE = Phi(mu / 2) and PPV, NPV, ACC follow from pi exactly; the true Brier score and
calibration intercept are integrals over the two normal densities (Gauss-Hermite
quadrature). Each interval is computed with the library's own functions; undefined ones
(PPV with no positive call; a calibration slope when the classes are separated or the
predictions near-constant; the calibration intercept and slope when the predictions are
saturated at 0 or 1) are left out of that interval's coverage and counted, per interval,
in the last table.
"""

import argparse
import time
import warnings

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq
from scipy.special import expit, logit
from scipy.stats import norm

from rdinet_sklearn.metrics import (
    brier_interval,
    calibration_intercept_slope,
    delong_auc_ci,
    proportion_interval,
)

N_PATIENTS = 30
PREVALENCES = {"12/18": 0.4, "6/24": 0.2}
AUCS = (0.6, 0.7, 0.8, 0.9, 0.95)
SLOPE_DISTORTION, INTERCEPT_SHIFT = 1.25, -0.25
TARGET = 0.93
COUNT_METRICS = ("ACC", "SEN", "SPE", "PPV", "NPV")
NODES, WEIGHTS = hermegauss(120)
WEIGHTS = WEIGHTS / WEIGHTS.sum()  # expectation of f(Z), Z ~ N(0, 1)


def model_logit(score, mu, prevalence):
    """Linear predictor of the simulated model at latent score ``score``."""
    true_log_odds = logit(prevalence) + mu * score - mu**2 / 2
    return INTERCEPT_SHIFT + SLOPE_DISTORTION * true_log_odds


def truth(auc, prevalence):
    """True values of every reported quantity in the population of one scenario."""
    mu = np.sqrt(2) * norm.ppf(auc)
    sensitivity = specificity = norm.cdf(mu / 2)
    called_positive = prevalence * sensitivity + (1 - prevalence) * (1 - specificity)
    lp_pos, lp_neg = model_logit(NODES + mu, mu, prevalence), model_logit(NODES, mu, prevalence)
    brier = prevalence * WEIGHTS @ (1 - expit(lp_pos)) ** 2 + (1 - prevalence) * WEIGHTS @ (
        expit(lp_neg) ** 2
    )

    def mean_recalibrated(shift):  # event rate predicted by logit P = shift + lp
        expected = prevalence * WEIGHTS @ expit(shift + lp_pos)
        return expected + (1 - prevalence) * WEIGHTS @ expit(shift + lp_neg)

    return {
        "mu": mu,
        "AUC": auc,
        "ACC": prevalence * sensitivity + (1 - prevalence) * specificity,
        "SEN": sensitivity,
        "SPE": specificity,
        "PPV": prevalence * sensitivity / called_positive,
        "NPV": (1 - prevalence) * specificity / (1 - called_positive),
        "Brier": brier,
        "intercept": brentq(lambda a: mean_recalibrated(a) - prevalence, -20, 20),
        "slope": 1 / SLOPE_DISTORTION,
    }


def simulate(rng, n_sims, mu, prevalence):
    """Labels (n_sims, 30) with >= 2 patients per class, and the model's probabilities."""
    n_positive = rng.binomial(N_PATIENTS, prevalence, size=n_sims)
    while (redraw := (n_positive < 2) | (n_positive > N_PATIENTS - 2)).any():
        n_positive[redraw] = rng.binomial(N_PATIENTS, prevalence, size=redraw.sum())
    y = np.arange(N_PATIENTS)[None, :] < n_positive[:, None]
    score = rng.standard_normal((n_sims, N_PATIENTS)) + mu * y
    return y, expit(model_logit(score, mu, prevalence)), score >= mu / 2


def count_pairs(y, called):
    tp, fp = (called & y).sum(1), (called & ~y).sum(1)
    tn, fn = (~called & ~y).sum(1), (~called & y).sum(1)
    return {
        "ACC": (tp + tn, tp + fp + tn + fn),
        "SEN": (tp, tp + fn),
        "SPE": (tn, tn + fp),
        "PPV": (tp, tp + fp),
        "NPV": (tn, tn + fn),
    }


def covered(low, high, value):
    """Coverage among the defined intervals, and the fraction undefined."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    defined = ~np.isnan(low)
    return float(np.mean((low[defined] <= value) & (value <= high[defined]))), 1 - defined.mean()


def scenario(rng, n_sims, auc, prevalence):
    true = truth(auc, prevalence)
    y, proba, called = simulate(rng, n_sims, true["mu"], prevalence)
    rows = {}
    auc_ci = np.empty((n_sims, 4))
    brier_ci = np.empty((n_sims, 2))
    calibration = np.empty((n_sims, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined slopes are counted, not shown
        for i in range(n_sims):
            result = delong_auc_ci(y[i], proba[i])
            auc_ci[i] = result.variance, result.ci_low, result.ci_high, result.auc
            brier_ci[i] = brier_interval(y[i], proba[i])[1:]
            calibration[i] = calibration_intercept_slope(y[i], proba[i])
    rows["AUC"], _ = covered(auc_ci[:, 1], auc_ci[:, 2], auc)
    rows["AUC zero-width"] = float(np.mean(auc_ci[:, 2] - auc_ci[:, 1] <= 0))
    pairs = count_pairs(y, called)
    for name in COUNT_METRICS:
        rows[name], undefined = covered(*proportion_interval(*pairs[name]), true[name])
        rows[f"{name} Wilson"], _ = covered(
            *proportion_interval(*pairs[name], method="wilson"), true[name]
        )
        if name in ("PPV", "NPV"):
            rows[f"{name} undefined"] = undefined
    rows["Brier"], _ = covered(brier_ci[:, 0], brier_ci[:, 1], true["Brier"])
    rows["intercept"], rows["intercept undefined"] = covered(
        calibration[:, 1], calibration[:, 2], true["intercept"]
    )
    rows["slope"], rows["slope undefined"] = covered(
        calibration[:, 4], calibration[:, 5], true["slope"]
    )
    # The interval the study used before issue 13: DeLong Wald, clipped to [0, 1].
    values, half = auc_ci[:, 3], norm.ppf(0.975) * np.sqrt(auc_ci[:, 0])
    rows["AUC Wald (old)"], _ = covered(
        np.clip(values - half, 0, 1), np.clip(values + half, 0, 1), auc
    )
    return rows


def print_table(title, names, results):
    print(f"\n{title}")
    header = f"| split | AUC | {' | '.join(names)} |"
    print(header)
    print("|" + " --- |" * (len(names) + 2))
    for (split, auc), rows in results.items():
        cells = " | ".join(f"{rows[n]:.3f}" for n in names)
        print(f"| {split} | {auc:.2f} | {cells} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    results = {
        (split, auc): scenario(rng, args.n_sims, auc, prevalence)
        for split, prevalence in PREVALENCES.items()
        for auc in AUCS
    }
    elapsed = time.perf_counter() - start

    reported = ["AUC", *COUNT_METRICS, "Brier", "intercept", "slope"]
    print(f"Coverage of the reported 95% intervals, {args.n_sims} cohorts of {N_PATIENTS} each")
    print_table("Reported intervals (binary_report, calibration_table)", reported, results)
    compared = ["AUC Wald (old)", *(f"{n} Wilson" for n in COUNT_METRICS)]
    print_table("Alternatives (not reported)", compared, results)
    undefined = [
        "AUC zero-width",
        "PPV undefined",
        "NPV undefined",
        "intercept undefined",
        "slope undefined",
    ]
    print_table("Fraction of cohorts left out (undefined) or degenerate", undefined, results)

    checked = ["AUC", *COUNT_METRICS]
    worst = min(rows[n] for rows in results.values() for n in checked)
    verdict = "met" if worst >= TARGET else "MISSED"
    print(f"\nlowest AUC/count coverage {worst:.3f}; target >= {TARGET}: {verdict}")
    print(f"{elapsed:.0f} s for {len(results)} scenarios")


if __name__ == "__main__":
    main()
