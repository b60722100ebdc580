"""Does ComBat harmonization recover performance lost to a scanner shift?

Synthetic cohorts of 147 patients at the default image size (``make_ted_cohort``), MR+LR
radiomics with the ``quick`` preset's ``original`` features, and the study's radiomics
pipeline (ICC filter, t-test, LASSO, scaling, classifier; tuned by stratified 5-fold CV and
given its Youden threshold on the training cohort, as ``run_study`` does):

* ``A``: the training center (``random_state=0``, the demo's cohort, first scanner);
* ``ext``: an external center (``random_state=1``) on the same scanner;
* ``ext shifted``: the same external patients on a second scanner (``ScannerShift()``);
* ``B``: another center (``random_state=2``) on a third scanner (a milder, opposite shift).

Part 1, external validation: models trained on ``A`` alone, without harmonization and with
``ComBatHarmonizer(unseen="estimate")`` as the pipeline's first step (fitted on ``A``, one
batch; each external scanner is then estimated from its own cases and mapped onto A's
reference). Rows: (i) ``ext``; (ii)/(iii) ``ext shifted`` without / with harmonization; and
a two-scanner external cohort (``ext shifted`` + ``B``, each its own batch). AUC with its
DeLong 95 % CI and, for the harmonized rows, the paired DeLong test against the row above
(same patients, no harmonization); accuracy, sensitivity and specificity at the training
threshold; mean predicted probability against the observed response rate (calibration in
the large).

Part 2, multi-center training: ``A`` + ``B`` pooled (294 patients, two scanners), repeated
stratified 5-fold CV (folds mix the centers) with ComBat (``batch_column="center"``) inside
the folds against none; mean CV AUC and the paired difference with the Nadeau-Bengio
corrected 95 % interval. Then the pooled models applied to ``ext shifted`` (a scanner seen in
neither center).

Run: ``python benchmarks/bench_harmonization.py [--work /tmp/rdinet-bench-harmonization]``.
Cohorts and features are cached under ``--work``: about 6 minutes the first time on 2 CPU
cores, 1-2 minutes after.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.harmonization import ComBatHarmonizer
from rdinet_sklearn.metrics import (
    delong_auc_ci,
    delong_test,
    sensitivity_score,
    specificity_score,
)
from rdinet_sklearn.study import make_config
from rdinet_sklearn.study._fit import fit_and_predict
from rdinet_sklearn.study._models import radiomics_model
from rdinet_sklearn.study._run import _extract

COHORTS = {
    "A": {"random_state": 0, "center": "A"},
    "ext": {"random_state": 1, "center": "ext"},
    "ext shifted": {"random_state": 1, "center": "ext", "scanner_shift": "default"},
    "B": {
        "random_state": 2,
        "center": "B",
        "scanner_shift": {
            "intensity_scale": 0.6,
            "bias_field": -0.25,
            "spacing": (1.1, 1.2),
            "noise_scale": 1.3,
        },
    },
}
ROI = "MR+LR"


def features(name, n_patients, work, config):
    """MR+LR features of one cohort (plus its ``center`` column) and its response."""
    table = work / f"features_{name.replace(' ', '_')}_{n_patients}.csv"
    if not table.exists():
        folder = work / "cohorts" / f"{name.replace(' ', '_')}_{n_patients}"
        cases, y = make_ted_cohort(n_patients, folder, n_jobs=config["n_jobs"], **COHORTS[name])
        X = _extract(cases, ROI, config, str(work / "cache"))
        X.assign(center=cases["center"], response=y).to_csv(table)
    X = pd.read_csv(table, index_col=0)
    return X.drop(columns="response"), X["response"]


def harmonized(model, **params):
    """``model`` behind ComBat; pandas output, as the ICC filter pairs raters by name."""
    harmonizer = ComBatHarmonizer("center", **params).set_output(transform="pandas")
    return Pipeline([("harmonize", harmonizer), *model.steps])


def external_row(label, fitted, X, y, unharmonized=None):
    """Metrics of one model on one cohort; the DeLong p against ``unharmonized`` if given."""
    proba = fitted["estimator"].predict_proba(X)[:, 1]
    predicted = (proba >= fitted["threshold"]).astype(int)
    auc = delong_auc_ci(y, proba)
    paired = "" if unharmonized is None else f"{delong_test(y, unharmonized, proba).p_value:.3f}"
    row = {
        "cohort": label,
        "AUC [95% CI]": f"{auc.auc:.3f} [{auc.ci_low:.3f}, {auc.ci_high:.3f}]",
        "ACC": f"{(predicted == y).mean():.3f}",
        "SEN": f"{sensitivity_score(y, predicted):.3f}",
        "SPE": f"{specificity_score(y, predicted):.3f}",
        "mean p / rate": f"{proba.mean():.2f} / {y.mean():.2f}",
        "DeLong p vs none": paired,
    }
    return row, proba


def part_external(data, config, classifiers):
    rows = []
    X_a, y_a = data["A"]
    two_scanner = (
        pd.concat([data["ext shifted"][0], data["B"][0]]),
        pd.concat([data["ext shifted"][1], data["B"][1]]),
    )
    for classifier in classifiers:
        model, grid = radiomics_model(classifier, config)
        plain = fit_and_predict(
            model, grid, (X_a.drop(columns="center"), y_a), (X_a.drop(columns="center"), y_a),
            cv_folds=5, seed=config["seed"], n_jobs=config["n_jobs"],
        )  # fmt: skip
        combat = fit_and_predict(
            harmonized(model, unseen="estimate"), grid, (X_a, y_a), (X_a, y_a),
            cv_folds=5, seed=config["seed"], n_jobs=config["n_jobs"],
        )  # fmt: skip
        proba = None
        for label, fitted, (X, y), drop in (
            ("(i) ext, same scanner", plain, data["ext"], True),
            ("(ii) ext shifted", plain, data["ext shifted"], True),
            ("(iii) ext shifted, ComBat", combat, data["ext shifted"], False),
            ("ext shifted + B", plain, two_scanner, True),
            ("ext shifted + B, ComBat", combat, two_scanner, False),
        ):
            compare = None if drop else proba  # the row before: the same cohort, no ComBat
            row, proba = external_row(
                label, fitted, X.drop(columns="center") if drop else X, y, compare
            )
            rows.append({"classifier": classifier, **row})
    return pd.DataFrame(rows)


def corrected_interval(a, b, test_fraction, confidence=0.95):
    """Mean of ``a - b`` over CV folds with the Nadeau-Bengio corrected t interval."""
    difference = np.asarray(a) - np.asarray(b)
    n = len(difference)
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * np.sqrt(
        (1 / n + test_fraction) * difference.var(ddof=1)
    )
    return difference.mean(), difference.mean() - half, difference.mean() + half


def part_multicenter(data, config, classifiers, repeats):
    X = pd.concat([data["A"][0], data["B"][0]])
    y = pd.concat([data["A"][1], data["B"][1]])
    X_ext, y_ext = data["ext shifted"]
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=config["seed"])
    rows = []
    for classifier in classifiers:
        model, grid = radiomics_model(classifier, config)
        params = {k: v[1] for k, v in grid.items()}  # the middle of the grid: no nested tuning
        plain = model.set_params(**params)
        combat = harmonized(plain, unseen="estimate")
        scores = {}
        for name, estimator, X_cv in (
            ("none", plain, X.drop(columns="center")),
            ("ComBat", combat, X),
        ):
            scores[name] = cross_val_score(
                estimator, X_cv, y, cv=folds, scoring="roc_auc", n_jobs=config["n_jobs"]
            )
        difference, low, high = corrected_interval(scores["ComBat"], scores["none"], 1 / 4)
        plain.fit(X.drop(columns="center"), y)
        auc_plain = delong_auc_ci(y_ext, plain.predict_proba(X_ext.drop(columns="center"))[:, 1])
        auc_combat = delong_auc_ci(y_ext, combat.fit(X, y).predict_proba(X_ext)[:, 1])
        rows.append(
            {
                "classifier": classifier,
                "CV AUC, none": f"{scores['none'].mean():.3f} +- {scores['none'].std():.3f}",
                "CV AUC, ComBat": f"{scores['ComBat'].mean():.3f} +- {scores['ComBat'].std():.3f}",
                "difference [95% CI]": f"{difference:+.3f} [{low:+.3f}, {high:+.3f}]",
                "ext shifted AUC, none": f"{auc_plain.auc:.3f}",
                "ext shifted AUC, ComBat": f"{auc_combat.auc:.3f}",
            }
        )
    return pd.DataFrame(rows)


def feature_shift(data):
    """How far the shift moves each rater-1 feature, in between-patient SDs (paired)."""
    before, after = data["ext"][0], data["ext shifted"][0]
    columns = [c for c in before.columns if c != "center" and not c.endswith("__rater2")]
    sd = before[columns].std()
    columns = [c for c in columns if sd[c] > 0]
    moved = ((after[columns].mean() - before[columns].mean()) / sd[columns]).abs()
    kept = [np.corrcoef(before[c], after[c])[0, 1] for c in columns]
    return len(columns), int((moved > 1).sum()), float(moved.median()), float(np.median(kept))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/rdinet-bench-harmonization"))
    parser.add_argument("--patients", type=int, default=147)
    parser.add_argument("--repeats", type=int, default=2, help="repeats of the 5-fold CV")
    parser.add_argument("--classifiers", nargs="+", default=["logreg", "svm", "rf"])
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # selector fallbacks on small folds; recorded elsewhere
    config = make_config("quick", overrides=[f"n_jobs={args.n_jobs}"])
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = {name: features(name, args.patients, args.work, config) for name in COHORTS}
    prepared = time.perf_counter() - started
    n, n_moved, median_moved, median_r = feature_shift(data)
    print(
        f"Scanner shift: {n_moved} of {n} MR+LR features move by more than 1 between-patient "
        f"SD (median {median_moved:.2f} SD); median paired correlation {median_r:.2f}.\n"
    )
    print("Part 1: trained on center A only, applied unchanged to external cohorts")
    print(part_external(data, config, args.classifiers).to_markdown(index=False))
    print(f"\nPart 2: trained on centers A + B (two scanners), {args.repeats}x5-fold CV")
    print(part_multicenter(data, config, args.classifiers, args.repeats).to_markdown(index=False))
    total = time.perf_counter() - started
    print(f"\ncohorts + features {prepared:.0f} s, total {total:.0f} s")


if __name__ == "__main__":
    main()
