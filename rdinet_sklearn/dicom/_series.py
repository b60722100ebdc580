"""A folder of DICOM files grouped into image series and segmentation files, headers only.

Each image series is checked before it may enter a case table: one patient, no other image
series in its folder (the case table names the folder, which
:func:`~rdinet_sklearn._imaging.read_image` reads as one series), no duplicated and no
missing slices (even spacing along the slice normal). What fails is skipped with its reason.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pydicom

from ._grid import Grid
from ._structures import SEGMENTATION_MODALITIES

SPACING_TOLERANCE = 0.01
"""Largest relative difference between slice gaps of one series (more: missing slices)."""


@dataclass
class Series:
    """One image series: its files and the header fields the index needs."""

    uid: str
    files: list = field(default_factory=list)
    headers: list = field(default_factory=list)

    @property
    def first(self):
        return self.headers[0]

    def value(self, name, default=""):
        return str(self.first.get(name, default) or default)

    @property
    def folder(self):
        return os.path.dirname(self.files[0])


@dataclass
class Segmentation:
    """One RTSTRUCT or DICOM-SEG file and its header."""

    path: str
    header: object

    @property
    def kind(self):
        return str(self.header.Modality)

    def value(self, name, default=""):
        return str(self.header.get(name, default) or default)


@dataclass
class Skip:
    """One file, series or structure left out of the case table, and why."""

    path: str
    patient_id: str
    structure: str
    reason: str


def crawl(folder):
    """Image series (by Series Instance UID), segmentation files and skips of ``folder``."""
    series, segmentations, skips = {}, [], []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            try:
                header = pydicom.dcmread(path, stop_before_pixels=True)
                modality = str(header.Modality)
            except (OSError, AttributeError, pydicom.errors.InvalidDicomError):
                skips.append(Skip(path, "", "", "not a DICOM file"))
                continue
            if modality in SEGMENTATION_MODALITIES:
                segmentations.append(Segmentation(path, header))
            elif "ImagePositionPatient" in header and "SeriesInstanceUID" in header:
                uid = str(header.SeriesInstanceUID)
                entry = series.setdefault(uid, Series(uid))
                entry.files.append(path)
                entry.headers.append(header)
            else:
                patient = str(header.get("PatientID", ""))
                frames = int(header.get("NumberOfFrames", 1) or 1)
                reason = (
                    "a multi-frame image; rdinet index reads series of single-frame slices"
                    if frames > 1
                    else "not an image slice (no Image Position)"
                )
                skips.append(Skip(path, patient, "", reason))
    return series, segmentations, skips


def series_grid(entry):
    """The :class:`Grid` of a series from its headers, slices sorted along the normal."""
    orientation = np.asarray(entry.first.ImageOrientationPatient, dtype=np.float64)
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    positions = np.asarray([h.ImagePositionPatient for h in entry.headers], dtype=np.float64)
    depth = positions @ normal
    order = np.argsort(depth)
    gaps = np.diff(depth[order])
    spacing_z = float(np.median(gaps)) if len(gaps) else 1.0
    spacing_y, spacing_x = (float(v) for v in entry.first.PixelSpacing)
    direction = np.column_stack([row, column, normal]).ravel()
    size = (int(entry.first.Columns), int(entry.first.Rows), len(entry.files))
    grid = Grid(
        size, (spacing_x, spacing_y, spacing_z), tuple(positions[order[0]]), tuple(direction)
    )
    return grid, gaps


def series_problem(entry, folder_slices):
    """Why a series cannot be a case-table image, or None.

    ``folder_slices`` are the image slices (of any series) in the series' folder. Other
    DICOM files may share the folder (an RT export puts the structure set beside the CT):
    the series reader ignores them; a second image series would not be.
    """
    patients = sorted({str(h.get("PatientID", "")) for h in entry.headers})
    if len(patients) > 1:
        return f"one series holds several patients {patients}"
    if set(folder_slices) != set(entry.files):
        return "its folder holds another image series too; give each series a folder of its own"
    try:
        _, gaps = series_grid(entry)
    except (AttributeError, ValueError, TypeError) as exc:
        return f"its slice geometry cannot be read ({exc})"
    if len(gaps) and np.min(gaps) < SPACING_TOLERANCE * max(np.max(gaps), 1e-6):
        return "duplicated slices (two at the same position)"
    if len(gaps) and np.ptp(gaps) > SPACING_TOLERANCE * np.median(gaps):
        return f"uneven slice spacing ({np.min(gaps):.3g} to {np.max(gaps):.3g} mm): missing slices"
    return None


def slices_by_folder(series):
    """The image slices of every series, grouped by the folder they are in."""
    listing = defaultdict(list)
    for entry in series.values():
        for path in entry.files:
            listing[os.path.dirname(path)].append(path)
    return listing
