"""The study design end to end at CPU size: outputs, resume, CLI, other cohort layouts."""

import json
import os
import shutil
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn._cases import CaseTableError
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.metrics import (
    corrected_resampled_ttest,
    sensitivity_score,
    specificity_score,
    youden_threshold,
)
from rdinet_sklearn.study import UncomputableMetricWarning, make_config, run_study
from rdinet_sklearn.study._fit import fit_and_predict
from rdinet_sklearn.study._outputs import performance_table
from rdinet_sklearn.study._results import TRAINING, FittedModel

TINY = {
    "cv_folds": 3,
    "n_jobs": 1,
    "comparison": {"repeats": 2, "folds": 3},
    "radiomics": {
        "params": "original",
        "roi_strategies": ["IR+SR", "MR+LR"],
        "classifiers": ["logreg"],
    },
    "deep": {
        "rois": ["MR+LR"],
        "depth": 10,
        "volume_size": [4, 16, 16],
        "max_epochs": 1,
        "batch_size": 8,
        "d": 8,
    },
}


@pytest.fixture(scope="module")
def tiny_study(small_cohort, tmp_path_factory):
    cases, y = small_cohort
    out = tmp_path_factory.mktemp("study")
    config = make_config("quick", overrides=[TINY])
    return run_study(cases, y, config=config, out=out, progress=False), out, config


def test_study_writes_every_deliverable(tiny_study):
    results, out, _ = tiny_study
    for name in ("report.html", "results.json", "config.yaml", "study.log"):
        assert (out / name).is_file(), name
    assert {"table_1.csv", "table_2.csv", "delong_tests.csv"} <= set(os.listdir(out / "tables"))
    figures = sorted(path.stem for path in (out / "figures").glob("*.png"))
    # the eighth compares the deep models' CV with radiomics; then one SHAP figure per
    # headline model with tabular inputs (the best radiomics model, RDINet, RDINet+clinical)
    assert len(figures) == 11
    assert figures[7] == "08_cv_auc_of_the_deep_models"
    assert figures[8].startswith("09_feature_contributions_radiomics_")
    assert figures[9:] == [
        "10_feature_contributions_rdinet_mr_lr",
        "11_feature_contributions_rdinet_clinical_mr_lr",
    ]
    assert all(len(model["cv"]["test_roc_auc"]) == 3 for model in results["models"].values())
    models = results["models"]
    assert set(models) == {
        "Radiomics IR+SR LOGREG",
        "Radiomics MR+LR LOGREG",
        "ResNet MR+LR",
        "RDINet MR+LR",
        "RDINet+clinical MR+LR",
    }
    assert len(models["Radiomics MR+LR LOGREG"]["cv"]["test_roc_auc"]) == 3
    split = results["split"]
    assert len(split["train"]) + len(split["test"]) == 24 and len(split["test"]) == 5
    assert not set(split["train"]) & set(split["test"])
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["split"] == split
    report = (out / "report.html").read_text()
    assert "Table 1" in report and "Table 2" in report and "data:image/png;base64" in report


def test_saved_models_predict_like_the_study(tiny_study, small_cohort):
    results, out, _ = tiny_study
    cases, _ = small_cohort
    stage = joblib.load(out / "stages" / "resnet_mr_lr.joblib")
    model = joblib.load(results["models"]["ResNet MR+LR"]["model_file"])
    test = cases.loc[results["split"]["test"]]
    np.testing.assert_allclose(model.predict_proba(test)[:, 1], stage["proba_test"], rtol=1e-5)


def test_rerun_resumes_from_finished_stages_with_identical_results(tiny_study, small_cohort):
    results, out, config = tiny_study
    cases, y = small_cohort
    record = out / "stages" / "rdinet_mr_lr.joblib"
    record.unlink()  # as if the run had been killed before RDINet finished
    # RDINet's own estimator is written again, and the manifest lists it anew
    rerun = ("rdinet_mr_lr.estimator.joblib", "manifest.json")
    before = {
        p.name: p.stat().st_mtime_ns for p in (out / "stages").iterdir() if p.name not in rerun
    }
    again = run_study(cases, y, config=config, out=out, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "stages").iterdir()}
    assert {k: v for k, v in after.items() if k in before} == before  # others reused
    assert record.exists()
    assert again["table2"] == results["table2"]
    assert "reused" in (out / "study.log").read_text()


