"""The study's explanation step on plain tabular models: each model explained or named with
the reason it cannot be, never a crash of the report (the end-to-end run is in
tests/test_external.py)."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from rdinet_sklearn.study import FittedModel, make_config
from rdinet_sklearn.study._cohort import Cohort
from rdinet_sklearn.study._explain import (
    CONTRIBUTIONS_TITLE,
    UNCERTAINTY_TITLE,
    contributions,
    problems_title,
    uncertainty,
)
from rdinet_sklearn.study._results import TEST


def _cohort(n=40, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"P{i:02d}" for i in range(n)]
    cases = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)}, index=ids)
    y = pd.Series((cases["signal"] + 0.5 * rng.normal(size=n) > 0).astype(int), name="response")
    return Cohort(
        cases=cases,
        y=y,
        classes=np.array([0, 1]),
        train_ids=np.array(ids[:30]),
        test_ids=np.array(ids[30:]),
        groups=None,
        numeric=[],
        categorical=[],
        batch_columns=[],
    )


def _model(name, estimator, cohort):
    proba = estimator.predict_proba(cohort.cases.loc[cohort.test_ids].to_numpy())[:, 1]
    return FittedModel(name, "radiomics", "all", "logreg", estimator, 0.5, {TEST: proba})


def test_a_model_without_named_features_is_named_and_the_others_explained():
    cohort = _cohort()
    train = cohort.cases.loc[cohort.train_ids]
    named = LogisticRegression().fit(train, cohort.y_train)
    unnamed = LogisticRegression().fit(train.to_numpy(), cohort.y_train)
    models = {"Named": _model("Named", named, cohort), "Bare": _model("Bare", unnamed, cohort)}
    settings = make_config("quick").explain
    result = contributions(models, ["Named", "Bare"], cohort, settings)
    table = result.tables[CONTRIBUTIONS_TITLE]
    assert table["model"].unique().tolist() == ["Named"]
    assert table["feature"].tolist() == ["signal", "noise"]  # the planted signal first
    problems = result.tables[problems_title("Feature contributions")]
    assert problems["model"].tolist() == ["Bare"]
    assert problems["reason"].iloc[0].startswith("model 'Bare': it has no named features")
    assert list(result.figures) == ["Feature contributions, Named"]


def test_a_bootstrap_count_below_two_is_named_and_a_valid_one_gives_spreads():
    cohort = _cohort()
    train = cohort.cases.loc[cohort.train_ids]
    model = _model("Named", LogisticRegression().fit(train, cohort.y_train), cohort)
    config = make_config("quick")
    zero = config.updated({"explain": {"bootstrap_resamples": 0}}).explain
    result = uncertainty({"Named": model}, ["Named"], cohort, zero, seed=0)
    assert UNCERTAINTY_TITLE not in result.tables and not result.uncertainty
    reason = result.tables[problems_title("Uncertainty")]["reason"].iloc[0]
    assert reason.startswith("model 'Named': n_resamples must be an integer of at least 2")
    result = uncertainty({"Named": model}, ["Named"], cohort, config.explain, seed=0)
    spread = result.uncertainty["Named"]
    assert spread.index.tolist() == cohort.test_ids.tolist()
    assert (spread["proba_spread"] > 0).all()
    row = result.tables[UNCERTAINTY_TITLE].iloc[0]
    assert row["n_wrong"] + row["n_right"] == 10
    assert row["n_uncertain"] == int(spread["uncertain"].sum())
