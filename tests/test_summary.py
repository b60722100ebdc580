"""The study's summary: best model per family chosen in training, its test AUC and calibration."""

import numpy as np
import pytest

from rdinet_sklearn.metrics import binary_report
from rdinet_sklearn.study._results import TEST, FittedModel
from rdinet_sklearn.study._summary import format_summary, summary_reading, summary_table

Y_TEST = np.array([0, 0, 0, 1, 1, 1, 0, 1, 0, 1])
GOOD = np.array([0.1, 0.2, 0.3, 0.8, 0.7, 0.9, 0.4, 0.6, 0.2, 0.85])
POOR = np.array([0.6, 0.4, 0.5, 0.3, 0.7, 0.5, 0.6, 0.4, 0.5, 0.45])


def _stage(family, cv_auc, proba, threshold=0.5):
    cv = None if cv_auc is None else {"test_roc_auc": list(cv_auc)}
    return FittedModel(
        name="x",
        family=family,
        roi="MR+LR",
        classifier="x",
        estimator=None,
        threshold=threshold,
        probabilities={TEST: proba},
        cv=cv,
    )


def test_each_family_is_led_by_its_best_cv_model_not_its_best_test_model():
    stages = {
        # In training the poor model looked better: it must be the one reported.
        "Radiomics MR+LR SVM": _stage("radiomics", [0.8, 0.9, 0.85], POOR),
        "Radiomics MR+LR LOGREG": _stage("radiomics", [0.6, 0.7, 0.65], GOOD),
        "ResNet MR+LR": _stage("resnet", [0.7, 0.72], GOOD * 0.5),
        "RDINet+clinical MR+LR": _stage("rdinet_clinical", None, GOOD, threshold=0.55),
    }
    summary = summary_table(stages, Y_TEST)
    assert summary["family"].tolist() == ["Radiomics", "ResNet", "RDINet+clinical"]
    radiomics = summary.iloc[0]
    assert radiomics["model"] == "Radiomics MR+LR SVM"
    assert radiomics["chosen_by"] == "CV AUC (training)"
    assert radiomics["cv_auc_mean"] == pytest.approx(0.85)
    assert radiomics["cv_auc_sd"] == pytest.approx(0.05)
    expected = binary_report(Y_TEST, POOR, threshold=0.5)
    expected = expected.set_index("metric")
    assert radiomics["test_auc"] == pytest.approx(expected.loc["AUC", "value"])
    assert radiomics["test_auc_ci_low"] == pytest.approx(expected.loc["AUC", "ci_low"])
    assert radiomics["brier"] == pytest.approx(np.mean((POOR - Y_TEST) ** 2))
    assert radiomics["brier_ci_low"] <= radiomics["brier"] <= radiomics["brier_ci_high"]
    resnet = summary.iloc[1]
    assert resnet["predicted_rate"] == pytest.approx(np.mean(GOOD) * 0.5)
    assert resnet["observed_rate"] == pytest.approx(0.5)
    fused = summary.iloc[2]
    assert fused["chosen_by"] == "only model of its family"
    assert np.isnan(fused["cv_auc_mean"]) and fused["threshold"] == 0.55
    assert (summary["n_test"] == 10).all() and (summary["n_test_positive"] == 5).all()


def test_a_family_without_cv_scores_says_how_its_model_was_chosen():
    stages = {
        "RDINet A": _stage("rdinet", None, POOR),
        "RDINet B": _stage("rdinet", None, GOOD),
    }
    summary = summary_table(stages, Y_TEST)
    assert summary["model"].tolist() == ["RDINet A"]  # never picked by its test AUC
    assert summary["chosen_by"].iloc[0].startswith("first fitted")
    assert "no cross-validation" in summary_reading(summary)


def test_reading_names_the_training_choice_and_its_test_results():
    stages = {
        "Radiomics MR+LR SVM": _stage("radiomics", [0.8, 0.9, 0.85], POOR),
        "RDINet MR+LR": _stage("rdinet", [0.9, 0.92, 0.95], GOOD),
    }
    summary = summary_table(stages, Y_TEST)
    reading = summary_reading(summary)
    fused = summary.iloc[1]
    assert reading.startswith("RDINet MR+LR, ranked best by cross-validation")
    assert f"test AUC of {fused['test_auc']:.2f} (95% CI {fused['test_auc_ci_low']:.2f}-" in reading
    assert "on 10 cases (5 with the outcome)" in reading
    assert f"({np.mean(GOOD):.0%}) matched the observed rate" in reading
    poor_only = summary.iloc[[0]]
    assert "which includes chance, 0.5" in summary_reading(poor_only)
    shifted = summary.assign(predicted_rate=0.8)
    assert "overestimated the event rate (80% predicted, 50% observed)" in summary_reading(shifted)
    assert summary_reading(summary.iloc[0:0]) == ""


def test_formatted_summary_shows_intervals_and_rates():
    stages = {"RDINet MR+LR": _stage("rdinet", [0.9, 0.92], GOOD)}
    summary = summary_table(stages, Y_TEST)
    shown = format_summary(summary)
    row = summary.iloc[0]
    assert shown["Family"].tolist() == ["RDINet"]
    shown = shown.set_index("Family")
    assert shown.loc["RDINet", "Best model"] == "RDINet MR+LR"
    assert shown.loc["RDINet", "CV AUC, training (mean ± SD)"] == "0.91 ± 0.01"
    assert shown.loc["RDINet", "Test AUC (95% CI)"] == (
        f"{row.test_auc:.2f} ({row.test_auc_ci_low:.2f}-{row.test_auc_ci_high:.2f})"
    )
    assert shown.loc["RDINet", "Test event rate, predicted vs observed"] == (
        f"{np.mean(GOOD):.0%} vs 50%"
    )
