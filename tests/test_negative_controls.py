"""NegativeControl: control images and masks, their feature sets, and the acceptance AUCs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.explain import (
    NegativeControl,
    NegativeControlError,
    compare_with_control,
    control_feature_selector,
    negative_control_pipeline,
)
from rdinet_sklearn.harmonization import ComBatHarmonizer
from rdinet_sklearn.radiomics import RadiomicsExtractor

# The shared test data sit beside the repository (CI checks shared/ out next to the clone).
TESTCASES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pyradiomics-testcases"
MR_LR = (3, 4)


def read(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.fixture
def four(small_cohort):
    return small_cohort[0].iloc[:4], small_cohort[1].iloc[:4]


def test_shuffled_and_replaced_change_only_the_roi_voxels(four, tmp_path):
    cases, _ = four
    for mode in ("shuffled", "replaced"):
        control = NegativeControl(mode, out_dir=tmp_path, random_state=3).fit(cases)
        table = control.transform(cases)
        assert (table["mask"] == cases["mask"]).all() and table.columns.equals(cases.columns)
        for row in cases.index:
            original, new = read(cases.loc[row, "image"]), read(table.loc[row, "image"])
            roi = np.isin(read(cases.loc[row, "mask"]), MR_LR)
            np.testing.assert_array_equal(new[~roi], original[~roi])
            assert not np.array_equal(new[roi], original[roi])
            if mode == "shuffled":  # the same histogram, other places
                np.testing.assert_array_equal(np.sort(new[roi]), np.sort(original[roi]))
            else:  # every value comes from outside the ROI
                assert np.isin(new[roi], original[~roi]).all()
            assert Path(table.loc[row, "image"]).is_relative_to(tmp_path / row)


def test_elsewhere_keeps_each_structures_count_off_the_roi(four, tmp_path):
    cases, _ = four
    table = NegativeControl("elsewhere", out_dir=tmp_path).fit_transform(cases)
    assert (table["image"] == cases["image"]).all()
    for row in cases.index:
        labels, placed = read(cases.loc[row, "mask"]), read(table.loc[row, "mask"])
        for value in MR_LR:
            assert (placed == value).sum() == (labels == value).sum()
        assert set(np.unique(placed)) == {0, *MR_LR}
        assert not np.any(np.isin(labels, MR_LR) & (placed > 0))
        header = sitk.ReadImage(table.loc[row, "mask"])
        assert header.GetSpacing() == sitk.ReadImage(cases.loc[row, "mask"]).GetSpacing()


def test_files_are_content_keyed_seeded_and_order_free(four, tmp_path):
    cases, _ = four
    control = NegativeControl("shuffled", out_dir=tmp_path).fit(cases)
    first = control.transform(cases)
    stamps = {p: Path(p).stat().st_mtime_ns for p in first["image"]}
    again = control.transform(cases.iloc[::-1])  # reused, not rewritten; row order is free
    assert again["image"].sort_index().equals(first["image"].sort_index())
    assert all(Path(p).stat().st_mtime_ns == t for p, t in stamps.items())
    other_seed = clone(control).set_params(random_state=1).fit(cases).transform(cases)
    assert not other_seed["image"].isin(first["image"]).any()
    assert not list(tmp_path.rglob("*.partial*"))  # nothing half-written left behind
    assert NegativeControl("volume").fit_transform(cases).equals(cases)


def test_feature_sets_of_each_control(four):
    cases, _ = four
    features = RadiomicsExtractor(("MR", "LR"), params="original", progress=False)
    features = features.fit_transform(cases)
    volume = control_feature_selector("volume").fit_transform(features)
    assert volume.columns.tolist() == ["MR+LR_original_shape_VoxelVolume"]
    adjusted = control_feature_selector("replaced").fit(features)
    out = adjusted.transform(features)
    assert not out.columns.str.contains("_shape_|firstorder_Energy|ngtdm_Coarseness").any()
    assert "MR+LR_original_glcm_JointEntropy" in out.columns
    # Residuals of a regression on log volume: uncorrelated with it on the fitted rows.
    log_volume = np.log(features["MR+LR_original_shape_VoxelVolume"])
    assert np.abs(out.to_numpy().T @ (log_volume - log_volume.mean())).max() < 1e-6
    assert out.columns.tolist() == adjusted.get_feature_names_out().tolist()
    with pytest.raises(ValueError, match="mode must be one of"):
        control_feature_selector("noise")


def test_errors_name_the_patient_file_and_structure(tmp_path, four):
    image = np.zeros((4, 10, 10), np.float32)
    mask = np.zeros((4, 10, 10), np.uint8)
    mask[:, :, :6] = 3  # 60 % of the field of view
    sitk.WriteImage(sitk.GetImageFromArray(image), str(tmp_path / "i.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(tmp_path / "m.nii.gz"))
    table = pd.DataFrame(
        {"image": [str(tmp_path / "i.nii.gz")], "mask": [str(tmp_path / "m.nii.gz")]}, index=["P9"]
    )
    control = NegativeControl("elsewhere", roi="MR", out_dir=tmp_path / "c").fit(table)
    expected = r"'elsewhere', row 'P9', structure 'MR' \(.*m.nii.gz\): the ROI \(240 voxels\) is"
    with pytest.raises(NegativeControlError, match=expected + " larger than half the field"):
        control.transform(table)
    absent = NegativeControl("shuffled", roi="IR", out_dir=tmp_path / "c").fit(table)
    with pytest.raises(NegativeControlError, match="row 'P9', structure 'IR'.*labels are absent"):
        absent.transform(table)
    with pytest.raises(TypeError, match="expects a case table"):
        NegativeControl().fit(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no column"):
        NegativeControl(mask_column="labels").fit(four[0])


def test_a_combat_step_after_the_extractor_still_reads_its_batch_column(small_cohort, tmp_path):
    # The study's radiomics pipeline hands the batch column on beside the features, for
    # ComBat; each control's feature selector must pass it through (keep_columns).
    cases, y = small_cohort
    cases = cases.assign(center=np.where(np.arange(len(cases)) % 2, "A", "B"))
    extract = RadiomicsExtractor(("MR", "LR"), params="original", progress=False)
    front = ColumnTransformer(
        [("extract", extract, ["image", "mask"]), ("cases", "passthrough", ["center"])],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    harmonize = ComBatHarmonizer("center").set_output(transform="pandas")
    steps = [("front", front), ("combat", harmonize), ("scale", StandardScaler())]
    real = Pipeline([*steps, ("clf", LogisticRegression())])
    for mode in ("volume", "replaced"):
        control = negative_control_pipeline(
            real, mode, out_dir=tmp_path, keep_columns=["center"]
        ).fit(cases, y)
        seen = control.named_steps["combat"].feature_names_in_.tolist()
        assert seen[-1] == "center" and "center" not in seen[:-1]
        if mode == "volume":
            assert seen == ["MR+LR_original_shape_VoxelVolume", "center"]
        else:
            assert len(seen) > 10 and not any("_shape_" in name for name in seen)
        assert control.predict_proba(cases).shape == (len(cases), 2)
    # Without keep_columns the selector drops the column, and ComBat says so by name.
    with pytest.raises(ValueError, match="center"):
        negative_control_pipeline(real, "volume", out_dir=tmp_path).fit(cases, y)


@pytest.mark.skipif(not TESTCASES.is_dir(), reason="shared test data not checked out")
def test_real_images(tmp_path):
    table = pd.DataFrame(
        {
            "image": [str(TESTCASES / f"{case}_image.nrrd") for case in ("brain1", "breast1")],
            "mask": [str(TESTCASES / f"{case}_label.nrrd") for case in ("brain1", "breast1")],
        },
        index=["brain1", "breast1"],
    )
    for mode in ("shuffled", "elsewhere"):
        control = NegativeControl(mode, roi="tumour", labels={"tumour": 1}, out_dir=tmp_path)
        out = control.fit_transform(table)
        for row in table.index:
            labels = read(table.loc[row, "mask"])
            if mode == "elsewhere":
                placed = read(out.loc[row, "mask"])
                assert placed.sum() == labels.sum() and not np.any(placed & labels)
            else:
                new, old = read(out.loc[row, "image"]), read(table.loc[row, "image"])
                np.testing.assert_array_equal(np.sort(new[labels == 1]), np.sort(old[labels == 1]))
        features = RadiomicsExtractor(
            "tumour", labels={"tumour": 1}, params="original", progress=False
        )
        assert np.isfinite(features.fit_transform(out).to_numpy()).all()


@pytest.mark.slow
def test_controls_that_destroy_the_signal_score_at_chance(medium_cohort, tmp_path):
    # Acceptance: the region elsewhere and the replaced intensities (non-shape features,
    # adjusted for size) at AUC 0.5 +- 0.1, beside a real model well above them.
    cases, y = medium_cohort
    real = Pipeline(
        [
            ("extract", RadiomicsExtractor(("MR", "LR"), params="original", progress=False)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )
    cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=3, random_state=0)
    for mode in ("elsewhere", "replaced"):
        control = negative_control_pipeline(real, mode, out_dir=tmp_path)
        assert [name for name, _ in control.steps][:3] == ["control", "extract", "control_features"]
        result = compare_with_control(real, control, cases, y, cv=cv)
        assert abs(result["control_auc"] - 0.5) <= 0.1, (mode, result["control_auc"])
        assert result["real_auc"] > 0.8 and result["ci_low"] > 0, (mode, result)
        assert len(result["real_scores"]) == len(result["control_scores"]) == 9
        assert result["ci_low"] < result["difference"] < result["ci_high"]
