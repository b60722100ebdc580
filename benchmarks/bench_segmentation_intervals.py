"""Benchmark: coverage of the intervals the study prints for Dice and HD95 (issue 29).

The report's "Segmentation quality" table summarises per-case Dice and 95th-percentile
Hausdorff distance over 12-147 cases. Both have long tails: most cases segment well, a few
muscles are largely missed (Dice 0.3-0.6, HD95 5-15 mm; ``RESULTS.md``, "ROI segmenter").
This simulation draws such samples and counts how often each interval holds its target:

* Student's t interval of the mean (what the table printed before), target: the mean;
* the distribution-free interval of the median (order statistics, ``median_interval`` of
  ``rdinet_sklearn.metrics._intervals``, what the table prints now), target: the median.

The populations: Dice ~ Beta(40, 5.5) (mean about 0.88) and HD95 ~ LogNormal(0, 0.5) mm,
each case replaced, with probability ``--tail``, by a failure (Dice ~ U(0.3, 0.6), HD95 ~
U(5, 15) mm). Targets are computed on 2,000,000 draws.

Run: ``python benchmarks/bench_segmentation_intervals.py`` (about a minute).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from rdinet_sklearn.metrics._intervals import median_interval

SIZES = (12, 30, 48, 117, 147)


def dice(rng, n, tail):
    values = rng.beta(40, 5.5, n)
    failed = rng.random(n) < tail
    values[failed] = rng.uniform(0.3, 0.6, failed.sum())
    return values


def hd95(rng, n, tail):
    values = rng.lognormal(0.0, 0.5, n)
    failed = rng.random(n) < tail
    values[failed] = rng.uniform(5.0, 15.0, failed.sum())
    return values


def t_interval(values):
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def order_statistic_interval(values):
    return median_interval(values)[1:]


def coverage(rng, draw, tail, n, interval, target, reps):
    hits = 0
    for _ in range(reps):
        low, high = interval(draw(rng, n, tail))
        hits += low <= target <= high
    return hits / reps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000, help="samples per cell")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(f"coverage of nominal 95% intervals, {args.reps} samples per cell")
    print(f"{'metric':<6} {'tail':>5} {'interval':<22}" + "".join(f"{f'n={n}':>8}" for n in SIZES))
    for name, draw in (("Dice", dice), ("HD95", hd95)):
        for tail in (0.0, 0.03):
            population = draw(rng, 2_000_000, tail)
            for label, interval, target in (
                ("t, mean", t_interval, population.mean()),
                ("order stats, median", order_statistic_interval, np.median(population)),
            ):
                cells = [coverage(rng, draw, tail, n, interval, target, args.reps) for n in SIZES]
                print(f"{name:<6} {tail:>5.0%} {label:<22}" + "".join(f"{c:>8.3f}" for c in cells))


if __name__ == "__main__":
    main()
