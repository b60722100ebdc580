"""CPU accuracy check: is RDINet with clinical features at least as good as either branch alone?

On the built-in synthetic cohort (147 patients, the study's size) with the ``quick`` preset's
CPU-sized networks, every model is cross-validated on the same repeated stratified folds:

* radiomics alone: ICC filter, t-test, LASSO, scaling and a logistic regression;
* radiomics + clinical: the same, with the clinical columns (numeric standardised,
  categorical one-hot encoded) selected by their own t-test and LASSO, as the study does;
* image alone: the 3D ResNet on the ROI crops;
* RDINet on the selected radiomics features, and RDINet with the selected clinical columns;
* a permuted-label control: RDINet with clinical features fitted to shuffled outcomes.

The table gives each model's mean AUC and spread over the folds, and, for RDINet with
clinical features against each baseline, the paired difference with its 95 % interval from
the corrected resampled t-test (Nadeau & Bengio, 2003). Fold scores share training patients
and are correlated, so the naive t interval is too narrow; the correction inflates the
variance by ``n_test / n_train``. "Not worse beyond noise" means the interval's upper end is
at or above zero.

Run: ``python benchmarks/bench_rdinet_accuracy.py [--patients 147 --splits 5 --repeats 2]``
(about 7 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.study import make_config
from rdinet_sklearn.study._models import (
    clinical_selection,
    radiomics_model,
    rdinet_model,
    resnet_model,
    selection_steps,
)
from rdinet_sklearn.study._run import _extract, clinical_columns


def corrected_difference_interval(a, b, test_fraction, confidence=0.95):
    """Mean of ``a - b`` over CV folds and its Nadeau-Bengio corrected t interval.

    ``test_fraction`` is ``n_test / n_train`` of one fold.
    """
    difference = np.asarray(a) - np.asarray(b)
    n = len(difference)
    variance = (1 / n + test_fraction) * difference.var(ddof=1)
    half_width = stats.t.ppf((1 + confidence) / 2, n - 1) * np.sqrt(variance)
    mean = difference.mean()
    return mean, mean - half_width, mean + half_width


def radiomics_clinical_logreg(config, radiomics_columns, clinical):
    """Selected radiomics and clinical features (RDINet + clinical's inputs) in a logistic model."""
    features = ColumnTransformer(
        [
            ("radiomics", Pipeline(selection_steps(config)), list(radiomics_columns)),
            ("clinical", clinical_selection(config, *clinical), [*clinical[0], *clinical[1]]),
        ]
    )
    return Pipeline([("features", features), ("clf", LogisticRegression(max_iter=5000))])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=147)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--roi", default="MR+LR")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = make_config("quick", overrides=[f"seed={args.seed}", "deep.device=cpu"])
    work = tempfile.mkdtemp()
    cases, y = make_ted_cohort(args.patients, f"{work}/cohort", random_state=args.seed, n_jobs=2)
    y = pd.Series(y.to_numpy(), index=cases.index)
    radiomics = _extract(cases, args.roi, config, f"{work}/cache")
    table = radiomics.join(cases)
    clinical = clinical_columns(cases, config)
    permuted = pd.Series(np.random.RandomState(args.seed).permutation(y.to_numpy()), index=y.index)

    logreg, _ = radiomics_model("logreg", config)
    runs = {
        "radiomics alone (logreg)": (logreg, radiomics, y),
        "radiomics + clinical (logreg)": (
            radiomics_clinical_logreg(config, radiomics.columns, clinical),
            table,
            y,
        ),
        "image alone (ResNet)": (resnet_model(config, args.roi), table, y),
        "RDINet (radiomics)": (rdinet_model(config, args.roi, radiomics.columns), table, y),
        "RDINet + clinical": (
            rdinet_model(config, args.roi, radiomics.columns, clinical=clinical),
            table,
            y,
        ),
        "RDINet + clinical, permuted labels": (
            rdinet_model(config, args.roi, radiomics.columns, clinical=clinical),
            table,
            permuted,
        ),
    }
    cv = RepeatedStratifiedKFold(n_splits=args.splits, n_repeats=args.repeats, random_state=0)
    scores, seconds = {}, {}
    for name, (model, X, target) in runs.items():
        start = time.perf_counter()
        scores[name] = cross_val_score(model, X, target, cv=cv, scoring="roc_auc")
        seconds[name] = time.perf_counter() - start
        print(f"{name}: {scores[name].mean():.3f} ({seconds[name]:.0f} s)", flush=True)

    print(
        f"\n{args.patients} patients, ROI {args.roi}, quick preset networks, "
        f"{args.splits}-fold CV x {args.repeats} repeats (AUC)\n"
    )
    print("| model | mean AUC | SD | min | max | seconds |")
    print("|---|---|---|---|---|---|")
    for name, values in scores.items():
        print(
            f"| {name} | {values.mean():.3f} | {values.std(ddof=1):.3f} | {values.min():.3f} "
            f"| {values.max():.3f} | {seconds[name]:.0f} |"
        )

    test_fraction = 1 / (args.splits - 1)
    print("\n| RDINet + clinical minus | mean difference | 95 % CI (corrected t) | verdict |")
    print("|---|---|---|---|")
    fused = scores["RDINet + clinical"]
    for name in ("radiomics alone (logreg)", "image alone (ResNet)", "RDINet (radiomics)"):
        mean, low, high = corrected_difference_interval(fused, scores[name], test_fraction)
        verdict = "worse beyond noise" if high < 0 else "not worse"
        print(f"| {name} | {mean:+.3f} | [{low:+.3f}, {high:+.3f}] | {verdict} |")


if __name__ == "__main__":
    main()
