"""Issue 30's clinical rank statistic: do RDINet+clinical's contributions rank the clinical
columns that echo the latent disease (and smoking) above the unrelated ones?

The acceptance figure, over out-of-fold explanations: the study's RDINet+clinical at the
``quick`` preset (t-test + LASSO selection of the radiomics features and of the clinical
columns inside each fold, then the network) is fitted on each training fold of a stratified
5-fold CV, and its test fold is explained as the study explains the test cohort (SHAP, the
preset's ``explain.deep_background_rows`` training rows as background, one permutation).
Per fold, the rank statistic is :func:`~rdinet_sklearn.explain.rank_separation` of the
clinical columns' mean absolute contributions: the probability that an echoing column
outranks an unrelated one (0.5 at random); a column the fold's selection dropped moves no
prediction, so its importance is 0. The table gives each fold's value, the mean and its
t interval over the folds.

Beside it, as evidence of where the signal is lost if the statistic stays near chance:

* the same statistic for a logistic regression on the same selected clinical columns,
  and for one on every clinical column, unselected (what the clinical columns carry at
  this sample size);
* how many echoing and unrelated columns each fold's clinical selection keeps, and the
  ceiling that sets: the statistic when every kept echoing column outranks every kept
  unrelated one (the dropped ones tie at 0);
* the share of RDINet's total mean absolute contribution that goes to clinical inputs;
* first, each clinical column's univariate AUC for the response, in the cohort and in a
  large draw of the generator (how much signal each column carries at all).

Run: ``python benchmarks/bench_explain_rank.py`` (147 patients, the demo's image shape) or
``--shape 8 48 96`` for smaller images (radiomics features then differ from the demo's).
"""

import argparse
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import RESPONSE_LINKED_COLUMNS, make_ted_clinical, make_ted_cohort
from rdinet_sklearn.explain import feature_contributions, mean_abs_contributions, rank_separation
from rdinet_sklearn.study import build_cohort, make_config
from rdinet_sklearn.study._models import clinical_selection, rdinet_model, study_extractor

ECHO = RESPONSE_LINKED_COLUMNS
# Patients drawn for the clinical columns' population-level signal (clinical table only).
POPULATION = 20000


