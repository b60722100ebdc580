"""Benchmark of the trainable ROI segmenter (ROISegmenter, issue 29).

Prints, for a synthetic cohort cross-validated with stratified folds:

1. per fold: training cases, fit wall time and CPU time (all threads), seconds per epoch
   (median after the first), the load average,
   inference seconds per case (predict, resample back, post-process, write);
2. out-of-fold Dice and 95th-percentile Hausdorff distance (mm) per structure against the
   manual masks, over every held-out case (mean, SD, minimum, and the t-interval 95% CI of
   the mean Dice);
3. peak memory: the process's peak resident set size (and peak CUDA memory on a GPU).

Folds can run in separate processes (``--run-folds 0`` and ``--run-folds 1``, each with
``--per-case``); ``--summarize`` then prints the table of their cases together.

Run: ``python benchmarks/bench_segmentation.py`` (147 patients at the generator's default
shape, 5 folds, as the acceptance criterion; long on a CPU). Reduce it with
``--n-patients 60 --max-folds 1`` and say so where figures are reported. ``--device cuda``
and ``--grid``/``--channels``/``--epochs`` give the paper size on a GPU (see
``benchmarks/gpu_check.sh``).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.model_selection import StratifiedKFold

from rdinet_sklearn import ROISegmenter
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.metrics import mask_overlap

STRUCTURES = {"IR": 1, "SR": 2, "MR": 3, "LR": 4}


def _ints(text):
    return tuple(int(v) for v in text.split(","))


def _load():
    """The 1/5/15-minute load averages: wall times on a shared machine depend on them."""
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def _mean_ci(values, level=0.95):
    """Student-t confidence interval of the mean (cases are independent patients)."""
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * stats.sem(values)
    return values.mean() - half, values.mean() + half


def _print_overlap(table, folds):
    """Out-of-fold Dice (mean, t-interval 95% CI, SD, min) and mean HD95 per structure."""
    n_cases = table[["fold", "patient"]].drop_duplicates().shape[0]
    print(f"\nout-of-fold, {n_cases} held-out cases ({folds})")
    print(f"{'structure':<9} {'Dice mean':>9} {'95% CI':>13} {'SD':>6} {'min':>6} {'HD95 mm':>8}")
    for name, rows in table.groupby("structure", sort=False):
        dice = rows["dice"].to_numpy()
        low, high = _mean_ci(dice)
        hd95 = rows["hd95_mm"].mean()  # NaN (an empty structure) left out
        print(
            f"{name:<9} {dice.mean():>9.3f} {f'{low:.3f}-{high:.3f}':>13} "
            f"{dice.std(ddof=1):>6.3f} {dice.min():>6.3f} {hd95:>8.2f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=147)
    parser.add_argument("--shape", type=_ints, default=(20, 128, 224))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-folds", type=int, default=None, help="run only the first N")
    parser.add_argument(
        "--run-folds", type=_ints, help="run only these folds, e.g. 1,3 (another process ran 0)"
    )
    parser.add_argument("--epochs", type=int, default=ROISegmenter().max_epochs)
    parser.add_argument("--grid", type=_ints, default=ROISegmenter().grid_size)
    parser.add_argument("--channels", type=_ints, default=ROISegmenter().channels)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument(
        "--cohort", help="cohort folder: read its cases.csv if there, else generate it there"
    )
    parser.add_argument(
        "--summarize", nargs="+", help="only print the table of --per-case CSVs of other runs"
    )
    parser.add_argument("--per-case", help="CSV path: each held-out case's Dice and HD95")
    args = parser.parse_args(argv)
    if args.summarize:
        tables = [pd.read_csv(path) for path in args.summarize]
        _print_overlap(pd.concat(tables), f"merged from {len(tables)} --per-case files")
        return

    work = tempfile.mkdtemp(prefix="bench-seg-")
    start = time.perf_counter()
    if args.cohort and Path(args.cohort, "cases.csv").exists():
        cases = pd.read_csv(Path(args.cohort, "cases.csv"))
        cases.index = cases["patient_id"].to_numpy()
        y = cases.pop("response").to_numpy()
        print(f"cohort: {len(cases)} patients read from {args.cohort}")
    else:
        folder = args.cohort or f"{work}/cohort"
        cases, y = make_ted_cohort(args.n_patients, folder, shape=args.shape, n_jobs=2)
        cohort_s = time.perf_counter() - start
        print(f"cohort: {args.n_patients} patients at {args.shape} in {cohort_s:.0f} s")
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(cases, y))
    chosen = args.run_folds or range(len(folds))[: args.max_folds]
    folds = {fold: folds[fold] for fold in chosen}
    per_case = []
    print(f"load average {_load()} at {time.strftime('%H:%M:%S')}")
    print(f"grid {args.grid}, channels {args.channels}, {args.epochs} epochs, device {args.device}")
    print(
        f"{'fold':>4} {'train':>5} {'fit s':>8} {'fit CPU s':>10} {'s/epoch':>8} "
        f"{'infer s/case':>13}"
    )
    for fold, (train, test) in folds.items():
        segmenter = ROISegmenter(
            STRUCTURES,
            grid_size=args.grid,
            channels=args.channels,
            max_epochs=args.epochs,
            device=args.device,
            precision=args.precision,
            memory=f"{work}/cache",
            random_state=fold,
        )
        start, cpu_start = time.perf_counter(), time.process_time()
        segmenter.fit(cases.iloc[train])
        fit_s = time.perf_counter() - start
        # CPU seconds of all threads, beside the wall time: on an oversubscribed machine
        # both inflate (OpenMP threads spin while they wait for a core; 5x was seen at a
        # load of 5-7), so only a quiet machine's wall time is the figure to quote
        fit_cpu_s = time.process_time() - cpu_start
        start = time.perf_counter()
        out = segmenter.transform(cases.iloc[test])
        infer_s = (time.perf_counter() - start) / len(test)
        epoch_s = np.median(segmenter.epoch_seconds_[1:] or segmenter.epoch_seconds_)
        print(
            f"{fold:>4} {len(train):>5} {fit_s:>8.1f} {fit_cpu_s:>10.1f} {epoch_s:>8.2f} "
            f"{infer_s:>13.2f}"
            f"   (load average {_load()}, {time.strftime('%H:%M:%S')})"
        )
        for name, value in STRUCTURES.items():
            for row, predicted, manual in zip(
                out.index, out["mask"], out["mask_manual"], strict=True
            ):
                dice, hd95 = mask_overlap(predicted, manual, value)
                per_case.append((fold, row, name, dice, hd95))

    columns = ["fold", "patient", "structure", "dice", "hd95_mm"]
    table = pd.DataFrame(per_case, columns=columns)
    if args.per_case:
        table.to_csv(args.per_case, index=False)
    _print_overlap(table, f"{len(folds)} of {args.folds} folds")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    line = f"peak RSS {peak:.2f} GiB"
    if torch.cuda.is_available():
        line += f", peak CUDA memory {torch.cuda.max_memory_allocated() / 1024**3:.2f} GiB"
    print(line)


if __name__ == "__main__":
    main()
