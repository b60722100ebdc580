"""ResNet50Classifier and its skorch training core, at CPU size on synthetic cohorts."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from skorch.exceptions import DeviceWarning

from rdinet_sklearn.nn import ResNet3DModule, ResNet50Classifier, build_resnet

# depth 10 at a quarter of the width: ~0.9M parameters instead of 14M, so tests stay fast
CPU_SIZE = {
    "depth": 10,
    "volume_size": (8, 24, 24),
    "max_epochs": 2,
    "batch_size": 8,
    "module__widen_factor": 0.25,
}


def _small(**params):
    return ResNet50Classifier(roi=("MR", "LR"), **{"random_state": 0, **CPU_SIZE, **params})


@pytest.fixture(scope="module")
def fitted(small_cohort):
    cases, y = small_cohort
    return _small().fit(cases, y)


def test_study_usage_as_written(small_cohort):
    cases, y = small_cohort
    cnn = ResNet50Classifier(
        roi=("MR", "LR"),
        volume_size=(32, 128, 128),  # the study's
        max_epochs=100,
        batch_size=16,
        lr=1e-3,
        random_state=0,
    )
    params = cnn.get_params()
    assert (params["depth"], params["max_epochs"], params["batch_size"]) == (50, 100, 16)
    assert params["optimizer"] is torch.optim.Adam and params["device"] == "auto"
    assert params["train_split"] is None
    cnn.set_params(**CPU_SIZE)  # CPU-sized from here on
    cnn.fit(cases, y)
    proba = cnn.predict_proba(cases)[:, 1]
    assert proba.shape == (len(cases),) and np.all((proba >= 0) & (proba <= 1))
    small = ResNet50Classifier(roi=("MR", "LR"), depth=10, volume_size=(16, 32, 32), max_epochs=2)
    search = GridSearchCV(small, {"lr": [1e-3, 1e-4]}, cv=StratifiedKFold(3), scoring="roc_auc")
    search.fit(cases, y)
    assert set(search.best_params_) == {"lr"} and np.isfinite(search.best_score_)
    assert search.best_estimator_.predict_proba(cases).shape == (len(cases), 2)


def test_outputs_and_features(fitted, small_cohort):
    cases, y = small_cohort
    proba = fitted.predict_proba(cases)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    np.testing.assert_array_equal(fitted.predict(cases), fitted.classes_[proba.argmax(axis=1)])
    features = fitted.transform(cases)
    assert features.shape == (len(cases), 128) and features.dtype == np.float32  # 512 / 4
    assert fitted.get_feature_names_out()[0] == "cnn_feature_0"
    assert fitted.module_.feature_dim == 128 and fitted.cropper_.n_channels_ == 2
    assert 0.0 <= fitted.score(cases, y) <= 1.0


@pytest.mark.parametrize("depth, width", [(50, 2048), (18, 512)])
def test_feature_width_follows_depth(depth, width):
    module = ResNet3DModule(in_channels=2, depth=depth).eval()
    assert module.feature_dim == width
    with torch.no_grad():
        assert module.features(torch.zeros(1, 2, 8, 16, 16)).shape == (1, width)
        assert module(torch.zeros(1, 2, 8, 16, 16)).shape == (1, 2)


def test_prediction_is_deterministic_and_fits_repeat(fitted, small_cohort):
    cases, y = small_cohort
    first = fitted.predict_proba(cases)
    np.testing.assert_array_equal(fitted.predict_proba(cases), first)  # no augmentation
    again = _small().fit(cases, y)
    np.testing.assert_array_equal(again.predict_proba(cases), first)
    other_seed = _small(random_state=1).fit(cases, y)
    assert not np.allclose(other_seed.predict_proba(cases), first)


def test_augmentation_acts_in_training_only(fitted, small_cohort):
    cases, y = small_cohort
    plain = _small(augmentation="none").fit(cases, y)
    assert not np.allclose(plain.predict_proba(cases), fitted.predict_proba(cases))
    # fitting does not leave the (unpicklable-on-other-devices) augmenter behind
    assert fitted._augmenter_ is None


def test_fit_leaves_parameters_and_global_rng_alone(small_cohort):
    cases, y = small_cohort
    cnn = _small(max_epochs=1)
    before = {k: v for k, v in cnn.get_params(deep=False).items()}
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    cnn.fit(cases, y)
    assert torch.equal(torch.rand(1), expected_draw)
    after = cnn.get_params(deep=False)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] or after[k] == before[k] for k in before)
    assert cnn.device == "auto"


def test_string_labels(small_cohort):
    cases, y = small_cohort
    labels = np.where(y == 1, "responder", "non-responder")
    cnn = _small(max_epochs=1).fit(cases, labels)
    np.testing.assert_array_equal(cnn.classes_, ["non-responder", "responder"])
    assert set(cnn.predict(cases)) <= {"non-responder", "responder"}
    assert cnn.predict_proba(cases).shape == (len(cases), 2)


def test_target_errors(small_cohort):
    cases, y = small_cohort
    with pytest.raises(ValueError, match=r"two classes.*only one class \(1\)"):
        _small().fit(cases, np.ones(len(cases), dtype=int))
    with pytest.raises(ValueError, match="needs a binary y, but y has 3 classes"):
        _small().fit(cases, np.arange(len(cases)) % 3)
    with pytest.raises(ValueError, match="rows but y has"):
        _small().fit(cases, y[:-1])
    with pytest.raises(TypeError, match="expects a case table"):
        _small().fit(np.zeros((len(y), 3)), y)


def test_not_fitted(small_cohort):
    cases, _ = small_cohort
    for method in ("predict_proba", "predict", "transform", "net_input"):
        with pytest.raises(NotFittedError):
            getattr(_small(), method)(cases)


def test_net_input_is_what_the_network_reads(fitted, small_cohort):
    cases, _ = small_cohort
    volumes = fitted.net_input(cases)
    assert volumes.shape == (len(cases), 2, 8, 24, 24) and volumes.dtype == np.float32
    with torch.no_grad():
        logits = fitted.module_.eval()(torch.as_tensor(volumes))
    np.testing.assert_allclose(
        torch.softmax(logits, dim=1).numpy(), fitted.predict_proba(cases), rtol=1e-5, atol=1e-6
    )


def test_net_rebuilt_for_inference_builds_its_optimizer_to_train(fitted, small_cohort):
    from rdinet_sklearn.nn._state import net_state, restore_net

    cases, y = small_cohort
    rebuilt = restore_net(*net_state(fitted))
    assert rebuilt.optimizer_ is None  # predicting needs none
    np.testing.assert_array_equal(rebuilt.predict_proba(cases), fitted.predict_proba(cases))
    rebuilt.set_params(lr=0.01)  # no optimizer to update yet: recorded for later
    rebuilt.partial_fit(cases, y)
    assert rebuilt.optimizer_.param_groups[0]["lr"] == 0.01
    rebuilt.set_params(lr=0.002)  # now the live optimizer follows, as after fit
    assert rebuilt.optimizer_.param_groups[0]["lr"] == 0.002


def test_vanished_file_is_named_at_predict(fitted, small_cohort, tmp_path):
    cases, _ = small_cohort
    table = cases.iloc[:2].copy()
    table.iloc[1, table.columns.get_loc("image")] = str(tmp_path / "gone.nii.gz")
    with pytest.raises(ValueError, match=f"{table.index[1]}.*gone.nii.gz.*not found"):
        fitted.predict_proba(table)


def test_pickle_round_trip(fitted, small_cohort, tmp_path):
    cases, _ = small_cohort
    joblib.dump(fitted, tmp_path / "cnn.joblib")
    loaded = joblib.load(tmp_path / "cnn.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(cases), fitted.predict_proba(cases))
    assert loaded.device == "auto"


def test_model_saved_for_cuda_loads_on_cpu(fitted, small_cohort):
    """As skorch tests it: a pickle whose device is "cuda" loads on a machine without one."""
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    cases, _ = small_cohort
    expected = fitted.predict_proba(cases)
    net = pickle.loads(pickle.dumps(fitted))
    vars(net)["device"] = "cuda"
    blob = pickle.dumps(net)
    with pytest.warns(DeviceWarning, match="(?i)cuda"):
        loaded = pickle.loads(blob)
    assert str(loaded.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(cases), expected)


def test_precision_resolves_per_device():
    cpu = {p: _small(precision=p, device="cpu") for p in ("auto", "bf16", "fp16", "fp32")}
    assert cpu["auto"]._autocast_dtype(training=True) is None  # float32 on a CPU
    assert cpu["bf16"]._autocast_dtype(training=True) is torch.bfloat16
    assert cpu["fp32"]._autocast_dtype(training=True) is None
    assert cpu["fp16"]._autocast_dtype(training=False) is None  # predicts in float32
    with pytest.raises(ValueError, match="fp16.*CUDA only.*bf16"):
        cpu["fp16"]._autocast_dtype(training=True)


def test_bf16_autocast_trains_on_cpu(small_cohort, monkeypatch):
    """The mixed-precision path itself: bf16 autocast on the CPU, finite losses, fp32 output.

    On torch's reference kernels (oneDNN off): oneDNN's bf16 3D-convolution backward returns
    garbage gradients now and then and differs from run to run (see nn/_precision.py), so
    with it this test's verdict would depend on the run.
    """
    cases, y = small_cohort
    seen = []
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    cnn = _small(precision="bf16", device="cpu")
    cnn.initialize()
    cnn.module_.backbone.conv1.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    with pytest.warns(UserWarning, match="precision='bf16' on the CPU.*oneDNN"):
        cnn.set_params(warm_start=True).fit(cases, y)
    again = _small(precision="bf16", device="cpu")
    with pytest.warns(UserWarning, match="bf16"):
        again.fit(cases, y)
    monkeypatch.undo()
    assert seen and set(seen) == {torch.bfloat16}  # convolutions ran in bfloat16
    assert np.all(np.isfinite(cnn.history[:, "train_loss"]))
    assert cnn.n_skipped_steps_ == 0
    np.testing.assert_array_equal(again.history[:, "train_loss"], cnn.history[:, "train_loss"])
    proba = cnn.predict_proba(cases)
    assert proba.dtype == np.float32 and np.allclose(proba.sum(axis=1), 1, atol=1e-3)
    assert all(p.dtype == torch.float32 for p in cnn.module_.parameters())  # fp32 weights
    plain = _small(precision="fp32", device="cpu").fit(cases, y)
    assert not np.allclose(plain.history[:, "train_loss"], cnn.history[:, "train_loss"])


def test_float32_on_a_cpu_trains_without_the_bf16_warning(small_cohort, recwarn):
    cases, y = small_cohort
    _small(precision="fp32", device="cpu", max_epochs=1).fit(cases, y)
    _small(precision="auto", device="cpu", max_epochs=1).fit(cases, y)
    assert not [w for w in recwarn if "bf16" in str(w.message)]


def test_fp16_refuses_to_train_without_cuda(small_cohort):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    cases, y = small_cohort
    with pytest.raises(ValueError, match="CUDA only"):
        _small(precision="fp16").fit(cases, y)


def test_parameters_are_checked_before_any_case_is_read(tmp_path):
    from rdinet_sklearn._sklearn_compat import InvalidParameterError

    missing = pd.DataFrame({"image": [str(tmp_path / "none.nii")] * 4, "mask": ["x"] * 4})
    y = [0, 1, 0, 1]
    with pytest.raises(InvalidParameterError, match="'margin' parameter of ResNet50Classifier"):
        ResNet50Classifier(margin=-5).fit(missing, y)
    with pytest.raises(InvalidParameterError, match="'precision'"):
        _small(precision="int8").fit(missing, y)
    with pytest.raises(ValueError, match="volume_size must be 3 positive ints"):
        _small(volume_size=(8, 24)).fit(missing, y)


def test_signature_lists_every_parameter_once():
    import inspect

    from rdinet_sklearn.volumes import VolumeCropper

    names = list(inspect.signature(ResNet50Classifier).parameters)
    assert names[0] == "roi" and len(names) == len(set(names))
    assert set(inspect.signature(VolumeCropper).parameters) < set(names)
    assert ResNet50Classifier().get_params()["margin"] == VolumeCropper().margin


def test_skorch_knobs_reach_skorch(small_cohort):
    cases, y = small_cohort
    cnn = _small(
        max_epochs=4,
        optimizer__weight_decay=1e-4,
        train_split=ValidSplit(3, stratified=True),
        callbacks=[EarlyStopping(patience=1, threshold=10.0)],
        module__conv1_stride=1,
        iterator_train__drop_last=True,
    )
    clone(cnn).fit(cases, y)  # clone keeps the skorch parameters
    cnn.fit(cases, y)
    assert cnn.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    assert cnn.module_.backbone.conv1.stride == (1, 1, 1)
    assert "valid_loss" in cnn.history[-1]
    assert len(cnn.history) < 4  # early stopping kicked in


def test_pretrained_weights_load_from_a_local_file(tmp_path):
    source = build_resnet(10, in_channels=1)
    state = {f"module.{k}": v for k, v in source.state_dict().items()}  # DataParallel-style
    state["fc.weight"] = torch.zeros(3, 512)  # a classification head we do not have
    torch.save({"state_dict": state}, tmp_path / "medicalnet.pth")
    with pytest.warns(UserWarning, match="1 unexpected"):
        module = ResNet3DModule(in_channels=2, depth=10, pretrained=tmp_path / "medicalnet.pth")
    assert module.pretrained_report == {
        "missing": [],
        "unexpected": ["fc.weight"],
        "mismatched": [],
    }
    conv1 = source.conv1.weight.detach()
    torch.testing.assert_close(module.backbone.conv1.weight, conv1.repeat(1, 2, 1, 1, 1) / 2)
    torch.testing.assert_close(
        module.backbone.layer4[0].conv1.weight, source.layer4[0].conv1.weight
    )
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ResNet3DModule(depth=10, pretrained=tmp_path / "missing.pth")


def test_learns_the_response_signal(medium_cohort):
    """CV AUC is clearly above chance with true labels and near chance with permuted ones.

    A smaller version of benchmarks/bench_cnn.py's learning check (5 epochs, 8x24x24,
    quarter width here; full width there).
    """
    cases, y = medium_cohort
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    cnn = _small(max_epochs=5, batch_size=16)
    true_auc = cross_val_score(cnn, cases, y, cv=cv, scoring="roc_auc").mean()
    permuted = np.random.RandomState(0).permutation(y.to_numpy())
    null_auc = cross_val_score(cnn, cases, permuted, cv=cv, scoring="roc_auc").mean()
    assert true_auc > 0.7
    assert 0.3 < null_auc < 0.7
    assert true_auc - null_auc > 0.2


def test_true_tags_describe_a_case_table_estimator():
    tags = ResNet50Classifier().__sklearn_tags__()
    assert not tags.input_tags.two_d_array and tags.input_tags.string
    assert not tags.classifier_tags.multi_class
