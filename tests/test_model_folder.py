"""Model folders of a finished study: every model loads and predicts, nothing untrusted runs.

One CPU-sized study with the keyword ROI ``all`` and a random forest (the two families the
issue found unloadable) serves every test; tampered copies of its folders are made per test.
"""

import contextlib
import io
import json
import os
import pickle
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.io import load_model_folder
from rdinet_sklearn.io._folder import file_digest, strip_caches
from rdinet_sklearn.io._tree import find_nodes
from rdinet_sklearn.radiomics import clear_process_cache
from rdinet_sklearn.volumes import clear_volume_cache

pytestmark = pytest.mark.slow

STUDY = [
    "--patients=24",
    *("--shape", "8", "48", "96"),
    "--no-progress",
    *("--set", "cv_folds=3", "--set", "n_jobs=1", "--set", "comparison.repeats=0"),
    *("--set", "radiomics.params=original", "--set", "radiomics.roi_strategies=[all]"),
    *("--set", "radiomics.classifiers=[logreg,rf]", "--set", "deep.rois=[all]"),
    *("--set", "deep.depth=10", "--set", "deep.volume_size=[4,16,16]"),
    *("--set", "deep.max_epochs=1", "--set", "deep.batch_size=8", "--set", "deep.d=8"),
]
MODELS = [
    "Radiomics all LOGREG",
    "Radiomics all RF",
    "ResNet all",
    "RDINet all",
    "RDINet+clinical all",
]
CASES = "results/demo/cohort/cases.csv"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The study run in a fresh folder with relative paths, as a user would (cache included)."""
    folder = tmp_path_factory.mktemp("model_folder")
    before = os.getcwd()
    os.chdir(folder)
    try:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["demo", "--out", "results/demo", *STUDY]) == EXIT_OK
        (folder / "study-output.txt").write_text(printed.getvalue())
        yield folder
    finally:
        os.chdir(before)


@pytest.fixture
def here(workdir):
    """Run the test in the study's folder (the relative cache path is then live)."""
    before = os.getcwd()
    os.chdir(workdir)
    yield workdir
    os.chdir(before)


def _model(name):
    return f"results/demo/models/{name}"


def _copy(name, tmp_path):
    """A copy of model folder ``name`` to tamper with."""
    return shutil.copytree(_model(name), tmp_path / "model")


def _predict(capsys, model, out, *extra):
    code = main(["predict", "--model", str(model), "--cases", CASES, "--out", str(out), *extra])
    return code, capsys.readouterr()


@pytest.mark.parametrize("use_joblib", [False, True], ids=["safe", "joblib"])
def test_every_model_of_the_study_predicts_through_the_cli(here, tmp_path, capsys, use_joblib):
    cases = pd.read_csv(CASES)
    flag = ["--use-joblib"] if use_joblib else []
    for name in MODELS:
        out = tmp_path / f"{name}.csv"
        code, output = _predict(capsys, _model(name), out, *flag)
        assert code == EXIT_OK, (name, output.err)
        predictions = pd.read_csv(out)
        assert predictions["patient_id"].tolist() == cases["patient_id"].tolist()
        assert predictions["probability"].between(0, 1).all()


def test_keyword_roi_is_recorded_by_its_structures(here):
    card = json.loads((here / _model("RDINet all") / "model.json").read_text())
    assert card["roi"] == "all"
    assert card["roi_structures"] == ["IR", "SR", "MR", "LR"]


def test_safe_file_and_joblib_predict_the_same_for_the_forest(here):
    cases = pd.read_csv(CASES).set_index("patient_id")
    safe, card, _ = load_model_folder(_model("Radiomics all RF"))
    pickled, _, _ = load_model_folder(_model("Radiomics all RF"), use_joblib=True)
    columns = card["columns"]["required"] + card["columns"]["optional"]
    np.testing.assert_array_equal(
        safe.predict_proba(cases[columns]), pickled.predict_proba(cases[columns])
    )


class _Payload:
    """Unpickling it writes a marker file: proof that code ran from a cache file."""

    def __reduce__(self):
        return (open, (os.path.abspath("POISONED"), "w"))


