"""Benchmark: the study's models on automatic vs manual masks over the same splits (issue 29).

On the synthetic cohort, stratified k-fold (``--repeats`` times), the study's quick-preset
pipelines built by its own factory (``rdinet_sklearn.study._models``):

* the radiomics MR+LR pipeline (ICC, t-test, LASSO, ``--classifier``) and
* RDINet+clinical MR+LR,

each with ``segmentation.mode`` auto (an in-fold ``ROISegmenter`` first: the whole automatic
chain) and manual (the same pipeline without it), scored on the same splits at the
pipelines' default parameters (untuned, so both mask sources get the same model). Prints
each fold's AUC, the corrected resampled t interval of (auto - manual) and the
non-inferiority verdict at ``--margin`` (the study's own ``noninferiority``). The same
interval for the manual pipeline with the next seed against itself (``seed`` moves the
networks' initial weights and batch order, LASSO's folds) shows the test's resolution: a
pipeline cannot be shown non-inferior to itself with a narrower interval. With
``--network-seeds N`` RDINet's AUC on a split is the mean over N network seeds (the
networks' initial weights and batch order; the segmenter keeps its seed), which averages
out the training noise that dominates a single network's split AUC. Then a
permuted-label control of the whole automatic radiomics chain (y permuted, same splits):
its mean AUC with the same interval, which should hold 0.5.

Run: ``python benchmarks/bench_auto_vs_manual.py --repeats 3 --n-jobs 2`` (147 patients at
the generator's default shape, 3 x 5 folds, the quick preset's settings; about 30 minutes on
a 2-core CPU, most of it the 15 segmenter fits; ``--work DIR`` keeps the cache for a rerun).
A reduced run::

    python benchmarks/bench_auto_vs_manual.py --n-patients 40 --folds 3 --shape 8,48,96 \\
        --seg-grid 8,32,64 --seg-epochs 25 --deep-epochs 3 --volume-size 4,16,16
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.exceptions import RdinetInputError
from rdinet_sklearn.study import build_cohort, make_config
from rdinet_sklearn.study._auto_vs_manual import noninferiority
from rdinet_sklearn.study._comparison import repeated_cv_aucs
from rdinet_sklearn.study._models import radiomics_model, rdinet_model, study_extractor

ROI = "MR+LR"


def _ints(text):
    return [int(v) for v in text.split(",")]


def _settings(args):
    changes = {
        "n_jobs": args.n_jobs,
        "radiomics": {"roi_strategies": [ROI], "classifiers": [args.classifier]},
        "deep": {"rois": [ROI]},
        "segmentation": {},
    }
    if args.deep_epochs:
        changes["deep"]["max_epochs"] = args.deep_epochs
    if args.seg_epochs:
        changes["segmentation"]["max_epochs"] = args.seg_epochs
    if args.seg_grid:
        changes["segmentation"]["grid_size"] = args.seg_grid
    if args.volume_size:
        changes["deep"]["volume_size"] = args.volume_size
    return changes


def _pipelines(config, cohort, cache, args):
    """The two models' factories: (settings, first network seed) -> unfitted pipelines.

    RDINet gives one pipeline per network seed (``--network-seeds`` of them, from the first),
    whose split AUCs are averaged; the radiomics pipeline has no network: one pipeline.
    """
    features = study_extractor(config, ROI, cache).set_output(transform="pandas")
    columns = features.fit_transform(cohort.cases).columns  # manual features, cached once
    batch = cohort.batch_columns

    def radiomics(settings, first_seed):
        return [
            radiomics_model(args.classifier, settings, roi=ROI, cache=cache, batch_columns=batch)[0]
        ]

    def rdinet(settings, first_seed):
        return [
            rdinet_model(settings, ROI, columns, clinical=cohort.clinical, memory=cache).set_params(
                clf__random_state=seed
            )
            for seed in range(first_seed, first_seed + args.network_seeds)
        ]

    pipelines = {f"Radiomics {ROI} {args.classifier.upper()}": radiomics}
    if not args.skip_rdinet:
        pipelines[f"RDINet+clinical {ROI}"] = rdinet
    return pipelines


def _sizes(splits):
    return (
        float(np.mean([len(train) for train, _ in splits])),
        float(np.mean([len(validation) for _, validation in splits])),
    )


def _split_aucs(label, pipelines, X, y, splits):
    """Each split's AUC (the mean over ``pipelines``), printed as it comes."""
    aucs = []
    for k, split in enumerate(splits):
        started = time.perf_counter()
        auc = np.mean([repeated_cv_aucs(p, {}, X, y, [split])[0] for p in pipelines])
        aucs.append(auc)
        seconds = time.perf_counter() - started
        print(f"  {label}, split {k}: {auc:.3f} ({seconds:.0f} s)", flush=True)
    return aucs


