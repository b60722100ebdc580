"""RTSTRUCT and DICOM-SEG masks on the real data: against independently converted masks,
overlaps, holes, names and patterns, caching, and every bad input named by row, file and
structure."""

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
from dicom_data import (
    DCMQI,
    STS,
    STS_SERIES,
    copy_series,
    edited_rtstruct,
    require_real_dicom,
    shrunk,
    sts_paths,
)
from pydicom.uid import generate_uid

from rdinet_sklearn import CaseTableError, RadiomicsExtractor, VolumeCropper, validate_case_table
from rdinet_sklearn._imaging import CaseError, read_image
from rdinet_sklearn._masks import read_roi
from rdinet_sklearn.dicom import Grid, _structures, segmentation_kind
from rdinet_sklearn.dicom._rtstruct import Contour, rasterise

FIRST_ORDER = {"imageType": {"Original": {}}, "featureClass": {"firstorder": []}}

# The STS files break DICOM's length rules (a 20-character Study ID); reading them must not
# flood the user with pydicom's warnings.
pytestmark = pytest.mark.filterwarnings("error:The value length:UserWarning")


@pytest.fixture(scope="module", autouse=True)
def _real_data():
    require_real_dicom()


def _roi(image_path, mask_path, labels, **kwargs):
    image = read_image(image_path)
    roi = read_roi(image, mask_path, labels, image_path=image_path, row="P1", **kwargs)
    return sitk.GetArrayFromImage(roi).astype(bool)


def _dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def sts_masks():
    """Each STS series' RTSTRUCT mask and NIfTI mask, converted once for the module."""
    masks = {}
    for series in STS_SERIES:
        image, rtstruct, _, nifti_mask = sts_paths(series)
        reference = sitk.GetArrayFromImage(sitk.ReadImage(str(nifti_mask))) > 0
        masks[series] = (_roi(image, rtstruct, ("re:GTV_Mass.*",)), reference)
    return masks


@pytest.mark.parametrize("series", STS_SERIES)
def test_rtstruct_matches_the_independent_nifti_mask(series, sts_masks):
    # The RTSTRUCTs reference the uncropped original series: only patient coordinates work.
    ours, reference = sts_masks[series]
    assert ours.shape == reference.shape
    assert _dice(ours, reference) >= (0.85 if series.endswith("PET") else 0.97)


def test_first_order_features_of_both_masks_agree_within_two_percent(tmp_path):
    rows = {}
    for series in STS_SERIES:
        image, rtstruct, _, nifti_mask = sts_paths(series)
        rows[series] = {"image": str(image), "rtstruct": str(rtstruct), "nifti": str(nifti_mask)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    features = {}
    for column, labels in (("rtstruct", {"mass": "re:GTV_Mass.*"}), ("nifti", {"mass": 1})):
        extractor = RadiomicsExtractor(
            roi="mass", labels=labels, params=FIRST_ORDER, mask_column=column
        )
        features[column] = extractor.fit_transform(table)
    assert features["rtstruct"].shape == (9, 18)
    relative = (features["rtstruct"] - features["nifti"]).abs() / features["nifti"].abs().clip(
        lower=1e-9
    )
    assert float(relative.to_numpy().max()) <= 0.02


def test_liver_seg_equals_the_label_map_it_was_made_from():
    ours = _roi(DCMQI / "ct-3slice", DCMQI / "liver.dcm", ("Liver",))
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(DCMQI / "liver_seg.nrrd"))) > 0
    assert ours.any() and np.array_equal(ours, reference)


def test_overlapping_seg_segments_stay_separate_structures():
    image, seg = DCMQI / "ct-3slice", DCMQI / "partial_overlaps.dcm"
    names = {1: "GREEN", 2: "ORANGE", 3: "PURPLE", 4: "LIGHT_BLUE", 5: "DARK_BLUE"}
    label_maps = {
        number: sitk.GetArrayFromImage(sitk.ReadImage(str(DCMQI / f"partial_overlaps-{part}.nrrd")))
        for part, numbers in ((1, (1, 4, 5)), (2, (2,)), (3, (3,)))
        for number in numbers
    }
    masks = {number: _roi(image, seg, (name,)) for number, name in names.items()}
    for number, mask in masks.items():
        assert np.array_equal(mask, label_maps[number] == number), names[number]
    assert (masks[1] & masks[2]).any()  # the segments do overlap: one label map cannot hold them
    union = _roi(image, seg, ("GREEN", "ORANGE"))
    assert np.array_equal(union, masks[1] | masks[2])


