"""A network that diverges in a study is recorded (log, report, results.json); the rest go on."""

import json

import numpy as np
import pytest
import torch
from sklearn.dummy import DummyClassifier

from rdinet_sklearn.nn import DivergedFitError
from rdinet_sklearn.study import FAMILIES, Candidate, FamilyEntry, make_config, run_study
from rdinet_sklearn.study._cv import FoldDivergedError
from rdinet_sklearn.study._fit import fit_and_predict
from rdinet_sklearn.study._models import resnet_model

TINY = {
    "cv_folds": 3,
    "n_jobs": 1,
    "comparison": {"repeats": 0},
    "radiomics": {"roi_strategies": ["MR+LR"], "classifiers": ["logreg"]},
    "deep": {"rois": ["MR+LR"], "volume_size": [4, 16, 16], "max_epochs": 1, "batch_size": 8},
}


class InfiniteLoss(torch.nn.CrossEntropyLoss):
    """Cross-entropy times infinity: the first training loss is already non-finite."""

    def forward(self, logits, target):
        return super().forward(logits, target) * float("inf")


def _diverging_resnet(config, cohort, roi, cache, feature_columns):
    """The study's ResNet with a loss that cannot stay finite: a real fit, a real guard."""
    network = resnet_model(config, roi, memory=cache).set_params(criterion=InfiniteLoss)
    return [Candidate(f"Diverging ResNet {roi}", "diverging", roi, "ResNet", network)]


@pytest.fixture
def diverging_family(monkeypatch):
    monkeypatch.setitem(FAMILIES, "diverging", FamilyEntry("deep.rois", _diverging_resnet, True))


def test_a_diverged_model_is_recorded_and_the_study_goes_on(
    small_cohort, tmp_path, diverging_family
):
    cases, y = small_cohort
    config = make_config(
        "quick", overrides=[TINY, {"models": ["radiomics", "resnet", "diverging"]}]
    )
    results = run_study(cases, y, config=config, out=tmp_path, progress=False)
    name = "Diverging ResNet MR+LR"
    assert set(results["models"]) == {"Radiomics MR+LR LOGREG", "ResNet MR+LR"}
    [record] = results["diverged"]
    assert record == {
        "status": "diverged",
        "estimator": "ResNet50Classifier",
        "epoch": 1,
        "batch": 1,
        "quantity": "loss",
        "message": record["message"],
        "model": name,
        "fold": 1,
    }
    assert "non-finite loss at epoch 1, batch 1" in record["message"]
    assert json.loads((tmp_path / "results.json").read_text())["diverged"] == [record]
    # no metrics, not handed over; the others are scored and handed over
    assert {row["model"] for row in results["table2"]} == set(results["models"])
    assert not (tmp_path / "models" / name).exists()
    assert (tmp_path / "models" / "ResNet MR+LR" / "model.json").is_file()
    assert f"model {name} diverged in fold 1" in (tmp_path / "study.log").read_text()
    report = (tmp_path / "report.html").read_text()
    assert "Diverged models" in report and name in report


class DivergesOnLargeFits(DummyClassifier):
    """Raises the guard's error when fitted on more than ``limit`` rows (the refit only)."""

    def __init__(self, limit=10):
        super().__init__(strategy="prior")
        self.limit = limit

    def fit(self, X, y):
        if len(X) > self.limit:
            raise DivergedFitError("ToyNet", 3, 2, "gradient")
        return super().fit(X, y)


def test_cv_raises_rather_than_scoring_nan_and_names_the_refit():
    X, y = np.zeros((12, 1)), np.array([0, 1] * 6)
    with pytest.raises(FoldDivergedError) as caught:
        fit_and_predict(
            DivergesOnLargeFits(limit=10), {}, (X, y), (X[:2], y[:2]), cv_folds=3, seed=0
        )
    assert caught.value.fold == "refit"
    assert caught.value.record("toy") == {
        **DivergedFitError("ToyNet", 3, 2, "gradient").as_record(),
        "model": "toy",
        "fold": "refit",
    }
    with pytest.raises(FoldDivergedError) as caught:
        fit_and_predict(
            DivergesOnLargeFits(limit=5), {}, (X, y), (X[:2], y[:2]), cv_folds=3, seed=0
        )
    assert caught.value.fold == 1
