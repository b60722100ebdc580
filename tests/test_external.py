"""A finished study's models on new patients: hand-over folders, predict, evaluate, bad input.

One CPU-sized demo study (the issue's commands, with size options) serves every test.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

import rdinet_sklearn
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.study import load_study_model

pytestmark = pytest.mark.slow

SHAPE = ["--shape", "8", "48", "96"]
TEST_SIZE = [
    "--patients=24",
    *SHAPE,
    "--no-progress",
    *("--set", "cv_folds=3", "--set", "n_jobs=1", "--set", "comparison.repeats=0"),
    *("--set", "radiomics.params=original", "--set", "radiomics.roi_strategies=[MR+LR]"),
    *("--set", "radiomics.classifiers=[logreg]", "--set", "deep.rois=[MR+LR]"),
    *("--set", "deep.depth=10", "--set", "deep.volume_size=[4,16,16]"),
    *("--set", "deep.max_epochs=1", "--set", "deep.batch_size=8", "--set", "deep.d=8"),
]
MODEL = "results/demo/models/RDINet+clinical MR+LR"
HEADLINE = ["Radiomics MR+LR LOGREG", "ResNet MR+LR", "RDINet MR+LR", "RDINet+clinical MR+LR"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The issue's three commands, run in a fresh folder (relative paths as written)."""
    folder = tmp_path_factory.mktemp("external")
    before = os.getcwd()
    os.chdir(folder)
    try:
        make_ted_cohort(
            16, "ext", random_state=1, shape=(8, 48, 96), scanner_shift="default", center="ext"
        )
        assert main(["demo", "--out", "results/demo", *TEST_SIZE]) == EXIT_OK
        predict = ["predict", "--model", MODEL, "--cases", "results/demo/cohort/cases.csv"]
        assert main([*predict, "--out", "pred.csv"]) == EXIT_OK
        assert main([*predict, "--out", "pred_explained.csv", "--explain"]) == EXIT_OK
        evaluate = ["evaluate", "--study", "results/demo", "--cases", "ext/cases.csv"]
        assert main([*evaluate, "--target", "response", "--out", "results/external"]) == EXIT_OK
        yield folder
    finally:
        os.chdir(before)


def _stage(folder, slug):
    return joblib.load(folder / "results" / "demo" / "stages" / f"{slug}.joblib")


def test_every_model_has_a_hand_over_folder(workdir):
    results = json.loads((workdir / "results/demo/results.json").read_text())
    for name, model in results["models"].items():
        folder = workdir / "results/demo/models" / name
        card = json.loads((folder / "model.json").read_text())
        files = ["model.joblib", "model.json", "model.rdinet"]
        if model["family"] != "resnet":  # the explained features' background (no image input)
            files.insert(0, "background.csv")
            assert card["files"]["background"] == "background.csv"
        assert sorted(os.listdir(folder)) == files
        assert card["threshold"] == pytest.approx(model["threshold"])
        assert card["classes"] == [0, 1] and card["positive_class"] == 1
        assert card["rdinet_sklearn_version"] == rdinet_sklearn.__version__
        assert {"image", "mask"} <= set(card["columns"]["required"])
    clinical = json.loads((workdir / MODEL / "model.json").read_text())["columns"]["required"]
    assert "age" in clinical and "mask_rater2" not in clinical


def test_predict_writes_one_row_per_case_with_the_study_threshold(workdir):
    predictions = pd.read_csv(workdir / "pred.csv")
    cases = pd.read_csv(workdir / "results/demo/cohort/cases.csv")
    assert list(predictions.columns) == [
        "patient_id",
        "probability",
        "threshold",
        "predicted_class",
    ]
    assert predictions["patient_id"].tolist() == cases["patient_id"].tolist()
    assert predictions["probability"].between(0, 1).all()
    card = json.loads((workdir / MODEL / "model.json").read_text())
    study = json.loads((workdir / "results/demo/results.json").read_text())
    assert card["threshold"] == study["models"]["RDINet+clinical MR+LR"]["threshold"]
    assert (predictions["threshold"] == card["threshold"]).all()
    called = (predictions["probability"] >= card["threshold"]).astype(int)
    assert (predictions["predicted_class"] == called).all()
    # exactly what the safe file's model gives on the case table's columns
    model, loaded_card = load_study_model(workdir / MODEL)
    assert loaded_card == card
    columns = card["columns"]["required"] + card["columns"]["optional"]
    proba = model.predict_proba(cases.set_index("patient_id")[columns])[:, 1]
    np.testing.assert_array_equal(predictions["probability"], proba.astype(float))
    # the study's own test-cohort probabilities, for the same patients
    stage = _stage(workdir, "rdinet_clinical_mr_lr")
    results = json.loads((workdir / "results/demo/results.json").read_text())
    by_id = predictions.set_index("patient_id")["probability"]
    np.testing.assert_allclose(by_id[results["split"]["test"]], stage["proba_test"], rtol=1e-6)


