"""Bad inputs: every component fails with a clear error naming the row and the file.

One case (row ``"P3"``) of an otherwise good 4-case table is broken in one way; each
component that reads it must raise a ValueError whose message names ``P3`` and the
offending file (never return a partial result). Table-level problems (duplicates, zero
rows, missing columns, labels) are checked the same way.
"""

import gzip
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from rdinet_sklearn import validate_case_table
from rdinet_sklearn.nn import ResNet50Classifier
from rdinet_sklearn.nn._rdinet import RDINetClassifier
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache
from rdinet_sklearn.volumes import VolumeCropper, clear_volume_cache

SHAPE = (6, 32, 48)  # slices, rows, columns
SPACING = (0.5, 0.5, 3.0)  # x, y, z (mm)
BAD = "P3"
TINY_NET = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (4, 12, 12),
    "max_epochs": 1,
    "batch_size": 4,
    "module__widen_factor": 0.25,
    "random_state": 0,
}


def _label_map():
    labels = np.zeros(SHAPE, np.uint8)
    for offset in (0, 24):  # both orbits, either side of the midline
        labels[1:5, 8:20, 6 + offset : 12 + offset] = 3  # MR
        labels[1:5, 8:20, 14 + offset : 20 + offset] = 4  # LR
    return labels


def _write(array, path, *, spacing=SPACING, direction=None):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    if direction is not None:
        image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return str(path)


def _image(seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(100, 20, SHAPE) + 30 * (_label_map() > 0) * (seed % 2)).astype(np.float32)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """4 good cases (2 per class) with clinical columns, and their labels."""
    folder = tmp_path_factory.mktemp("good_cases")
    rows = {}
    for i in range(1, 5):
        rows[f"P{i}"] = {
            "image": _write(_image(i), folder / f"P{i}.nii.gz"),
            "mask": _write(_label_map(), folder / f"P{i}_mask.nii.gz"),
            "age": 40.0 + i,
            "cas": float(i % 3),
        }
    cases = pd.DataFrame.from_dict(rows, orient="index")
    return cases, np.array([0, 1, 0, 1])


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Results of good cases are shared by design; broken ones must be read each time.
    clear_process_cache()
    clear_volume_cache()


# -- the components, each running on a case table -------------------------------------------


def _validate(cases, y):
    return validate_case_table(cases, roi=("MR", "LR"))


# first-order features only: the checks under test come before pyradiomics' feature classes
FAST_RADIOMICS = {"featureClass": {"firstorder": None}}


def _radiomics(cases, y):
    return RadiomicsExtractor(params=FAST_RADIOMICS, progress=False).fit_transform(cases)


def _cropper(cases, y):
    return VolumeCropper(("MR", "LR"), volume_size=(4, 12, 12)).fit_transform(cases)


def _resnet(cases, y):
    return ResNet50Classifier(**TINY_NET).fit(cases, y)


def _rdinet(cases, y):
    return RDINetClassifier(**TINY_NET).fit(cases, y)


COMPONENTS = {
    "validate": _validate,
    "radiomics": _radiomics,
    "cropper": _cropper,
    "resnet": _resnet,
    "rdinet": _rdinet,
}


