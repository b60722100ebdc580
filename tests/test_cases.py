"""The case-table contract: reading, ROI names and the validator's errors."""

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from rdinet_sklearn import CaseTableError, read_case_table, resolve_roi, validate_case_table
from rdinet_sklearn._imaging import CaseError, read_image, roi_mask


def _write(path, array, spacing=(0.5, 0.5, 3.0), origin=(0.0, 0.0, 0.0), direction=None):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return str(path)


def _labels(shape=(4, 10, 12)):
    mask = np.zeros(shape, np.uint8)
    mask[1:3, 2:4, 2:4] = 1
    mask[1:3, 6:8, 2:4] = 2
    mask[1:3, 2:4, 8:10] = 3
    mask[1:3, 6:8, 8:10] = 4
    return mask


@pytest.fixture
def good_case(tmp_path):
    rng = np.random.default_rng(0)
    image = _write(tmp_path / "img.nii.gz", rng.normal(size=(4, 10, 12)).astype(np.float32))
    mask = _write(tmp_path / "mask.nii.gz", _labels())
    return image, mask


def test_resolve_roi_names_and_errors():
    assert resolve_roi("MR") == ("MR", (3,))
    assert resolve_roi(("IR", "SR", "MR", "LR")) == ("IR+SR+MR+LR", (1, 2, 3, 4))
    assert resolve_roi("all") == ("all", (1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"\['XX'\] are not in labels"):
        resolve_roi(("MR", "XX"))
    with pytest.raises(ValueError, match="at least one"):
        resolve_roi(())


def test_valid_table_passes_and_is_returned(good_case):
    image, mask = good_case
    table = pd.DataFrame({"image": [image], "mask": [mask], "mask_rater2": [np.nan]}, index=["P1"])
    out = validate_case_table(table, reference_mask_column="mask_rater2")
    assert out is table


def test_csv_relative_paths_resolve_against_csv_folder(good_case, tmp_path):
    pd.DataFrame({"image": ["img.nii.gz"], "mask": ["mask.nii.gz"]}).to_csv(
        tmp_path / "cases.csv", index=False
    )
    table = read_case_table(tmp_path / "cases.csv")
    assert table.loc[0, "image"] == good_case[0]
    validate_case_table(tmp_path / "cases.csv")


def test_every_problem_is_reported_at_once(good_case, tmp_path):
    image, mask = good_case
    rng = np.random.default_rng(1)
    small_mask = _write(tmp_path / "small.nii.gz", _labels((4, 10, 10)))
    spaced_mask = _write(tmp_path / "spaced.nii.gz", _labels(), spacing=(0.6, 0.5, 3.0))
    shifted_mask = _write(tmp_path / "shifted.nii.gz", _labels(), origin=(5.0, 0.0, 0.0))
    flipped = (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    turned_mask = _write(tmp_path / "turned.nii.gz", _labels(), direction=flipped)
    no_lr = _labels()
    no_lr[no_lr == 4] = 0
    no_lr_mask = _write(tmp_path / "nolr.nii.gz", no_lr)
    corrupt = tmp_path / "corrupt.nii.gz"
    corrupt.write_bytes(b"\x1f\x8b not really gzip")
    noise = _write(tmp_path / "noise.nii.gz", rng.normal(size=(4, 10, 12)).astype(np.float32))
    table = pd.DataFrame(
        {
            "image": [
                image,
                str(tmp_path / "gone.nii.gz"),
                image,
                image,
                image,
                image,
                str(corrupt),
            ],
            "mask": [small_mask, mask, spaced_mask, shifted_mask, turned_mask, no_lr_mask, mask],
            "mask_rater2": [None, None, None, None, None, noise, None],
        },
        index=["A", "B", "C", "D", "E", "F", "G"],
    )
    with pytest.raises(CaseTableError) as info:
        validate_case_table(table, reference_mask_column="mask_rater2")
    message = str(info.value)
    problems = info.value.problems
    assert f"row 'A', column 'mask' ({small_mask}): grid differs from image: size" in message
    assert "row 'B', column 'image'" in message and "gone.nii.gz): file not found" in message
    assert "row 'C'" in message and "spacing (0.6, 0.5, 3.0)" in message
    assert "row 'D'" in message and "origin (5.0, 0.0, 0.0)" in message
    assert "row 'E'" in message and "direction" in message
    assert f"row 'F', column 'mask' ({no_lr_mask}): labels {{'LR': 4}} absent" in message
    assert "row 'F', column 'mask_rater2'" in message and "non-integer values" in message
    assert f"row 'G', column 'image' ({corrupt}): cannot be read" in message
    assert len(problems) == 8


def test_roi_restricts_which_labels_are_required(good_case, tmp_path):
    image, _ = good_case
    only_mr = np.where(_labels() == 3, 3, 0).astype(np.uint8)
    mask = _write(tmp_path / "mr.nii.gz", only_mr)
    table = pd.DataFrame({"image": [image], "mask": [mask]}, index=["P7"])
    validate_case_table(table, roi="MR")
    with pytest.raises(CaseTableError, match=r"labels \{'LR': 4\} absent \(labels found: \[3\]\)"):
        validate_case_table(table, roi=("MR", "LR"))


def test_custom_label_map_and_masks_stored_as_255_or_float(good_case, tmp_path):
    image, _ = good_case
    tumour = (_labels() > 0).astype(np.uint8)
    as_255 = _write(tmp_path / "t255.nii.gz", tumour * 255)
    as_float = _write(tmp_path / "tfloat.nii.gz", tumour.astype(np.float32))
    fractional = _write(tmp_path / "tfrac.nii.gz", tumour * np.float32(0.5))
    labels = {"tumor": 1}
    ok = pd.DataFrame({"image": [image], "mask": [as_float]}, index=["T1"])
    validate_case_table(ok, labels=labels)
    bad = pd.DataFrame({"image": [image, image], "mask": [as_255, fractional]}, index=["T2", "T3"])
    with pytest.raises(CaseTableError) as info:
        validate_case_table(bad, labels=labels)
    assert "row 'T2'" in str(info.value) and "(labels found: [255])" in str(info.value)
    assert "row 'T3'" in str(info.value) and "non-integer values" in str(info.value)


def test_table_level_problems(good_case):
    image, mask = good_case
    with pytest.raises(
        CaseTableError, match=r"column 'mask' is missing \(did you mean 'masks'\?\)"
    ):
        validate_case_table(pd.DataFrame({"image": [image], "masks": [mask]}))
    with pytest.raises(CaseTableError, match="no rows"):
        validate_case_table(pd.DataFrame({"image": [], "mask": []}))
    twice = pd.DataFrame({"image": [image] * 2, "mask": [mask] * 2, "pid": ["P1", "P1"]})
    with pytest.raises(CaseTableError, match=r"duplicate patients: \['P1'\]"):
        validate_case_table(twice, id_column="pid")
    with pytest.raises(TypeError, match="DataFrame or a CSV path"):
        validate_case_table([image, mask])


def test_read_image_and_roi_mask(good_case):
    image, mask = good_case
    header = read_image(image, row="P1", header_only=True)
    assert header.GetSize() == (12, 10, 4)
    union = roi_mask(read_image(mask, row="P1", column="mask"), (3, 4))
    array = sitk.GetArrayFromImage(union)
    assert array.sum() == (_labels() >= 3).sum()
    assert union.GetSpacing() == (0.5, 0.5, 3.0)
    with pytest.raises(CaseError, match="row 'P1', column 'mask' .*: no path given"):
        read_image(float("nan"), row="P1", column="mask")