def test_evaluate_reports_the_external_cohort_beside_the_internal_test(workdir):
    out = workdir / "results/external"
    table = pd.read_csv(out / "tables/table_2_numeric.csv")
    auc = table[table["metric"] == "AUC"]
    assert set(auc["model"]) == set(HEADLINE)
    assert sorted(auc["cohort"].unique()) == ["external", "internal test"]
    study = json.loads((workdir / "results/demo/results.json").read_text())
    internal = {
        r["model"]: r["value"]
        for r in study["table2"]
        if r["cohort"] == "test" and r["metric"] == "AUC"
    }
    for row in auc[auc["cohort"] == "internal test"].itertuples():
        assert row.value == pytest.approx(internal[row.model])
    delong = pd.read_csv(out / "tables/delong_tests_external_cohort.csv")
    assert len(delong) == 6 and delong["p_value"].between(0, 1).all()
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert [f[3:] for f in figures] == [
        "roc_external_cohort.png",
        "calibration_external_cohort.png",
        "decision_curves_external_cohort.png",
    ]
    report = (out / "report.html").read_text()
    assert "data:image/png;base64" in report and "internal test" in report
    formatted = pd.read_csv(out / "tables/table_2.csv")
    assert sorted(formatted["cohort"].unique()) == ["external", "internal test"]
    calibration = pd.read_csv(out / "tables/calibration_brier_score_intercept_and_slope.csv")
    assert set(calibration["cohort"]) == {"external", "internal test"}
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 16 * len(HEADLINE)
    # thresholds are the study's, unchanged
    for name in HEADLINE:
        card = json.loads((workdir / "results/demo/models" / name / "model.json").read_text())
        used = predictions.loc[predictions["model"] == name, "threshold"]
        assert (used == card["threshold"]).all()


def _copy_cases(cases, ids, folder):
    """The cases ``ids`` with their files copied under ``folder``; returns the CSV path."""
    rows = []
    for pid in ids:
        row = cases.loc[pid].copy()
        for column in ("image", "mask", "mask_rater2"):
            target = folder / pid / os.path.basename(row[column])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(row[column], target)
            row[column] = str(target)
        rows.append(row)
    path = folder / "cases.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_model_predicts_identically_in_a_fresh_process_without_training_data(workdir, tmp_path):
    results = json.loads((workdir / "results/demo/results.json").read_text())
    cases = pd.read_csv(workdir / "results/demo/cohort/cases.csv", index_col="patient_id")
    test_ids = results["split"]["test"]
    new_cases = _copy_cases(cases, test_ids, tmp_path / "new")
    shutil.copytree(workdir / MODEL, tmp_path / "model")
    expected = _stage(workdir, "rdinet_clinical_mr_lr")["proba_test"]
    demo = workdir / "results/demo"
    hidden = [demo / "cohort", demo / "cache", demo / "stages", demo / "models"]
    for path in hidden:
        path.rename(path.with_name(path.name + ".hidden"))
    try:
        code = [sys.executable, "-m", "rdinet_sklearn.cli", "predict", "--model"]
        run = subprocess.run(
            [*code, str(tmp_path / "model"), "--cases", str(new_cases), "--out", "p.csv"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": os.path.dirname(os.path.dirname(rdinet_sklearn.__file__)),
            },
        )
    finally:
        for path in hidden:
            path.with_name(path.name + ".hidden").rename(path)
    assert run.returncode == 0, run.stderr
    got = pd.read_csv(tmp_path / "p.csv")["probability"].to_numpy()
    np.testing.assert_array_equal(got, expected)


