"""Saved models: joblib in a fresh process, version stamps, and the pickle-free format."""

import json
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from importlib import metadata

import joblib
import numpy as np
import pytest
import skops.io
import torch
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from skorch.exceptions import DeviceWarning

from rdinet_sklearn import io
from rdinet_sklearn._versions import (
    STAMP_KEY,
    VersionMismatchWarning,
    _provides,
    _VersionStampMixin,
    dependency_versions,
)
from rdinet_sklearn.nn import ResNet50Classifier
from rdinet_sklearn.nn._rdinet import RDINetClassifier
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import (
    LassoSelector,
    ReproducibilityFilter,
    TTestSelector,
)
from rdinet_sklearn.volumes import VolumeCropper

# ~0.9M-parameter networks on 8x24x24 volumes: CPU-sized, as in test_resnet.py
TINY_NET = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (8, 24, 24),
    "max_epochs": 1,
    "batch_size": 8,
    "module__widen_factor": 0.25,
    "random_state": 0,
}
N_TRAIN = 18


def _rdinet_pipeline():
    """Radiomics (selected) + the two path columns -> RDINet, as the study composes it."""
    radiomics = make_pipeline(
        RadiomicsExtractor(roi=("MR", "LR"), params="original"),
        TTestSelector(alpha=0.5),
        LassoSelector(random_state=0),
    )
    inputs = ColumnTransformer(
        [("radiomics", radiomics, ["image", "mask"]), ("paths", "passthrough", ["image", "mask"])],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return make_pipeline(inputs, RDINetClassifier(**TINY_NET))


@pytest.fixture(scope="module")
def split(small_cohort):
    cases, y = small_cohort
    return cases.iloc[:N_TRAIN], y.iloc[:N_TRAIN], cases.iloc[N_TRAIN:]


@pytest.fixture(scope="module")
def rdinet_model(split):
    train, y_train, _ = split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # selector fallbacks on 18 patients
        return _rdinet_pipeline().fit(train, y_train)


@pytest.fixture(scope="module")
def radiomics_model(split):
    train, y_train, _ = split
    model = make_pipeline(
        RadiomicsExtractor(
            roi=("MR", "LR"), params="original", reference_mask_column="mask_rater2"
        ),
        ReproducibilityFilter(),
        TTestSelector(alpha=0.5),
        StandardScaler(),
        LogisticRegression(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(train, y_train)


# -- joblib, in another process ------------------------------------------------------------

_OTHER_PROJECT = """
import json, sys, warnings
import joblib
from rdinet_sklearn import read_case_table

cases = read_case_table(sys.argv[1]).set_index("patient_id", drop=False)
out = {}
for name in sys.argv[2:]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = joblib.load(name)
    out[name] = {
        "proba": model.predict_proba(cases).tolist(),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "device": str(model[-1].device),
    }
print(json.dumps(out))
"""


def test_joblib_pipeline_predicts_the_same_in_a_fresh_process(rdinet_model, split, tmp_path):
    """Radiomics + RDINet saved with joblib; one copy marked as trained on CUDA."""
    _, _, new = split
    table = tmp_path / "new_cases.csv"
    new.to_csv(table, index=False)
    plain = tmp_path / "model.joblib"
    joblib.dump(rdinet_model, plain)
    on_cuda = pickle.loads(pickle.dumps(rdinet_model))
    vars(on_cuda[-1])["device"] = "cuda"  # what a model fitted with device="cuda" holds
    cuda_file = tmp_path / "model_cuda.joblib"
    joblib.dump(on_cuda, cuda_file)

    run = subprocess.run(
        [sys.executable, "-c", _OTHER_PROJECT, str(table), str(plain), str(cuda_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: only the installed package is importable
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    expected = rdinet_model.predict_proba(new)
    np.testing.assert_array_equal(results[str(plain)]["proba"], expected)
    assert results[str(plain)]["device"] == "auto"
    assert not [w for w in results[str(plain)]["warnings"] if "Version" in w]
    if torch.cuda.is_available():
        return
    np.testing.assert_array_equal(results[str(cuda_file)]["proba"], expected)
    assert results[str(cuda_file)]["device"] == "cpu"
    assert any("DeviceWarning" in w and "CUDA" in w for w in results[str(cuda_file)]["warnings"])


# -- version stamps ------------------------------------------------------------------------


class _Stamped(_VersionStampMixin, BaseEstimator):
    def __init__(self, alpha=1.0):
        self.alpha = alpha


def test_version_stamp_round_trips_silently():
    estimator = _Stamped(alpha=2.0)
    estimator.fitted_ = np.arange(3)
    assert STAMP_KEY in estimator.__getstate__()
    assert STAMP_KEY not in vars(estimator)  # only in the pickle
    with warnings.catch_warnings():
        warnings.simplefilter("error", VersionMismatchWarning)
        loaded = pickle.loads(pickle.dumps(estimator))
    assert loaded.alpha == 2.0 and not hasattr(loaded, STAMP_KEY)
    np.testing.assert_array_equal(loaded.fitted_, estimator.fitted_)


def test_version_mismatch_warns_naming_package_and_versions():
    state = _Stamped().__getstate__()
    state[STAMP_KEY] = {**state[STAMP_KEY], "torch": "0.0.1", "radiomics": None}
    loaded = _Stamped.__new__(_Stamped)
    with pytest.warns(VersionMismatchWarning) as caught:
        loaded.__setstate__(state)
    message = str(caught[0].message)
    assert "_Stamped" in message
    assert f"torch 0.0.1 (installed: {dependency_versions()['torch']})" in message
    assert "radiomics absent" in message
    assert loaded.alpha == 1.0


@pytest.mark.parametrize("listing", ["RECORD", "top_level.txt"])
def test_a_distribution_provides_the_top_level_names_its_metadata_lists(tmp_path, listing):
    info = tmp_path / "example_dist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: example-dist\nVersion: 1.0\n")
    if listing == "RECORD":  # a wheel without top_level.txt (scikit-learn, numpy)
        rows = ["example/__init__.py,sha256=x,10", '"odd,name.py",,', "lonely.py,,"]
        (info / "RECORD").write_text("\n".join([*rows, f"{info.name}/RECORD,,"]) + "\n")
    else:
        (info / "top_level.txt").write_text("example\nlonely\n")
    distribution = metadata.PathDistribution(info)
    assert _provides(distribution, "example") and _provides(distribution, "lonely")
    assert not _provides(distribution, "exam") and not _provides(distribution, "odd")


def test_unstamped_pickles_load_silently():
    state = {"alpha": 3.0}  # written before the mixin existed
    loaded = _Stamped.__new__(_Stamped)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.__setstate__(state)
    assert loaded.alpha == 3.0


def test_stamp_works_under_skorch_getstate():
    """The mixin wraps skorch's __getstate__/__setstate__ too (the nn base's bases)."""
    net = ResNet50Classifier(**TINY_NET)
    state = net.__getstate__()
    assert STAMP_KEY in state and "__cuda_dependent_attributes__" in state


@pytest.mark.parametrize(
    "cls",
    [
        RadiomicsExtractor,
        ReproducibilityFilter,
        TTestSelector,
        LassoSelector,
        VolumeCropper,
        ResNet50Classifier,
        RDINetClassifier,
    ],
)
def test_rdinet_estimators_record_versions(cls):
    assert issubclass(cls, _VersionStampMixin)
    estimator = cls(**TINY_NET) if "Classifier" in cls.__name__ else cls()
    assert estimator.__getstate__()[STAMP_KEY] == dependency_versions()


# -- the pickle-free format ----------------------------------------------------------------


def test_safe_format_round_trips_radiomics_pipeline(radiomics_model, split, tmp_path):
    _, _, new = split
    path = io.save(radiomics_model, tmp_path / "radiomics.rdinet")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert {"manifest.json", "model.skops", "frames/0.parquet"} <= set(names)  # ICC table
    assert manifest["versions"] == dependency_versions()
    loaded = io.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(new), radiomics_model.predict_proba(new))
    assert loaded[1].icc_table_.equals(radiomics_model[1].icc_table_)


def test_safe_format_round_trips_the_study_svm(tmp_path):
    # CalibratedClassifierCV(SVC), as the study's "svm" classifier, with both calibrations
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + rng.normal(scale=0.5, size=60) > 0).astype(int)
    for method in ("sigmoid", "isotonic"):
        svm = CalibratedClassifierCV(SVC(random_state=0), method=method, ensemble=False)
        model = make_pipeline(StandardScaler(), svm).fit(X, y)
        loaded = io.load(io.save(model, tmp_path / f"svm_{method}.rdinet"))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_safe_format_round_trips_forests_imputers_and_small_cohort_folds(tmp_path):
    # The study's random forest (trees are sklearn.tree._tree.Tree), its clinical imputers
    # (they record a numpy dtype) and its SVM with class-count folds: no extra trust needed.
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer

    from rdinet_sklearn._folds import ClassCountStratifiedKFold

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    X[::7, 1] = np.nan
    svm = CalibratedClassifierCV(SVC(random_state=0), cv=ClassCountStratifiedKFold(5))
    for classifier in (RandomForestClassifier(n_estimators=5, random_state=0), svm):
        model = make_pipeline(SimpleImputer(strategy="median"), classifier).fit(X, y)
        loaded = io.load(io.save(model, tmp_path / "model.rdinet"))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_any_flipped_byte_is_a_model_file_error_or_harmless(tmp_path):
    from rdinet_sklearn.exceptions import RdinetInputError

    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        [[0.0], [1], [2], [3]], [0, 0, 1, 1]
    )
    path = io.save(model, tmp_path / "model.rdinet")
    data = open(path, "rb").read()
    refused = 0
    for at in range(0, len(data), max(1, len(data) // 60)):
        damaged = bytearray(data)
        damaged[at] ^= 0xFF
        (tmp_path / "damaged.rdinet").write_bytes(bytes(damaged))
        try:
            io.load(tmp_path / "damaged.rdinet")
        except RdinetInputError as error:  # ModelFileError or UntrustedModelError
            assert "damaged.rdinet" in str(error)
            refused += 1
    assert refused > 0


def test_safe_format_round_trips_rdinet_pipeline(rdinet_model, split, tmp_path):
    _, _, new = split
    loaded = io.load(io.save(rdinet_model, tmp_path / "rdinet.rdinet"))
    np.testing.assert_array_equal(loaded.predict_proba(new), rdinet_model.predict_proba(new))
    net, original = loaded[-1], rdinet_model[-1]
    assert type(net) is RDINetClassifier and net.get_params()["k"] == original.k
    np.testing.assert_array_equal(net.classes_, original.classes_)
    assert net.history_[-1]["train_loss"] == pytest.approx(original.history_[-1]["train_loss"])


def test_safe_format_stores_weights_and_tables_without_deflate(rdinet_model, tmp_path):
    with zipfile.ZipFile(io.save(rdinet_model, tmp_path / "rdinet.rdinet")) as archive:
        methods = {info.filename: info.compress_type for info in archive.infolist()}
    assert methods["nets/0.safetensors"] == zipfile.ZIP_STORED  # float weights barely shrink
    assert methods["model.skops"] == methods["manifest.json"] == zipfile.ZIP_DEFLATED


def test_safe_format_loads_a_cuda_net_on_cpu(rdinet_model, split, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    _, _, new = split
    net = pickle.loads(pickle.dumps(rdinet_model[-1]))
    vars(net)["device"] = "cuda"  # the parameter of a net fitted with device="cuda"
    path = io.save(net, tmp_path / "cuda.rdinet")
    with pytest.warns(DeviceWarning, match="CUDA is not available"):
        loaded = io.load(path)
    assert loaded.device == "cpu"
    expected = rdinet_model[-1].predict_proba(rdinet_model[:-1].transform(new))
    np.testing.assert_array_equal(loaded.predict_proba(rdinet_model[:-1].transform(new)), expected)


def test_safe_format_round_trips_resnet_with_string_labels(split, tmp_path):
    train, y_train, new = split
    labels = np.where(y_train == 1, "responder", "non-responder")
    net = ResNet50Classifier(**TINY_NET).fit(train, labels)
    loaded = io.load(io.save(net, tmp_path / "resnet.rdinet"))
    np.testing.assert_array_equal(loaded.predict_proba(new), net.predict_proba(new))
    np.testing.assert_array_equal(loaded.predict(new), net.predict(new))
    assert loaded.get_params()["volume_size"] == (8, 24, 24)  # tuples survive JSON


def test_safe_format_net_is_rebuilt_without_optimizer_and_trains_on(split, tmp_path):
    train, y_train, new = split
    net = ResNet50Classifier(**TINY_NET, optimizer=torch.optim.SGD, lr=0.05).fit(train, y_train)
    loaded = io.load(io.save(net, tmp_path / "resnet.rdinet"))
    assert getattr(loaded, "optimizer_", None) is None  # predicting needs no optimizer
    np.testing.assert_array_equal(loaded.predict_proba(new), net.predict_proba(new))
    loaded.partial_fit(train, y_train)  # a fresh optimizer, as the module docstring says
    assert type(loaded.optimizer_) is torch.optim.SGD
    assert loaded.optimizer_.param_groups[0]["lr"] == 0.05
    assert len(loaded.history_) == len(net.history_) + 1
    assert not np.array_equal(loaded.predict_proba(new), net.predict_proba(new))


class _CustomOptimizer(torch.optim.SGD):
    pass


def test_safe_format_refuses_unknown_classes_unless_trusted(tmp_path):
    net = ResNet50Classifier(**TINY_NET, optimizer=_CustomOptimizer)
    with pytest.raises(TypeError, match="_CustomOptimizer is not on the allow-list"):
        io.save(net, tmp_path / "net.rdinet")
    path = io.save(net, tmp_path / "net.rdinet", trusted=[_CustomOptimizer])
    with pytest.raises(io.UntrustedModelError, match="_CustomOptimizer"):
        io.load(path)
    assert io.load(path, trusted=[_CustomOptimizer]).optimizer is _CustomOptimizer


# -- tampered files fail safely ------------------------------------------------------------


class _Payload:
    """Creates ``marker`` when unpickled (or built by a careless loader)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))

    def __setstate__(self, state):
        open(state["marker"], "w").close()


def _replace_member(path, member, data):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


@pytest.fixture
def saved_net(rdinet_model, tmp_path):
    return io.save(rdinet_model[-1], tmp_path / "net.rdinet")


def test_payload_is_real(tmp_path):
    """Sanity check of the attack: plain unpickling runs it."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize(
    "member",
    ["model.skops", "nets/0.safetensors", "manifest.json", "<whole file>"],
)
def test_pickle_in_place_of_a_member_is_refused(saved_net, tmp_path, member):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    if member == "<whole file>":
        with open(saved_net, "wb") as handle:
            handle.write(payload)
    else:
        _replace_member(saved_net, member, payload)
    with pytest.raises(io.ModelFileError, match="net.rdinet"):
        io.load(saved_net)
    assert not marker.exists()


def test_skops_tree_with_untrusted_type_is_refused(saved_net, tmp_path):
    marker = tmp_path / "pwned"
    _replace_member(saved_net, "model.skops", skops.io.dumps({"x": _Payload(marker)}))
    with pytest.raises(io.UntrustedModelError, match="_Payload.*Nothing was loaded"):
        io.load(saved_net)
    assert not marker.exists()


@pytest.mark.parametrize("field", ["class", "module"])
def test_manifest_naming_a_dangerous_callable_is_refused(saved_net, tmp_path, field):
    with zipfile.ZipFile(saved_net) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    if field == "class":
        manifest["nets"][0]["class"] = "os.system"
    else:
        manifest["nets"][0]["params"]["module"] = {"__type__": "os.system"}
    _replace_member(saved_net, "manifest.json", json.dumps(manifest))
    with pytest.raises(io.UntrustedModelError, match="os.system"):
        io.load(saved_net)
