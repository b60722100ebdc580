"""Benchmark of the trainable ROI segmenter (ROISegmenter, issue 29).

Prints, for a synthetic cohort cross-validated with stratified folds:

1. per fold: training cases, fit wall time, seconds per epoch (median after the first),
   inference seconds per case (predict, resample back, post-process, write);
2. out-of-fold Dice and 95th-percentile Hausdorff distance (mm) per structure against the
   manual masks, over every held-out case (mean, SD, minimum);
3. peak memory: the process's peak resident set size (and peak CUDA memory on a GPU).

Run: ``python benchmarks/bench_segmentation.py`` (147 patients at the generator's default
shape, 5 folds, as the acceptance criterion; long on a CPU). Reduce it with
``--n-patients 60 --max-folds 1`` and say so where figures are reported. ``--device cuda``
and ``--grid``/``--channels``/``--epochs`` give the paper size on a GPU (see
``benchmarks/gpu_check.sh``).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from rdinet_sklearn import ROISegmenter
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.metrics import mask_overlap

STRUCTURES = {"IR": 1, "SR": 2, "MR": 3, "LR": 4}


def _ints(text):
    return tuple(int(v) for v in text.split(","))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=147)
    parser.add_argument("--shape", type=_ints, default=(20, 128, 224))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-folds", type=int, default=None, help="run only the first N")
    parser.add_argument("--epochs", type=int, default=ROISegmenter().max_epochs)
    parser.add_argument("--grid", type=_ints, default=ROISegmenter().grid_size)
    parser.add_argument("--channels", type=_ints, default=ROISegmenter().channels)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-seg-")
    start = time.perf_counter()
    cases, y = make_ted_cohort(args.n_patients, f"{work}/cohort", shape=args.shape, n_jobs=2)
    cohort_s = time.perf_counter() - start
    print(f"cohort: {args.n_patients} patients at {args.shape} in {cohort_s:.0f} s")
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(cases, y))
    folds = folds[: args.max_folds]
    scores = {name: {"dice": [], "hd95": []} for name in STRUCTURES}
    print(f"grid {args.grid}, channels {args.channels}, {args.epochs} epochs, device {args.device}")
    print(f"{'fold':>4} {'train':>5} {'fit s':>8} {'s/epoch':>8} {'infer s/case':>13}")
    for fold, (train, test) in enumerate(folds):
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
        start = time.perf_counter()
        segmenter.fit(cases.iloc[train])
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        out = segmenter.transform(cases.iloc[test])
        infer_s = (time.perf_counter() - start) / len(test)
        epoch_s = np.median(segmenter.epoch_seconds_[1:] or segmenter.epoch_seconds_)
        print(f"{fold:>4} {len(train):>5} {fit_s:>8.1f} {epoch_s:>8.2f} {infer_s:>13.2f}")
        for name, value in STRUCTURES.items():
            for predicted, manual in zip(out["mask"], out["mask_manual"], strict=True):
                dice, hd95 = mask_overlap(predicted, manual, value)
                scores[name]["dice"].append(dice)
                scores[name]["hd95"].append(hd95)

    n_cases = len(scores["MR"]["dice"])
    print(f"\nout-of-fold, {n_cases} held-out cases ({len(folds)} of {args.folds} folds)")
    print(f"{'structure':<9} {'Dice mean':>9} {'SD':>6} {'min':>6} {'HD95 mm':>8}")
    for name, values in scores.items():
        dice = np.asarray(values["dice"])
        hd95 = np.nanmean(values["hd95"]) if np.any(np.isfinite(values["hd95"])) else np.nan
        print(f"{name:<9} {dice.mean():>9.3f} {dice.std():>6.3f} {dice.min():>6.3f} {hd95:>8.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    line = f"peak RSS {peak:.2f} GiB"
    if torch.cuda.is_available():
        line += f", peak CUDA memory {torch.cuda.max_memory_allocated() / 1024**3:.2f} GiB"
    print(line)


if __name__ == "__main__":
    main()