def test_labelmap_type_seg_on_its_own_grid():
    for name in ("ppv5", "noppv"):
        seg = DCMQI / f"sparse-labelmap-{name}.dcm"
        ours = _roi(DCMQI / "24x38x3" / "image", seg, (1,))  # by segment number
        reference = sitk.GetArrayFromImage(
            sitk.ReadImage(str(DCMQI / f"sparse_labelmap_{name}_seg.nrrd"))
        )
        assert np.array_equal(ours, reference == 1), name


def test_segmentation_kind_reads_headers_only():
    assert segmentation_kind(DCMQI / "liver.dcm") == "SEG"
    assert segmentation_kind(sts_paths("STS_001/CT")[1]) == "RTSTRUCT"
    assert segmentation_kind(DCMQI / "liver_seg.nrrd") is None
    assert segmentation_kind(DCMQI / "ct-3slice" / "01.dcm") is None
    assert segmentation_kind(STS / "LICENSE.md") is None


def _inner_contour(factor):
    def edit(dataset):
        contours = dataset.ROIContourSequence[0].ContourSequence
        biggest = max(contours, key=lambda c: len(c.ContourData))
        inner = type(biggest)()
        inner.ContourGeometricType = "CLOSED_PLANAR"
        inner.NumberOfContourPoints = biggest.NumberOfContourPoints
        inner.ContourData = shrunk(biggest.ContourData, factor)
        contours.append(inner)

    return edit


def test_nested_contours_follow_the_even_odd_rule(tmp_path):
    image, rtstruct, _, _ = sts_paths("STS_001/CT")
    full = _roi(image, rtstruct, ("GTV_Mass_CT",))
    holed_file = edited_rtstruct(rtstruct, tmp_path / "hole.dcm", _inner_contour(0.5))
    holed = _roi(image, holed_file, ("GTV_Mass_CT",))
    hole = full & ~holed
    assert hole.any() and not (holed & ~full).any()  # a hole cut out, nothing added
    assert len(np.unique(np.nonzero(hole)[0])) == 1  # in the one slice of the inner contour

    def island(dataset):
        _inner_contour(0.5)(dataset)
        _inner_contour(0.25)(dataset)

    island_file = edited_rtstruct(rtstruct, tmp_path / "island.dcm", island)
    with_island = _roi(image, island_file, ("GTV_Mass_CT",))
    assert (with_island & hole).any() and (hole & ~with_island).any()


def _second_roi(name, factor=0.5, shift=0.0):
    """Add ROI 2 ``name``: the first ROI's contours shrunk by ``factor`` and moved by
    ``shift`` mm along x."""

    def edit(dataset):
        first = dataset.StructureSetROISequence[0]
        roi = type(first)()
        roi.ROINumber, roi.ROIName = 2, name
        roi.ReferencedFrameOfReferenceUID = first.ReferencedFrameOfReferenceUID
        dataset.StructureSetROISequence.append(roi)
        contours = type(dataset.ROIContourSequence[0])()
        contours.ReferencedROINumber = 2
        contours.ContourSequence = []
        for contour in dataset.ROIContourSequence[0].ContourSequence:
            item = type(contour)()
            item.ContourGeometricType = "CLOSED_PLANAR"
            points = np.asarray(shrunk(contour.ContourData, factor)).reshape(-1, 3)
            points[:, 0] += shift
            item.NumberOfContourPoints = len(points)
            item.ContourData = points.ravel().tolist()
            contours.ContourSequence.append(item)
        dataset.ROIContourSequence.append(contours)

    return edit


def test_overlapping_rtstruct_structures_are_separate_and_roi_is_their_union(tmp_path):
    image, rtstruct, _, _ = sts_paths("STS_002/CT")
    path = edited_rtstruct(rtstruct, tmp_path / "nested.dcm", _second_roi("GTV_Core", 0.5))
    mass = _roi(image, path, ("GTV_Mass_CT",))
    core = _roi(image, path, ("GTV_Core",))
    assert core.any() and not (core & ~mass).any()  # the core lies inside the mass
    assert np.array_equal(mass, _roi(image, rtstruct, ("GTV_Mass_CT",)))  # not overwritten
    assert np.array_equal(_roi(image, path, ("GTV_Mass_CT", "GTV_Core")), mass | core)
    with pytest.raises(CaseError, match=r"matches 2 structures \['GTV_Mass_CT', 'GTV_Core'\]"):
        _roi(image, path, ("re:GTV_.*",))


