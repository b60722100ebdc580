"""Tests of the trainable ROI segmenter (rdinet_sklearn.segmentation)."""

import copy
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import torch
from sklearn.base import clone
from sklearn.model_selection import KFold

from rdinet_sklearn import CaseError, ROISegmenter
from rdinet_sklearn.exceptions import RdinetInputError
from rdinet_sklearn.segmentation import (
    MissingStructureWarning,
    SegmenterWeightsError,
    SmallStructureWarning,
)
from rdinet_sklearn.segmentation._predict import small_structures
from rdinet_sklearn.segmentation._segmenter import _NETWORKS

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STS = SHARED / "real-dicom" / "sts"

# A few seconds per fit on one CPU thread: a 2-level UNet on an 8 x 24 x 48 grid.
TINY = {
    "labels": {"MR": 3, "LR": 4},
    "grid_size": (8, 24, 48),
    "channels": (4, 8),
    "max_epochs": 2,
    "random_state": 0,
}

# Enough training (~10 s) for masks that are not empty, so their geometry can be compared.
SMALL = {**TINY, "channels": (8, 16), "max_epochs": 12}


def _dice(a, b):
    return 2 * np.sum(a & b) / max(np.sum(a) + np.sum(b), 1)


def _labels(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.fixture(scope="module")
def fitted(small_cohort, tmp_path_factory):
    """A small segmenter fitted on the first 16 patients, with a disk cache."""
    cases, _ = small_cohort
    memory = tmp_path_factory.mktemp("seg_memory")
    segmenter = ROISegmenter(**SMALL, memory=str(memory)).fit(cases.iloc[:16])
    return segmenter, cases


def test_transform_points_mask_at_predicted_maps_on_the_image_grid(fitted):
    segmenter, cases = fitted
    test = cases.iloc[16:20]
    out = segmenter.transform(test)
    assert list(out.index) == list(test.index)
    pd.testing.assert_series_equal(out["mask_manual"], test["mask"], check_names=False)
    assert not out["mask"].isin(test["mask"]).any()
    for (_, case), predicted in zip(test.iterrows(), out["mask"], strict=True):
        image, mask = sitk.ReadImage(case["image"]), sitk.ReadImage(predicted)
        assert mask.GetSize() == image.GetSize()
        np.testing.assert_allclose(mask.GetSpacing(), image.GetSpacing())
        np.testing.assert_allclose(mask.GetOrigin(), image.GetOrigin())
        np.testing.assert_allclose(mask.GetDirection(), image.GetDirection())
        assert set(np.unique(_labels(predicted))) <= {0, 3, 4}
        assert os.path.basename(predicted).startswith(case.name)  # named after the patient
    # the input table is untouched
    assert cases.loc[test.index, "mask"].equals(test["mask"])


def test_masks_are_written_once_and_reused(fitted):
    segmenter, cases = fitted
    first = segmenter.transform(cases.iloc[16:18])["mask"]
    stamps = [os.stat(p).st_mtime_ns for p in first]
    again = segmenter.transform(cases.iloc[16:18])["mask"]
    assert list(again) == list(first)
    assert [os.stat(p).st_mtime_ns for p in again] == stamps
    # another post-processing gives other files
    other = clone(segmenter).set_params(keep_components=1).fit(cases.iloc[:16])
    assert not set(other.transform(cases.iloc[16:18])["mask"]) & set(first)


def test_same_training_fold_is_not_trained_twice(fitted):
    segmenter, cases = fitted
    again = clone(segmenter).fit(cases.iloc[:16])
    assert again.epoch_seconds_ == []  # from the in-process cache
    assert again.fingerprint_ == segmenter.fingerprint_
    _NETWORKS.clear()
    from_disk = clone(segmenter).fit(cases.iloc[:16])
    assert from_disk.epoch_seconds_ == []  # from the joblib cache on disk
    assert from_disk.fingerprint_ == segmenter.fingerprint_
    other_fold = clone(segmenter).fit(cases.iloc[1:17])
    assert len(other_fold.epoch_seconds_) == SMALL["max_epochs"]
    assert other_fold.fingerprint_ != segmenter.fingerprint_


def test_new_training_code_never_reuses_an_old_network_from_disk(fitted, monkeypatch):
    from rdinet_sklearn.segmentation import _segmenter

    segmenter, cases = fitted
    _NETWORKS.clear()
    monkeypatch.setattr(_segmenter, "TRAINING_VERSION", "a later version")
    retrained = clone(segmenter).fit(cases.iloc[:16])
    assert len(retrained.epoch_seconds_) == SMALL["max_epochs"]  # trained, not loaded


def test_fit_learns_the_muscles(medium_cohort):
    cases, _ = medium_cohort
    segmenter = ROISegmenter(
        labels={"MR": 3, "LR": 4}, grid_size=(8, 32, 64), max_epochs=25, random_state=0
    ).fit(cases.iloc[:40])
    out = segmenter.transform(cases.iloc[40:48])
    for value in (3, 4):
        scores = [
            _dice(_labels(p) == value, _labels(m) == value)
            for p, m in zip(out["mask"], out["mask_manual"], strict=True)
        ]
        # An untrained network scores 0. At this coarse test size (1.2 mm pixels, 3-pixel-thick
        # muscles) LR reaches about 0.4; the accuracy at the study's size is measured by
        # benchmarks/bench_segmentation.py (benchmarks/RESULTS.md).
        assert np.mean(scores) > 0.3, (value, scores)


def test_cross_validation_trains_each_fold_on_its_training_cases(small_cohort):
    cases, _ = small_cohort
    seen = []
    for train, _ in KFold(3).split(cases):
        segmenter = ROISegmenter(**TINY).fit(cases.iloc[train])
        seen.append(segmenter.training_rows_)
        assert segmenter.training_rows_ == list(cases.index[train])
    assert len({tuple(rows) for rows in seen}) == 3


def _without(cases, rows, value, folder):
    """A copy of the case table whose masks for ``rows`` lack label ``value``."""
    cases = cases.copy()
    for row in rows:
        mask = sitk.ReadImage(cases.loc[row, "mask"])
        array = sitk.GetArrayFromImage(mask)
        array[array == value] = 0
        edited = sitk.GetImageFromArray(array)
        edited.CopyInformation(mask)
        path = str(folder / f"{row}_mask.nii.gz")
        sitk.WriteImage(edited, path)
        cases.loc[row, "mask"] = path
    return cases


def test_structure_missing_for_some_patients_warns_and_trains_on_the_rest(small_cohort, tmp_path):
    cases, _ = small_cohort
    cases = _without(cases.iloc[:8], ["TED002", "TED005"], 3, tmp_path)
    with pytest.warns(
        MissingStructureWarning,
        match=r"6 of 8.*'TED002' lacks MR \(.*TED002_mask.nii.gz\).*'TED005'",
    ):
        segmenter = ROISegmenter(**TINY).fit(cases)
    assert "TED002" not in segmenter.training_rows_ and len(segmenter.training_rows_) == 6


def test_structure_missing_for_every_patient_is_refused_by_name(small_cohort, tmp_path):
    cases, _ = small_cohort
    cases = _without(cases.iloc[:2], ["TED001", "TED002"], 4, tmp_path)
    with pytest.raises(RdinetInputError, match=r"'TED001' lacks LR \(.*\); row 'TED002' lacks LR"):
        ROISegmenter(**TINY).fit(cases)


def test_image_in_another_orientation_is_reoriented(fitted, tmp_path):
    segmenter, cases = fitted
    case = cases.iloc[[17]]
    flipped = sitk.DICOMOrient(sitk.ReadImage(case["image"].iloc[0]), "RAS")
    path = str(tmp_path / "ras.nii.gz")
    sitk.WriteImage(flipped, path)
    expected = sitk.ReadImage(segmenter.transform(case)["mask"].iloc[0])
    predicted = sitk.ReadImage(segmenter.transform(case.assign(image=path))["mask"].iloc[0])
    assert predicted.GetDirection() == flipped.GetDirection() != expected.GetDirection()
    back = sitk.Resample(predicted, expected, sitk.Transform(), sitk.sitkNearestNeighbor)
    for value in (3, 4):
        a, b = sitk.GetArrayFromImage(back) == value, sitk.GetArrayFromImage(expected) == value
        # a few dozen voxels per muscle from the small network: enough to compare geometry
        assert b.sum() > 20 and _dice(a, b) > 0.95


def test_image_far_outside_the_training_field_of_view_is_refused(fitted, tmp_path):
    segmenter, cases = fitted
    image = sitk.ReadImage(cases["image"].iloc[17])
    image.SetSpacing([3 * s for s in image.GetSpacing()])  # a field of view three times wider
    path = str(tmp_path / "wide.nii.gz")
    sitk.WriteImage(image, path)
    with pytest.raises(CaseError, match=r"row 'TED018', column 'image'.*field of view"):
        segmenter.transform(cases.iloc[[17]].assign(image=path))


def test_structure_below_min_volume_is_flagged(fitted):
    segmenter, cases = fitted
    strict = clone(segmenter).set_params(min_volume=1e9).fit(cases.iloc[:16])
    with pytest.warns(SmallStructureWarning, match=r"row 'TED017': MR \(.* mm3\), LR"):
        out = strict.transform(cases.iloc[[16]])
    assert out["segmentation_flag"].iloc[0].startswith("MR (")
    volumes = out["segmentation_flag"].iloc[0]
    assert "MR (" in volumes and "LR (" in volumes
    no_flag = clone(strict).set_params(flag_column=None, min_volume=0.0).fit(cases.iloc[:16])
    assert "segmentation_flag" not in no_flag.transform(cases.iloc[[16]]).columns


def test_bilateral_structure_on_one_side_only_is_flagged(tmp_path):
    # MR in both orbits (two 8-voxel blocks), LR in one only; 2 mm3 voxels.
    labels = np.zeros((4, 10, 20), np.uint8)
    labels[:2, :2, 1:3] = labels[:2, :2, 15:17] = 3
    labels[:2, 4:6, 15:17] = 4
    image = sitk.GetImageFromArray(labels)
    image.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(image, str(tmp_path / "map.nii.gz"))
    labels, structures = sitk.ReadImage(str(tmp_path / "map.nii.gz")), {"MR": 3, "LR": 4}
    assert small_structures(labels, structures, 10.0, parts=2) == ["LR (16.0 + 0.0 mm3)"]
    assert small_structures(labels, structures, 10.0, parts=1) == []
    assert small_structures(labels, structures, 20.0, parts=1) == ["LR (16.0 mm3)"]
    assert small_structures(labels, structures, 20.0, parts=2) == [
        "MR (16.0 + 16.0 mm3)",
        "LR (16.0 + 0.0 mm3)",
    ]


def test_weights_round_trip_without_training_or_masks(fitted, tmp_path):
    segmenter, cases = fitted
    path = segmenter.save_weights(tmp_path / "unet.pt")
    loaded = ROISegmenter(**{**SMALL, "max_epochs": 1}, weights=path).fit(cases[["image"]])
    assert loaded.epoch_seconds_ == [] and loaded.fingerprint_ == segmenter.fingerprint_
    expected = segmenter.transform(cases.iloc[[18]])["mask"].iloc[0]
    predicted = loaded.transform(cases.iloc[[18]][["image"]])
    assert "mask_manual" not in predicted.columns
    np.testing.assert_array_equal(_labels(predicted["mask"].iloc[0]), _labels(expected))


def test_bare_state_dict_takes_its_box_from_the_masks(fitted, tmp_path):
    segmenter, cases = fitted
    path = tmp_path / "state.pt"
    torch.save({k: torch.as_tensor(v) for k, v in segmenter.network_state_.items()}, path)
    loaded = ROISegmenter(**SMALL, weights=path).fit(cases.iloc[:16])
    assert loaded.box_ == segmenter.box_


def test_missing_weights_file_is_named(small_cohort, tmp_path):
    cases, _ = small_cohort
    missing = tmp_path / "nowhere" / "unet.pt"
    with pytest.raises(SegmenterWeightsError, match=r"weights file '.*nowhere/unet.pt' not found"):
        ROISegmenter(**TINY, weights=missing).fit(cases)


def test_weights_of_another_network_are_refused_by_name(fitted, tmp_path):
    segmenter, cases = fitted
    path = segmenter.save_weights(tmp_path / "unet.pt")
    with pytest.raises(SegmenterWeightsError, match=r"unet.pt' was trained with channels"):
        ROISegmenter(**TINY, weights=path).fit(cases)
    bare = tmp_path / "bare.pt"
    torch.save({"weight": torch.zeros(3)}, bare)
    with pytest.raises(SegmenterWeightsError, match=r"bare.pt' does not fit a UNet"):
        ROISegmenter(**TINY, weights=bare).fit(cases.iloc[:4])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(SegmenterWeightsError, match=r"garbage.pt' cannot be read"):
        ROISegmenter(**TINY, weights=garbage).fit(cases)


def test_damaged_fitted_weights_are_refused_by_name(fitted, tmp_path):
    # a model folder's segmenter whose weights were edited: one clear error, no torch trace
    segmenter, cases = fitted
    damaged = copy.deepcopy(segmenter).set_params(memory=str(tmp_path))
    damaged.network_state_.pop(next(iter(damaged.network_state_)))
    with pytest.raises(SegmenterWeightsError, match=r"network_state_ .*does not fit a UNet"):
        damaged.transform(cases.iloc[[18]])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"grid_size": (8, 24, 45)}, "divisible by 2"),
        ({"channels": (4,)}, "2 or more"),
        ({"labels": {"MR": 3, "LR": 3}}, "its own value"),
        ({"precision": "fp16", "device": "cpu"}, "CUDA only"),
        ({"max_epochs": 0}, "max_epochs"),
    ],
)
def test_bad_parameters_are_refused_before_reading(params, message):
    with pytest.raises(ValueError, match=message):
        ROISegmenter(**{**TINY, **params}).fit(pd.DataFrame({"image": ["/nowhere.nii"]}))


