"""``rdinet index`` / :func:`index_dicom` on the real STS and dcmqi folders, the issue's
"must work as written" commands, and every skip the report must name."""

import os
import shutil

import numpy as np
import pandas as pd
import pydicom
import pytest
from dicom_data import DCMQI, STS, copy_series, require_real_dicom, sts_paths
from pydicom.uid import generate_uid

from rdinet_sklearn import (
    CaseTableError,
    RadiomicsExtractor,
    index_dicom,
    read_case_table,
    validate_case_table,
)
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main

MASS = {"mass": "re:GTV_Mass.*"}

# The STS files break DICOM's length rules (a 20-character Study ID); reading them must not
# flood the user with pydicom's warnings.
pytestmark = pytest.mark.filterwarnings("error:The value length:UserWarning")


@pytest.fixture(scope="module", autouse=True)
def _real_data():
    require_real_dicom()


@pytest.fixture(scope="module")
def sts_mr(tmp_path_factory):
    """The issue's three commands, run as written (``sts_mr/`` in a fresh folder)."""
    folder = tmp_path_factory.mktemp("must_work")
    previous = os.getcwd()
    os.chdir(folder)
    try:
        labels = "{mass: 're:GTV_Mass.*'}"
        codes = [
            main(["index", "--dicom", str(STS), "--modality", "MR", "--out", "sts_mr/cases.csv"]),
            main(["validate", "--cases", "sts_mr/cases.csv", "--labels", labels]),
            main(
                [
                    "extract",
                    "--cases",
                    "sts_mr/cases.csv",
                    "--labels",
                    labels,
                    "--roi",
                    "mass",
                    "--out",
                    "sts_mr/features.parquet",
                ]
            ),
        ]
    finally:
        os.chdir(previous)
    return folder, codes


def test_must_work_commands(sts_mr):
    folder, codes = sts_mr
    assert codes == [EXIT_OK, EXIT_OK, EXIT_OK]
    table = pd.read_csv(folder / "sts_mr" / "cases.csv")
    assert table["patient_id"].tolist() == ["STS_001", "STS_002", "STS_003"]
    assert set(table["modality"]) == {"MR"}
    cases = read_case_table(folder / "sts_mr" / "cases.csv")
    for patient, mask, image in zip(
        cases["patient_id"], cases["mask"], cases["image"], strict=True
    ):
        # each mask is the RTSTRUCT file itself, each image the T1 series folder
        assert os.path.samefile(mask, sts_paths(f"{patient}/MR_T1")[1])
        assert os.path.samefile(image, sts_paths(f"{patient}/MR_T1")[0])
    features = pd.read_parquet(folder / "sts_mr" / "features.parquet")
    assert features.shape[0] == 3 and features.columns[0].startswith("mass_")


def test_must_work_python_snippet_and_same_features_as_the_nifti_pairs(sts_mr):
    folder, _ = sts_mr
    previous = os.getcwd()
    os.chdir(folder)
    try:
        cases = read_case_table("sts_mr/cases.csv")
        features = RadiomicsExtractor(roi="mass", labels={"mass": "re:GTV_Mass.*"}).fit_transform(
            cases
        )
    finally:
        os.chdir(previous)
    from_cli = pd.read_parquet(folder / "sts_mr" / "features.parquet")
    np.testing.assert_allclose(features.to_numpy(), from_cli.to_numpy())
    nifti = pd.DataFrame(
        [
            {"image": str(sts_paths(f"{p}/MR_T1")[2]), "mask": str(sts_paths(f"{p}/MR_T1")[3])}
            for p in cases["patient_id"]
        ]
    )
    from_nifti = RadiomicsExtractor(roi="mass", labels={"mass": 1}).fit_transform(nifti)
    # The masks agree voxel for voxel (Dice 1) and the images hold the same values.
    np.testing.assert_allclose(features.to_numpy(), from_nifti.to_numpy(), rtol=0.02, atol=1e-6)