def _relayout(cases, y, folder):
    """The same patients as NRRD files under other names, labels 7/9 for MR/LR, more columns."""
    rows = []
    for pid, row in cases.iterrows():
        target = folder / "scans" / f"subject_{pid}"
        target.mkdir(parents=True)
        sitk.WriteImage(sitk.ReadImage(row["image"]), str(target / "t2w.nrrd"))
        for column, name in (("mask", "seg_a.nrrd"), ("mask_rater2", "seg_b.nrrd")):
            labels = sitk.GetArrayFromImage(sitk.ReadImage(row[column]))
            relabelled = np.select([labels == 3, labels == 4], [7, 9], 0).astype(np.uint8)
            image = sitk.GetImageFromArray(relabelled)
            image.CopyInformation(sitk.ReadImage(row[column]))
            sitk.WriteImage(image, str(target / name))
        rows.append(
            {
                "subject": f"S-{pid}",
                "image": f"scans/subject_{pid}/t2w.nrrd",
                "mask": f"scans/subject_{pid}/seg_a.nrrd",
                "mask_rater2": f"scans/subject_{pid}/seg_b.nrrd",
                "age": row["age"],
                "site": "A" if len(rows) % 2 else "B",
                "extra_score": float(len(rows) % 5),
                "outcome": "good" if y[pid] else "poor",
            }
        )
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)


def test_cli_study_on_a_cohort_laid_out_differently(small_cohort, tmp_path):
    cases, y = small_cohort
    _relayout(cases, y, tmp_path)
    settings = {
        **TINY,
        "labels": {"medial": 7, "lateral": 9},
        "id_column": "subject",
        "models": ["radiomics", "rdinet_clinical"],
        "radiomics": {**TINY["radiomics"], "roi_strategies": ["medial+lateral"]},
        "deep": {**TINY["deep"], "rois": ["medial+lateral"]},
    }
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    out = tmp_path / "out"
    code = main(
        [
            "study",
            "--cases",
            str(tmp_path / "table.csv"),
            "--target",
            "outcome",
            "--out",
            str(out),
            "--config",
            str(tmp_path / "settings.yaml"),
            "--no-progress",
        ]
    )
    assert code == EXIT_OK
    results = json.loads((out / "results.json").read_text())
    assert set(results["models"]) == {
        "Radiomics medial+lateral LOGREG",
        "RDINet+clinical medial+lateral",
    }
    assert results["config"]["labels"] == {"medial": 7, "lateral": 9}
    assert results["split"]["test"][0].startswith("S-")


def test_cli_reports_user_mistakes_without_traceback(tmp_path, capsys):
    table = pd.DataFrame({"image": ["nowhere.nii.gz"], "mask": ["gone.nii.gz"], "y": [1]})
    table.to_csv(tmp_path / "cases.csv", index=False)
    code = main(["validate", "--cases", str(tmp_path / "cases.csv")])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "nowhere.nii.gz): file not found" in err and "Traceback" not in err
    code = main(
        [
            "study",
            "--cases",
            str(tmp_path / "cases.csv"),
            "--target",
            "y",
            "--out",
            str(tmp_path / "o"),
            "--set",
            "deep.nonsense=1",
        ]
    )
    assert code == EXIT_BAD_INPUT
    assert "unknown setting 'deep.nonsense'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_cli_extract_writes_named_features(small_cohort, tmp_path):
    cases, y = small_cohort
    csv = tmp_path / "cases.csv"
    cases.head(3).to_csv(csv)
    out = tmp_path / "features.parquet"
    assert (
        main(
            [
                "extract",
                "--cases",
                str(csv),
                "--roi",
                "MR",
                "LR",
                "--params",
                "original",
                "--out",
                str(out),
            ]
        )
        == EXIT_OK
    )
    features = pd.read_parquet(out)
    assert features.shape[0] == 3
    assert "MR+LR_original_firstorder_Mean" in features.columns


