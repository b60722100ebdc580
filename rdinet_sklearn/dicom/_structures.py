"""Named structures of an RTSTRUCT or DICOM-SEG file as binary masks on an image's grid.

A structure is asked for by name as stored in the file (``"GTV_Mass_CT"``), by a regular
expression ``"re:<pattern>"`` (a full match, case as written; exactly one structure may
match) or by its number (ROI number, segment number). Each structure is its own binary mask,
so overlapping structures never overwrite each other; an ROI naming several is their union.

Converted masks are cached by content: the file's digest, the image grid and the structure
number. In this process an LRU keeps recent ones (the folds of a grid search reuse them);
with a :class:`joblib.Memory` the result is also written to disk, atomically as joblib
writes every entry.
"""

from __future__ import annotations

import os
import re
from numbers import Integral

import numpy as np
import pydicom

from .._cache import LRUCache, file_digest, resolve_memory
from .._imaging import CaseError, is_missing_path
from ._quiet import quiet_pydicom
from ._rtstruct import rasterise, read_structure_set
from ._seg import SegmentSet, read_segment_set, segment_mask

PATTERN_PREFIX = "re:"
"""A ``labels`` value starting with this is a regular expression over structure names."""

SEGMENTATION_MODALITIES = frozenset({"RTSTRUCT", "SEG"})
"""DICOM modalities of the segmentation files a mask column may name."""

_CONVERTED = LRUCache(max_bytes=512 << 20)


@quiet_pydicom()
def segmentation_kind(path):
    """``"RTSTRUCT"``, ``"SEG"`` or None (a label map, a folder or no DICOM at all).

    Only the header is read, and only of files (a folder is an image series).

    Parameters
    ----------
    path : str or path-like
        A mask cell of a case table.

    Returns
    -------
    kind : {"RTSTRUCT", "SEG"} or None

    Examples
    --------
    >>> from rdinet_sklearn.dicom import segmentation_kind
    >>> segmentation_kind("mask.nii.gz") is None
    True
    """
    path = os.fspath(path)
    if not os.path.isfile(path) or path.endswith((".nii", ".nii.gz", ".nrrd", ".mha", ".mhd")):
        return None
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"])
    except (OSError, pydicom.errors.InvalidDicomError, TypeError, ValueError):
        return None
    modality = str(header.get("Modality", ""))
    return modality if modality in SEGMENTATION_MODALITIES else None


@quiet_pydicom()
def frame_of_reference_of(image_path):
    """The Frame of Reference UID of a DICOM image (file or series folder), else None."""
    if image_path is None or is_missing_path(image_path):
        return None
    path = os.fspath(image_path)
    if os.path.isdir(path):
        files = sorted(os.path.join(path, name) for name in os.listdir(path))
        path = next((f for f in files if os.path.isfile(f)), None)
    if path is None or path.endswith((".nii", ".nii.gz", ".nrrd", ".mha", ".mhd")):
        return None
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
    except (OSError, pydicom.errors.InvalidDicomError, TypeError, ValueError):
        return None
    frame = header.get("FrameOfReferenceUID")
    return str(frame) if frame else None


@quiet_pydicom()
def read_structures(path, *, row=None, column="mask"):
    """The structure set (RTSTRUCT) or segment set (SEG) of ``path``: ``.names`` maps numbers
    to names, with ``.frame_of_reference`` and ``.referenced_series``."""
    kind = segmentation_kind(path)
    if kind == "RTSTRUCT":
        return read_structure_set(path, row=row, column=column)
    if kind == "SEG":
        return read_segment_set(path, row=row, column=column)
    raise CaseError(row, column, path, "is not a DICOM RTSTRUCT or SEG file")


def match_structure(spec, names, *, where):
    """The number of the one structure of ``names`` (number -> name) that ``spec`` picks.

    Parameters
    ----------
    spec : int or str
        A structure number, an exact name, or ``"re:<pattern>"`` (full match).
    names : dict of int to str
        The structures of the file.
    where : tuple
        ``(row, column, path)`` for the error.

    Returns
    -------
    number : int

    Raises
    ------
    CaseError
        When no structure, or several, match; the message lists the names present.

    Examples
    --------
    >>> from rdinet_sklearn.dicom import match_structure
    >>> names = {1: "GTV_Mass_MR_T1", 2: "Oedema"}
    >>> match_structure("re:GTV_Mass.*", names, where=("P1", "mask", "RS.dcm"))
    1
    >>> match_structure("GTV", names, where=("P1", "mask", "RS.dcm"))
    Traceback (most recent call last):
    ...
    rdinet_sklearn._imaging.CaseError: row 'P1', column 'mask' (RS.dcm): structure 'GTV' \
absent (structures present: ['GTV_Mass_MR_T1', 'Oedema'])
    """
    if isinstance(spec, Integral) and not isinstance(spec, bool):
        found = [number for number in names if number == spec]
        wanted = f"structure number {spec}"
    elif isinstance(spec, str) and spec.startswith(PATTERN_PREFIX):
        try:
            pattern = re.compile(spec[len(PATTERN_PREFIX) :])
        except re.error as exc:
            raise CaseError(*where, f"{spec!r} is not a valid regular expression ({exc})") from exc
        found = [number for number, name in names.items() if pattern.fullmatch(name)]
        wanted = f"pattern {spec!r}"
    else:
        found = [number for number, name in names.items() if name == spec]
        wanted = f"structure {spec!r}"
    present = sorted(names.values())
    if not found:
        raise CaseError(*where, f"{wanted} absent (structures present: {present})")
    if len(found) > 1:
        matched = [names[number] for number in found]
        raise CaseError(
            *where, f"{wanted} matches {len(found)} structures {matched}; expected exactly one"
        )
    return found[0]