def test_diverging_training_stops_with_a_clear_error(small_cohort):
    cases, _ = small_cohort
    with pytest.raises(FloatingPointError, match=r"loss became .* at epoch \d+; lower lr"):
        ROISegmenter(**{**TINY, "lr": 1e12, "max_epochs": 5}).fit(cases.iloc[:4])


@pytest.mark.skipif(not STS.is_dir(), reason="shared/data (real images) not beside the repo")
def test_real_mri_masks_load_on_the_image_grid(tmp_path):
    rows = {
        pid: {
            "image": str(STS / pid / "MR_T1/nifti/image/image.nii.gz"),
            "mask": str(STS / pid / "MR_T1/nifti/mask/mask.nii.gz"),
        }
        for pid in ("STS_001", "STS_002", "STS_003")
    }
    cases = pd.DataFrame.from_dict(rows, orient="index")
    segmenter = ROISegmenter(
        labels={"GTV": 1},
        grid_size=(8, 32, 32),
        channels=(4, 8),
        max_epochs=3,
        keep_components=1,
        memory=str(tmp_path),
        random_state=0,
    ).fit(cases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallStructureWarning)  # 3 epochs: may be empty
        out = segmenter.transform(cases)
    for (_, case), predicted in zip(cases.iterrows(), out["mask"], strict=True):
        assert Path(predicted).is_relative_to(tmp_path)
        image, mask = sitk.ReadImage(case["image"]), sitk.ReadImage(predicted)
        assert mask.GetSize() == image.GetSize()
        np.testing.assert_allclose(mask.GetSpacing(), image.GetSpacing(), rtol=1e-6)
        np.testing.assert_allclose(mask.GetOrigin(), image.GetOrigin(), atol=1e-4)
        np.testing.assert_allclose(mask.GetDirection(), image.GetDirection(), atol=1e-6)
        assert set(np.unique(sitk.GetArrayFromImage(mask))) <= {0, 1}


