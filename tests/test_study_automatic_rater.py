"""``radiomics.reproducibility: auto_rater``: an automatic segmenter as the second rater."""

import json
from pathlib import Path

import pytest
import yaml

from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.study import build_cohort, make_config
from rdinet_sklearn.study._automatic_rater import AUTOMATIC_RATER_COLUMN, with_automatic_rater
from rdinet_sklearn.study._fit import cv_splits

# Radiomics only (the filter's sole reader), on 2 CPU cores.
TINY = {
    "cv_folds": 3,
    "n_jobs": 1,
    "models": ["radiomics"],
    "comparison": {"repeats": 0},
    "radiomics": {
        "roi_strategies": ["MR+LR"],
        "classifiers": ["logreg"],
        "reproducibility": "auto_rater",
    },
    "segmentation": {"grid_size": [8, 32, 64], "max_epochs": 25},
}


@pytest.fixture(scope="module")
def one_rater(small_cohort):
    """The real synthetic cohort without its second rater."""
    cases, y = small_cohort
    return cases.drop(columns=["mask_rater2"]), y


def test_training_patients_are_rated_by_a_segmenter_that_never_saw_them(one_rater, tmp_path):
    cases, y = one_rater
    config = make_config("quick", overrides=[TINY])
    cohort, config, why = build_cohort(cases, y, config)
    assert config.reference_mask_column == AUTOMATIC_RATER_COLUMN
    assert "never on that patient" in why
    rated = with_automatic_rater(cohort, config, str(tmp_path)).cases[AUTOMATIC_RATER_COLUMN]
    assert rated.notna().all()
    # one content-keyed mask folder per trained network: each CV fold's held-out patients
    # share their fold's network, and the test cohort has the whole-cohort network
    folder = rated.map(lambda path: Path(path).parent.name)
    splits = cv_splits(cohort.y_train, cv_folds=3, seed=config.seed)
    train = folder.loc[cohort.train_ids]
    per_fold = [set(train.iloc[held_out]) for _, held_out in splits]
    assert all(len(folders) == 1 for folders in per_fold)
    assert len(set().union(*per_fold)) == 3
    assert len(set(folder.loc[cohort.test_ids])) == 1
    assert set(folder.loc[cohort.test_ids]).isdisjoint(set().union(*per_fold))


def test_other_modes_leave_the_cohort_alone(one_rater, tmp_path):
    cases, y = one_rater
    config = make_config("quick", overrides=[TINY, "radiomics.reproducibility=perturbation"])
    cohort, config, _ = build_cohort(cases, y, config)
    assert with_automatic_rater(cohort, config, str(tmp_path)) is cohort


def test_study_filters_by_the_icc_between_manual_and_automatic_masks(one_rater, tmp_path):
    cases, y = one_rater
    cases.assign(response=y).to_csv(tmp_path / "cases.csv", index=False)
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(TINY))
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "response"]
    argv += ["--out", str(tmp_path / "out"), "--config", str(tmp_path / "settings.yaml")]
    assert main([*argv, "--no-progress"]) == EXIT_OK
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["reproducibility"]["method"] == "auto_rater"
    assert "ROISegmenter" in results["reproducibility"]["why"]
    features = results["headline_radiomics_features"]["features"]
    assert features and all(0.75 <= f["icc"] <= 1.0 for f in features)  # kept by the ICC
    report = (tmp_path / "out" / "report.html").read_text()
    assert "automatic second rater" in report


def test_auto_rater_with_automatic_masks_is_refused_naming_both_settings(
    one_rater, tmp_path, capsys
):
    cases, y = one_rater
    cases.assign(response=y).to_csv(tmp_path / "cases.csv", index=False)
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "response"]
    argv += ["--out", str(tmp_path / "out"), "--no-progress"]
    argv += ["--set", "radiomics.reproducibility=auto_rater", "--set", "segmentation.mode=auto"]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "'radiomics.reproducibility'" in error and "'segmentation.mode'" in error
    assert not (tmp_path / "out").exists()