@pytest.mark.parametrize("use_joblib", [False, True], ids=["safe", "joblib"])
def test_predict_reads_no_cache_of_the_training_machine(here, tmp_path, capsys, use_joblib):
    cache = here / "results/demo/cache"
    outputs = list(cache.rglob("output.pkl"))
    assert outputs  # the study cached results where the model once pointed
    saved = {path: path.read_bytes() for path in outputs}
    try:
        for path in outputs:
            path.write_bytes(pickle.dumps(_Payload()))
        # as in a fresh process: nothing served from this process's own caches
        clear_process_cache()
        clear_volume_cache()
        flag = ["--use-joblib"] if use_joblib else []
        code, output = _predict(capsys, _model("RDINet+clinical all"), tmp_path / "p.csv", *flag)
        assert code == EXIT_OK, output.err
        assert not (here / "POISONED").exists()
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
    # ... and creates no cache folder where the training cache was
    shutil.move(cache, tmp_path / "moved-cache")
    try:
        code, output = _predict(capsys, _model("RDINet+clinical all"), tmp_path / "q.csv", *flag)
        assert code == EXIT_OK, output.err
        assert not cache.exists()
    finally:
        shutil.move(tmp_path / "moved-cache", cache)


def test_loaded_models_hold_no_memory_anywhere(here):
    for name in MODELS:
        model, _, _ = load_model_folder(_model(name))
        holders = [
            node
            for node in find_nodes(model, lambda n: hasattr(n, "get_params"), inside_wanted=True)
            if not isinstance(node, type) and node.get_params(deep=False).get("memory")
        ]
        assert holders == [], name


def test_strip_caches_reaches_a_fitted_cropper_inside_a_net():
    from rdinet_sklearn.volumes import VolumeCropper

    class Holder:  # stands for a fitted net: a cropper as a fitted attribute
        def get_params(self, deep=False):
            return {}

    holder = Holder()
    holder.cropper_ = VolumeCropper(roi="MR", memory="somewhere/cache")
    strip_caches([holder])
    assert holder.cropper_.memory is None


def test_fingerprint_is_printed_and_enforced(here, tmp_path, capsys):
    fingerprint = file_digest(_model("ResNet all") + "/model.json")
    code, output = _predict(capsys, _model("ResNet all"), tmp_path / "a.csv")
    assert code == EXIT_OK and fingerprint in output.out
    code, output = _predict(
        capsys, _model("ResNet all"), tmp_path / "b.csv", "--expect-fingerprint", fingerprint
    )
    assert code == EXIT_OK
    other = file_digest(_model("RDINet all") + "/model.json")
    code, output = _predict(
        capsys, _model("ResNet all"), tmp_path / "c.csv", "--expect-fingerprint", other
    )
    assert code == EXIT_BAD_INPUT
    assert fingerprint in output.err and other in output.err
    assert not (tmp_path / "c.csv").exists()


def test_evaluate_prints_and_enforces_fingerprints(here, tmp_path, capsys):
    argv = ["evaluate", "--study", "results/demo", "--cases", CASES, "--target", "response"]
    code = main([*argv, "--out", str(tmp_path / "ext"), "--expect-fingerprint", "0" * 64])
    assert code == EXIT_BAD_INPUT and "0" * 64 in capsys.readouterr().err
    assert not (tmp_path / "ext").exists()


def test_the_study_prints_each_model_fingerprint(here):
    printed = (here / "study-output.txt").read_text()
    for name in MODELS:
        fingerprint = file_digest(_model(name) + "/model.json")
        assert f"{name:<32} {fingerprint}" in printed


def test_card_path_outside_the_folder_is_refused(here, tmp_path, capsys):
    folder = _copy("Radiomics all LOGREG", tmp_path)
    outside = tmp_path / "other.rdinet"
    shutil.copy(folder / "model.rdinet", outside)
    card = json.loads((folder / "model.json").read_text())
    card["files"]["safe"] = "../other.rdinet"
    (folder / "model.json").write_text(json.dumps(card))
    code, output = _predict(capsys, folder, tmp_path / "p.csv")
    assert code == EXIT_BAD_INPUT
    assert "../other.rdinet" in output.err and "leads outside" in output.err


