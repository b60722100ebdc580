"""Preprocessing: time per case of each step, and what N4 + normalisation do to a scanner shift.

Part 1, timing, on the real soft-tissue-sarcoma T1 MRI (``../shared/data/real-dicom/sts``,
3 patients, about 174 x 158 x 59 voxels of 0.98 x 0.98 x 3.3 mm): the Must-work pipeline's
steps (``Resampler((1, 1, 1))``, ``BiasFieldCorrector()``, ``IntensityNormalizer("nyul")``)
each timed per case with an empty cache, then ``RadiomicsExtractor`` per ROI (``original``
and ``study`` presets) on the original and on the preprocessed images.

Part 2, scanner shift (as ``bench_harmonization.py``): synthetic cohorts ``A`` (training,
``random_state=0``), ``ext`` (``random_state=1``) and ``ext shifted`` (the same patients on
a second scanner, ``ScannerShift()``); MR+LR radiomics with the ``quick`` preset's
``original`` features and the study's radiomics pipelines (tuned by 5-fold CV on A, Youden
threshold on A). Each preprocessing variant is fitted on A's cases only (Nyúl's landmarks,
the median spacing), then applied to the three cohorts before extraction. AUC with DeLong
CI; the paired DeLong test compares each variant with no preprocessing on the same patients.

Run: ``python benchmarks/bench_preprocessing.py [--patients 147] [--external 60] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.datasets._anatomy import DEFAULT_SHAPE
from rdinet_sklearn.metrics import delong_auc_ci, delong_test
from rdinet_sklearn.preprocessing import BiasFieldCorrector, IntensityNormalizer, Resampler
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.study import make_config
from rdinet_sklearn.study._fit import fit_and_predict
from rdinet_sklearn.study._models import radiomics_model
from rdinet_sklearn.study._run import _extract

STS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-dicom" / "sts"
PATIENTS = ["STS_001", "STS_002", "STS_003"]
COHORTS = {
    "A": {"random_state": 0},
    "ext": {"random_state": 1},
    "ext shifted": {"random_state": 1, "scanner_shift": "default"},
}
N4_FAST = {"shrink_factor": 8, "n_iterations": 20, "n_fitting_levels": 3}
"""``--fast-n4``: about 4x cheaper than the defaults (for hundreds of cases on 2 cores)."""

VARIANTS = {
    "none": lambda cache, n4: None,
    "N4 + z-score": lambda cache, n4: make_pipeline(
        BiasFieldCorrector(cache_dir=cache, **n4), IntensityNormalizer("zscore", cache_dir=cache)
    ),
    "N4 + Nyul": lambda cache, n4: make_pipeline(
        BiasFieldCorrector(cache_dir=cache, **n4), IntensityNormalizer("nyul", cache_dir=cache)
    ),
    "median spacing + N4 + Nyul": lambda cache, n4: make_pipeline(
        Resampler("median", cache_dir=cache),
        BiasFieldCorrector(cache_dir=cache, **n4),
        IntensityNormalizer("nyul", cache_dir=cache),
    ),
}


def _timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def part_timing(work):
    cases = pd.DataFrame(
        {
            "image": [str(STS / p / "MR_T1/nifti/image/image.nii.gz") for p in PATIENTS],
            "mask": [str(STS / p / "MR_T1/nifti/mask/mask.nii.gz") for p in PATIENTS],
        },
        index=PATIENTS,
    )
    cache = work / "timing-cache"
    shutil.rmtree(cache, ignore_errors=True)
    rows, table = [], cases
    for step in (
        Resampler(spacing=(1.0, 1.0, 1.0), cache_dir=cache),
        BiasFieldCorrector(cache_dir=cache),
        IntensityNormalizer(method="nyul", cache_dir=cache),
    ):
        table, seconds = _timed(step.fit_transform, table)
        rows.append({"step": type(step).__name__, "s per case": seconds / len(cases)})
    for params in ("original", "study"):
        for label, source in (("original images", cases), ("preprocessed", table)):
            extractor = RadiomicsExtractor("mass", labels={"mass": 1}, params=params)
            _, seconds = _timed(extractor.fit_transform, source)
            rows.append(
                {"step": f"extraction ({params}), {label}", "s per case": seconds / len(cases)}
            )
    return pd.DataFrame(rows).round(2)


def cohort(name, n_patients, work, shape):
    folder = work / "cohorts" / f"{name.replace(' ', '_')}_{n_patients}_{'x'.join(map(str, shape))}"
    marker = folder / "y.csv"
    if marker.exists():
        return pd.read_csv(folder / "cases.csv", index_col=0), pd.read_csv(marker, index_col=0)["y"]
    cases, y = make_ted_cohort(n_patients, folder, shape=shape, **COHORTS[name])
    cases.to_csv(folder / "cases.csv")
    y.rename("y").to_csv(marker)
    return cases, y


def part_shift(work, n_patients, classifiers, config, variants, shape, n4):
    data = {name: cohort(name, n_patients[name != "A"], work, shape) for name in COHORTS}
    rows = []
    for variant in ["none", *variants]:
        make = VARIANTS[variant]
        prep = make(str(work / "prep-cache"), n4)
        started = time.perf_counter()
        if prep is not None:
            prep.fit(data["A"][0])  # landmarks and median spacing from the training center only
        features = {}
        for name, (cases, y) in data.items():
            images = cases if prep is None else prep.transform(cases)
            features[name] = (_extract(images, "MR+LR", config, str(work / "cache")), y)
        seconds = time.perf_counter() - started
        for classifier in classifiers:
            model, grid = radiomics_model(classifier, config)
            fitted = fit_and_predict(
                model, grid, features["A"], features["A"],
                cv_folds=5, seed=config["seed"], n_jobs=config["n_jobs"],
            )  # fmt: skip
            for name in ("ext", "ext shifted"):
                X, y = features[name]
                proba = fitted["estimator"].predict_proba(X)[:, 1]
                rows.append(
                    {"variant": variant, "classifier": classifier, "cohort": name,
                     "proba": proba, "y": y.to_numpy(), "seconds": seconds}
                )  # fmt: skip
    table = pd.DataFrame(rows)
    out = []
    for row in table.itertuples():
        auc = delong_auc_ci(row.y, row.proba)
        reference = table[
            (table["variant"] == "none")
            & (table["classifier"] == row.classifier)
            & (table["cohort"] == row.cohort)
        ].iloc[0]
        paired = ""
        if row.variant != "none":
            paired = f"{delong_test(row.y, reference.proba, row.proba).p_value:.3f}"
        out.append(
            {
                "classifier": row.classifier,
                "preprocessing": row.variant,
                "cohort": row.cohort,
                "AUC [95% CI]": f"{auc.auc:.3f} [{auc.ci_low:.3f}, {auc.ci_high:.3f}]",
                "DeLong p vs none": paired,
                "prep + extraction s (3 cohorts)": f"{row.seconds:.0f}",
            }
        )
    return pd.DataFrame(out).sort_values(["classifier", "cohort"], kind="stable")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/rdinet-bench-preprocessing"))
    parser.add_argument("--patients", type=int, default=147, help="training cohort A")
    parser.add_argument("--external", type=int, default=60, help="ext and ext shifted")
    parser.add_argument("--classifiers", nargs="+", default=["logreg", "svm"])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--fast-n4", action="store_true", help=f"N4 with {N4_FAST}")
    parser.add_argument("--variants", nargs="+", default=[v for v in VARIANTS if v != "none"])
    parser.add_argument("--shape", nargs=3, type=int, default=list(DEFAULT_SHAPE))
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # selector fallbacks on small folds; recorded elsewhere
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.skip_timing:
        print("Part 1: time per case on the real STS T1 MRI (3 cases, empty cache)")
        print(part_timing(args.work).to_markdown(index=False))
    config = make_config("quick", overrides=[f"n_jobs={args.n_jobs}"])
    print(
        f"\nPart 2: scanner shift, {args.patients} training and {args.external} external "
        f"patients, images of shape {args.shape}"
    )
    sizes = (args.patients, args.external)
    n4 = N4_FAST if args.fast_n4 else {}
    shift = part_shift(
        args.work, sizes, args.classifiers, config, args.variants, tuple(args.shape), n4
    )
    print(shift.to_markdown(index=False))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