def test_names_and_patterns_match_whole_names_case_as_written():
    image, rtstruct, _, _ = sts_paths("STS_001/MR_T1")
    for spec in ("GTV_Mass_MR_T1", "re:GTV_Mass.*", "re:.*_MR_T1", 1):
        assert _roi(image, rtstruct, (spec,)).any(), spec
    for spec in ("re:GTV_Mass", "re:gtv_mass.*", "gtv_mass_mr_t1", 2):
        with pytest.raises(CaseError) as info:
            _roi(image, rtstruct, (spec,))
        message = str(info.value)
        assert "row 'P1'" in message and "RS.dcm" in message
        assert "absent (structures present: ['GTV_Mass_MR_T1'])" in message


def test_conversions_are_cached_by_content(tmp_path, monkeypatch):
    image_path, rtstruct, _, _ = sts_paths("STS_003/PET")
    image = read_image(image_path)
    copy = edited_rtstruct(rtstruct, tmp_path / "RS.dcm", lambda dataset: None)
    calls = []
    convert = _structures._convert
    monkeypatch.setattr(
        _structures, "_convert", lambda *args: calls.append(args[0]) or convert(*args)
    )
    _structures._CONVERTED.clear()
    memory = tmp_path / "cache"
    first = read_roi(image, copy, ("GTV_Mass_PET",), memory=str(memory))
    again = read_roi(image, copy, ("GTV_Mass_PET",), memory=str(memory))
    assert len(calls) == 1  # the in-process cache
    _structures._CONVERTED.clear()
    from_disk = read_roi(image, copy, ("GTV_Mass_PET",), memory=str(memory))
    assert len(calls) == 1  # the disk cache, keyed by content
    for roi in (again, from_disk):
        assert np.array_equal(sitk.GetArrayFromImage(roi), sitk.GetArrayFromImage(first))
    edited_rtstruct(copy, copy, _second_roi("Other"))  # new content, same path
    read_roi(image, copy, ("GTV_Mass_PET",), memory=str(memory))
    assert len(calls) == 2


def test_bad_contours_are_refused_naming_row_file_and_structure(tmp_path):
    image, rtstruct, _, _ = sts_paths("STS_002/CT")

    def moved(dataset):
        for contour in dataset.ROIContourSequence[0].ContourSequence:
            points = np.asarray(contour.ContourData, dtype=np.float64).reshape(-1, 3)
            points[:, 0] += 500.0
            contour.ContourData = points.ravel().tolist()

    def two_points(dataset):
        contour = dataset.ROIContourSequence[0].ContourSequence[0]
        contour.ContourData = list(contour.ContourData)[:6]
        contour.NumberOfContourPoints = 2

    cases = {
        "outside.dcm": (moved, "contour points outside the image"),
        "two_points.dcm": (
            two_points,
            "a contour of 2 point(s); a closed contour needs at least 3",
        ),
    }
    memory = tmp_path / "cache"
    for name, (edit, says) in cases.items():
        path = edited_rtstruct(rtstruct, tmp_path / name, edit)
        with pytest.raises(CaseError) as info:
            _roi(image, path, ("GTV_Mass_CT",), memory=str(memory))
        message = str(info.value)
        assert f"row 'P1', column 'mask' ({path})" in message
        assert "structure 'GTV_Mass_CT'" in message and says in message
    # Nothing half-written: joblib stores a result only once it is complete.
    assert not list(memory.rglob("output.pkl"))


def test_seg_on_another_frame_of_reference_is_refused(tmp_path):
    def other_frame(dataset, index):
        dataset.FrameOfReferenceUID = "1.2.3.4.5"

    image = copy_series(DCMQI / "ct-3slice", tmp_path / "ct", other_frame)
    with pytest.raises(CaseError, match=r"frame of reference .* not drawn on this image"):
        _roi(image, DCMQI / "liver.dcm", ("Liver",))


def test_structure_names_in_a_label_map_are_refused():
    with pytest.raises(CaseError, match=r"labels \['Liver'\] name structures.*label map"):
        _roi(DCMQI / "ct-3slice", DCMQI / "liver_seg.nrrd", ("Liver",))


