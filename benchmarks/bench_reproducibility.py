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

Target (issue 17): the perturbation filter's AUC within 0.03 of the two-rater filter's. It
also prints the extraction time per ROI (original, second rater, perturbed), the features
each filter keeps on the whole cohort, and the extractions the cross-validation ran (none:
everything comes from the cache).

Run: ``python benchmarks/bench_reproducibility.py [--n-patients 147] [--perturbations 4]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache, extraction_stats
from rdinet_sklearn.selection import (
    LassoSelector,
    PerturbationReproducibilityFilter,
    ReproducibilityFilter,
    SelectionFallbackWarning,
    TTestSelector,
)

ROI = ("MR", "LR")


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
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the 5-fold CV")
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", SelectionFallbackWarning)

    folder = tempfile.mkdtemp(prefix="bench-reproducibility-")
    cases, y = make_ted_cohort(args.n_patients, folder, random_state=0, n_jobs=args.n_jobs)
    one_rater = cases.drop(columns="mask_rater2")
    common = {"roi": ROI, "params": "original", "n_jobs": args.n_jobs, "progress": False}
    two_raters = RadiomicsExtractor(**common, reference_mask_column="mask_rater2")
    perturbed = RadiomicsExtractor(**common, perturbations=args.perturbations)
    plain = RadiomicsExtractor(**common)

    clear_process_cache()
    _, t_original, n_original = _timed_extraction(plain, one_rater)
    features_2r, t_2r, n_2r = _timed_extraction(two_raters, cases)  # rater 2 only: new
    features_p, t_p, n_p = _timed_extraction(perturbed, one_rater)  # perturbations only: new

    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=args.repeats, random_state=0)
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
        rows.append((name, scores.mean(), scores.std(), kept))
    extracted_in_cv = extraction_stats()["extracted"] - before_cv

    n = args.n_patients
    print(
        f"\n{n} patients, ROI MR+LR, 'original' preset (107 features), "
        f"{args.repeats}x5-fold CV, n_jobs={args.n_jobs}\n"
    )
    print("| pipeline | CV AUC (mean +- SD over folds) | features kept (whole cohort) |")
    print("| --- | --- | --- |")
    for name, mean, sd, kept in rows:
        print(f"| {name} | {mean:.3f} +- {sd:.3f} | {kept} / 107 |")
    gap = rows[1][1] - rows[0][1]
    met = "met" if abs(gap) <= 0.03 else "NOT met"
    print(f"\nAUC(perturbation) - AUC(two raters) = {gap:+.3f} (target |gap| <= 0.03: {met})")
    sets = [set(v[2].get_feature_names_out()) for v in list(variants.values())[:2]]
    print(f"features kept by both filters: {len(sets[0] & sets[1])}")

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