def test_gradcam_figure_per_case_for_image_models_only(workdir, tmp_path, capsys):
    cases = pd.read_csv(workdir / "results/demo/cohort/cases.csv").head(2)
    cases.to_csv(tmp_path / "two.csv", index=False)
    argv = ["predict", "--cases", str(tmp_path / "two.csv"), "--out", str(tmp_path / "p.csv")]
    cams = tmp_path / "cams"
    assert main([*argv, "--model", str(workdir / MODEL), "--gradcam", str(cams)]) == EXIT_OK
    assert sorted(p.name for p in cams.glob("*.png")) == ["TED001.png", "TED002.png"]
    # Patient ids are data: one that reads as a path stays a file name inside --gradcam.
    hostile = cases.assign(patient_id=["../../escaped", "/tmp/absolute"])
    hostile.to_csv(tmp_path / "hostile.csv", index=False)
    argv_hostile = ["predict", "--cases", str(tmp_path / "hostile.csv")]
    argv_hostile += ["--out", str(tmp_path / "h.csv"), "--model", str(workdir / MODEL)]
    inside = tmp_path / "deep" / "cams"
    assert main([*argv_hostile, "--gradcam", str(inside)]) == EXIT_OK
    written = sorted(p.name for p in inside.iterdir())
    assert len(written) == 4 and all(name.endswith((".png", ".svg")) for name in written)
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["cams"]
    assert not (tmp_path / "escaped.png").exists() and not Path("/tmp/absolute.png").exists()
    radiomics = workdir / "results/demo/models/Radiomics MR+LR LOGREG"
    (tmp_path / "p.csv").unlink()
    code = main([*argv, "--model", str(radiomics), "--gradcam", str(tmp_path / "none")])
    assert code == EXIT_BAD_INPUT
    assert "no image branch" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "none").exists()