def test_validate_lists_each_bad_structure_with_its_row(tmp_path):
    image, rtstruct, _, _ = sts_paths("STS_001/PET")
    table = pd.DataFrame(
        {"image": [str(image), str(image)], "mask": [str(rtstruct), str(DCMQI / "liver.dcm")]},
        index=["STS_001", "wrong_seg"],
    )
    validate_case_table(table.iloc[:1], labels={"mass": "re:GTV_Mass.*"})
    with pytest.raises(CaseTableError) as info:
        validate_case_table(table, labels={"mass": "re:GTV_Mass.*", "oedema": "Oedema"})
    problems = info.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("row 'STS_001', column 'mask'")
    assert "structure 'Oedema' absent (structures present: ['GTV_Mass_PET'])" in problems[0]
    assert all("row 'wrong_seg'" in p and "frame of reference" in p for p in problems[1:])


def test_new_series_uid_does_not_matter(tmp_path):
    # A re-exported copy (new UIDs, same positions) reads the same: no SOP UID matching.
    image, rtstruct, _, nifti_mask = sts_paths("STS_002/MR_T1")
    series_uid = generate_uid()

    def reexport(dataset, index):
        dataset.SeriesInstanceUID, dataset.SOPInstanceUID = series_uid, generate_uid()

    copy = copy_series(image, tmp_path / "reexported", reexport)
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(nifti_mask))) > 0
    assert np.array_equal(_roi(copy, rtstruct, ("GTV_Mass_MR_T1",)), reference)


def test_volume_cropper_reads_rtstruct_masks_like_their_nifti_twins():
    image, rtstruct, _, nifti_mask = sts_paths("STS_002/MR_T1")
    table = pd.DataFrame({"image": [str(image)] * 2, "mask": [str(rtstruct), str(nifti_mask)]})
    volumes = []
    for row, labels in ((0, {"mass": "re:GTV_Mass.*"}), (1, {"mass": 1})):
        cropper = VolumeCropper(roi="mass", labels=labels, volume_size=(8, 24, 24), orbits="joint")
        volumes.append(cropper.fit_transform(table.iloc[[row]]))
    assert volumes[0].shape == (1, 1, 8, 24, 24)
    np.testing.assert_array_equal(volumes[0], volumes[1])


def test_a_series_folder_with_a_missing_or_duplicated_slice_is_refused(tmp_path):
    image, rtstruct, _, _ = sts_paths("STS_003/PET")
    gap = copy_series(image, tmp_path / "gap")
    sorted(gap.iterdir())[20].unlink()
    first = sorted(image.iterdir())[0]

    def duplicate(dataset, index):
        if index == 5:
            dataset.ImagePositionPatient = pydicom.dcmread(first).ImagePositionPatient
            dataset.SOPInstanceUID = generate_uid()

    twice = copy_series(image, tmp_path / "twice", duplicate)
    table = pd.DataFrame(
        {"image": [str(gap), str(twice)], "mask": [str(rtstruct)] * 2}, index=["STS_003", "copy"]
    )
    with pytest.raises(CaseTableError) as info:
        validate_case_table(table, labels={"mass": "GTV_Mass_PET"})
    first_problem, second_problem = info.value.problems
    assert first_problem.startswith(f"row 'STS_003', column 'image' ({gap}): DICOM series has")
    assert "uneven slice spacing" in first_problem and "missing slices" in first_problem
    assert second_problem == (
        f"row 'copy', column 'image' ({twice}): DICOM series holds duplicated slices "
        "(two at one position)"
    )


def test_reading_leaves_pydicoms_validation_setting_as_it_was():
    before = pydicom.config.settings.reading_validation_mode
    _roi(*sts_paths("STS_001/PET")[:2], ("GTV_Mass_PET",))  # its Study ID breaks DICOM's 16
    assert pydicom.config.settings.reading_validation_mode == before


def test_contours_sharing_an_edge_claim_its_pixels_once():
    # Vertices on voxel centres: each boundary voxel belongs to exactly one of the squares.
    grid = Grid((10, 8, 3), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    where = ("P1", "mask", "RS.dcm")

    def square(x0, x1):
        points = [[x0, 1, 1], [x1, 1, 1], [x1, 5, 1], [x0, 5, 1]]
        return [Contour("CLOSED_PLANAR", np.asarray(points, dtype=float))]

    left = rasterise(square(1, 4), grid, name="left", where=where)
    right = rasterise(square(4, 8), grid, name="right", where=where)
    assert not (left & right).any()
    both = rasterise(square(1, 8), grid, name="both", where=where)
    assert np.array_equal(left | right, both)
    assert int(both.sum()) == 7 * 4  # x 1..7, y 1..4 in slice 1