def test_index_of_all_sts_then_extract_equals_the_nifti_pairs(tmp_path, capsys):
    report = index_dicom(STS, out=tmp_path / "cases.csv")
    cases = report.cases
    assert len(cases) == 9
    assert sorted(set(cases["modality"])) == ["CT", "MR", "PT"]
    written = pd.read_csv(tmp_path / "cases.csv")
    # The CSV holds paths relative to its folder (a cohort folder moves whole); the report
    # and read_case_table give them absolute.
    assert not any(os.path.isabs(p) for p in written["image"])
    table = read_case_table(tmp_path / "cases.csv")
    assert [os.path.normpath(p) for p in table["mask"]] == cases["mask"].tolist()
    for row in table.itertuples():
        # CT, MR and PET share a frame of reference and none is the referenced series:
        # the study ID picks each series' own structure set.
        assert os.path.dirname(os.path.dirname(row.mask)) == os.path.dirname(row.image)
    reasons = set(report.skipped["reason"])
    assert reasons == {"not a DICOM file"}  # the NIfTI copies and the licence files
    assert (tmp_path / "cases_skipped.csv").exists()
    # Three series (CT, MR, PET) per patient: patient ids repeat, so rows are named by image.
    validate = ["validate", "--cases", str(tmp_path / "cases.csv"), "--labels", str(MASS)]
    assert main(validate) == 3
    assert "duplicate patients: ['STS_001', 'STS_002', 'STS_003']" in capsys.readouterr().err
    assert main([*validate, "--id-column", "image"]) == 0
    params = tmp_path / "first_order.yaml"
    params.write_text("imageType: {Original: {}}\nfeatureClass: {firstorder: []}\n")
    out = tmp_path / "features.parquet"
    argv = ["extract", "--cases", str(tmp_path / "cases.csv"), "--labels", str(MASS)]
    argv += ["--id-column", "image"]
    assert main([*argv, "--roi", "mass", "--params", str(params), "--out", str(out)]) == 0
    from_dicom = pd.read_parquet(out)
    series = [os.path.relpath(image, STS).split(os.sep)[:2] for image in table["image"]]
    nifti = pd.DataFrame(
        [
            {"image": str(sts_paths("/".join(s))[2]), "mask": str(sts_paths("/".join(s))[3])}
            for s in series
        ]
    )
    extractor = RadiomicsExtractor(roi="mass", labels={"mass": 1}, params=str(params))
    from_nifti = extractor.fit_transform(nifti)
    assert from_dicom.shape == (9, 18)
    np.testing.assert_allclose(from_dicom.to_numpy(), from_nifti.to_numpy(), rtol=0.02)


def test_index_of_dcmqi_puts_second_segmentations_in_mask_rater2():
    report = index_dicom(DCMQI)
    ct = report.cases.set_index("image").loc[str(DCMQI / "ct-3slice")]
    assert {os.path.basename(ct["mask"]), os.path.basename(ct["mask_rater2"])} == {
        "liver.dcm",
        "partial_overlaps.dcm",
    }
    skipped = report.skipped.set_index("path")["reason"]
    assert "multi-frame" in skipped[str(DCMQI / "24x38x3" / "multiframe" / "mf.dcm")]
    assert skipped[str(DCMQI / "24x38x3" / "seg" / "label.seg")] == (
        "a third segmentation of one series"
    )


def test_roi_map_skips_a_file_lacking_the_structure(tmp_path):
    report = index_dicom(
        STS, modality="CT", roi_map={"mass": "re:GTV_Mass_CT"}, out=tmp_path / "ct.csv"
    )
    assert len(report.cases) == 3
    report = index_dicom(STS, roi_map={"mass": "re:GTV_Mass_CT"})
    assert len(report.cases) == 3  # the MR and PET structure sets lack it
    missing = report.skipped[report.skipped["structure"] != ""]
    assert len(missing) == 6
    assert set(missing["patient_id"]) == {"STS_001", "STS_002", "STS_003"}
    assert all("absent (structures present: ['GTV_Mass_" in r for r in missing["reason"])
    assert (tmp_path / "ct_labels.yaml").read_text() == "mass: re:GTV_Mass_CT\n"


def _one_patient(tmp_path, edit=None, drop=()):
    """STS_002's CT series (edited) and its RTSTRUCT in ``tmp_path/dicom``."""
    image, rtstruct, _, _ = sts_paths("STS_002/CT")
    root = tmp_path / "dicom"
    copy_series(image, root / "image", edit)
    for name in drop:
        (root / "image" / name).unlink()
    (root / "structures").mkdir()
    shutil.copy(rtstruct, root / "structures" / "RS.dcm")
    return root


def _skip_reasons(root):
    report = index_dicom(root)
    return report, dict(zip(report.skipped["path"], report.skipped["reason"], strict=True))


def test_index_skips_a_series_with_a_missing_slice(tmp_path):
    root = _one_patient(tmp_path, drop=["000020.dcm"])
    report, reasons = _skip_reasons(root)
    assert "uneven slice spacing" in reasons[str(root / "image")]
    assert reasons[str(root / "structures" / "RS.dcm")] == "no image series for it"
    assert report.cases.empty