def test_config_layers_and_errors(tmp_path):
    paper = make_config("paper")
    assert paper.deep.volume_size == (32, 128, 128) and paper.deep.depth == 50
    (tmp_path / "c.yaml").write_text("deep:\n  max_epochs: 7\n")
    config = make_config("paper", config_file=tmp_path / "c.yaml", overrides=["deep.lr=0.01"])
    assert (config.deep.max_epochs, config.deep.lr) == (7, 0.01)
    with pytest.raises(ValueError, match="unknown preset"):
        make_config("fast")
    with pytest.raises(ValueError, match="key=value"):
        make_config("quick", overrides=["deep.lr"])


def test_clinical_selection_keeps_informative_columns_and_is_refitted_per_fold():
    from sklearn.base import clone

    from rdinet_sklearn.datasets import make_ted_clinical
    from rdinet_sklearn.study._models import clinical_selection

    clinical, y = make_ted_clinical(147, random_state=0)
    clinical = clinical.drop(columns="patient_id", errors="ignore")
    numeric = [c for c in clinical if pd.api.types.is_numeric_dtype(clinical[c])]
    categorical = [c for c in clinical if c not in numeric]
    selection = clinical_selection(make_config("quick"), numeric, categorical)
    selection.set_output(transform="pandas")

    selected = selection.fit_transform(clinical, y)
    # CAS echoes disease activity, the strongest driver of response; the free thyroid
    # hormones and BMI are drawn independently of the response.
    assert "cas" in selected.columns
    assert not {"ft3", "ft4", "bmi"} & set(selected.columns)
    np.testing.assert_allclose(selected.mean(), 0, atol=1e-9)
    # Fitted on half the rows, it learns from those rows only (seen on its final scaler).
    half = clone(selection).fit(clinical.iloc[::2], y.iloc[::2])
    assert half.named_steps["scale"].n_samples_seen_ == len(clinical.iloc[::2])
    np.testing.assert_allclose(half.transform(clinical.iloc[::2]).mean(), 0, atol=1e-9)


def _tabular(seed=0):
    X, y = make_classification(n_samples=80, n_features=6, n_informative=3, random_state=seed)
    return X[:60], y[:60], X[60:], y[60:]


def test_threshold_and_cv_metrics_come_from_out_of_fold_predictions_only():
    X_train, y_train, X_test, y_test = _tabular()
    model = make_pipeline(StandardScaler(), LogisticRegression())
    grid = {"logisticregression__C": [0.01, 1.0]}
    stage = fit_and_predict(model, grid, (X_train, y_train), (X_test, y_test), cv_folds=4, seed=3)
    best = clone(model).set_params(**stage["best_params"])
    folds = StratifiedKFold(4, shuffle=True, random_state=3)
    oof = cross_val_predict(best, X_train, y_train, cv=folds, method="predict_proba")[:, 1]
    np.testing.assert_allclose(stage["proba_oof"], oof)
    assert stage["threshold"] == youden_threshold(y_train, oof)
    # The test rows play no part: other test patients, other labels, the same threshold.
    other = fit_and_predict(
        model, grid, (X_train, y_train), (X_test[::-1] * 3, 1 - y_test), cv_folds=4, seed=3
    )
    assert other["threshold"] == stage["threshold"]
    np.testing.assert_array_equal(other["proba_oof"], stage["proba_oof"])
    # The CV table's threshold metrics are scored at that same threshold, fold by fold.
    for k, (_, rows) in enumerate(folds.split(X_train, y_train)):
        called = (oof[rows] >= stage["threshold"]).astype(int)
        assert stage["cv"]["test_sensitivity"][k] == sensitivity_score(y_train[rows], called)
        assert stage["cv"]["test_specificity"][k] == specificity_score(y_train[rows], called)
        assert stage["cv"]["test_roc_auc"][k] == roc_auc_score(y_train[rows], oof[rows])
    assert (stage["fold"][rows] == 3).all()


def _fitted(name, stage):
    """A study model from a :func:`fit_and_predict` stage, as the study builds it."""
    return FittedModel(
        name=name,
        family="radiomics",
        roi="all",
        classifier="test",
        estimator=stage["estimator"],
        threshold=stage["threshold"],
        probabilities={TRAINING: stage["proba_oof"], "test": stage["proba_test"]},
        cv=stage["cv"],
        folds=stage["fold"],
    )


