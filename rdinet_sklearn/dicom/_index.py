"""``rdinet index``: a folder of DICOM files to a case table, with a report of what was skipped.

Each RTSTRUCT or DICOM-SEG is linked to its image series by the series it references; when
that series is not in the folder (real structure sets often reference the original series
of a cropped or re-exported copy), by the frame of reference and the patient, keeping the
series whose grid holds every contour (every SEG frame) inside it and on a slice plane.
Where several still fit, the series of the same study ID, then the same accession number,
is kept; if that leaves more than one, the segmentation is skipped as ambiguous rather than
guessed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import yaml

from .._atomic import atomic_path
from .._imaging import CaseError
from ._quiet import quiet_pydicom
from ._rtstruct import OUTSIDE_TOLERANCE, PLANE_TOLERANCE, StructureSet
from ._series import Skip, crawl, series_grid, series_problem, slices_by_folder
from ._structures import match_structure, read_structures

REPORT_COLUMNS = ["path", "patient_id", "structure", "reason"]


@dataclass
class IndexReport:
    """What :func:`index_dicom` found: the case table and every skipped item with its reason.

    Attributes
    ----------
    cases : DataFrame
        One row per segmented image series: ``patient_id``, ``modality``,
        ``series_description``, ``image`` (the series folder), ``mask`` and ``mask_rater2``
        (segmentation files).
    skipped : DataFrame
        Columns ``path``, ``patient_id``, ``structure`` and ``reason``.

    Parameters
    ----------
    cases : DataFrame
        The case table.
    skipped : DataFrame, default=empty
        What was left out.

    Examples
    --------
    >>> import os, tempfile
    >>> from rdinet_sklearn.dicom import index_dicom
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "notes.txt"), "w") as handle:
    ...     _ = handle.write("not DICOM")
    >>> report = index_dicom(folder)
    >>> report.skipped[["structure", "reason"]].to_dict("records")
    [{'structure': '', 'reason': 'not a DICOM file'}]
    """

    cases: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPORT_COLUMNS))


def _contours_fit(structures, grid):
    """Whether every contour lies on a slice plane of ``grid`` and inside it."""
    return all(
        _inside(grid, contour.points)
        for contours in structures.contours.values()
        for contour in contours
        if len(contour.points)
    )


def _inside(grid, points):
    """Whether ``points`` (n, 3, mm) lie inside ``grid`` and on its slice planes."""
    index = grid.continuous_index(points)
    depth = index[:, 2]
    on_planes = np.all(np.abs(depth - np.round(depth)) <= PLANE_TOLERANCE)
    inside = np.all(index >= -OUTSIDE_TOLERANCE) and np.all(
        index <= np.asarray(grid.size) - 1 + OUTSIDE_TOLERANCE
    )
    return bool(on_planes and inside)


def _segments_fit(segments, grid):
    """Whether the SEG's frames (the corners of every one) lie on slices of ``grid``."""
    try:
        geometry = segments.segmentation.get_volume_geometry()
    except (ValueError, RuntimeError, AttributeError):
        return False  # frames that form no regular volume: link by reference only
    slices, rows, columns = geometry.spatial_shape
    corners = np.array(
        [[k, r, c, 1.0] for k in range(slices) for r in (0, rows - 1) for c in (0, columns - 1)]
    )
    return _inside(grid, (corners @ np.asarray(geometry.affine).T)[:, :3])


def _candidates(segmentation, series, grids):
    """The image series a segmentation may belong to (one when the link is certain)."""
    structures = read_structures(segmentation.path)
    referenced = [uid for uid in structures.referenced_series if uid in series]
    if referenced:
        return referenced
    patient = segmentation.value("PatientID")
    same_frame = [
        uid
        for uid, entry in series.items()
        if uid in grids
        and entry.value("FrameOfReferenceUID") == (structures.frame_of_reference or "")
        and entry.value("PatientID") == patient
    ]
    fits = _contours_fit if isinstance(structures, StructureSet) else _segments_fit
    same_frame = [uid for uid in same_frame if fits(structures, grids[uid])]
    for attribute in ("StudyID", "AccessionNumber"):
        mine = segmentation.value(attribute)
        same = [uid for uid in same_frame if mine and series[uid].value(attribute) == mine]
        if same:
            same_frame = same
    return same_frame


def _usable_series(series, skips):
    listing = slices_by_folder(series)
    grids = {}
    for uid, entry in series.items():
        problem = series_problem(entry, listing[entry.folder])
        if problem:
            skips.append(Skip(entry.folder, entry.value("PatientID"), "", problem))
        else:
            grids[uid] = series_grid(entry)[0]
    return grids