def test_index_skips_duplicated_slices_and_mixed_patients(tmp_path):
    def duplicate(dataset, index):
        if index == 1:
            first = sorted((STS / "STS_002" / "CT" / "dicom" / "image").iterdir())[0]
            dataset.ImagePositionPatient = pydicom.dcmread(first).ImagePositionPatient

    root = _one_patient(tmp_path / "dup", duplicate)
    assert "duplicated slices" in _skip_reasons(root)[1][str(root / "image")]

    def mixed(dataset, index):
        if index == 3:
            dataset.PatientID = "STS_999"

    root = _one_patient(tmp_path / "mixed", mixed)
    reason = _skip_reasons(root)[1][str(root / "image")]
    assert reason == "one series holds several patients ['STS_002', 'STS_999']"


def test_index_reports_non_dicom_files_and_ambiguous_series(tmp_path):
    root = _one_patient(tmp_path)
    (root / "image" / "notes.txt").write_text("not an image")
    series_uid = generate_uid()

    def another_copy(dataset, index):
        dataset.SeriesInstanceUID, dataset.SOPInstanceUID = series_uid, generate_uid()

    copy_series(sts_paths("STS_002/CT")[0], root / "copy", another_copy)
    report, reasons = _skip_reasons(root)
    assert reasons[str(root / "image" / "notes.txt")] == "not a DICOM file"
    assert reasons[str(root / "structures" / "RS.dcm")].startswith("2 candidate series")
    assert report.cases.empty


def test_rt_export_layout_and_two_series_in_one_folder(tmp_path):
    # An RT export: the structure set in the folder of its CT slices.
    root = _one_patient(tmp_path)
    shutil.move(root / "structures" / "RS.dcm", root / "image" / "RS.dcm")
    report = index_dicom(root)
    assert report.cases[["image", "mask"]].to_dict("records") == [
        {"image": str(root / "image"), "mask": str(root / "image" / "RS.dcm")}
    ]
    validate_case_table(report.cases, labels={"mass": "GTV_Mass_CT"})
    # A second image series in the same folder: neither can be the table's image.
    for path in sts_paths("STS_002/PET")[0].iterdir():
        shutil.copy(path, root / "image" / f"pet_{path.name}")
    report = index_dicom(root)
    assert report.cases.empty
    reasons = report.skipped["reason"].tolist()
    two_series = "its folder holds another image series too; give each series a folder of its own"
    assert reasons.count(two_series) == 2
    assert reasons.count("no image series for it") == 1
    table = pd.DataFrame({"image": [str(root / "image")], "mask": [str(root / "image" / "RS.dcm")]})
    with pytest.raises(CaseTableError, match=r"folder holds 2 DICOM image series; expected one"):
        validate_case_table(table, labels={"mass": "GTV_Mass_CT"})


def test_cli_index_prints_the_report_and_bad_tables_exit_3(tmp_path, capsys):
    root = _one_patient(tmp_path, drop=["000020.dcm"])
    out = tmp_path / "out" / "cases.csv"
    assert main(["index", "--dicom", str(root), "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert f"skipped {root / 'image'}: uneven slice spacing" in printed
    assert "0 segmented series; 2 item(s) skipped" in printed
    image, rtstruct, _, _ = sts_paths("STS_001/MR_T1")
    pd.DataFrame({"image": [str(image)], "mask": [str(rtstruct)]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    code = main(["validate", "--cases", str(tmp_path / "t.csv"), "--labels", "{mass: GTV}"])
    assert code == EXIT_BAD_INPUT
    assert "structure 'GTV' absent (structures present: ['GTV_Mass_MR_T1'])" in (
        capsys.readouterr().err
    )
    code = main(["index", "--dicom", str(tmp_path / "nowhere"), "--out", str(out)])
    assert code == EXIT_BAD_INPUT


def test_a_seg_whose_series_was_re_exported_links_by_geometry(tmp_path):
    # liver.dcm references the original CT series; the folder holds only re-exported copies
    # (new UIDs), one of them moved 50 mm along z: only the other holds the SEG's frames.
    shutil.copy(DCMQI / "liver.dcm", tmp_path / "liver.dcm")
    for name, shift in (("ct", 0.0), ("moved", 50.0)):
        series_uid = generate_uid()

        def reexport(dataset, index, series_uid=series_uid, shift=shift):
            dataset.SeriesInstanceUID, dataset.SOPInstanceUID = series_uid, generate_uid()
            position = [float(v) for v in dataset.ImagePositionPatient]
            dataset.ImagePositionPatient = [position[0], position[1], position[2] + shift]

        copy_series(DCMQI / "ct-3slice", tmp_path / name, reexport)
    report = index_dicom(tmp_path)
    assert report.cases[["image", "mask"]].to_dict("records") == [
        {"image": str(tmp_path / "ct"), "mask": str(tmp_path / "liver.dcm")}
    ]