def _rezip(path, member, change):
    """Rewrite ``path`` with ``member`` changed (valid zip checksums: a deliberate edit)."""
    with zipfile.ZipFile(path) as archive:
        members = {info: archive.read(info.filename) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members.items():
            archive.writestr(info, change(data) if info.filename == member else data)


def test_edited_and_rezipped_member_is_named(here, tmp_path, capsys):
    folder = _copy("Radiomics all LOGREG", tmp_path)
    _rezip(folder / "model.rdinet", "manifest.json", lambda data: data.replace(b"{", b"{ ", 1))
    code, output = _predict(capsys, folder, tmp_path / "p.csv")
    assert code == EXIT_BAD_INPUT
    assert "model.rdinet" in output.err and "manifest.json" in output.err


@pytest.mark.parametrize("name", ["model.rdinet", "model.joblib"])
def test_flipped_byte_exits_3_naming_the_file(here, tmp_path, capsys, name):
    folder = _copy("Radiomics all LOGREG", tmp_path)
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    flag = ["--use-joblib"] if name == "model.joblib" else []
    code, output = _predict(capsys, folder, tmp_path / "p.csv", *flag)
    assert code == EXIT_BAD_INPUT, output.err
    assert name in output.err and "BadZipFile" not in output.err


def test_card_of_another_version_exits_3_saying_what_to_do(here, tmp_path, capsys):
    folder = _copy("Radiomics all LOGREG", tmp_path)
    card = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**card, "format_version": 99}))
    code, output = _predict(capsys, folder, tmp_path / "p.csv")
    assert code == EXIT_BAD_INPUT, output.err
    assert "model.json: study model card version 99" in output.err
    assert "export the model again" in output.err


def test_model_file_of_another_version_exits_3_naming_it(here, tmp_path, capsys):
    folder = _copy("Radiomics all LOGREG", tmp_path)
    _rezip(
        folder / "model.rdinet",
        "manifest.json",
        lambda data: data.replace(b'"format_version": 1', b'"format_version": 2', 1),
    )
    card = json.loads((folder / "model.json").read_text())
    card["digests"]["model.rdinet"] = {"sha256": file_digest(folder / "model.rdinet")}
    (folder / "model.json").write_text(json.dumps(card))
    code, output = _predict(capsys, folder, tmp_path / "p.csv")
    assert code == EXIT_BAD_INPUT, output.err
    assert "model.rdinet: model file version 2; this rdinet-sklearn reads version 1" in output.err


def test_untrusted_type_in_the_safe_file_exits_3(here, tmp_path, capsys):
    import skops.io

    folder = _copy("Radiomics all LOGREG", tmp_path)
    _rezip(folder / "model.rdinet", "model.skops", lambda _: skops.io.dumps(os.system))
    card = json.loads((folder / "model.json").read_text())
    # an author who rewrites the card's digests too: the untrusted type is still refused
    card["digests"]["model.rdinet"] = {"sha256": file_digest(folder / "model.rdinet")}
    (folder / "model.json").write_text(json.dumps(card))
    code, output = _predict(capsys, folder, tmp_path / "p.csv")
    assert code == EXIT_BAD_INPUT, output.err
    assert "system" in output.err and "not trusted" in output.err


def test_evaluate_applies_every_headline_model_and_prints_fingerprints(here, tmp_path, capsys):
    argv = ["evaluate", "--study", "results/demo", "--cases", CASES, "--target", "response"]
    code = main([*argv, "--out", str(tmp_path / "ext")])
    output = capsys.readouterr()
    assert code == EXIT_OK, output.err
    models = json.loads((tmp_path / "ext/external.json").read_text())["models"]
    assert {"ResNet all", "RDINet all", "RDINet+clinical all"} <= set(models)
    for name, model in models.items():
        assert model["fingerprint"] == file_digest(_model(name) + "/model.json")
        assert f"model {name!r}: fingerprint {model['fingerprint']}" in output.out