def test_uncomputable_threshold_warns_and_gives_nan(tmp_path):
    from rdinet_sklearn.study._train import _warn_uncomputable

    X_train, y_train, X_test, y_test = _tabular()
    constant = DummyClassifier(strategy="constant", constant=1)  # every probability 1
    stage = fit_and_predict(constant, {}, (X_train, y_train), (X_test, y_test), cv_folds=3, seed=0)
    assert np.isnan(stage["threshold"])
    assert np.isnan(stage["cv"]["test_sensitivity"]).all()
    with pytest.warns(UncomputableMetricWarning, match="model 'Constant', training cohort"):
        _warn_uncomputable(_fitted("Constant", stage))
    table = performance_table(
        {"Constant": _fitted("Constant", stage)},
        ["Constant"],
        {TRAINING: y_train, "test": y_test},
        formatted=False,
    )
    count_rows = table["metric"].isin(["ACC", "SEN", "SPE", "PPV", "NPV"])
    assert table.loc[count_rows, ["value", "ci_low", "ci_high"]].isna().all().all()
    assert table.loc[table["metric"] == "AUC", "value"].eq(0.5).all()


def test_training_rows_are_out_of_fold(tiny_study, small_cohort):

    results, out, config = tiny_study
    cases, y = small_cohort
    name = "Radiomics MR+LR LOGREG"
    predictions = pd.read_csv(out / "tables" / "predictions.csv")
    assert set(predictions["cohort"]) == {TRAINING, "test"}
    rows = predictions[(predictions["model"] == name) & (predictions["cohort"] == TRAINING)]
    train = results["split"]["train"]
    assert rows["case"].tolist() == train and rows["fold"].notna().all()
    model = joblib.load(results["models"][name]["model_file"])
    assert model.steps[0][0] == "radiomics"  # the extraction is the model's first step
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed)
    cases = cases.set_index(cases["patient_id"].astype(str)).loc[train]
    oof = cross_val_predict(clone(model), cases, y.loc[train], cv=folds, method="predict_proba")
    oof = oof[:, 1]
    np.testing.assert_allclose(rows["proba"], oof, rtol=1e-6)
    assert results["models"][name]["threshold"] == youden_threshold(y.loc[train], oof)
    table2 = pd.DataFrame(results["table2"])
    auc = table2.query("model == @name and cohort == @TRAINING and metric == 'AUC'")["value"]
    assert auc.item() == pytest.approx(roc_auc_score(y.loc[train], oof))
    # The calibration companion table scores the same out-of-fold probabilities.
    calibration = pd.DataFrame(results["calibration"])
    brier = calibration.query("model == @name and cohort == @TRAINING and metric == 'Brier'")
    assert brier["value"].item() == pytest.approx(np.mean((oof - y.loc[train].to_numpy()) ** 2))


def test_comparison_table_is_the_corrected_t_test_on_repeated_cv(tiny_study):
    results, out, config = tiny_study
    table = pd.read_csv(
        out / "tables" / "corrected_resampled_t_tests_repeated_cv_in_the_training_cohort.csv"
    )
    assert table.columns.tolist() == [
        "model_a",
        "model_b",
        "mean_auc_a",
        "mean_auc_b",
        "mean_auc_difference",
        "t",
        "df",
        "p_value",
    ]
    # The best radiomics model of each ROI strategy; the deep models only when asked for.
    assert table[["model_a", "model_b"]].values.tolist() == [
        ["Radiomics IR+SR LOGREG", "Radiomics MR+LR LOGREG"]
    ]
    assert table["df"].item() == 2 * 3 - 1
    aucs = {
        name: joblib.load(out / "stages" / f"comparison_{slug}.joblib")["aucs"]
        for name, slug in (
            ("Radiomics IR+SR LOGREG", "radiomics_ir_sr_logreg"),
            ("Radiomics MR+LR LOGREG", "radiomics_mr_lr_logreg"),
        )
    }
    n_train = len(results["split"]["train"])
    expected = corrected_resampled_ttest(
        aucs["Radiomics IR+SR LOGREG"],
        aucs["Radiomics MR+LR LOGREG"],
        n_train=n_train * 2 / 3,
        n_test=n_train / 3,
    )
    assert table["t"].item() == pytest.approx(expected.statistic)
    assert table["p_value"].item() == pytest.approx(expected.p_value)
    assert results["comparison"][0]["model_a"] == "Radiomics IR+SR LOGREG"
    assert "Corrected resampled t-tests" in (out / "report.html").read_text()


