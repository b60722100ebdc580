"""DICOM-SEG segments to binary masks on an image's grid, read with highdicom.

highdicom builds each segment's volume with its own affine (whatever order the frames are
stored in, BINARY, FRACTIONAL or LABELMAP); SimpleITK then resamples it by nearest neighbour
onto the image's grid, so a SEG stored on a coarser, cropped or differently ordered grid
still lands on the right voxels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pydicom
import SimpleITK as sitk

from .._imaging import CaseError


@dataclass(frozen=True)
class SegmentSet:
    """The segments of a DICOM-SEG file: numbers and labels, and the file as highdicom read it."""

    names: dict  # segment number -> segment label
    frame_of_reference: str | None
    referenced_series: tuple
    segmentation: object  # highdicom.seg.Segmentation


def _read(path, where):
    import highdicom as hd  # half a second to import: only when a SEG is read

    try:
        return hd.seg.segread(path)
    except (OSError, ValueError, AttributeError, pydicom.errors.InvalidDicomError) as exc:
        raise CaseError(*where, f"cannot be read as a DICOM-SEG ({exc})") from exc


def read_segment_set(path, *, row=None, column="mask"):
    """The :class:`SegmentSet` of a DICOM-SEG file, or a :class:`CaseError` naming it."""
    seg = _read(path, (row, column, path))
    # Segment 0 of a LABELMAP SEG is the background, not a structure.
    names = {
        int(item.SegmentNumber): str(item.SegmentLabel)
        for item in seg.SegmentSequence
        if int(item.SegmentNumber) != 0
    }
    series = tuple(str(item.SeriesInstanceUID) for item in seg.get("ReferencedSeriesSequence", []))
    frame = seg.get("FrameOfReferenceUID")
    return SegmentSet(names, str(frame) if frame else None, series, seg)


def _segment_image(seg, number):
    """One segment as a SimpleITK image on the SEG's own grid."""
    volume = seg.get_volume(segment_numbers=[number], combine_segments=False, relabel=False)
    affine = np.asarray(volume.affine, dtype=np.float64)
    # highdicom's array axes (0, 1, 2) are SimpleITK's (z, y, x): x is the last column.
    columns = affine[:3, [2, 1, 0]]
    spacing = np.linalg.norm(columns, axis=0)
    image = sitk.GetImageFromArray((np.asarray(volume.array)[..., 0] > 0).astype(np.uint8))
    image.SetSpacing(spacing.tolist())
    image.SetOrigin(affine[:3, 3].tolist())
    image.SetDirection((columns / spacing).ravel().tolist())
    return image


def segment_mask(seg, number, grid, *, name, where):
    """The binary mask (z, y, x) of segment ``number`` of a SEG (as highdicom read it),
    resampled onto ``grid``."""
    try:
        source = _segment_image(seg, number)
    except (ValueError, RuntimeError) as exc:
        raise CaseError(*where, f"segment {name!r} cannot be put on a grid ({exc})") from exc
    reference = grid.image(np.zeros(grid.shape, dtype=np.uint8))
    resampled = sitk.Resample(source, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    mask = sitk.GetArrayFromImage(resampled).astype(bool)
    if not mask.any() and sitk.GetArrayViewFromImage(source).any():
        raise CaseError(
            *where,
            f"segment {name!r} lies outside the image: the segmentation belongs to another "
            "image or a larger crop of it",
        )
    return mask
