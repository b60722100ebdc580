"""The study's ``segmentation`` section: an in-fold ROISegmenter first in every model."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from sklearn.metrics import roc_auc_score

from rdinet_sklearn import ROISegmenter
from rdinet_sklearn._cases import CaseTableError
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.segmentation import SmallStructureWarning
from rdinet_sklearn.study import load_study_model, make_config, predict_cases
from rdinet_sklearn.study._models import radiomics_model, rdinet_model, resnet_model

# The smallest study that still runs both families on automatic masks on 2 CPU cores.
TINY = {
    "cv_folds": 3,
    "n_jobs": 1,
    "models": ["radiomics", "rdinet_clinical"],
    # radiomics models are compared on 1 x 2 repeated splits, the deep one on the study's folds
    "comparison": {"repeats": 1, "folds": 2},
    "radiomics": {"roi_strategies": ["MR+LR"], "classifiers": ["logreg"]},
    "deep": {"rois": ["MR+LR"], "volume_size": [4, 16, 16], "max_epochs": 1, "batch_size": 8},
    "segmentation": {"grid_size": [8, 32, 64], "max_epochs": 25},
}


def test_manual_is_the_default_and_leaves_the_models_unchanged(tmp_path):
    config = make_config("quick")
    assert config.segmentation.mode == "manual"
    estimator, _ = radiomics_model("logreg", config, roi="MR+LR", cache=str(tmp_path))
    assert estimator.steps[0][0] == "radiomics"


def test_auto_puts_one_shared_segmenter_first_in_every_model(tmp_path):
    config = make_config("quick", overrides=[TINY, "segmentation.mode=auto"])
    cache = str(tmp_path)
    radiomics, _ = radiomics_model("logreg", config, roi="MR+LR", cache=cache)
    rdinet = rdinet_model(config, "MR+LR", ["f"], clinical=(["age"], []), memory=cache)
    resnet = resnet_model(config, "MR+LR", memory=cache)
    segmenters = [model.steps[0][1] for model in (radiomics, rdinet, resnet)]
    assert all(isinstance(s, ROISegmenter) for s in segmenters)
    # identical parameters, seed and cache: one network per training fold for all models
    params = [s.get_params() for s in segmenters]
    assert params[0] == params[1] == params[2]
    assert params[0]["labels"] == {"MR": 3, "LR": 4}  # only the structures some ROI reads
    assert (params[0]["memory"], params[0]["random_state"]) == (cache, config.seed)
    assert params[0]["max_epochs"] == 25 and params[0]["grid_size"] == (8, 32, 64)
    assert radiomics.steps[1][0] == "radiomics"  # segment first, then the rest


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("segmentation.mode=automatic", "'segmentation.mode'"),
        ("segmentation.max_epoch=3", "did you mean 'segmentation.max_epochs'"),
        ("segmentation.grid_size=[8, 16]", "'segmentation.grid_size'"),
    ],
)
def test_cli_bad_segmentation_key_exits_3_naming_it(
    small_cohort, tmp_path, capsys, override, named
):
    cases, y = small_cohort
    cases.assign(response=y).to_csv(tmp_path / "cases.csv", index=False)
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "response"]
    argv += ["--out", str(tmp_path / "out"), "--no-progress", "--set", override]
    assert main(argv) == EXIT_BAD_INPUT
    assert named in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def auto_study(small_cohort, tmp_path_factory):
    cases, y = small_cohort
    folder = tmp_path_factory.mktemp("auto")
    cases.assign(response=y).to_csv(folder / "cases.csv", index=False)
    (folder / "settings.yaml").write_text(yaml.safe_dump(TINY))
    out = folder / "out"
    argv = ["study", "--cases", str(folder / "cases.csv"), "--target", "response"]
    argv += ["--out", str(out), "--config", str(folder / "settings.yaml"), "--no-progress"]
    assert main([*argv, "--set", "segmentation.mode=auto"]) == EXIT_OK
    return out, json.loads((out / "results.json").read_text())


def test_auto_study_records_the_mode(auto_study):
    out, results = auto_study
    assert results["config"]["segmentation"]["mode"] == "auto"
    assert yaml.safe_load((out / "config.yaml").read_text())["segmentation"]["mode"] == "auto"


def test_auto_study_reports_out_of_fold_and_test_dice_per_structure(auto_study):
    out, results = auto_study
    entry = results["segmentation"]
    assert entry["structures"] == {"MR": 3, "LR": 4} and entry["cv_folds"] == 3
    oof, test = entry["cohorts"]["training (out-of-fold)"], entry["cohorts"]["test"]
    # every training patient once, scored by the fold that held it out; the test cohort too
    assert sorted(oof["ids"]) == sorted(results["split"]["train"])
    assert sorted(set(oof["fold"])) == [0, 1, 2]
    assert test["ids"] == results["split"]["test"]
    for cohort in (oof, test):
        for scores in cohort["structures"].values():
            assert len(scores["dice"]) == len(scores["hd95"]) == len(cohort["ids"])
            assert all(0.0 <= d <= 1.0 for d in scores["dice"])
            assert max(scores["dice"]) > 0.0  # trained: some overlap with the manual masks
    report = (out / "report.html").read_text()
    assert "Segmentation quality (automatic vs manual masks)" in report
    table = pd.read_csv(out / "tables" / "segmentation_quality_automatic_vs_manual_masks.csv")
    assert list(table.columns) == [
        "structure",
        "cohort",
        "cases",
        "Dice, median [95% CI]",
        "Dice, mean",
        "HD95 (mm), median [95% CI]",
        "empty",
    ]
    assert list(table["cohort"]) == ["training (out-of-fold)", "test"] * 2
    n_train, n_test = len(results["split"]["train"]), len(results["split"]["test"])
    assert list(table["cases"]) == [n_train, n_test] * 2
    # the MR rows summarise the per-case Dice in results.json: the median inside order
    # statistics that hold it with >= 95% confidence, and the mean
    rows = {row["cohort"]: row for _, row in table[table["structure"] == "MR"].iterrows()}
    dice = np.sort(oof["structures"]["MR"]["dice"])
    median, low, high = re.fullmatch(
        r"([\d.]+) \[([\d.]+), ([\d.]+)\]", rows["training (out-of-fold)"]["Dice, median [95% CI]"]
    ).groups()
    assert median == f"{np.median(dice):.3f}"
    # 19 cases: the 5th and 15th values (P(Binomial(19, 1/2) <= 4) = 0.0096 <= 0.025 < 0.032)
    assert len(dice) == 19 and (f"{dice[4]:.3f}", f"{dice[-5]:.3f}") == (low, high)
    assert rows["training (out-of-fold)"]["Dice, mean"] == pytest.approx(dice.mean(), abs=5e-4)
    # 5 test cases: no 95% interval exists (P(all 5 above the median) = 0.031), the median only
    test_dice = test["structures"]["MR"]["dice"]
    assert rows["test"]["Dice, median [95% CI]"] == f"{np.median(test_dice):.3f}"


def test_out_of_fold_masks_come_from_segmenters_that_never_saw_the_patient(
    auto_study, small_cohort
):
    out, results = auto_study
    cases, _ = small_cohort
    cases = cases.set_index("patient_id", drop=False)
    oof = results["segmentation"]["cohorts"]["training (out-of-fold)"]
    test = results["segmentation"]["cohorts"]["test"]
    # each fold's network is its own (a different content-keyed mask folder per fold),
    # and none of them is the network trained on the whole training cohort
    folder_of = {}
    for fold, path in zip(oof["fold"], oof["automatic_masks"], strict=True):
        folder_of.setdefault(fold, set()).add(Path(path).parent.name)
    assert all(len(folders) == 1 for folders in folder_of.values())
    fold_folders = set().union(*folder_of.values())
    assert len(fold_folders) == 3
    assert {Path(p).parent.name for p in test["automatic_masks"]}.isdisjoint(fold_folders)
    # the manual masks compared are the case table's
    for patient, manual in zip(oof["ids"], oof["manual_masks"], strict=True):
        assert manual == cases.loc[patient, "mask"]


def test_auto_study_runs_the_twinned_models_again_on_manual_masks(auto_study):
    out, results = auto_study
    twinned = ["Radiomics MR+LR LOGREG", "RDINet+clinical MR+LR"]
    twins = results["manual_twins"]
    assert list(twins) == twinned
    assert [twins[n]["name"] for n in twinned] == [f"{n} (manual masks)" for n in twinned]
    assert set(results["models"]) == set(twinned)  # twins are no candidates of the study
    for name in twinned:
        auto, twin = results["models"][name], twins[name]
        assert (twin["family"], twin["roi"]) == (auto["family"], auto["roi"])
        assert len(twin["cv"]["test_roc_auc"]) == len(auto["cv"]["test_roc_auc"]) == 3
        # handed over as a manual-mask model: no segmenter, the mask column required
        model, card = load_study_model(out / "models" / twins[name]["name"])
        assert card["segmentation"] == "manual" and "mask" in card["columns"]["required"]
        assert not any(isinstance(step, ROISegmenter) for _, step in model.steps)


def test_table2_shows_each_twinned_model_on_automatic_beside_manual_masks(auto_study):
    out, results = auto_study
    table = pd.read_csv(out / "tables" / "table_2.csv")
    models = list(dict.fromkeys(table["model"]))
    assert models == [
        "Radiomics MR+LR LOGREG (automatic masks)",
        "Radiomics MR+LR LOGREG (manual masks)",
        "RDINet+clinical MR+LR (automatic masks)",
        "RDINet+clinical MR+LR (manual masks)",
    ]
    numeric = pd.DataFrame(results["table2"])  # machine-readable: the models' own names
    assert set(numeric["model"]) == {
        "Radiomics MR+LR LOGREG",
        "Radiomics MR+LR LOGREG (manual masks)",
        "RDINet+clinical MR+LR",
        "RDINet+clinical MR+LR (manual masks)",
    }


def test_auto_vs_manual_reads_non_inferiority_on_shared_splits(auto_study):
    out, results = auto_study
    rows = {row["model"]: row for row in results["auto_vs_manual"]}
    assert list(rows) == list(results["manual_twins"])
    y_test = pd.Series(results["split"]["test"])
    predictions = pd.read_csv(out / "tables" / "predictions.csv")
    # the radiomics pair on the comparison's repeated splits (comparison.deep is false)
    radiomics = rows["Radiomics MR+LR LOGREG"]
    assert (radiomics["cv_splits"], radiomics["df"]) == ("1 x 2 repeated stratified CV", 1)
    # the deep pair on the study's own CV folds, shared by the model and its twin
    name = "RDINet+clinical MR+LR"
    automatic = np.asarray(results["models"][name]["cv"]["test_roc_auc"])
    manual = np.asarray(results["manual_twins"][name]["cv"]["test_roc_auc"])
    assert (rows[name]["cv_splits"], rows[name]["df"]) == ("the study's 3-fold CV", 2)
    assert rows[name]["cv_difference"] == pytest.approx(np.mean(automatic - manual))
    for name, row in rows.items():
        difference = row["cv_auc_automatic"] - row["cv_auc_manual"]
        assert row["cv_difference"] == pytest.approx(difference)
        assert row["ci_low"] <= row["cv_difference"] <= row["ci_high"]
        assert row["margin"] == 0.05
        assert row["non_inferior"] == (row["ci_low"] > -0.05)
        test_rows = predictions[(predictions["model"] == name) & (predictions["cohort"] == "test")]
        assert list(test_rows["case"].astype(str)) == list(y_test)
        expected = roc_auc_score(test_rows["y_true"], test_rows["proba"])
        assert row["test_auc_automatic"] == pytest.approx(expected)
        twin = results["manual_twins"][name]["name"]
        twin_rows = predictions[(predictions["model"] == twin) & (predictions["cohort"] == "test")]
        assert list(twin_rows["case"].astype(str)) == list(y_test)
        expected = roc_auc_score(twin_rows["y_true"], twin_rows["proba"])
        assert row["test_auc_manual"] == pytest.approx(expected)
        assert 0.0 <= row["delong_p_value"] <= 1.0
    report = (out / "report.html").read_text()
    assert "Automatic vs manual masks (same models, same splits)" in report
    assert "non-inferior when the lower bound" in report


def test_auto_study_draws_best_and_worst_contours(auto_study):
    out, _ = auto_study
    [figure] = (out / "figures").glob("*automatic_vs_manual_contours*.png")
    assert figure.stat().st_size > 0
    assert (
        "Automatic vs manual contours (test cohort, best and worst Dice)"
        in (out / "report.html").read_text()
    )


def test_predict_on_images_only_writes_masks_and_matches_python(auto_study, small_cohort, tmp_path):
    out, results = auto_study
    cases, _ = small_cohort
    folder = out / "models" / "RDINet+clinical MR+LR"
    model, card = load_study_model(folder)
    assert card["segmentation"] == "auto" and "mask" not in card["columns"]["required"]
    assert model[0].memory is None  # never the training machine's cache
    # the segmenter's added columns (manual mask path, flag) are no clinical features
    tabular = set(model.named_steps["clf"].tabular_features_in_)
    assert tabular and not tabular & {"mask", "mask_manual", "segmentation_flag"}
    test_ids = results["split"]["test"]
    images_only = cases.drop(columns=["mask", "mask_rater2"]).set_index("patient_id", drop=False)
    images_only = images_only.loc[test_ids]
    images_only.to_csv(tmp_path / "images_only.csv", index=False)
    argv = ["predict", "--model", str(folder), "--cases", str(tmp_path / "images_only.csv")]
    argv += ["--out", str(tmp_path / "pred.csv"), "--masks-out", str(tmp_path / "masks")]
    assert main(argv) == EXIT_OK
    predictions = pd.read_csv(tmp_path / "pred.csv", keep_default_na=False)
    assert list(predictions["patient_id"]) == test_ids
    assert "segmentation_flag" in predictions.columns
    columns = card["columns"]["required"] + card["columns"]["optional"]
    table = images_only.assign(**{c: np.nan for c in columns if c not in images_only})
    expected = model.predict_proba(table[columns])[:, 1]
    np.testing.assert_allclose(predictions["probability"], expected, rtol=1e-6)
    for patient, image_path in zip(images_only.index, images_only["image"], strict=True):
        mask = sitk.ReadImage(str(tmp_path / "masks" / f"{patient}.nii.gz"))
        image = sitk.ReadImage(image_path)
        assert mask.GetSize() == image.GetSize()
        assert np.allclose(mask.GetOrigin(), image.GetOrigin())
        assert np.allclose(mask.GetSpacing(), image.GetSpacing())
        assert np.allclose(mask.GetDirection(), image.GetDirection())
        assert set(np.unique(sitk.GetArrayFromImage(mask))) <= {0, 3, 4}


def test_predict_flags_small_automatic_structures_never_a_nan(auto_study, small_cohort):
    out, results = auto_study
    cases, _ = small_cohort
    model, card = load_study_model(out / "models" / "Radiomics MR+LR LOGREG")
    model[0].set_params(min_volume=1e9)  # every predicted muscle is now too small
    images_only = cases.drop(columns=["mask", "mask_rater2"]).iloc[:3]
    with pytest.warns(SmallStructureWarning, match="MR"):
        predictions = predict_cases(model, card, images_only)
    for flag in predictions["segmentation_flag"]:  # each structure with each orbit's volume
        assert re.fullmatch(r"MR \([\d.]+ \+ [\d.]+ mm3\), LR \([\d.]+ \+ [\d.]+ mm3\)", flag), flag
    assert np.isfinite(predictions["probability"]).all()


def test_masks_out_with_a_manual_mask_model_is_refused_naming_it(auto_study, tmp_path):
    out, _ = auto_study
    model, card = load_study_model(out / "models" / "Radiomics MR+LR LOGREG")
    manual = {**card, "segmentation": "manual"}
    with pytest.raises(CaseTableError, match="Radiomics MR\\+LR LOGREG.*draws no masks"):
        predict_cases(model, manual, "unused.csv", masks_out=tmp_path / "masks")
    assert not (tmp_path / "masks").exists()
