"""SimpleITK input/output, label unions and geometry checks, with errors that name the case.

Every reader in the package goes through :func:`read_image`, so a missing, unreadable or
corrupt file always produces the same kind of error: a :class:`CaseError` naming the patient
row, the column and the file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterable

import numpy as np
import SimpleITK as sitk

from ._atomic import atomic_path
from .exceptions import RdinetInputError


class CaseError(RdinetInputError):
    """A problem with one patient's files, naming the row, the column and the path.

    Parameters
    ----------
    row : hashable
        The case-table row (patient) the file belongs to.
    column : str
        The case-table column the path came from.
    path : str or path-like
        The offending file or folder (may be empty or not a path at all).
    problem : str
        What is wrong with it, e.g. ``"file not found"``.

    Examples
    --------
    >>> from rdinet_sklearn import CaseError
    >>> err = CaseError("P1", "mask", "p1_mask.nii.gz", "file not found")
    >>> print(err)
    row 'P1', column 'mask' (p1_mask.nii.gz): file not found
    >>> err.row, err.column, err.problem
    ('P1', 'mask', 'file not found')
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(self, row, column, path, problem):
        self.row, self.column, self.path, self.problem = row, column, path, problem
        super().__init__(f"row {row!r}, column {column!r} ({path}): {problem}")


def is_missing_path(path) -> bool:
    """True for the empty cells a case table uses for an absent optional file."""
    if path is None:
        return True
    if isinstance(path, float) and np.isnan(path):
        return True
    return isinstance(path, str) and not path.strip()


SLICE_GAP_TOLERANCE = 0.01
"""Largest relative difference between the slice gaps of one DICOM series."""


def _dicom_series(folder):
    reader = sitk.ImageSeriesReader()
    series = reader.GetGDCMSeriesIDs(str(folder))
    if len(series) > 1:
        # GDCM would read one of them, whichever it lists first.
        raise RuntimeError(f"folder holds {len(series)} DICOM image series; expected one")
    files = reader.GetGDCMSeriesFileNames(str(folder))
    if not files:
        raise RuntimeError("folder holds no DICOM series")
    reader.SetFileNames(files)
    reader.SetMetaDataDictionaryArrayUpdate(True)
    return reader


def _slice_problem(reader, image):
    """Why a DICOM series' slices do not form one even grid (duplicated or missing), or None.

    ITK stacks the slices it is given and takes the spacing from the first two, only warning
    on a gap, so a missing slice would silently stretch every distance after it.
    """
    positions = []
    for index in range(len(reader.GetFileNames())):
        if not reader.HasMetaDataKey(index, "0020|0032"):
            return None  # no positions to check (not a tomographic series)
        text = reader.GetMetaData(index, "0020|0032")
        positions.append([float(v) for v in text.replace(" ", "").split("\\")[:3]])
    if len(positions) < 3:
        return None
    normal = np.asarray(image.GetDirection()).reshape(3, 3)[:, 2]
    gaps = np.diff(np.sort(np.asarray(positions) @ normal))
    if gaps.min() < SLICE_GAP_TOLERANCE * max(gaps.max(), 1e-6):
        return "holds duplicated slices (two at one position)"
    if np.ptp(gaps) > SLICE_GAP_TOLERANCE * np.median(gaps):
        return f"has uneven slice spacing ({gaps.min():.3g} to {gaps.max():.3g} mm): missing slices"
    return None


def _gzip_problem(path):
    """Why a gzip file is damaged, or None.

    ITK's NIfTI reader fills whatever a truncated ``.nii.gz`` lacks with zeros and reports
    no error, so the stream is checked to its end (gzip's CRC and length) first.
    """
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        return f"cannot be read: truncated or corrupt ({exc})"
    return None


def read_image(path, *, row=None, column="image", header_only=False):
    """Read an image or label map with SimpleITK, or raise a :class:`CaseError`.

    Parameters
    ----------
    path : str or path-like
        A file SimpleITK reads (NIfTI, NRRD, MHA, ...) or a folder holding one DICOM series.
    row : hashable, default=None
        The case-table row the file belongs to, used in error messages.
    column : str, default="image"
        The case-table column the path came from, used in error messages.
    header_only : bool, default=False
        If True, read only size, spacing, origin and direction (fast) and return the reader.

    Returns
    -------
    image : SimpleITK.Image or SimpleITK.ImageFileReader
        The image, or with ``header_only=True`` a reader whose ``GetSize()``, ``GetSpacing()``,
        ``GetOrigin()`` and ``GetDirection()`` describe it.
    """
    if is_missing_path(path):
        raise CaseError(row, column, path, "no path given")
    if not isinstance(path, str | os.PathLike):
        raise CaseError(row, column, path, f"is not a path ({type(path).__name__})")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CaseError(row, column, path, "file not found")
    problem = _gzip_problem(path) if path.endswith(".gz") else None
    if problem:
        raise CaseError(row, column, path, problem)
    try:
        if os.path.isdir(path):
            reader = _dicom_series(path)
            image = reader.Execute()
            problem = _slice_problem(reader, image)
            if problem:
                raise CaseError(row, column, path, f"DICOM series {problem}")
            return image
        reader = sitk.ImageFileReader()
        reader.SetFileName(path)
        if header_only:
            reader.ReadImageInformation()
            return reader
        image = reader.Execute()
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CaseError(row, column, path, f"cannot be read ({first_line})") from exc
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise CaseError(row, column, path, "has several components per voxel; expected a scalar")
    return image


