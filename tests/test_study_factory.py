"""The candidate factory: a new model family is one entry, and no case is extracted twice."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.radiomics import clear_process_cache, extraction_stats
from rdinet_sklearn.study import (
    FAMILIES,
    Candidate,
    ConfigError,
    FamilyEntry,
    load_study_model,
    make_config,
    run_study,
)
from rdinet_sklearn.study._models import with_extraction


def toy_candidates(config, cohort, roi, cache, feature_columns):
    """The developer guide's worked example: logistic regression on one ROI's features."""
    pipeline = Pipeline(
        [
            ("radiomics", with_extraction(config, roi, cache, (), features_first=True)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=5000)),
        ]
    )
    return [Candidate(f"Toy {roi}", "toy", roi, "LR", pipeline, {"clf__C": [0.01, 1.0]})]


SETTINGS = {
    "models": ["radiomics", "toy"],
    "cv_folds": 3,
    "n_jobs": 1,
    "comparison": {"repeats": 0},
    "radiomics": {"params": "original", "roi_strategies": ["MR+LR"], "classifiers": ["logreg"]},
}


def test_a_family_is_unknown_until_it_has_a_factory_entry(small_cohort, tmp_path):
    cases, y = small_cohort
    config = make_config("quick", overrides=[SETTINGS])
    with pytest.raises(ConfigError, match=r"'models' names \['toy'\], which is not a model fam"):
        run_study(cases, y, config=config, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def toy_study(small_cohort, tmp_path_factory):
    cases, y = small_cohort
    out = tmp_path_factory.mktemp("toy")
    entry = FamilyEntry("radiomics.roi_strategies", toy_candidates, image_branch=False)
    FAMILIES["toy"] = entry  # the one line that adds a family
    try:
        config = make_config("quick", overrides=[SETTINGS])
        clear_process_cache()
        results = run_study(cases, y, config=config, out=out, progress=False)
        stats = extraction_stats()
    finally:
        del FAMILIES["toy"]
    return results, out, stats


def test_a_toy_family_added_by_one_factory_entry_runs_through_the_study(toy_study, small_cohort):
    results, out, _ = toy_study
    cases, _ = small_cohort
    assert list(results["models"]) == ["Radiomics MR+LR LOGREG", "Toy MR+LR"]
    toy = results["models"]["Toy MR+LR"]
    assert (toy["family"], toy["roi"], toy["classifier"]) == ("toy", "MR+LR", "LR")
    assert toy["best_params"]["clf__C"] in ("0.01", "1.0") and len(toy["cv"]["test_roc_auc"]) == 3
    assert {(r["model"], r["cohort"]) for r in results["table2"] if r["metric"] == "AUC"} >= {
        ("Toy MR+LR", "test"),
        ("Toy MR+LR", "training (out-of-fold)"),
    }
    model, card = load_study_model(out / "models" / "Toy MR+LR")
    assert card["family"] == "toy" and card["image_branch"] is False
    test = cases.set_index(cases["patient_id"].astype(str)).loc[results["split"]["test"]]
    columns = card["columns"]["required"] + card["columns"]["optional"]
    proba = model.predict_proba(test[columns])[:, 1]
    rows = [
        line.split(",")
        for line in (out / "tables" / "predictions.csv").read_text().splitlines()[1:]
        if ",Toy MR+LR,test," in line
    ]
    np.testing.assert_allclose(proba, [float(r[5]) for r in rows], rtol=1e-9)


def test_every_case_is_extracted_once_across_cv_refit_and_hand_over(toy_study, small_cohort):
    results, out, stats = toy_study
    cases, _ = small_cohort
    # Two models x 3 folds x 2 grid points, refits and hand-over all read the ROI's features;
    # pyradiomics ran once per case and rater (the second rater's mask feeds the ICC filter).
    assert stats["extracted"] == 2 * len(cases)
    assert stats["disk_hits"] + stats["memory_hits"] > stats["extracted"]
    config = json.loads((out / "results.json").read_text())["config"]
    assert config["radiomics"]["reproducibility"] == "raters"