def _assert_raises_naming(component, cases, y, *, row, path, problem):
    with pytest.raises(ValueError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        COMPONENTS[component](cases, y)
    message = str(caught.value)
    assert repr(row) in message, message
    assert os.path.basename(path) in message, message
    assert any(word in message for word in problem), message


# -- broken files ---------------------------------------------------------------------------


def _break(kind, folder, cases):
    """Replace row P3's files by a broken variant; return (cases, bad path, problem words)."""
    cases = cases.copy()
    image_path = str(folder / "bad_image.nii.gz")
    mask_path = str(folder / "bad_mask.nii.gz")
    labels = _label_map()
    if kind == "missing file":
        cases.loc[BAD, "image"] = image_path
        return cases, image_path, ["not found"]
    if kind == "truncated NIfTI":
        _write(_image(3), image_path)
        with open(image_path, "rb") as handle:
            data = handle.read()
        with open(image_path, "wb") as handle:
            handle.write(data[: len(data) // 2])
        cases.loc[BAD, "image"] = image_path
        return cases, image_path, ["cannot be read", "truncated", "corrupt"]
    if kind == "corrupt NIfTI":
        with gzip.open(image_path, "wb") as handle:
            handle.write(b"this is not a NIfTI header" * 20)
        cases.loc[BAD, "image"] = image_path
        return cases, image_path, ["cannot be read"]
    if kind == "size":
        _write(labels[:, :, :40], mask_path)
    elif kind == "spacing":
        _write(labels, mask_path, spacing=(0.6, 0.5, 3.0))
    elif kind == "direction":
        _write(labels, mask_path, direction=(-1, 0, 0, 0, 1, 0, 0, 0, 1))
    elif kind == "no requested label":
        _write(np.where(labels > 0, 1, 0).astype(np.uint8), mask_path)
    elif kind == "labels as 255":
        _write(np.where(labels > 0, 255, 0).astype(np.uint8), mask_path)
    elif kind == "non-integer float labels":
        _write(labels.astype(np.float32) * 0.5, mask_path)
    problems = {
        "size": ["size"],
        "spacing": ["spacing"],
        "direction": ["direction"],
        "no requested label": ["absent"],
        "labels as 255": ["absent"],
        "non-integer float labels": ["non-integer", "absent"],
    }
    cases.loc[BAD, "mask"] = mask_path
    return cases, mask_path, problems[kind]


FILE_PROBLEMS = [
    "missing file",
    "truncated NIfTI",
    "corrupt NIfTI",
    "size",
    "spacing",
    "direction",
    "no requested label",
    "labels as 255",
    "non-integer float labels",
]


@pytest.mark.parametrize("component", list(COMPONENTS))
@pytest.mark.parametrize("kind", FILE_PROBLEMS)
def test_broken_file_is_named(good, tmp_path, component, kind):
    cases, y = good
    cases, path, problem = _break(kind, tmp_path, cases)
    _assert_raises_naming(component, cases, y, row=BAD, path=path, problem=problem)


def test_float_label_map_with_whole_numbers_works(good, tmp_path):
    cases, y = good
    cases = cases.copy()
    cases.loc[BAD, "mask"] = _write(_label_map().astype(np.float32), tmp_path / "float.nii.gz")
    validate_case_table(cases, roi=("MR", "LR"))
    features = _radiomics(cases, y)
    assert np.isfinite(features.to_numpy()).all()
    assert _cropper(cases, y).shape == (4, 2, 4, 12, 12)


@pytest.mark.parametrize("component", ["radiomics", "cropper", "resnet"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_intensities_are_named(good, tmp_path, component, value):
    cases, y = good
    image = _image(3)
    image[2, 10, 8] = value  # inside the ROI
    cases = cases.copy()
    # NRRD, since ITK's NIfTI writer does not keep NaN and inf
    cases.loc[BAD, "image"] = path = _write(image, tmp_path / "nan_image.nrrd")
    _assert_raises_naming(
        component, cases, y, row=BAD, path=path, problem=["NaN", "nan", "inf", "finite"]
    )


@pytest.mark.parametrize("component", ["radiomics", "cropper"])
def test_roi_lost_by_resampling_is_named(good, tmp_path, component):
    """A one-voxel ROI: pyradiomics resampling to 3 mm or a 2-voxel crop box lose it."""
    cases, y = good
    labels = np.zeros(SHAPE, np.uint8)
    labels[2, 10, 8] = labels[2, 10, 32] = 3
    labels[2, 11, 8] = labels[2, 11, 32] = 4
    cases = cases.copy()
    cases.loc[BAD, "mask"] = path = _write(labels, tmp_path / "tiny_mask.nii.gz")
    if component == "radiomics":
        settings = {
            "setting": {"resampledPixelSpacing": [3, 3, 3], "label": 1},
            "featureClass": {"firstorder": None},
        }
        with pytest.raises(ValueError) as caught, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RadiomicsExtractor(params=settings, progress=False).fit_transform(cases)
        message = str(caught.value)
        assert repr(BAD) in message and os.path.basename(path) in message
    else:
        with pytest.raises(ValueError, match=r"P3.*tiny_mask.*too small|too small.*P3"):
            VolumeCropper(("MR", "LR"), margin=0.0, volume_size=(4, 12, 12)).fit_transform(cases)


# -- table-level problems -------------------------------------------------------------------


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_duplicate_patient_ids(good, component):
    cases, y = good
    duplicated = cases.rename(index={"P4": "P3"})
    with pytest.raises(ValueError, match="duplicate.*P3"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        COMPONENTS[component](duplicated, y)


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_zero_rows(good, component):
    cases, y = good
    # the nets check y first (as sklearn does): "needs two classes in y; got only []"
    with pytest.raises(ValueError, match=r"no rows|got only \[\]"):
        COMPONENTS[component](cases.iloc[:0], y[:0])


@pytest.mark.parametrize("component", ["resnet", "rdinet"])
def test_one_class_y(good, component):
    cases, _ = good
    with pytest.raises(ValueError, match="two classes"):
        COMPONENTS[component](cases, np.zeros(4, int))


@pytest.mark.parametrize("component", ["resnet", "rdinet"])
def test_more_than_two_classes(good, component):
    cases, _ = good
    with pytest.raises(ValueError, match="binary"):
        COMPONENTS[component](cases, np.array([0, 1, 2, 1]))


@pytest.fixture(scope="module")
def string_label_nets(good):
    cases, y = good
    labels = np.where(y == 1, "responder", "non-responder")
    return {name: COMPONENTS[name](cases, labels) for name in ("resnet", "rdinet")}


@pytest.mark.parametrize("component", ["resnet", "rdinet"])
def test_string_labels_work(good, string_label_nets, component):
    cases, _ = good
    net = string_label_nets[component]
    assert list(net.classes_) == ["non-responder", "responder"]
    assert set(net.predict(cases)) <= {"non-responder", "responder"}


def test_nan_clinical_values_are_named(good):
    cases, y = good
    cases = cases.copy()
    cases.loc[BAD, "age"] = np.nan
    with pytest.raises(ValueError, match=r"'age' in rows \['P3'\]"):
        _rdinet(cases, y)
    # radiomics reads only the files: clinical NaNs do not concern it
    assert np.isfinite(_radiomics(cases, y).to_numpy()).all()


@pytest.mark.parametrize("component", ["radiomics", "cropper", "resnet", "rdinet"])
def test_column_missing_at_predict_time(good, string_label_nets, component):
    cases, y = good
    if component == "radiomics":
        fitted = RadiomicsExtractor(params=FAST_RADIOMICS, progress=False).fit(cases)
        predict = fitted.transform
    elif component == "cropper":
        predict = VolumeCropper(("MR", "LR"), volume_size=(4, 12, 12)).fit(cases).transform
    else:
        predict = string_label_nets[component].predict_proba
    missing = "age" if component == "rdinet" else "mask"
    with pytest.raises((ValueError, KeyError)) as caught:
        predict(cases.drop(columns=missing))
    assert missing in str(caught.value)
