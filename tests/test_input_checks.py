"""Input that must be refused, through the CLI, on a real MRI (pyradiomics' breast1).

Non-finite voxels, too-small structures, duplicate patient ids, a latin-1 or
semicolon-separated CSV: exit code 3 with one message naming the patient (by id), the
structure and the file; and ``rdinet extract`` keeps the patient ids.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from rdinet_sklearn._imaging import MIN_ROI_EXTENT, MIN_ROI_VOXELS
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main

DATA = Path(__file__).parent / "data" / "pyradiomics"
IMAGE, LABEL = DATA / "breast1_image.nrrd", DATA / "breast1_label.nrrd"
LABELS = "{tumor: 1}"


def _table(tmp_path, rows, name="cases.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _row(patient, image=IMAGE, mask=LABEL):
    return {"patient_id": patient, "image": str(image), "mask": str(mask), "age": 50}


def _run(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr()


def _validate(path, capsys):
    return _run(["validate", "--cases", str(path), "--labels", LABELS], capsys)


def _extract(path, out, capsys):
    argv = ["extract", "--cases", str(path), "--roi", "tumor", "--labels", LABELS]
    return _run([*argv, "--params", "original", "--out", str(out)], capsys)


def test_the_real_case_passes_validate(tmp_path, capsys):
    code, output = _validate(_table(tmp_path, [_row("BR-1")]), capsys)
    assert code == EXIT_OK, output.err


def _with_nan(tmp_path, count):
    image = sitk.ReadImage(str(IMAGE), sitk.sitkFloat32)
    array = sitk.GetArrayFromImage(image)
    inside = np.argwhere(sitk.GetArrayFromImage(sitk.ReadImage(str(LABEL))) == 1)
    for z, y, x in inside[:count]:
        array[z, y, x] = np.nan
    array[0, 0, 0] = np.inf
    changed = sitk.GetImageFromArray(array)
    changed.CopyInformation(image)
    path = tmp_path / "nan_image.nrrd"
    sitk.WriteImage(changed, str(path))
    return path


@pytest.mark.parametrize("command", ["validate", "extract"])
def test_non_finite_voxels_are_counted_and_named(tmp_path, capsys, command):
    path = _with_nan(tmp_path, 3)
    cases = _table(tmp_path, [_row("BR-1"), _row("BR-2", image=path)])
    if command == "validate":
        code, output = _validate(cases, capsys)
    else:
        code, output = _extract(cases, tmp_path / "f.csv", capsys)
        assert not (tmp_path / "f.csv").exists()
    assert code == EXIT_BAD_INPUT
    assert "'BR-2'" in output.err and "nan_image.nrrd" in output.err
    assert "holds 4 NaN or infinite voxels" in output.err and "'BR-1'" not in output.err


def _tiny_label(tmp_path, voxels):
    mask = sitk.ReadImage(str(LABEL))
    array = np.zeros_like(sitk.GetArrayFromImage(mask))
    for z, y, x in voxels:
        array[z, y, x] = 1
    tiny = sitk.GetImageFromArray(array)
    tiny.CopyInformation(mask)
    path = tmp_path / "tiny_label.nrrd"
    sitk.WriteImage(tiny, str(path))
    return path


@pytest.mark.parametrize("command", ["validate", "extract"])
@pytest.mark.parametrize(
    "voxels",
    [
        [(10, 60, 20), (10, 60, 21), (10, 61, 20)],  # 3 voxels
        [(10, 60 + i // 4, 20 + i % 4) for i in range(16)],  # 16 voxels, one slice thick
    ],
    ids=["3-voxels", "one-slice"],
)
def test_too_small_structure_is_named(tmp_path, capsys, command, voxels):
    path = _tiny_label(tmp_path, voxels)
    cases = _table(tmp_path, [_row("BR-1"), _row("BR-7", mask=path)])
    if command == "validate":
        code, output = _validate(cases, capsys)
        assert "structure 'tumor'" in output.err
    else:
        code, output = _extract(cases, tmp_path / "f.csv", capsys)
    assert code == EXIT_BAD_INPUT
    assert "'BR-7'" in output.err and "tiny_label.nrrd" in output.err
    assert f"needs {MIN_ROI_VOXELS} voxels, {MIN_ROI_EXTENT} along each axis" in output.err


def test_validate_finds_duplicate_patient_ids_and_names_patients_by_id(tmp_path, capsys):
    cases = _table(tmp_path, [_row("BR-1"), _row("BR-1")])
    code, output = _validate(cases, capsys)
    assert code == EXIT_BAD_INPUT and "duplicate patients: ['BR-1']" in output.err
    cases = _table(tmp_path, [_row("BR-1"), _row("BR-9", mask=tmp_path / "gone.nrrd")])
    code, output = _validate(cases, capsys)
    assert code == EXIT_BAD_INPUT
    assert "row 'BR-9', column 'mask'" in output.err and "row 1" not in output.err


def test_latin1_case_table_is_named_with_its_encoding_problem(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    text = f"patient_id,image,mask,city\nBR-1,{IMAGE},{LABEL},Zürich\n"
    path.write_bytes(text.encode("latin-1"))
    code, output = _validate(path, capsys)
    assert code == EXIT_BAD_INPUT
    assert "latin1.csv" in output.err and "not UTF-8" in output.err and "0xfc" in output.err


def test_semicolon_case_table_is_said_to_have_the_wrong_delimiter(tmp_path, capsys):
    path = tmp_path / "semicolon.csv"
    path.write_text(f"patient_id;image;mask\nBR-1;{IMAGE};{LABEL}\n")
    code, output = _validate(path, capsys)
    assert code == EXIT_BAD_INPUT
    assert "semicolon.csv" in output.err and "delimiter looks wrong" in output.err
    assert "';'" in output.err


def test_extract_keeps_the_patient_ids(tmp_path, capsys):
    cases = _table(tmp_path, [_row("BR-1"), _row("BR-2", image=DATA / "breast1_image.nrrd")])
    out = tmp_path / "features.csv"
    code, output = _extract(cases, out, capsys)
    assert code == EXIT_OK, output.err
    features = pd.read_csv(out, index_col=0)
    assert features.index.name == "patient_id"
    assert features.index.tolist() == ["BR-1", "BR-2"]
    assert "tumor_original_firstorder_Mean" in features.columns
