"""Benchmark RadiomicsExtractor against a plain pyradiomics loop; print a table.

Measures, on a synthetic TED cohort at the default image size (20 x 128 x 224):

1. per-ROI extraction time, RadiomicsExtractor(n_jobs=1) vs a plain pyradiomics loop over the
   same (case, ROI, rater) triples (target: within 5 %);
2. the n_jobs=2 speed-up over n_jobs=1 (target: >= 1.8x on 2 free cores);
3. cache re-use of a GridSearchCV over 6 ROI strategies (5 folds), then of a second run;
4. the time to extract the default "study" settings for the 147-patient cohort, estimated
   from the measured per-ROI time.

Run: ``python benchmarks/bench_extraction.py [--n-cases 24] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings

import numpy as np
import SimpleITK as sitk
from joblib import effective_n_jobs
from radiomics import featureextractor
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from rdinet_sklearn import _cache
from rdinet_sklearn._cases import resolve_roi
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.radiomics import (
    RadiomicsExtractor,
    clear_process_cache,
    extraction_stats,
    load_settings,
)
from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector

ROI = ("MR", "LR")
ROI_STRATEGIES = [("MR", "LR"), ("IR", "SR"), "MR", "LR", "all", ("IR", "SR", "MR", "LR")]
STUDY_PATIENTS = 147


def plain_pyradiomics(cases, params):
    """What a user would write without this package: one pyradiomics run per triple."""
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(load_settings(params))
    _, values = resolve_roi(ROI)
    rows = []
    for _, entry in cases.iterrows():
        image = sitk.ReadImage(entry["image"])
        for column in ("mask", "mask_rater2"):
            labels = sitk.ReadImage(entry[column])
            roi = sitk.GetImageFromArray(
                np.isin(sitk.GetArrayViewFromImage(labels), values).astype(np.uint8)
            )
            roi.CopyInformation(labels)
            result = extractor.execute(image, roi, label=1)
            rows.append([v for k, v in result.items() if not k.startswith("diagnostics_")])
    return np.asarray(rows, dtype=float)


def ours(cases, params, n_jobs):
    clear_process_cache()
    _cache._DIGESTS.clear()  # count hashing the files as part of our cost
    extractor = RadiomicsExtractor(
        roi=ROI,
        params=params,
        reference_mask_column="mask_rater2",
        n_jobs=n_jobs,
        progress=False,
    )
    return extractor.fit_transform(cases)


def best_times(functions, repeats):
    """Min wall time of each function, interleaved so that load drift hits all alike."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def grid_search_reuse(cases, y, folder):
    model = make_pipeline(
        RadiomicsExtractor(
            params="original", reference_mask_column="mask_rater2", memory=folder, progress=False
        ),
        ReproducibilityFilter(threshold=0.75),
        TTestSelector(alpha=0.05),
        LassoSelector(),
        SVC(),
    )
    search = GridSearchCV(
        model,
        {"radiomicsextractor__roi": ROI_STRATEGIES},
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    counts = []
    for _ in range(2):  # the second run stands for a new process (or a resumed run)
        clear_process_cache()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(cases, y)
        counts.append(extraction_stats())
    n_fits = len(ROI_STRATEGIES) * 5 + 1
    requested = n_fits * 2 * len(cases)  # each fit extracts train + test, both raters
    return requested, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cases", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", default="study")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        cases, y = make_ted_cohort(args.n_cases, f"{folder}/cohort", random_state=0)
        n_rois = 2 * len(cases)
        ours(cases.iloc[:2], args.params, n_jobs=2)  # start the joblib workers once
        reference = plain_pyradiomics(cases, args.params)
        np.testing.assert_allclose(
            ours(cases, args.params, 1).to_numpy(), reference.reshape(len(cases), -1), rtol=1e-12
        )
        times = best_times(
            {
                "plain": lambda: plain_pyradiomics(cases, args.params),
                "serial": lambda: ours(cases, args.params, 1),
                "parallel": lambda: ours(cases, args.params, 2),
            },
            args.repeats,
        )
        plain, serial, parallel = times["plain"], times["serial"], times["parallel"]
        requested, (first, second) = grid_search_reuse(cases, y, f"{folder}/cache")

    n_features = reference.shape[1]
    print(
        f"cohort: {len(cases)} synthetic patients, 20x128x224 voxels, ROI MR+LR, 2 raters "
        f"= {n_rois} ROIs; params={args.params!r} ({n_features} features/ROI); "
        f"best of {args.repeats}; {effective_n_jobs(-1)} cores visible"
    )
    print()
    print(f"| {'measure':<52} | {'value':>18} |")
    print(f"|{'-' * 54}|{'-' * 20}|")
    rows = [
        ("plain pyradiomics loop, s/ROI", f"{plain / n_rois:.3f}"),
        ("RadiomicsExtractor n_jobs=1, s/ROI", f"{serial / n_rois:.3f}"),
        ("  overhead vs plain loop (target <= 5 %)", f"{100 * (serial / plain - 1):+.1f} %"),
        ("RadiomicsExtractor n_jobs=2, s/ROI", f"{parallel / n_rois:.3f}"),
        ("  speed-up n_jobs=2 vs 1 (target >= 1.8x)", f"{serial / parallel:.2f}x"),
        (f"GridSearchCV {len(ROI_STRATEGIES)} ROIs x 5 folds: ROIs requested", f"{requested}"),
        (
            "  run 1: extracted / memory hits / disk hits",
            f"{first['extracted']} / {first['memory_hits']} / {first['disk_hits']}",
        ),
        (
            "  run 2: extracted / memory hits / disk hits",
            f"{second['extracted']} / {second['memory_hits']} / {second['disk_hits']}",
        ),
        (
            f"{STUDY_PATIENTS} patients x 2 raters, n_jobs=1, est. min/ROI set",
            f"{STUDY_PATIENTS * 2 * serial / n_rois / 60:.1f}",
        ),
        (
            f"{STUDY_PATIENTS} patients x 2 raters, n_jobs=2, est. min/ROI set",
            f"{STUDY_PATIENTS * 2 * parallel / n_rois / 60:.1f}",
        ),
    ]
    for name, value in rows:
        print(f"| {name:<52} | {value:>18} |")


if __name__ == "__main__":
    main()
