"""Per-patient uncertainty: test-time augmentation, bootstrap refits, the flag, the AUC."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import CLINICAL_COLUMNS, make_ted_clinical
from rdinet_sklearn.explain import (
    ExplanationError,
    bootstrap_predict_proba,
    spread_misclassification,
    tta_predict_proba,
    uncertain_flag,
)
from rdinet_sklearn.nn import RDINetClassifier
from rdinet_sklearn.volumes import RandomGaussianNoise

TINY = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (8, 32, 32),
    "max_epochs": 2,
    "batch_size": 8,
    "module__widen_factor": 0.25,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def fitted(small_cohort):
    cases, y = small_cohort
    clinical = [c for c in CLINICAL_COLUMNS if pd.api.types.is_numeric_dtype(cases[c])]
    X = cases[["image", "mask", *clinical]]
    return RDINetClassifier(fusion="film", **TINY).fit(X.iloc[:16], y.iloc[:16]), X


def test_tta_summarises_augmented_predictions(fitted):
    model, X = fitted
    test = X.iloc[16:]
    result = tta_predict_proba(model, test, n_augmentations=6, random_state=0)
    assert result.columns.tolist() == ["proba", "proba_mean", "proba_spread", "uncertain"]
    assert result.index.equals(test.index)
    np.testing.assert_allclose(result["proba"], model.predict_proba(test)[:, 1])
    assert (result["proba_spread"] > 0).all()  # the augmentations move the predictions
    assert (
        result["uncertain"].tolist()
        == uncertain_flag(result["proba_mean"], result["proba_spread"]).tolist()
    )
    again = tta_predict_proba(model, test, n_augmentations=6, random_state=0)
    pd.testing.assert_frame_equal(again, result)  # seeded
    # Stronger noise spreads the predictions more.
    weak = tta_predict_proba(model, test, augmentation=[RandomGaussianNoise(0.01, prob=1.0)])
    strong = tta_predict_proba(model, test, augmentation=[RandomGaussianNoise(1.0, prob=1.0)])
    assert strong["proba_spread"].mean() > weak["proba_spread"].mean()


def test_tta_refuses_too_few_augmentations_and_tabular_nets(fitted, small_cohort):
    model, X = fitted
    for count in (0, 1):
        with pytest.raises(ExplanationError, match=r"model 'RDINet': n_augmentations must be"):
            tta_predict_proba(model, X.iloc[:2], n_augmentations=count, model_name="RDINet")
    tabular = RDINetClassifier(**{**TINY, "fusion": "tabular"}).fit(X, small_cohort[1])
    with pytest.raises(ExplanationError, match="no image input to augment"):
        tta_predict_proba(tabular, X.iloc[:2])


def test_bootstrap_spread_shrinks_with_more_training_data():
    clinical, y = make_ted_clinical(400, random_state=0)
    X = clinical[["cas", "trab", "age"]]
    model = make_pipeline(StandardScaler(), LogisticRegression())
    small = bootstrap_predict_proba(model, X.iloc[:40], y.iloc[:40], X.iloc[300:], n_resamples=15)
    large = bootstrap_predict_proba(model, X.iloc[:300], y.iloc[:300], X.iloc[300:], n_resamples=15)
    assert small["proba_spread"].mean() > 1.5 * large["proba_spread"].mean()
    refit = model.fit(X.iloc[:300], y.iloc[:300]).predict_proba(X.iloc[300:])[:, 1]
    np.testing.assert_allclose(large["proba"], refit)
    with pytest.raises(ExplanationError, match="n_resamples must be an integer of at least 2"):
        bootstrap_predict_proba(model, X, y, X, n_resamples=0)


def test_spread_misclassification_matches_its_definition():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    proba = np.clip(y * 0.4 + 0.3 + rng.normal(0, 0.2, 60), 0, 1)
    wrong = (proba >= 0.5).astype(int) != y
    spread = np.where(wrong, 0.15, 0.05) + rng.uniform(0, 0.12, 60)
    result = spread_misclassification(y, proba, spread)
    assert result.n_wrong == wrong.sum() and result.n_right == (~wrong).sum()
    assert result.auc == pytest.approx(roc_auc_score(wrong, spread))
    assert result.ci_low < result.auc < result.ci_high
    assert result.spread_wrong == pytest.approx(spread[wrong].mean())
    assert (
        result.difference_low < result.spread_wrong - result.spread_right < result.difference_high
    )
    perfect = spread_misclassification([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], [0.1] * 4)
    assert perfect.n_wrong == 0 and np.isnan(perfect.auc) and np.isnan(perfect.spread_wrong)


def test_bootstrap_refits_a_radiomics_pipeline_on_a_case_table(small_cohort):
    from rdinet_sklearn.radiomics import RadiomicsExtractor

    cases, y = small_cohort
    model = make_pipeline(
        RadiomicsExtractor(("MR", "LR"), params="original", progress=False),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=2000),
    )
    # Repeated patients get distinct ids, so the case-table checks accept the resamples.
    result = bootstrap_predict_proba(
        model, cases.iloc[:18], y.iloc[:18], cases.iloc[18:], n_resamples=3
    )
    assert result.index.equals(cases.index[18:])
    assert (result["proba_spread"] > 0).all() and result["proba"].between(0, 1).all()