def _row(label, aucs):
    return f"{label:<34}" + " ".join(f"{a:>6.3f}" for a in aucs) + f"  | mean {np.mean(aucs):.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=147)
    parser.add_argument("--shape", type=_ints, default=None, help="z,y,x of the cohort")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--classifier", default="logreg", choices=["logreg", "svm", "rf"])
    parser.add_argument("--seg-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--seg-grid", type=_ints, default=None)
    parser.add_argument("--deep-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--volume-size", type=_ints, default=None)
    parser.add_argument("--margin", type=float, default=0.05)
    parser.add_argument("--skip-rdinet", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1, help="cases extracted in parallel")
    parser.add_argument(
        "--network-seeds",
        type=int,
        default=1,
        help="RDINet's split AUC is the mean over this many network seeds (the reseeded "
        "control takes the next as many)",
    )
    parser.add_argument("--work", default=None, help="folder kept between runs (its cache)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # small folds: selector fallbacks, convergence notes

    work = args.work or tempfile.mkdtemp(prefix="bench-auto-manual-")
    shape = {"shape": tuple(args.shape)} if args.shape else {}
    cases, y = make_ted_cohort(args.n_patients, f"{work}/cohort", random_state=args.seed, **shape)
    config = make_config("quick", overrides=[_settings(args)])
    cohort, manual, _ = build_cohort(cases, y, config)
    automatic = manual.updated({"segmentation": {"mode": "auto"}})
    X, y = cohort.cases, cohort.y.to_numpy()
    cache = f"{work}/cache"
    cv = RepeatedStratifiedKFold(
        n_splits=args.folds, n_repeats=args.repeats, random_state=args.seed
    )
    splits = list(cv.split(np.zeros((y.size, 1)), y))
    n_train, n_test = _sizes(splits)
    print(
        f"{args.n_patients} patients ({int(y.sum())} positive), {args.repeats} x {args.folds}-fold "
        f"stratified CV; segmenter {automatic.segmentation.max_epochs} epochs at grid "
        f"{automatic.segmentation.grid_size}; networks {automatic.deep.max_epochs} epochs"
    )
    print(f"{'model, masks':<34}" + " ".join(f"{f'split{k}':>6}" for k in range(len(splits))))
    reseeded = manual.updated({"seed": args.seed + 1})
    runs = (
        ("automatic", automatic, args.seed),
        ("manual", manual, args.seed),
        ("manual, next seed", reseeded, args.seed + args.network_seeds),
    )
    verdicts = []
    factories = _pipelines(manual, cohort, cache, args)
    for name, make in factories.items():
        aucs = {}
        for masks, settings, first_seed in runs:
            started = time.perf_counter()
            try:
                pipelines = make(settings, first_seed)
                aucs[masks] = _split_aucs(f"{name}, {masks}", pipelines, X, y, splits)
            except RdinetInputError as error:  # e.g. an automatic mask the next step refuses
                print(f"{f'{name}, {masks}':<34} failed: {error}")
                continue
            seconds = time.perf_counter() - started
            print(_row(f"{name}, {masks}", aucs[masks]) + f"  ({seconds:.0f} s)")
        for label, first in (("auto - manual", "automatic"), ("reseeded", "manual, next seed")):
            if first in aucs and "manual" in aucs:
                row = noninferiority(aucs[first], aucs["manual"], n_train, n_test, args.margin)
                verdicts.append((f"{name}, {label}", row))

    print(
        f"\nCV AUC differences, corrected resampled t 95% interval, margin -{args.margin} "
        "(reseeded: the manual pipeline with the next seeds - itself, the test's resolution)"
    )
    for name, row in verdicts:
        verdict = "non-inferior" if row["non_inferior"] else "non-inferiority not shown"
        print(
            f"{name:<44} {row['cv_difference']:+.3f} [{row['ci_low']:+.3f}, "
            f"{row['ci_high']:+.3f}]  p={row['p_value']:.3f}  {verdict}"
        )

    permuted = np.random.default_rng(args.seed).permutation(y)
    name, make = next(iter(factories.items()))
    started = time.perf_counter()
    print("\npermuted-label control of the automatic chain (same splits)")
    try:
        control = _split_aucs("permuted", make(automatic, args.seed), X, permuted, splits)
    except RdinetInputError as error:  # as above: reported, not a traceback
        print(f"{name}, automatic, y permuted: failed: {error}")
        return
    seconds = time.perf_counter() - started
    print(_row(f"{name}, automatic, y permuted", control) + f"  ({seconds:.0f} s)")
    chance = noninferiority(control, [0.5] * len(control), n_train, n_test, args.margin)
    print(
        f"mean AUC {chance['cv_auc_automatic']:.3f}, 95% interval "
        f"[{0.5 + chance['ci_low']:.3f}, {0.5 + chance['ci_high']:.3f}] (corrected resampled t)"
    )


if __name__ == "__main__":
    main()