def test_report_opens_with_the_best_model_of_each_family_chosen_in_training(tiny_study):
    results, out, _ = tiny_study
    summary = pd.read_csv(out / "tables" / "summary.csv")
    assert summary["family"].tolist() == ["Radiomics", "ResNet", "RDINet", "RDINet+clinical"]
    cv_auc = {name: np.mean(m["cv"]["test_roc_auc"]) for name, m in results["models"].items()}
    best_radiomics = max((n for n in cv_auc if n.startswith("Radiomics")), key=cv_auc.get)
    assert summary["model"].iloc[0] == best_radiomics
    np.testing.assert_allclose(summary["cv_auc_mean"], [cv_auc[n] for n in summary["model"]])
    test = {(r["model"], r["metric"]): r for r in results["table2"] if r["cohort"] == "test"}
    for row in summary.itertuples():
        assert row.test_auc == pytest.approx(test[(row.model, "AUC")]["value"])
    assert results["summary"] == json.loads(summary.to_json(orient="records"))
    report = (out / "report.html").read_text()
    first_section = report.index("<section")
    assert report.index('<section id="summary"') == first_section
    summary_section = report[first_section : report.index("</section>", first_section)]
    assert all(name in summary_section for name in summary["model"])
    assert "Calibration intercept" in report and "Calibration slope" in report
    for anchor in ("cohort", "discrimination", "calibration", "model-selection-in-training"):
        assert f'href="#{anchor}"' in report and f'<section id="{anchor}"' in report


def test_harmonization_setting_puts_combat_in_fold_and_in_the_handed_over_model(
    small_cohort, tmp_path
):
    from rdinet_sklearn.study import load_study_model

    cases, y = small_cohort
    cases = cases.assign(center=np.where(np.arange(len(cases)) % 2, "A", "B"))
    settings = {
        **TINY,
        "models": ["radiomics"],
        "comparison": {"repeats": 0},
        "radiomics": {**TINY["radiomics"], "roi_strategies": ["MR+LR"]},
    }
    combat = {"radiomics": {"harmonization": {"batch_column": "center", "unseen": "estimate"}}}
    config = make_config("quick", overrides=[settings, combat])
    results = run_study(cases, y, config=config, out=tmp_path, progress=False)
    name = "Radiomics MR+LR LOGREG"
    fitted = joblib.load(results["models"][name]["model_file"])
    assert [name for name, _ in fitted.steps[:2]] == ["radiomics", "harmonize"]
    assert fitted.named_steps["harmonize"].batches_.tolist() == ["A", "B"]
    model, card = load_study_model(tmp_path / "models" / name)
    assert "center" in card["columns"]["required"]
    test = cases.loc[results["split"]["test"]]
    predictions = pd.read_csv(tmp_path / "tables" / "predictions.csv")
    expected = predictions.query("model == @name and cohort == 'test'")["proba"]
    np.testing.assert_allclose(model.predict_proba(test)[:, 1], expected, rtol=1e-9)
    # The volume control goes through the same ComBat step (its batch column kept).
    controls = pd.read_csv(tmp_path / "tables" / "negative_controls_cv_auc_in_training.csv")
    assert controls[["model", "control"]].values.tolist() == [[name, "volume"]]
    assert np.isfinite(controls[["real_auc", "control_auc", "ci_low", "ci_high"]]).all(axis=None)
    assert not (tmp_path / "tables" / "negative_controls_not_computed.csv").exists()
    # Without the batch column the study stops before extracting anything.
    with pytest.raises(CaseTableError, match="'center'"):
        run_study(cases.drop(columns="center"), y, config=config, out=tmp_path / "no_center")
    assert not (tmp_path / "no_center" / "cache").exists() or not any(
        (tmp_path / "no_center" / "cache").iterdir()
    )