def t_interval(values):
    values = np.asarray(values, float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def clinical_importance(contributions, clinical):
    """Mean |SHAP| of every clinical column; one the selection dropped counts 0.

    SHAP values add up, so the levels of a one-hot encoded category are summed per patient
    (``thyroid_treatment_radioiodine`` -> ``thyroid_treatment``) before the absolute value.
    """

    def owner(feature):
        return next((c for c in clinical if feature == c or feature.startswith(f"{c}_")), None)

    owners = pd.Series({feature: owner(feature) for feature in contributions})
    grouped = contributions.T.groupby(owners).sum().T  # features of no clinical column drop out
    totals = grouped.abs().mean().reindex(list(clinical), fill_value=0.0)
    return totals, mean_abs_contributions(contributions)


def selection_ceiling(totals):
    """The best rank statistic the fold's selection allows: each kept response-linked column
    above each kept unrelated one, the dropped columns tied at 0."""
    kept = (totals > 0).astype(int)
    return rank_separation(kept * (1 + totals.index.isin(ECHO)), ECHO)


def column_signal(cases, y):
    """Each numeric clinical column's univariate AUC for the response, 0.5 meaning none,
    folded so that 1 is perfect either way: in the cohort and in a large draw of the same
    generator (its population value)."""
    clinical, response = make_ted_clinical(POPULATION, random_state=1)
    rows = {}
    for name, table, target in (("cohort", cases, y), ("population", clinical, response)):
        numeric = table.select_dtypes("number")
        auc = numeric.apply(lambda column, t=target: roc_auc_score(t, column))
        rows[f"AUC, {name}"] = np.maximum(auc, 1 - auc)
    signal = pd.DataFrame(rows).sort_values("AUC, population", ascending=False)
    signal["response-linked"] = signal.index.isin(ECHO)
    return signal


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=147)
    parser.add_argument("--shape", type=int, nargs=3, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--roi", default="MR+LR")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    work = tempfile.mkdtemp(prefix="bench-explain-rank-")
    shape = {} if args.shape is None else {"shape": tuple(args.shape)}
    cases, y = make_ted_cohort(args.patients, f"{work}/cohort", random_state=0, **shape)
    config = make_config("quick", overrides=["deep.device=cpu", "n_jobs=1"])
    cohort, config, _ = build_cohort(cases, y, config)
    cases, y = cohort.cases, cohort.y
    numeric, categorical = cohort.clinical
    clinical = [*numeric, *categorical]
    cache = f"{work}/cache"
    signal = column_signal(cases, y)
    print(signal.round(3).to_markdown())
    for name in ("cohort", "population"):
        marginal = rank_separation(signal[f"AUC, {name}"] - 0.5, ECHO)
        print(f"rank statistic of the univariate AUCs, {name}: {marginal:.3f}", flush=True)
    start = time.perf_counter()
    features = study_extractor(config, args.roi, cache).set_output(transform="pandas")
    columns = features.fit_transform(cases).columns
    print(f"radiomics features of {len(cases)} patients: {time.perf_counter() - start:.0f} s")
    model = rdinet_model(config, args.roi, columns, clinical=cohort.clinical, memory=cache)
    selection = clinical_selection(config, numeric, categorical)
    reference = Pipeline([("select", selection), ("clf", LogisticRegression())])
    # the same encoding without the t-test and LASSO: what the clinical columns carry
    unselected = Pipeline(
        [("encode", selection[0]), ("scale", StandardScaler()), ("clf", LogisticRegression())]
    )
    rows = []
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=config.seed)
    for fold, (train, test) in enumerate(cv.split(cases, y), start=1):
        start = time.perf_counter()
        X_train, X_test = cases.iloc[train], cases.iloc[test]
        fitted = clone(model).fit(X_train, y.iloc[train])
        values = feature_contributions(
            fitted,
            X_test,
            background=X_train,
            max_background=config.explain.deep_background_rows,
            max_evals=1,
        )
        totals, importance = clinical_importance(values, clinical)
        logistic = clone(reference).fit(X_train[clinical], y.iloc[train])
        logistic_values = feature_contributions(
            logistic, X_test[clinical], background=X_train[clinical]
        )
        logistic_totals, _ = clinical_importance(logistic_values, clinical)
        everything = clone(unselected).fit(X_train[clinical], y.iloc[train])
        everything_values = feature_contributions(
            everything, X_test[clinical], background=X_train[clinical]
        )
        everything_totals, _ = clinical_importance(everything_values, clinical)
        kept = {c for c in clinical if totals[c] > 0}
        kept_echo = len(kept.intersection(ECHO))
        rows.append(
            {
                "fold": fold,
                "RDINet+clinical": rank_separation(totals, ECHO),
                "ceiling of the selection": selection_ceiling(totals),
                "logistic, same clinical selection": rank_separation(logistic_totals, ECHO),
                "logistic, all clinical columns": rank_separation(everything_totals, ECHO),
                "echoing kept": f"{kept_echo}/{len(ECHO)}",
                "unrelated kept": f"{len(kept) - kept_echo}/{len(clinical) - len(ECHO)}",
                "clinical share of |SHAP|": totals.sum() / importance.sum(),
                "seconds": time.perf_counter() - start,
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(
        f"\n{args.patients} patients, ROI {args.roi}, quick preset, {args.folds}-fold CV, "
        f"shape {args.shape or 'default'}\n"
    )
    print(table.round(3).to_markdown(index=False))
    for name in (
        "RDINet+clinical",
        "logistic, same clinical selection",
        "logistic, all clinical columns",
    ):
        low, high = t_interval(table[name])
        print(f"{name}: rank statistic {table[name].mean():.3f} ({low:.3f} to {high:.3f})")


if __name__ == "__main__":
    main()