@pytest.mark.slow
def test_issue_snippet_automatic_masks_in_cross_validation(tmp_path, monkeypatch):
    # The issue's "Must work as written" snippet, names and parameters unchanged.
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from rdinet_sklearn import LassoSelector, RadiomicsExtractor, ROISegmenter, TTestSelector
    from rdinet_sklearn.datasets import make_ted_cohort

    monkeypatch.chdir(tmp_path)
    cases, y = make_ted_cohort(n_patients=60, out_dir="cohort", random_state=0)
    auto = make_pipeline(
        ROISegmenter(labels={"MR": 3, "LR": 4}, max_epochs=20, random_state=0),
        RadiomicsExtractor(roi=("MR", "LR")),
        TTestSelector(alpha=0.05),
        LassoSelector(),
        SVC(),
    )
    scores = cross_val_score(
        auto, cases, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc"
    )
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert np.mean(scores) > 0.5  # the planted MR+LR signal survives automatic masks


def test_saved_model_file_predicts_the_same_masks(fitted, tmp_path):
    from rdinet_sklearn import io

    segmenter, cases = fitted
    path = io.save(segmenter, tmp_path / "segmenter.rdinet")
    loaded = io.load(path)
    assert loaded.fingerprint_ == segmenter.fingerprint_ and loaded.box_ == segmenter.box_
    expected = segmenter.transform(cases.iloc[[19]])["mask"].iloc[0]
    predicted = loaded.set_params(memory=str(tmp_path)).transform(cases.iloc[[19]])
    assert predicted["mask"].iloc[0] != expected  # written again, under the new memory
    np.testing.assert_array_equal(_labels(predicted["mask"].iloc[0]), _labels(expected))


