"""What issue 30's additions would cost the demo: SHAP, TTA, bootstrap spread, negative
controls, calibration bands and checklists, each timed on the demo's sizes.

Run: ``python benchmarks/bench_explain.py`` (the demo's 147 patients at the default image
shape) or, for a quick look, ``--patients 60 --shape 8 48 96``. Target (2 CPU cores): all
additions together under 1 minute on top of the demo. Also prints the TTA-spread figure of
the acceptance: out-of-fold, over a 5-fold CV of RDINet+clinical, the AUC of the spread for
misclassification and the mean spread of misclassified and correct patients.
"""

import argparse
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import CLINICAL_COLUMNS, make_ted_cohort
from rdinet_sklearn.explain import (
    bootstrap_predict_proba,
    compare_with_control,
    feature_contributions,
    negative_control_pipeline,
    spread_misclassification,
    tta_predict_proba,
)
from rdinet_sklearn.metrics import smoothed_calibration_curve
from rdinet_sklearn.nn import RDINetClassifier
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.reporting import StudyDescription, write_reporting_files
from rdinet_sklearn.selection import TTestSelector

# The demo's RDINet (quick preset): ResNet-10 at half width on 8x32x32 crops, 12 epochs.
DEMO_NET = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (8, 32, 32),
    "module__widen_factor": 0.5,
    "max_epochs": 12,
    "random_state": 0,
}


def timed(rows, name, function):
    start = time.perf_counter()
    result = function()
    rows.append((name, time.perf_counter() - start))
    print(f"{name}: {rows[-1][1]:.1f} s", flush=True)
    return result


def radiomics_model():
    return Pipeline(
        [
            ("extract", RadiomicsExtractor(("MR", "LR"), params="original", progress=False)),
            ("scale", StandardScaler()),
            ("ttest", TTestSelector(0.05)),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=147)
    parser.add_argument("--shape", type=int, nargs=3, default=None)
    parser.add_argument("--augmentations", type=int, default=10)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    folder = tempfile.mkdtemp(prefix="bench-explain-")
    shape = {} if args.shape is None else {"shape": tuple(args.shape)}
    cases, y = make_ted_cohort(args.patients, folder, random_state=0, **shape)
    clinical = [c for c in CLINICAL_COLUMNS if pd.api.types.is_numeric_dtype(cases[c])]
    X = cases[["image", "mask", *clinical]]
    train, test = train_test_split(
        np.asarray(cases.index), test_size=0.2, stratify=y, random_state=0
    )
    radiomics = radiomics_model().fit(cases.loc[train], y[train])  # features cached from here
    rdinet = RDINetClassifier(**DEMO_NET).fit(X.loc[train], y[train])
    rows = []
    # shap compiles its numba kernels on the first explanation of a process (once per run).
    tiny = LogisticRegression().fit(
        pd.DataFrame({"a": [0, 1, 2, 3], "b": [1, 0, 1, 0]}), [0, 0, 1, 1]
    )
    timed(
        rows,
        "shap import and first-call JIT compilation (once per process)",
        lambda: feature_contributions(tiny, pd.DataFrame({"a": [0, 3], "b": [1, 0]})),
    )
    timed(
        rows,
        "SHAP, one radiomics model, test patients",
        lambda: feature_contributions(radiomics, cases.loc[test], background=cases.loc[train]),
    )
    timed(
        rows,
        "SHAP, RDINet+clinical tabular inputs, test patients",
        lambda: feature_contributions(
            rdinet, X.loc[test], background=X.loc[train], max_background=10, max_evals=1
        ),
    )
    timed(
        rows,
        f"TTA x{args.augmentations}, RDINet+clinical, test patients",
        lambda: tta_predict_proba(rdinet, X.loc[test], n_augmentations=args.augmentations),
    )
    timed(
        rows,
        "bootstrap spread, 20 refits, one radiomics model",
        lambda: bootstrap_predict_proba(
            radiomics_model(), cases.loc[train], y[train], cases.loc[test]
        ),
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    for mode in ("volume", "replaced", "shuffled", "elsewhere"):
        control = negative_control_pipeline(radiomics_model(), mode, out_dir=f"{folder}/controls")
        result = timed(
            rows,
            f"negative control {mode!r} (write + extract + 5-fold CV)",
            lambda c=control: compare_with_control(radiomics_model(), c, cases, y, cv=cv),
        )
        print(
            f"  real AUC {result['real_auc']:.3f}, control {result['control_auc']:.3f}, "
            f"difference {result['difference']:.3f} ({result['ci_low']:.3f} to "
            f"{result['ci_high']:.3f})"
        )
    proba = radiomics.predict_proba(cases.loc[test])[:, 1]
    timed(
        rows,
        "LOESS calibration curve, 200 bootstrap resamples",
        lambda: smoothed_calibration_curve(y[test], proba),
    )
    timed(
        rows,
        "methods.md, tripod_ai.md, clear.md",
        lambda: write_reporting_files(
            StudyDescription(n_patients=args.patients, metrics=["AUC"]), folder
        ),
    )
    total = sum(seconds for _, seconds in rows)
    print(pd.DataFrame(rows, columns=["step", "seconds"]).round(1).to_markdown(index=False))
    print(f"total: {total:.1f} s (target: under 60 s on top of the demo)")

    # The acceptance figure: out-of-fold TTA spread against misclassification.
    oof = []
    for fold_train, fold_test in cv.split(X, y):
        net = RDINetClassifier(**DEMO_NET).fit(X.iloc[fold_train], y.iloc[fold_train])
        oof.append(tta_predict_proba(net, X.iloc[fold_test], n_augmentations=args.augmentations))
    oof = pd.concat(oof).loc[X.index]
    figure = spread_misclassification(y, oof["proba_mean"], oof["proba_spread"])
    print(
        f"TTA spread for misclassification, 5-fold CV, {args.patients} patients: AUC "
        f"{figure.auc:.3f} ({figure.ci_low:.3f} to {figure.ci_high:.3f}); mean spread "
        f"{figure.spread_wrong:.4f} misclassified (n={figure.n_wrong}) vs "
        f"{figure.spread_right:.4f} correct (n={figure.n_right}), difference "
        f"{figure.difference_low:.4f} to {figure.difference_high:.4f}; uncertain flagged "
        f"{int(oof['uncertain'].sum())}"
    )


if __name__ == "__main__":
    main()