def write_image(image, path):
    """Write ``image`` to ``path`` as compressed NIfTI, atomically (:func:`atomic_path`).

    ITK picks its writer by the file's extension, which the temporary name lacks: the image
    is staged as ``<temporary>.nii.gz`` and renamed to the temporary that
    :func:`~rdinet_sklearn._atomic.atomic_path` renames into place.
    """
    with atomic_path(path) as partial:
        staged = partial.with_name(partial.name + ".nii.gz")
        try:
            sitk.WriteImage(image, str(staged), True)
            os.replace(staged, partial)
        finally:
            staged.unlink(missing_ok=True)


def _rounded(values):
    return tuple(round(float(v), 4) for v in values)


def geometry_mismatches(reference, other, *, tolerance=1e-3) -> list[str]:
    """List how ``other``'s grid differs from ``reference``'s (size, spacing, origin, direction).

    Both arguments may be images or header-only readers. Spacing and origin are compared with
    a relative-plus-absolute ``tolerance`` (in mm), direction cosines with an absolute one.
    """
    problems = []
    if tuple(reference.GetSize()) != tuple(other.GetSize()):
        problems.append(f"size {tuple(other.GetSize())} != {tuple(reference.GetSize())}")
    for name in ("Spacing", "Origin", "Direction"):
        ref = np.asarray(getattr(reference, f"Get{name}")())
        oth = np.asarray(getattr(other, f"Get{name}")())
        if ref.shape != oth.shape or not np.allclose(ref, oth, rtol=tolerance, atol=tolerance):
            problems.append(f"{name.lower()} {_rounded(oth)} != {_rounded(ref)}")
    return problems


def label_array(mask, *, row=None, column="mask", path=None) -> np.ndarray:
    """The label map as an integer array (z, y, x); float maps must hold whole numbers."""
    array = sitk.GetArrayViewFromImage(mask)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise CaseError(row, column, path, "label map holds non-integer values")
        return array.astype(np.int64)
    return np.asarray(array)


def labels_present(mask, **where) -> set[int]:
    """The non-zero label values that occur in ``mask``."""
    values = np.unique(label_array(mask, **where))
    return {int(v) for v in values if v != 0}


def roi_mask(mask, label_values: Iterable[int], **where):
    """A binary (uint8) image, 1 where ``mask`` holds any of ``label_values``, same geometry."""
    binary = np.isin(label_array(mask, **where), list(label_values)).astype(np.uint8)
    image = sitk.GetImageFromArray(binary)
    image.CopyInformation(mask)
    return image


MIN_ROI_VOXELS = 8
"""Fewest voxels a structure (and an extracted ROI) may have.

A texture matrix (GLCM, GLRLM, GLSZM...) of a handful of voxels holds a handful of counts:
its features are noise, and a 1-3 voxel structure still "works" and can move a study's AUC.
Eight voxels is a 2x2x2 block, the least that has a neighbour pair in each of the 13 3D
directions the matrices count.
"""

MIN_ROI_EXTENT = 2
"""Fewest voxels a structure (and an extracted ROI) must span along each axis: a ROI one
voxel thick has no neighbours in that direction, so the 3D texture matrices lose a third of
their directions and shape features degenerate."""


def roi_size_problem(inside):
    """Why the boolean ROI array ``inside`` is too small for radiomics, or ``None``.

    Checks :data:`MIN_ROI_VOXELS` and :data:`MIN_ROI_EXTENT` (per axis, z y x).

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn._imaging import roi_size_problem
    >>> roi = np.zeros((4, 8, 8), bool)
    >>> roi[1:3, 2:6, 2:6] = True
    >>> roi_size_problem(roi) is None
    True
    >>> roi_size_problem(roi[1:2])
    'covers 16 voxels spanning 1 x 4 x 4 (z y x); needs 8 voxels, 2 along each axis'
    """
    count = int(np.count_nonzero(inside))
    if count:
        where = np.nonzero(inside)
        extent = [int(axis.max() - axis.min() + 1) for axis in where]
    else:
        extent = [0] * inside.ndim
    if count >= MIN_ROI_VOXELS and min(extent) >= MIN_ROI_EXTENT:
        return None
    return (
        f"covers {count} voxels spanning {' x '.join(map(str, extent))} (z y x); needs "
        f"{MIN_ROI_VOXELS} voxels, {MIN_ROI_EXTENT} along each axis"
    )


def non_finite_count(image):
    """How many voxels of ``image`` are NaN or infinite."""
    return int(np.count_nonzero(~np.isfinite(sitk.GetArrayViewFromImage(image))))