def test_grid_search_trains_one_segmenter_per_training_fold(small_cohort, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from rdinet_sklearn import RadiomicsExtractor
    from rdinet_sklearn.segmentation import _segmenter

    trained = []

    def counting_fit_network(case_digests, *args, **kwargs):
        trained.append(tuple(case_digests))
        return fit_network(case_digests, *args, **kwargs)

    fit_network = _segmenter.fit_network
    monkeypatch.setattr(_segmenter, "fit_network", counting_fit_network)
    _NETWORKS.clear()
    cases, y = small_cohort
    pipeline = make_pipeline(
        # 6 training cases per fold: the cosine-annealed lr needs ~30 epochs of them before
        # every held-out map has both muscles (radiomics refuses a map without its ROI)
        ROISegmenter(**{**SMALL, "max_epochs": 30}),
        RadiomicsExtractor(
            ("MR", "LR"),
            params={"imageType": {"Original": {}}, "featureClass": {"firstorder": ["Mean"]}},
            progress=False,
        ),
        LogisticRegression(),
    )
    search = GridSearchCV(pipeline, {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallStructureWarning)
        search.fit(cases.iloc[:12], y.iloc[:12])
    # 2 folds x 3 candidates share 2 trainings; the refit on all 12 cases is the third
    assert len(trained) == 3 and len(set(trained)) == 3


def test_training_targets_are_class_fractions_keeping_each_structures_volume(small_cohort):
    from rdinet_sklearn.segmentation._grid import crop_grid, learn_box, orientation_code
    from rdinet_sklearn.segmentation._training import class_fractions, foreground

    cases, _ = small_cohort
    mask = sitk.ReadImage(cases["mask"].iloc[0])
    box = learn_box([foreground(mask, [3, 4])], orientation_code(mask))
    grid = crop_grid(mask, box, grid_size=(8, 24, 48), margin=5.0, row=0, column="mask", path="")
    fractions = class_fractions(mask, grid, [3, 4])
    assert fractions.shape == (3, 8, 24, 48)
    np.testing.assert_allclose(fractions.sum(axis=0), 1.0, atol=1e-6)
    # a boundary voxel holds part of a muscle: fractions strictly between 0 and 1 exist
    assert np.any((fractions[1] > 0.1) & (fractions[1] < 0.9))
    # linear resampling keeps each muscle's volume to within a few percent (the box holds it)
    grid_voxel, image_voxel = np.prod(grid.GetSpacing()), np.prod(mask.GetSpacing())
    labels = sitk.GetArrayFromImage(mask)
    for index, value in enumerate((3, 4), start=1):
        volume = fractions[index].sum() * grid_voxel
        assert volume == pytest.approx(np.sum(labels == value) * image_voxel, rel=0.1)


def test_structure_gain_scales_only_the_structures_about_the_zero_level():
    from rdinet_sklearn.segmentation._network import _jitter_structures

    x = torch.full((2, 1, 2, 2, 2), 3.0)
    fractions = torch.zeros(2, 2, 2, 2, 2)
    fractions[:, 0] = 1.0
    fractions[:, :, 0, 0, 0] = torch.tensor([0.0, 1.0])  # one voxel wholly structure
    zero = torch.tensor([-1.0, -2.0])
    out = _jitter_structures(x, fractions, zero, torch.Generator().manual_seed(0))
    background = torch.ones_like(out, dtype=torch.bool)
    background[:, :, 0, 0, 0] = False
    assert torch.equal(out[background], x[background])
    # the structure voxel's distance from the zero level is multiplied by a positive gain,
    # one per case
    gains = (out[:, 0, 0, 0, 0] - zero) / (x[:, 0, 0, 0, 0] - zero)
    assert torch.all(gains > 0) and not torch.allclose(gains, torch.ones(2))
