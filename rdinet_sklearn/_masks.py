"""One reader for every mask cell of a case table: label map, RTSTRUCT or DICOM-SEG.

The choice is made here, at the case-table layer, so that the image readers below
(:mod:`rdinet_sklearn._imaging`) never depend on :mod:`rdinet_sklearn.dicom`. A label map is
read as an image on the image's grid and the ROI is the union of its ``labels`` values; an
RTSTRUCT or SEG is converted structure by structure onto the image's grid (contours by
patient coordinates, segments by nearest neighbour) and the ROI is the union of the named
structures. Either way the result is one binary (uint8) image on the image's grid.
"""

from __future__ import annotations

import os

import numpy as np
import SimpleITK as sitk

from ._imaging import (
    CaseError,
    geometry_mismatches,
    is_missing_path,
    label_array,
    labels_present,
    read_image,
    roi_mask,
    roi_size_problem,
)


def is_segmentation(path):
    """Whether a mask cell names an RTSTRUCT or DICOM-SEG file (rather than a label map)."""
    if is_missing_path(path) or not isinstance(path, str | os.PathLike):
        return False
    # Deferred, as every DICOM import here: pydicom and highdicom load only when a mask
    # cell is read, not with the case-table module.
    from .dicom._structures import segmentation_kind

    return segmentation_kind(path) is not None


def roi_key(label_values):
    """The label values in a canonical order, for cache keys (integers first, then names)."""
    return tuple(sorted(label_values, key=lambda v: (isinstance(v, str), v)))


def _label_map_values(label_values, where):
    names = [v for v in label_values if isinstance(v, str)]
    if names:
        raise CaseError(
            *where,
            f"labels {names} name structures, but this mask is a label map: give its integer "
            "label values, or an RTSTRUCT or DICOM-SEG file",
        )
    return label_values


def _structure_roi(image, mask_path, label_values, *, image_path, row, column, memory):
    from .dicom._grid import Grid
    from .dicom._structures import frame_of_reference_of, structure_mask

    grid = Grid.of(image)
    mask = structure_mask(
        mask_path,
        label_values,
        grid,
        frame_of_reference=frame_of_reference_of(image_path),
        row=row,
        column=column,
        memory=memory,
    )
    if not mask.any():
        raise CaseError(
            row, column, mask_path, f"structures {list(label_values)} hold no voxel of the image"
        )
    return grid.image(mask)


def read_roi(
    image,
    mask_path,
    label_values,
    *,
    image_path=None,
    row=None,
    column="mask",
    tolerance=1e-3,
    memory=None,
    require_all=True,
):
    """The binary ROI (uint8 SimpleITK image on ``image``'s exact grid) of one mask cell.

    Parameters
    ----------
    image : SimpleITK.Image or SimpleITK.ImageFileReader
        The case's image (a header-only reader is enough).
    mask_path : str or path-like
        A label map, an RTSTRUCT file or a DICOM-SEG file.
    label_values : tuple of int or str
        Label values (label map), or structure numbers, names or ``"re:<pattern>"``
        (RTSTRUCT, SEG), whose union is the ROI.
    image_path : str or path-like, default=None
        The image's file or DICOM folder: a segmentation on another frame of reference is
        refused.
    row, column : hashable, str
        The case-table cell, for error messages.
    tolerance : float, default=1e-3
        Allowed grid difference (mm, direction cosines) between a label map and the image.
    memory : None, str or joblib.Memory, default=None
        Disk cache for converted RTSTRUCT / SEG masks.
    require_all : bool, default=True
        Whether every label value of a label map must occur (else: at least one). Every
        structure named for an RTSTRUCT / SEG must always exist.

    Returns
    -------
    roi : SimpleITK.Image

    Raises
    ------
    CaseError
        Naming the row, the mask file and (for RTSTRUCT / SEG) the structure.
    """
    where = (row, column, mask_path)
    if is_segmentation(mask_path):
        return _structure_roi(
            image,
            mask_path,
            label_values,
            image_path=image_path,
            row=row,
            column=column,
            memory=memory,
        )
    label_values = _label_map_values(label_values, where)
    mask = read_image(mask_path, row=row, column=column)
    mismatches = geometry_mismatches(image, mask, tolerance=tolerance)
    if mismatches:
        raise CaseError(*where, f"grid differs from the image's: {'; '.join(mismatches)}")
    present = labels_present(mask, row=row, column=column, path=mask_path)
    absent = sorted(set(label_values) - present)
    if not require_all and present & set(label_values):
        absent = []
    if absent:
        raise CaseError(
            *where, f"ROI labels {absent} absent (labels found: {sorted(present) or 'none'})"
        )
    roi = roi_mask(mask, label_values, row=row, column=column, path=mask_path)
    # Within tolerance the grids are the same; the image's exact grid spares pyradiomics'
    # much stricter check an obscure ITK failure.
    roi.CopyInformation(image)
    return roi


def mask_problems(
    image, mask_path, wanted, *, image_path=None, row=None, column="mask", tolerance=1e-3
):
    """Every problem of one mask cell, for :func:`validate_case_table` (empty when fine).

    ``wanted`` maps structure names to label values (or structure specs); each absent one
    is named.
    """
    where = (row, column, mask_path)
    if is_segmentation(mask_path):
        if image is None:
            return []  # the image's own problem is reported; there is no grid to put it on
        problems = []
        for name, spec in wanted.items():
            try:
                roi = read_roi(
                    image, mask_path, (spec,), image_path=image_path, row=row, column=column
                )
            except CaseError as err:
                problems.append(f"{err} [ROI {name!r}]")
                continue
            small = roi_size_problem(sitk.GetArrayViewFromImage(roi) > 0)
            if small:
                problems.append(str(CaseError(*where, f"structure {name!r} {small}")))
        return problems
    try:
        _label_map_values(tuple(wanted.values()), where)
        mask = read_image(mask_path, row=row, column=column)
    except CaseError as err:
        return [str(err)]
    problems = []
    if image is not None:
        for mismatch in geometry_mismatches(image, mask, tolerance=tolerance):
            problems.append(str(CaseError(*where, f"grid differs from image: {mismatch}")))
    try:
        labels = label_array(mask, row=row, column=column, path=mask_path)
    except CaseError as err:
        return [*problems, str(err)]
    return problems + _structure_problems(labels, wanted, where)


def _structure_problems(labels, wanted, where):
    """Absent and too-small structures of one label map (``labels``: its integer array)."""
    present = {int(v) for v in np.unique(labels) if v != 0}
    absent = {name: value for name, value in wanted.items() if value not in present}
    problems = []
    if absent:
        found = sorted(present) or "none"
        problems.append(str(CaseError(*where, f"labels {absent} absent (labels found: {found})")))
    for name, value in wanted.items():
        small = value in present and roi_size_problem(labels == value)
        if small:
            problems.append(str(CaseError(*where, f"structure {name!r} (label {value}) {small}")))
    return problems