def _fails(argv, capsys, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    for needle in needles:
        assert needle in err, err
    return err


def test_bad_input_names_the_file_column_or_patient_and_writes_nothing(workdir, tmp_path, capsys):
    cohort = workdir / "results/demo/cohort"
    cases = pd.read_csv(cohort / "cases.csv")
    out = tmp_path / "p.csv"
    predict = ["predict", "--model", str(workdir / MODEL), "--out", str(out), "--cases"]

    no_age = tmp_path / "no_age.csv"
    cases.drop(columns="age").to_csv(no_age, index=False)
    _fails([*predict, str(no_age)], capsys, str(no_age), "'age'")

    # TED002's mask loses its lateral rectus (label 4): the model's ROI is MR+LR
    mask = sitk.ReadImage(cases.loc[1, "mask"])
    labels = sitk.GetArrayFromImage(mask)
    labels[labels == 4] = 0
    damaged = sitk.GetImageFromArray(labels)
    damaged.CopyInformation(mask)
    sitk.WriteImage(damaged, str(tmp_path / "mask.nii.gz"))
    no_roi = cases.head(3).copy()
    no_roi.loc[1, "mask"] = str(tmp_path / "mask.nii.gz")
    no_roi.to_csv(tmp_path / "no_roi.csv", index=False)
    _fails([*predict, str(tmp_path / "no_roi.csv")], capsys, "TED002", "absent")

    other = tmp_path / "other_version"
    shutil.copytree(workdir / MODEL, other)
    card = json.loads((other / "model.json").read_text())
    (other / "model.json").write_text(json.dumps({**card, "rdinet_sklearn_version": "0.0.1"}))
    argv = ["predict", "--model", str(other), "--cases", str(cohort / "cases.csv")]
    _fails([*argv, "--out", str(out)], capsys, str(other / "model.json"), "0.0.1")

    (other / "model.json").write_text(json.dumps(card))
    (other / "model.rdinet").write_bytes(b"not a model")
    _fails([*argv, "--out", str(out)], capsys, str(other / "model.rdinet"))
    assert not out.exists()

    external = pd.read_csv(workdir / "ext/cases.csv")
    external.loc[3, "response"] = 2
    external.to_csv(tmp_path / "three_classes.csv", index=False)
    report = tmp_path / "report"
    evaluate = ["evaluate", "--study", str(workdir / "results/demo"), "--target", "response"]
    evaluate += ["--cases", str(tmp_path / "three_classes.csv"), "--out", str(report)]
    _fails(evaluate, capsys, "'response'", external.loc[3, "patient_id"], "(2)")
    assert not report.exists()
    assert not list(tmp_path.glob(".partial*"))


def test_evaluate_on_a_one_class_cohort_exits_3_naming_it_before_any_prediction(
    workdir, tmp_path, capsys
):
    external = pd.read_csv(workdir / "ext/cases.csv")
    responders = external[external["response"] == 1]
    responders.to_csv(tmp_path / "responders.csv", index=False)
    report = tmp_path / "report"
    evaluate = ["evaluate", "--study", str(workdir / "results/demo"), "--target", "response"]
    evaluate += ["--cases", str(tmp_path / "responders.csv"), "--out", str(report)]
    err = _fails(evaluate, capsys, str(tmp_path / "responders.csv"), "one class only")
    assert err.count("\n") == 1 and f"({len(responders)} cases)" in err
    assert not report.exists()


RADIOMICS_ONLY = [
    "--no-progress",
    *("--set", "models=[radiomics]", "--set", "cv_folds=3", "--set", "n_jobs=1"),
    *("--set", "comparison.repeats=0", "--set", "radiomics.params=original"),
    *("--set", "radiomics.roi_strategies=[MR+LR]", "--set", "radiomics.classifiers=[logreg]"),
]


def test_an_external_test_cohort_replaces_the_random_split(workdir, tmp_path, capsys):
    train = workdir / "results/demo/cohort/cases.csv"
    external = workdir / "ext/cases.csv"
    out = tmp_path / "study"
    study = ["study", "--cases", str(train), "--target", "response", "--out", str(out)]
    assert main([*study, "--test-cases", str(external), *RADIOMICS_ONLY]) == EXIT_OK
    results = json.loads((out / "results.json").read_text())
    external_ids = pd.read_csv(external)["patient_id"].tolist()
    assert results["split"]["test"] == external_ids
    assert sorted(results["split"]["train"]) == sorted(pd.read_csv(train)["patient_id"])
    name = "Radiomics MR+LR LOGREG"
    rows = pd.read_csv(out / "tables/predictions.csv")
    test_rows = rows[(rows["model"] == name) & (rows["cohort"] == "test")]
    assert test_rows["case"].tolist() == external_ids
    assert test_rows["y_true"].tolist() == pd.read_csv(external)["response"].tolist()
    # the hand-over model, on the external cases, gives the study's test probabilities
    predictions = tmp_path / "p.csv"
    model = str(out / "models" / name)
    predict = ["predict", "--model", model, "--cases", str(external), "--out", str(predictions)]
    assert main(predict) == EXIT_OK
    np.testing.assert_allclose(
        pd.read_csv(predictions)["probability"], test_rows["proba"], rtol=1e-12
    )

    # the same cohort as training and test: refused, naming a shared patient
    again = ["--test-cases", str(train), *RADIOMICS_ONLY]
    study[-1] = str(tmp_path / "refused")
    _fails([*study, *again], capsys, str(train), "'TED001'", "also in the training cases")


def test_evaluate_refuses_an_unseen_combat_batch_before_predicting():
    from sklearn.pipeline import make_pipeline

    from rdinet_sklearn._cases import CaseTableError
    from rdinet_sklearn.harmonization import ComBatHarmonizer
    from rdinet_sklearn.study._external import _check_batches

    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(size=(40, 3)), columns=["f1", "f2", "f3"])
    train["center"] = np.repeat(["A", "B"], 20)
    model = make_pipeline(ComBatHarmonizer(batch_column="center")).fit(train)
    external = train.assign(center=["A"] * 30 + ["C"] * 10)
    with pytest.raises(CaseTableError, match=r"ext\.csv: column 'center' holds ComBat batch"):
        _check_batches({"Radiomics all LOGREG": (model, {})}, external, "ext.csv")
    _check_batches({"Radiomics all LOGREG": (model, {})}, train, "ext.csv")  # all seen
    lenient = make_pipeline(ComBatHarmonizer(batch_column="center", unseen="estimate"))
    _check_batches({"lenient": (lenient.fit(train), {})}, external, "ext.csv")  # estimated


EXPLAIN_SECTIONS = (
    "Feature contributions",
    "Uncertainty",
    "Negative controls",
    "Reporting checklists (TRIPOD+AI, CLEAR)",
)