def _convert(path, structures, number, grid, where):
    name = structures.names[number]
    if isinstance(structures, SegmentSet):
        return segment_mask(structures.segmentation, number, grid, name=name, where=where)
    return rasterise(structures.contours.get(number, []), grid, name=name, where=where)


def _convert_cached(digest, grid_key, number, *, path, structures, grid, where):
    """The conversion the disk cache keys on (digest, grid, number); the rest is ignored."""
    return _convert(path, structures, number, grid, where)


@quiet_pydicom()
def structure_mask(
    path, specs, grid, *, frame_of_reference=None, row=None, column="mask", memory=None
):
    """The union of the structures ``specs`` of an RTSTRUCT or SEG file, on ``grid``.

    Parameters
    ----------
    path : str or path-like
        The RTSTRUCT or DICOM-SEG file.
    specs : iterable of int or str
        Structures whose union is wanted (see :func:`match_structure`).
    grid : Grid
        The image grid (:meth:`Grid.of` an image or a header-only reader).
    frame_of_reference : str, default=None
        The image's Frame of Reference UID when known; a segmentation on another one is
        refused.
    row, column : hashable, str
        The case-table cell, for error messages.
    memory : None, str or joblib.Memory, default=None
        Where converted masks are also cached on disk.

    Returns
    -------
    mask : ndarray of bool, shape (z, y, x)

    Raises
    ------
    CaseError
        Naming the row, the file and the structure: a name absent (with the names present)
        or matched twice, contours off the image or off its slice planes, a contour of fewer
        than 3 points, another frame of reference.

    Examples
    --------
    An RTSTRUCT with one square contour (x 0.5 to 4.5 mm, y 0.5 to 3.5 mm) in the plane
    z = 2 mm, put on a 1 mm grid:

    >>> import os, tempfile
    >>> from pydicom.dataset import Dataset
    >>> from pydicom.uid import RTStructureSetStorage, generate_uid
    >>> from rdinet_sklearn.dicom import Grid, structure_mask
    >>> rtstruct = Dataset()
    >>> rtstruct.SOPClassUID, rtstruct.SOPInstanceUID = RTStructureSetStorage, generate_uid()
    >>> rtstruct.Modality = "RTSTRUCT"
    >>> roi, contour, contours = Dataset(), Dataset(), Dataset()
    >>> roi.ROINumber, roi.ROIName = 1, "GTV_Mass_CT"
    >>> contour.ContourGeometricType = "CLOSED_PLANAR"
    >>> contour.ContourData = [0.5, 0.5, 2, 4.5, 0.5, 2, 4.5, 3.5, 2, 0.5, 3.5, 2]
    >>> contours.ReferencedROINumber, contours.ContourSequence = 1, [contour]
    >>> rtstruct.StructureSetROISequence, rtstruct.ROIContourSequence = [roi], [contours]
    >>> path = os.path.join(tempfile.mkdtemp(), "RS.dcm")
    >>> rtstruct.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=True)
    >>> grid = Grid((8, 6, 4), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> mask = structure_mask(path, ["re:GTV_Mass.*"], grid)
    >>> mask.shape, int(mask.sum()), int(mask[2].sum())
    ((4, 6, 8), 12, 12)
    """
    path = os.fspath(path)
    where = (row, column, path)
    structures = read_structures(path, row=row, column=column)
    kind = "SEG" if isinstance(structures, SegmentSet) else "RTSTRUCT"
    theirs = structures.frame_of_reference
    if frame_of_reference and theirs and theirs != frame_of_reference:
        raise CaseError(
            *where,
            f"the {kind} is on frame of reference {theirs}, the image on {frame_of_reference}: "
            "it was not drawn on this image",
        )
    digest = file_digest(path)
    cached = resolve_memory(memory).cache(
        _convert_cached, ignore=["path", "structures", "grid", "where"]
    )
    union = np.zeros(grid.shape, dtype=bool)
    for spec in specs:
        number = match_structure(spec, structures.names, where=where)
        key = (digest, grid.key(), number)
        mask = _CONVERTED.get(key)
        if mask is None:
            mask = cached(
                digest,
                grid.key(),
                number,
                path=path,
                structures=structures,
                grid=grid,
                where=where,
            )
            _CONVERTED.put(key, mask)
        union |= mask
    return union