def test_group_column_cross_validates_leave_one_center_out(small_cohort, tmp_path):
    cases, y = small_cohort
    centers = np.array(["C", "A", "B"])[np.arange(len(cases)) % 3]
    cases = cases.assign(center=centers)
    settings = {
        **TINY,
        "models": ["radiomics"],
        "comparison": {"repeats": 0},
        "radiomics": {**TINY["radiomics"], "roi_strategies": ["MR+LR"]},
    }
    config = make_config("quick", overrides=[settings])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncomputableMetricWarning)  # a one-class center
        results = run_study(
            cases, y, config=config, out=tmp_path, progress=False, group_column="center"
        )
    assert results["config"]["group_column"] == "center"
    assert results["cv_design"]["groups"] == ["A", "B", "C"]
    name = "Radiomics MR+LR LOGREG"
    predictions = pd.read_csv(tmp_path / "tables" / "predictions.csv")
    rows = predictions.query("model == @name and cohort == @TRAINING")
    center = cases.set_index(cases["patient_id"].astype(str))["center"]
    expected = center.loc[rows["case"].astype(str)].map({"A": 0, "B": 1, "C": 2})
    np.testing.assert_array_equal(rows["fold"].to_numpy(), expected.to_numpy())
    assert len(results["models"][name]["cv"]["test_roc_auc"]) == 3
    log = (tmp_path / "study.log").read_text()
    assert "CV: leave-one-group-out over 'center' (3 groups)" in log
    # A group column the case table lacks, or a single group: refused before extraction.
    for table, match in (
        (cases.drop(columns="center"), "group_column 'center'.*not a column"),
        (cases.assign(center="A"), "at least 2 groups"),
    ):
        with pytest.raises(CaseTableError, match=match):
            run_study(
                table, y, config=config, out=tmp_path / "bad", progress=False, group_column="center"
            )
        assert not (tmp_path / "bad").exists()  # refused before anything is written


def test_leave_one_group_out_copes_with_a_one_class_group():
    from rdinet_sklearn.study._comparison import repeated_splits
    from rdinet_sklearn.study._config import ComparisonSettings
    from rdinet_sklearn.study._train import _warn_uncomputable

    X_train, y_train, X_test, y_test = _tabular()
    groups = np.where(np.arange(60) < 40, np.arange(60) % 2, 2)  # groups 0, 1, 2
    y_train = y_train.copy()
    y_train[groups == 2] = 1  # group 2 holds responders only
    stage = fit_and_predict(
        LogisticRegression(),
        {"C": [0.1, 1.0]},
        (X_train, y_train),
        (X_test, y_test),
        cv_folds=3,
        seed=0,
        groups=groups,
    )
    np.testing.assert_array_equal(stage["fold"], groups)
    aucs = stage["cv"]["test_roc_auc"]
    assert np.isnan(aucs[2]) and np.isfinite(aucs[:2]).all()
    assert np.isfinite(stage["threshold"])
    with pytest.warns(UncomputableMetricWarning, match=r"fold\(s\) \[3\] .*group\(s\) \['2'\]"):
        _warn_uncomputable(_fitted("LOGO", stage), groups)
    settings = ComparisonSettings(repeats=5, folds=5, deep=False)
    splits = repeated_splits(y_train, settings, 0, groups)
    assert [np.unique(groups[v]).tolist() for _, v in splits] == [[0], [1], [2]]


def test_an_explanation_that_cannot_run_names_the_model_and_the_report_is_still_written(
    tiny_study, small_cohort, tmp_path
):
    _, out, config = tiny_study
    cases, y = small_cohort
    copy = tmp_path / "study"
    shutil.copytree(out, copy)
    zero = config.updated({"explain": {"tta_augmentations": 0, "bootstrap_resamples": 0}})
    run_study(cases, y, config=zero, out=copy, progress=False)
    assert "reused" in (copy / "study.log").read_text()  # explain settings refit nothing
    problems = pd.read_csv(copy / "tables" / "uncertainty_not_computed.csv")
    deep = ["ResNet MR+LR", "RDINet MR+LR", "RDINet+clinical MR+LR"]
    best_radiomics, *others = problems["model"].tolist()  # the headline models
    assert best_radiomics.startswith("Radiomics ") and others == deep
    for model, reason in problems.itertuples(index=False):
        assert reason.startswith(f"model {model!r}: ")
        assert "must be an integer of at least 2" in reason and "got 0" in reason
    report = (copy / "report.html").read_text()
    assert "<h2>Uncertainty</h2>" in report and "must be an integer of at least 2" in report
    assert "<h2>Feature contributions</h2>" in report and (copy / "tripod_ai.md").is_file()
    predictions = pd.read_csv(copy / "tables" / "predictions.csv")
    assert "proba_spread" not in predictions.columns