def test_demo_report_explains_its_models_and_writes_the_checklists(workdir):
    demo = workdir / "results/demo"
    report = (demo / "report.html").read_text()
    for section in EXPLAIN_SECTIONS:
        assert f"<h2>{section}</h2>" in report, section
    assert "Methods paragraph (methods.md)" in report
    for name in ("tripod_ai.md", "clear.md", "methods.md"):
        assert (demo / name).is_file(), name
    assert (demo / "methods.md").read_text().startswith("# Methods")
    tripod = pd.read_csv(demo / "tables/tripod_ai_checklist_tripod_ai_md.csv").set_index("item")
    assert set(tripod["status"]) <= {"covered", "not applicable", "for the authors"}
    # each figure is one headline model's; a ResNet has no tabular input to explain
    contributions = pd.read_csv(demo / "tables/feature_contributions_mean_shap_test_cohort.csv")
    assert set(contributions["model"]) == set(HEADLINE) - {"ResNet MR+LR"}
    assert (contributions["mean_abs_shap"] >= 0).all()
    clinical = contributions[contributions["model"] == "RDINet+clinical MR+LR"]["feature"]
    assert clinical.isin(["cas", "trab", "age", "smoking", "sex_M", "sex_F"]).any()
    uncertainty = pd.read_csv(demo / "tables/uncertainty_test_cohort.csv").set_index("model")
    assert list(uncertainty.index) == HEADLINE
    assert uncertainty.loc["Radiomics MR+LR LOGREG", "method"] == "bootstrap refits"
    assert uncertainty.loc["RDINet MR+LR", "method"] == "test-time augmentation"
    assert (uncertainty["n_wrong"] + uncertainty["n_right"] == 5).all()
    controls = pd.read_csv(demo / "tables/negative_controls_cv_auc_in_training.csv")
    assert controls["control"].tolist() == ["volume"]  # the quick preset's one control
    row = controls.iloc[0]
    assert row["difference"] == pytest.approx(row["real_auc"] - row["control_auc"])
    assert row["ci_low"] < row["difference"] < row["ci_high"]
    recorded = json.loads((demo / "results.json").read_text())["explain"]
    assert recorded["Negative controls (CV AUC in training)"][0]["control"] == "volume"


def test_study_predictions_carry_the_spread_of_the_test_rows(workdir):
    predictions = pd.read_csv(workdir / "results/demo/tables/predictions.csv")
    test = predictions[predictions["cohort"] == "test"]
    assert test[["proba_mean", "proba_spread", "uncertain"]].notna().all().all()
    assert (test["proba_spread"] > 0).all()
    training = predictions[predictions["cohort"] != "test"]
    assert training["proba_spread"].isna().all()  # spread is computed on test patients only
    flagged = (test["proba_mean"] - test["threshold"]).abs() < 1.96 * test["proba_spread"]
    assert (test["uncertain"].astype(bool) == flagged).all()


def test_predict_explain_adds_signed_top_contributions_and_the_tta_spread(workdir):
    plain = pd.read_csv(workdir / "pred.csv")
    explained = pd.read_csv(workdir / "pred_explained.csv")
    assert list(explained.columns) == [
        *plain.columns,
        "top_contributions",
        "proba_mean",
        "proba_spread",
        "uncertain",
    ]
    pd.testing.assert_frame_equal(explained[plain.columns], plain)
    background = pd.read_csv(workdir / MODEL / "background.csv", index_col=0)
    for text in explained["top_contributions"]:
        parts = text.split("; ")
        assert len(parts) == 3
        for part in parts:
            feature, value = part.rsplit(" ", 1)
            assert feature in background.columns and value[0] in "+-"
    assert (explained["proba_spread"] > 0).all()


def test_predict_explain_without_a_background_names_the_model(workdir, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(workdir / "results/demo/models/Radiomics MR+LR LOGREG", folder)
    (folder / "background.csv").unlink()
    card = json.loads((folder / "model.json").read_text())
    del card["files"]["background"]
    (folder / "model.json").write_text(json.dumps(card))
    cases = str(workdir / "results/demo/cohort/cases.csv")
    out = tmp_path / "pred.csv"
    predict = ["predict", "--model", str(folder), "--cases", cases, "--out", str(out)]
    assert main([*predict, "--explain"]) == EXIT_BAD_INPUT
    assert "model 'Radiomics MR+LR LOGREG'" in capsys.readouterr().err
    assert not out.exists()
