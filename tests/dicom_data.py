"""Where the real DICOM data lives (``../shared/data/real-dicom`` beside the clone), and
helpers that write edited copies of its files for the bad-input tests."""

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RDINET_SHARED_DATA", ROOT.parent / "shared" / "data"))
REAL_DICOM = SHARED_DATA / "real-dicom"
STS = REAL_DICOM / "sts"
DCMQI = REAL_DICOM / "dcmqi-segmentations"
STS_SERIES = [
    f"{patient}/{modality}"
    for patient in ("STS_001", "STS_002", "STS_003")
    for modality in ("CT", "MR_T1", "PET")
]


def require_real_dicom():
    """Fail (not skip) when the shared data is missing: these tests are the DICOM check."""
    if not STS.is_dir() or not DCMQI.is_dir():
        pytest.fail(
            f"real DICOM data not found at {REAL_DICOM}; CI has shared/ beside the clone, "
            "or set RDINET_SHARED_DATA to the shared data folder"
        )


def sts_paths(series):
    """(DICOM image folder, RTSTRUCT, NIfTI image, NIfTI mask) of one STS series."""
    base = STS / series
    return (
        base / "dicom" / "image",
        base / "dicom" / "mask" / "RS.dcm",
        base / "nifti" / "image" / "image.nii.gz",
        base / "nifti" / "mask" / "mask.nii.gz",
    )


def edited_rtstruct(path, out, edit):
    """Write ``edit(dataset)`` of the RTSTRUCT ``path`` to ``out`` (a new SOP instance)."""
    dataset = pydicom.dcmread(path)
    edit(dataset)
    dataset.SOPInstanceUID = generate_uid()
    dataset.save_as(out)
    return out


def shrunk(points, factor):
    """Contour points (flat x, y, z list) moved towards their centroid by ``factor``."""
    xyz = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    centre = xyz.mean(axis=0)
    return ((xyz - centre) * factor + centre).ravel().tolist()


def copy_series(source, target, edit=None):
    """Copy a series folder; ``edit(dataset, index)`` may change each file before saving."""
    target.mkdir(parents=True)
    for index, path in enumerate(sorted(source.iterdir())):
        if edit is None:
            shutil.copy(path, target / path.name)
            continue
        dataset = pydicom.dcmread(path)
        edit(dataset, index)
        dataset.save_as(target / path.name)
    return target
