"""The study's ``preprocessing`` section: settings, in-fold steps, records, hand-over."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline

from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.preprocessing import BiasFieldCorrector, IntensityNormalizer, Resampler
from rdinet_sklearn.study import ConfigError, load_study_model, make_config
from rdinet_sklearn.study._config import (
    BiasFieldSettings,
    NormalizeSettings,
    ResampleSettings,
    section_defaults,
)
from rdinet_sklearn.study._models import radiomics_model, rdinet_model, resnet_model

# A study small enough for 2 CPU cores: one radiomics model and the ResNet.
TINY = {
    "cv_folds": 3,
    "n_jobs": 1,
    "models": ["radiomics", "resnet"],
    "comparison": {"repeats": 0},
    "radiomics": {"roi_strategies": ["MR+LR"], "classifiers": ["logreg"]},
    "deep": {
        "rois": ["MR+LR"],
        "volume_size": [4, 16, 16],
        "max_epochs": 1,
        "batch_size": 8,
    },
}


@pytest.mark.parametrize(
    ("settings", "estimator"),
    [
        (ResampleSettings, Resampler),
        (BiasFieldSettings, BiasFieldCorrector),
        (NormalizeSettings, IntensityNormalizer),
    ],
)
def test_section_defaults_are_the_estimators_defaults(settings, estimator):
    defaults = estimator().get_params()
    for key, value in section_defaults(settings).items():
        assert np.array_equal(np.asarray(value), np.asarray(defaults[key])), key


def test_setting_one_key_switches_only_its_step_on():
    assert make_config("quick").preprocessing is None
    config = make_config("quick", overrides=["preprocessing.normalize.method=nyul"])
    prep = config.preprocessing
    assert (prep.resample, prep.bias_field) == (None, None)
    assert (prep.normalize.method, prep.normalize.region) == ("nyul", "foreground")
    spacing = make_config("quick", overrides=["preprocessing.resample.spacing=[2, 2, null]"])
    assert spacing.preprocessing.resample.spacing == (2.0, 2.0, None)
    off = config.updated({"preprocessing": {"normalize": None}})
    assert off.preprocessing.normalize is None
    assert config.to_dict()["preprocessing"]["normalize"]["method"] == "nyul"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("preprocessing.normalise.method=nyul", "did you mean 'preprocessing.normalize'"),
        ("preprocessing.normalize.methd=nyul", "did you mean 'preprocessing.normalize.method'"),
        ("preprocessing.normalize.method=minmax", "'preprocessing.normalize.method' must be"),
        ("preprocessing.resample.spacing=0", "'preprocessing.resample.spacing' must be"),
        ("preprocessing.resample.spacing=[1, -1, 1]", "'preprocessing.resample.spacing[1]'"),
        ("preprocessing.normalize.percentiles=[99, 1, 50]", "'preprocessing.normalize.percent"),
        ("preprocessing.bias_field=on", "'preprocessing.bias_field' must be null (off) or"),
    ],
)
def test_bad_preprocessing_settings_are_named(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_config("quick", overrides=[override])


def test_a_config_file_without_the_section_means_no_preprocessing(tmp_path):
    settings = make_config("quick").to_dict()
    del settings["preprocessing"]
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(settings))
    assert make_config("quick", config_file=tmp_path / "old.yaml").preprocessing is None


def test_steps_come_first_in_every_model_that_reads_images(tmp_path):
    overrides = ["preprocessing.resample.spacing=median", "preprocessing.bias_field.weight=roi"]
    config = make_config("quick", overrides=[*overrides, "preprocessing.normalize.method=nyul"])
    cache = str(tmp_path)
    radiomics, _ = radiomics_model("logreg", config, roi="MR+LR", cache=cache)
    resnet = resnet_model(config, "MR+LR", memory=cache)
    rdinet = rdinet_model(config, "MR+LR", ["f"], memory=cache)
    for model in (radiomics, resnet, rdinet):
        assert isinstance(model, Pipeline)
        names = [name for name, _ in model.steps]
        assert names[:3] == ["resample", "bias_field", "normalize"]
        steps = [step for _, step in model.steps[:3]]
        assert [type(s) for s in steps] == [Resampler, BiasFieldCorrector, IntensityNormalizer]
        assert {s.cache_dir for s in steps} == {cache}
    assert resnet.steps[-1][0] == "clf"
    assert radiomics.steps[3][0] == "radiomics" and rdinet.steps[3][0] == "radiomics"
    # off: the models are exactly today's
    plain = make_config("quick")
    assert radiomics_model("logreg", plain, roi="MR+LR", cache=cache)[0].steps[0][0] == "radiomics"
    assert not isinstance(resnet_model(plain, "MR+LR", memory=cache), Pipeline)


def test_resampling_with_a_second_raters_masks_exits_3_naming_both(small_cohort, tmp_path, capsys):
    cases, y = small_cohort
    cases.assign(response=y).to_csv(tmp_path / "cases.csv", index=False)
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "response"]
    argv += ["--out", str(tmp_path / "out"), "--no-progress"]
    argv += ["--set", "preprocessing.resample.spacing=2"]
    argv += ["--set", "radiomics.reproducibility=raters"]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "'preprocessing.resample'" in err and "radiomics.reproducibility=perturbation" in err


def test_cli_bad_preprocessing_key_exits_3_naming_it(small_cohort, tmp_path, capsys):
    cases, y = small_cohort
    cases.assign(response=y).to_csv(tmp_path / "cases.csv", index=False)
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "response"]
    argv += ["--out", str(tmp_path / "out"), "--no-progress"]
    assert main([*argv, "--set", "preprocessing.normalize.metod=nyul"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "'preprocessing.normalize.metod'" in err and "'preprocessing.normalize.method'" in err
    assert not (tmp_path / "out").exists()


def _run_cli_study(cases, y, folder, settings, method):
    cases.assign(response=y).to_csv(folder / "cases.csv", index=False)
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings))
    out = folder / "out"
    argv = ["study", "--cases", str(folder / "cases.csv"), "--target", "response"]
    argv += ["--out", str(out), "--config", str(folder / "settings.yaml"), "--no-progress"]
    assert main([*argv, "--set", f"preprocessing.normalize.method={method}"]) == EXIT_OK
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def zscore_study(small_cohort, tmp_path_factory):
    cases, y = small_cohort
    return _run_cli_study(cases, y, tmp_path_factory.mktemp("zscore"), TINY, "zscore")


def test_zscore_study_records_the_step_and_hands_it_over(zscore_study, small_cohort, tmp_path):
    out, results = zscore_study
    assert results["config"]["preprocessing"]["normalize"]["method"] == "zscore"
    [step] = results["preprocessing"]["steps"]
    assert step == {
        "step": "normalize",
        "estimator": "IntensityNormalizer",
        "params": {"method": "zscore", "region": "foreground", "percentiles": [1, 25, 50, 75, 99]},
    }
    assert set(results["preprocessing"]["learned"]) == set(results["models"])
    assert results["diverged"] == []
    report = (out / "report.html").read_text()
    assert "Image preprocessing" in report and "IntensityNormalizer" in report
    cases, y = small_cohort
    test_ids = results["split"]["test"]
    new_cases = cases.set_index("patient_id").loc[test_ids].reset_index()
    new_cases.to_csv(tmp_path / "new.csv", index=False)
    study_proba = pd.read_csv(out / "tables" / "predictions.csv")
    for name in results["models"]:
        model, card = load_study_model(out / "models" / name)
        normalizer = model.named_steps["normalize"]
        assert isinstance(normalizer, IntensityNormalizer) and normalizer.method == "zscore"
        assert normalizer.cache_dir is None  # never the study's cache
        code = main(
            ["predict", "--model", str(out / "models" / name), "--cases", str(tmp_path / "new.csv")]
            + ["--out", str(tmp_path / "p.csv")]
        )
        assert code == EXIT_OK
        predicted = pd.read_csv(tmp_path / "p.csv").set_index("patient_id")["probability"]
        rows = study_proba[(study_proba["model"] == name) & (study_proba["cohort"] == "test")]
        expected = rows.set_index(rows["case"].astype(str))["proba"]
        np.testing.assert_allclose(predicted.loc[expected.index], expected, rtol=1e-6)


def test_nyul_landmarks_are_learned_on_the_training_cohort_only(small_cohort, tmp_path):
    cases, y = small_cohort
    # The report's bootstrap refits and controls fit their own normalisers: off here, so the
    # cache holds the study's folds and refit alone.
    explain = {"uncertainty": False, "negative_controls": []}
    settings = {**TINY, "models": ["radiomics"], "explain": explain}
    out, results = _run_cli_study(cases, y, tmp_path, settings, "nyul")
    [model] = results["models"]
    learned = results["preprocessing"]["learned"][model]["normalize"]
    training = cases.set_index("patient_id").loc[results["split"]["train"]]
    expected = IntensityNormalizer(method="nyul", cache_dir=tmp_path).fit(training)
    np.testing.assert_allclose(learned["landmarks_"], expected.landmarks_)
    everyone = IntensityNormalizer(method="nyul", cache_dir=tmp_path).fit(cases)
    assert not np.allclose(learned["landmarks_"], everyone.landmarks_)  # the test cases left out
    # each CV fold normalised its cases with its own landmarks, the refit with the cohort's:
    # one output per (fitted state, case) it was applied to
    outputs = list((out / "cache" / "rdinet_preprocessing" / "intensitynormalizer").iterdir())
    assert len(outputs) == len(cases) + TINY["cv_folds"] * len(training)
    handed_over, _ = load_study_model(out / "models" / model)
    np.testing.assert_allclose(handed_over.named_steps["normalize"].landmarks_, expected.landmarks_)


def test_external_cohort_reuses_the_training_fit(zscore_study, tmp_path):
    out, results = zscore_study
    cache = out / "cache" / "rdinet_preprocessing" / "intensitynormalizer"
    cached = sorted(cache.iterdir())
    make_ted_cohort(
        12, tmp_path / "ext", random_state=1, shape=(8, 48, 96), scanner_shift="default"
    )
    argv = ["evaluate", "--study", str(out), "--cases", str(tmp_path / "ext" / "cases.csv")]
    assert main([*argv, "--target", "response", "--out", str(tmp_path / "report")]) == EXIT_OK
    external = pd.read_csv(tmp_path / "report" / "predictions.csv")
    cases = pd.read_csv(tmp_path / "ext" / "cases.csv")
    assert set(external["model"]) == set(results["models"])
    for name in set(external["model"]):
        model, _ = load_study_model(out / "models" / name)
        expected = model.predict_proba(cases.set_index("patient_id"))[:, 1]
        rows = external[external["model"] == name]
        np.testing.assert_allclose(rows["probability"], expected, rtol=1e-6)
    assert sorted(cache.iterdir()) == cached  # the study's cache is not the model's
