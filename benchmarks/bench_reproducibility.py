"""Benchmark reproducibility filtering with one rater (perturbations) against two raters.

On a synthetic TED cohort (default image size, 20 x 128 x 224) whose MR and LR muscles carry
the planted response signal, the radiomics pipeline

    RadiomicsExtractor(MR+LR, "original") -> reproducibility filter -> TTestSelector
    -> LassoSelector -> SVC

is cross-validated (repeated stratified 5-fold, the same folds for every variant) with

1. ``ReproducibilityFilter`` on the second rater's masks (the reference study's design);
2. ``PerturbationReproducibilityFilter`` on ``k`` perturbed extractions, the second rater's
   masks ignored (a one-rater cohort);
3. no reproducibility filter.

Target (issue 17): the perturbation filter's AUC within 0.03 of the two-rater filter's. The
fold-to-fold SD of the AUC is 0.05-0.07, so the script reports the paired difference over the
same splits with the corrected resampled t-test's 95% interval (Nadeau and Bengio 2003),
not only the two means. It also prints the extraction time per ROI (original, second rater,
perturbed), the features each filter keeps on the whole cohort, how stable the perturbation
ICCs are between two disjoint halves of the perturbations, and the extractions the
cross-validation ran (none: everything comes from the cache).

``--work`` reuses a cohort folder written by an earlier run (the cohort is deterministic) and
``--memory`` keeps the extractions on disk, so a rerun with more repeats extracts nothing.

Run: ``python benchmarks/bench_reproducibility.py [--n-patients 147] [--perturbations 4]
[--repeats 10] [--work DIR] [--memory DIR]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.metrics import corrected_resampled_ttest
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache, extraction_stats
from rdinet_sklearn.selection import (
    LassoSelector,
    PerturbationReproducibilityFilter,
    ReproducibilityFilter,
    SelectionFallbackWarning,
    TTestSelector,
)

ROI = ("MR", "LR")
N_SPLITS = 5
SUFFIX = "__perturbed"


def _cohort(n_patients, work, n_jobs):
    """The synthetic cohort in ``work``: read back if an earlier run wrote it there."""
    folder = Path(work or tempfile.mkdtemp(prefix="bench-reproducibility-"))
    table, description = folder / "cases.csv", folder / "cohort.json"
    if table.exists() and description.exists():
        parameters = json.loads(description.read_text())["parameters"]
        if parameters["n_patients"] == n_patients and parameters["random_state"] == 0:
            cases = pd.read_csv(table).set_index("patient_id", drop=False)
            return cases.drop(columns="response"), cases["response"]
    return make_ted_cohort(n_patients, folder, random_state=0, n_jobs=n_jobs)


def _paired_difference(scores_a, scores_b, n_rows):
    """Mean of ``scores_a - scores_b`` and its corrected resampled t 95% interval."""
    n_test = n_rows / N_SPLITS
    result = corrected_resampled_ttest(scores_a, scores_b, n_rows - n_test, n_test)
    differences = np.asarray(scores_a) - np.asarray(scores_b)
    scale = np.sqrt(differences.var(ddof=1) * (1 / differences.size + n_test / (n_rows - n_test)))
    half_width = stats.t.ppf(0.975, result.df) * scale
    return result, (result.mean_difference - half_width, result.mean_difference + half_width)


def _perturbation_subset(features, chosen):
    """The original columns and perturbations ``chosen`` (renumbered 1, 2, ...)."""
    kept, renamed = [], {}
    for name in features.columns:
        base, _, k = name.rpartition(SUFFIX)
        if not base:
            kept.append(name)
        elif int(k) in chosen:
            kept.append(name)
            renamed[name] = f"{base}{SUFFIX}{chosen.index(int(k)) + 1}"
    return features[kept].rename(columns=renamed)


def _icc_stability(features, n_perturbations):
    """Whole-cohort ICC(1,1) from two disjoint halves of the perturbations."""
    half = n_perturbations // 2
    halves = [list(range(1, half + 1)), list(range(half + 1, 2 * half + 1))]
    fits = [
        PerturbationReproducibilityFilter(threshold=0.75).fit(_perturbation_subset(features, h))
        for h in halves
    ]
    iccs = [f.icc_table_["icc"] for f in fits]
    kept = [set(f.get_feature_names_out()) for f in fits]
    both = iccs[0].notna() & iccs[1].notna()
    return {
        "halves": halves,
        "kept": [len(k) for k in kept],
        "kept_by_both": len(kept[0] & kept[1]),
        "correlation": float(np.corrcoef(iccs[0][both], iccs[1][both])[0, 1]),
        "median_abs_difference": float((iccs[0][both] - iccs[1][both]).abs().median()),
    }


def _timed_extraction(extractor, cases):
    before = extraction_stats()["extracted"]
    start = time.perf_counter()
    features = extractor.fit_transform(cases)
    seconds = time.perf_counter() - start
    return features, seconds, extraction_stats()["extracted"] - before


def _pipeline(extractor, selector):
    steps = [extractor] + ([] if selector is None else [selector])
    return make_pipeline(*steps, TTestSelector(alpha=0.05), LassoSelector(), SVC())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=147)
    parser.add_argument("--perturbations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10, help="repeats of the 5-fold CV")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--work", help="cohort folder (reused if an earlier run wrote it)")
    parser.add_argument("--memory", help="folder of the on-disk extraction cache")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", SelectionFallbackWarning)

    cases, y = _cohort(args.n_patients, args.work, args.n_jobs)
    one_rater = cases.drop(columns="mask_rater2")
    common = {
        "roi": ROI,
        "params": "original",
        "n_jobs": args.n_jobs,
        "progress": False,
        "memory": args.memory,
    }
    two_raters = RadiomicsExtractor(**common, reference_mask_column="mask_rater2")
    perturbed = RadiomicsExtractor(**common, perturbations=args.perturbations)
    plain = RadiomicsExtractor(**common)

    clear_process_cache()
    _, t_original, n_original = _timed_extraction(plain, one_rater)
    features_2r, t_2r, n_2r = _timed_extraction(two_raters, cases)  # rater 2 only: new
    features_p, t_p, n_p = _timed_extraction(perturbed, one_rater)  # perturbations only: new

    cv = RepeatedStratifiedKFold(n_splits=N_SPLITS, n_repeats=args.repeats, random_state=0)
    variants = {
        "two raters (ReproducibilityFilter)": (
            _pipeline(two_raters, ReproducibilityFilter(threshold=0.75)),
            cases,
            ReproducibilityFilter(threshold=0.75).fit(features_2r),
        ),
        f"one rater, {args.perturbations} perturbations (PerturbationReproducibilityFilter)": (
            _pipeline(perturbed, PerturbationReproducibilityFilter(threshold=0.75)),
            one_rater,
            PerturbationReproducibilityFilter(threshold=0.75).fit(features_p),
        ),
        "no reproducibility filter": (_pipeline(plain, None), one_rater, None),
    }
    before_cv = extraction_stats()["extracted"]
    rows = []
    for name, (model, table, whole_cohort_filter) in variants.items():
        scores = cross_val_score(model, table, y, cv=cv, scoring="roc_auc", error_score="raise")
        kept = (
            len(whole_cohort_filter.get_feature_names_out())
            if whole_cohort_filter is not None
            else 107
        )
        rows.append((name, scores, kept))
    extracted_in_cv = extraction_stats()["extracted"] - before_cv

    n = len(y)
    print(
        f"\n{n} patients, ROI MR+LR, 'original' preset (107 features), "
        f"{args.repeats}x5-fold CV, n_jobs={args.n_jobs}\n"
    )
    print("| pipeline | CV AUC (mean +- SD over folds) | features kept (whole cohort) |")
    print("| --- | --- | --- |")
    for name, scores, kept in rows:
        print(f"| {name} | {scores.mean():.3f} +- {scores.std():.3f} | {kept} / 107 |")
    print("\n| paired difference over the same splits | mean | 95% CI (corrected t) | p |")
    print("| --- | --- | --- | --- |")
    for label, a, b in [
        ("one rater - two raters", rows[1][1], rows[0][1]),
        ("two raters - no filter", rows[0][1], rows[2][1]),
        ("one rater - no filter", rows[1][1], rows[2][1]),
    ]:
        result, (low, high) = _paired_difference(a, b, n)
        print(
            f"| {label} | {result.mean_difference:+.3f} | [{low:+.3f}, {high:+.3f}] | "
            f"{result.p_value:.2f} |"
        )
    gap = rows[1][1].mean() - rows[0][1].mean()
    met = "met" if abs(gap) <= 0.03 else "NOT met"
    print(f"\nAUC(perturbation) - AUC(two raters) = {gap:+.3f} (target |gap| <= 0.03: {met})")
    sets = [set(v[2].get_feature_names_out()) for v in list(variants.values())[:2]]
    print(f"features kept by both filters: {len(sets[0] & sets[1])}")
    if args.perturbations >= 2:
        stability = _icc_stability(features_p, args.perturbations)
        print(
            f"\nICC(1,1) from perturbations {stability['halves'][0]} vs "
            f"{stability['halves'][1]} (whole cohort): correlation "
            f"{stability['correlation']:.3f}, median |difference| "
            f"{stability['median_abs_difference']:.3f}, features kept {stability['kept'][0]} "
            f"vs {stability['kept'][1]} ({stability['kept_by_both']} by both)"
        )

    print("\n| extraction | ROIs extracted | s/ROI |")
    print("| --- | --- | --- |")
    print(f"| original masks | {n_original} | {t_original / max(n_original, 1):.3f} |")
    print(f"| second rater's masks | {n_2r} | {t_2r / max(n_2r, 1):.3f} |")
    print(
        f"| perturbed (noise, rotation, translation, dilation/erosion) | {n_p} | "
        f"{t_p / max(n_p, 1):.3f} |"
    )
    print(
        f"| perturbation filter, per patient (1 + {args.perturbations} ROIs) | "
        f"{n_original + n_p} | {(t_original + t_p) / n:.3f} s/patient |"
    )
    print(f"\nextractions during the {len(rows)} cross-validations: {extracted_in_cv}")


if __name__ == "__main__":
    main()
