"""The study's settings: one frozen StudyConfig, validated once, each error naming its key."""

import dataclasses

import pytest
import torch
import yaml

from rdinet_sklearn.cli import EXIT_BAD_INPUT, main
from rdinet_sklearn.study import ConfigError, StudyConfig, make_config
from rdinet_sklearn.study._config import preset_settings


def test_presets_are_data_and_the_config_is_frozen():
    for name in ("quick", "paper"):
        config = make_config(name)
        assert isinstance(config, StudyConfig) and config.preset == name
        assert config.to_dict() == {**preset_settings(name), "preset": name}
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_config("quick").seed = 3
    updated = make_config("quick").updated({"deep": {"max_epochs": 2}})
    assert updated.deep.max_epochs == 2 and updated.radiomics.params == "original"
    assert make_config("quick").to_dict() == yaml.safe_load(
        yaml.safe_dump(make_config("quick").to_dict())
    )  # config.yaml holds exactly the settings


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("deep.max_epochs=-1", "setting 'deep.max_epochs' must be an integer >= 1; got -1"),
        ("test_size=1.5", "setting 'test_size' must be a number in (0.0, 1.0); got 1.5"),
        ("seed=abc", "setting 'seed' must be an integer >= 0; got 'abc'"),
        ("seed=true", "setting 'seed' must be an integer >= 0; got True"),
        ("deep.epochs=5", "unknown setting 'deep.epochs'; did you mean 'deep.max_epochs'?"),
        ("radiomics.clasifiers=[svm]", "did you mean 'radiomics.classifiers'?"),
        ("segmenter.epochs=3", "unknown setting 'segmenter'"),  # a section no preset has
        ("segmentation.epochs=3", "did you mean 'segmentation.max_epochs'"),
        ("seed.value=3", "setting 'seed' is not a section"),
        ("deep=5", "setting 'deep' must be a mapping of settings; got 5"),
        ("radiomics.classifiers=[svm, xgb]", "'radiomics.classifiers[1]' must be one of"),
        ("models=[radiomics, 3]", "setting 'models[1]' must be a non-empty string; got 3"),
        ("models=[]", "setting 'models' must be a list of at least 1 item(s)"),
        ("deep.volume_size=[8, 32]", "'deep.volume_size' must be a list of 3 items"),
        ("threshold=median", "'threshold' must be \"youden\" or a probability in [0, 1]"),
        ("radiomics.roi_strategies=[MR+XX]", "'radiomics.roi_strategies': 'MR+XX' names ['XX']"),
        (
            "radiomics.perturbations=0",
            None,  # valid alone: a second rater may do the filtering (see the cohort test)
        ),
    ],
)
def test_every_setting_is_checked_and_named(override, message):
    if message is None:
        assert make_config("quick", overrides=[override]).radiomics.perturbations == 0
        return
    with pytest.raises(ConfigError) as error:
        make_config("quick", overrides=[override])
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_contradictory_settings_are_refused_naming_both_keys():
    contradictions = [
        (
            {"radiomics": {"reproducibility": "perturbation", "perturbations": 0}},
            "'radiomics.perturbations' is 0, but 'radiomics.reproducibility' is perturbation",
        ),
        ({"deep": {"rois": []}}, "'deep.rois' is empty, but 'models' includes"),
        (
            {"models": ["radiomics"], "radiomics": {"classifiers": []}},
            "'radiomics.classifiers' is empty",
        ),
    ]
    for override, message in contradictions:
        with pytest.raises(ConfigError, match=message):
            make_config("quick", overrides=[override])
    # Deep ROIs matter only when a deep model is asked for.
    assert make_config("quick", overrides=[{"models": ["radiomics"], "deep": {"rois": []}}])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_cuda_device_without_cuda_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="'deep.device' is 'cuda:1'.*no CUDA device"):
        make_config("quick", overrides=["deep.device=cuda:1"])
    # Without a deep model the device is never used.
    assert make_config("quick", overrides=[{"models": ["radiomics"], "deep": {"device": "cuda"}}])


def _cli_study(tmp_path, *extra):
    cases = tmp_path / "cases.csv"
    cases.write_text("patient_id,image,mask,y\n")  # never read: the settings fail first
    out = tmp_path / "out"
    argv = ["study", "--cases", str(cases), "--target", "y", "--out", str(out), *extra]
    return main(argv), out


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (["--set", "deep.max_epochs=-1"], "'deep.max_epochs'"),
        (["--set", "test_size=1.5"], "'test_size'"),
        (["--set", "seed=abc"], "'seed'"),
        (["--set", "deep.epochs=2"], "did you mean 'deep.max_epochs'"),
        (["--set", "harmonization.batch_column=center"], "unknown setting 'harmonization'"),
    ],
)
def test_cli_bad_setting_exits_3_in_one_line_writing_nothing(tmp_path, capsys, extra, key):
    code, out = _cli_study(tmp_path, *extra)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1 and key in err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_cli_device_cuda_without_cuda_exits_3_before_reading_the_cohort(tmp_path, capsys):
    code, out = _cli_study(tmp_path, "--device", "cuda")
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "'deep.device'" in err and not out.exists()


def test_explain_settings_name_the_control_modes_of_the_library():
    from rdinet_sklearn.explain import CONTROL_MODES
    from rdinet_sklearn.study import _config

    assert _config.CONTROL_MODES == CONTROL_MODES  # repeated below explain/ in the layers
    assert make_config("paper").explain.negative_controls == CONTROL_MODES
    assert make_config("quick").explain.negative_controls == ("volume",)
    with pytest.raises(ConfigError, match=r"'explain.negative_controls\[0\]' must be one of"):
        make_config("quick", overrides=["explain.negative_controls=[noise]"])
    with pytest.raises(ConfigError, match="'explain.tta_augmentations' must be an integer >= 0"):
        make_config("quick", overrides=["explain.tta_augmentations=-1"])