def _missing_structures(path, roi_map, patient, skips):
    """Whether every ROI of ``roi_map`` picks exactly one structure of ``path``."""
    try:
        names = read_structures(path).names
    except CaseError as err:
        skips.append(Skip(path, patient, "", err.problem))
        return True
    missing = False
    for roi, spec in roi_map.items():
        try:
            match_structure(spec, names, where=(patient, "mask", path))
        except CaseError as err:
            skips.append(Skip(path, patient, f"{roi}: {spec}", err.problem))
            missing = True
    return missing


def _link(series, segmentations, grids, roi_map, skips):
    """{series UID: [segmentation paths]} of the segmentations that link to one series."""
    linked = {}
    for segmentation in segmentations:
        patient = segmentation.value("PatientID")
        try:
            found = _candidates(segmentation, series, grids)
        except CaseError as err:
            skips.append(Skip(segmentation.path, patient, "", err.problem))
            continue
        if not found:
            skips.append(Skip(segmentation.path, patient, "", "no image series for it"))
            continue
        if len(found) > 1:
            described = [series[uid].value("SeriesDescription") or uid for uid in found]
            skips.append(
                Skip(segmentation.path, patient, "", f"{len(found)} candidate series {described}")
            )
            continue
        if roi_map and _missing_structures(segmentation.path, roi_map, patient, skips):
            continue
        linked.setdefault(found[0], []).append(segmentation.path)
    return linked


PATH_COLUMNS = ("image", "mask", "mask_rater2")


def _rows(series, linked, modality, skips):
    rows = []
    for uid, paths in linked.items():
        entry = series[uid]
        if modality and entry.value("Modality") != modality:
            continue
        for extra in paths[2:]:
            skips.append(
                Skip(extra, entry.value("PatientID"), "", "a third segmentation of one series")
            )
        rows.append(
            {
                "patient_id": entry.value("PatientID"),
                "modality": entry.value("Modality"),
                "series_description": entry.value("SeriesDescription"),
                "image": entry.folder,
                "mask": paths[0],
                "mask_rater2": paths[1] if len(paths) > 1 else "",
            }
        )
    columns = ["patient_id", "modality", "series_description", "image", "mask", "mask_rater2"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["patient_id", "modality", "image"], ignore_index=True)


def _write_table(table, out):
    """The table as CSV, paths relative to its folder (read_case_table resolves them)."""
    folder = os.path.dirname(os.path.abspath(out))
    written = table.copy()
    for column in PATH_COLUMNS:
        written[column] = [os.path.relpath(p, folder) if p else "" for p in table[column]]
    with atomic_path(out) as partial:
        written.to_csv(partial, index=False)


@quiet_pydicom()
def index_dicom(folder, *, modality=None, roi_map=None, out=None):
    """Crawl a DICOM folder into a case table of segmented image series.

    Parameters
    ----------
    folder : str or path-like
        The folder, searched recursively. Each image series must sit in a folder without
        another image series; RTSTRUCT and DICOM-SEG files may be anywhere.
    modality : str, default=None
        Keep only image series of this DICOM modality (``"MR"``, ``"CT"``, ``"PT"``).
    roi_map : mapping of str to int or str, default=None
        ROI names to structure names, numbers or ``"re:<pattern>"``; a segmentation in which
        an ROI picks no structure, or several, is skipped and reported. Written beside the
        table as ``<name>_labels.yaml``.
    out : str or path-like, default=None
        Where to write the case table (CSV, paths relative to its folder); the skip report
        goes beside it as ``<name>_skipped.csv``.

    Returns
    -------
    report : IndexReport
        ``cases`` (absolute paths; the CSV holds them relative to its folder) and
        ``skipped``.

    Examples
    --------
    >>> import tempfile
    >>> from rdinet_sklearn.dicom import index_dicom
    >>> report = index_dicom(tempfile.mkdtemp())
    >>> len(report.cases), report.cases.columns.tolist()[:3]
    (0, ['patient_id', 'modality', 'series_description'])
    """
    folder = os.path.abspath(os.fspath(folder))
    if not os.path.isdir(folder):
        raise CaseError(None, "dicom", folder, "folder not found")
    series, segmentations, skips = crawl(folder)
    grids = _usable_series(series, skips)
    linked = _link(series, segmentations, grids, dict(roi_map or {}), skips)
    table = _rows(series, linked, modality, skips)
    skipped = pd.DataFrame([vars(skip) for skip in skips], columns=REPORT_COLUMNS)
    if out is not None:
        stem = os.path.splitext(os.fspath(out))[0]
        _write_table(table, out)
        with atomic_path(f"{stem}_skipped.csv") as partial:
            skipped.to_csv(partial, index=False)
        if roi_map:
            with atomic_path(f"{stem}_labels.yaml") as partial:
                partial.write_text(yaml.safe_dump(dict(roi_map), sort_keys=False))
    return IndexReport(table, skipped)
