"""Time the vectorised ICC on a radiomics-sized table against a pingouin per-feature loop.

Run: ``python benchmarks/bench_icc.py``.  Target: the vectorised ICC(2,1) of 1000 features x
100 patients x 2 raters in under 10 ms.  pingouin is timed on a subset of features and
extrapolated linearly (it handles one feature per call).
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import pingouin

from rdinet_sklearn.selection import intraclass_correlation

TARGET_MS = 10.0


def make_ratings(n_patients, n_features, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(n_patients, 1, n_features))
    return truth + rng.normal(scale=0.3, size=(n_patients, 2, n_features))


def best_of(function, repeats):
    """Fastest wall time of ``repeats`` calls, in seconds (least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def pingouin_loop(ratings):
    icc = []
    for f in range(ratings.shape[2]):
        wide = pd.DataFrame(ratings[:, :, f]).rename_axis("patient").reset_index()
        long = wide.melt(id_vars="patient", var_name="rater", value_name="value")
        table = pingouin.intraclass_corr(long, targets="patient", raters="rater", ratings="value")
        icc.append(table.set_index("Type").loc["ICC(A,1)", "ICC"])
    return np.array(icc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--features", type=int, default=1000)
    parser.add_argument("--pingouin-subset", type=int, default=20)
    args = parser.parse_args()

    ratings = make_ratings(args.patients, args.features)
    ours = best_of(lambda: intraclass_correlation(ratings, kind="ICC(2,1)"), repeats=20)

    subset = ratings[:, :, : args.pingouin_subset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pingouin's pandas deprecation warnings
        reference = pingouin_loop(subset)
        loop = best_of(lambda: pingouin_loop(subset), repeats=2)
    extrapolated = loop * args.features / args.pingouin_subset
    max_diff = np.abs(intraclass_correlation(subset, kind="ICC(2,1)") - reference).max()

    size = f"{args.features} features x {args.patients} patients x 2 raters"
    print(f"ICC(2,1) of {size}")
    print(f"{'method':<42} {'time (ms)':>12} {'speed-up':>10}")
    print(f"{'rdinet_sklearn intraclass_correlation':<42} {ours * 1e3:>12.2f} {'1x':>10}")
    label = f"pingouin loop ({args.pingouin_subset} feats, extrapolated)"
    print(f"{label:<42} {extrapolated * 1e3:>12.0f} {extrapolated / ours:>9.0f}x")
    verdict = "met" if ours * 1e3 < TARGET_MS else "MISSED"
    print(f"target < {TARGET_MS:.0f} ms: {verdict}; max |ours - pingouin| = {max_diff:.1e}")


if __name__ == "__main__":
    main()
