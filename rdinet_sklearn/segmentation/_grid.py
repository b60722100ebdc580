"""The segmenter's working grid: one box per image, learned from the training masks.

No detector finds the orbits: :func:`learn_box` takes the union of the training masks'
extents, as fractions of each image's field of view in one orientation (the first training
image's), so the box follows the anatomy however the scanner placed the head's origin.
:func:`crop_grid` turns the box into a grid for one image: the box's voxels plus ``margin``
millimetres on every side, resampled to ``grid_size`` voxels over the same physical extent.
Images in another orientation are reoriented first (:func:`reorient`; physical positions
are unchanged, so predictions map back onto the original grid by physical resampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from .._imaging import CaseError

FOV_TOLERANCE = 1.5
"""How much smaller or larger than every training image's field of view (per axis) a new
image may be before it is refused: beyond that, the learned box would not hold the anatomy."""


def orientation_code(image):
    """Three-letter orientation of ``image`` (``"LIP"`` for the synthetic coronal stacks)."""
    return sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(image.GetDirection())


def reorient(image, code):
    """``image`` with its axes permuted/flipped to orientation ``code``, same physical space."""
    return image if orientation_code(image) == code else sitk.DICOMOrient(image, code)


def field_of_view(image):
    """Physical extent (mm) along each array axis (x, y, z)."""
    return np.asarray(image.GetSize()) * np.asarray(image.GetSpacing())


@dataclass(frozen=True)
class Box:
    """Fractions of the field of view (x, y, z) holding every training structure, and the
    training images' field-of-view range, used to refuse images the box does not fit."""

    lower: tuple
    upper: tuple
    fov_min: tuple
    fov_max: tuple
    orientation: str

    def as_dict(self):
        return {
            "lower": list(self.lower),
            "upper": list(self.upper),
            "fov_min": list(self.fov_min),
            "fov_max": list(self.fov_max),
            "orientation": self.orientation,
        }

    @classmethod
    def from_dict(cls, values):
        return cls(
            tuple(values["lower"]),
            tuple(values["upper"]),
            tuple(values["fov_min"]),
            tuple(values["fov_max"]),
            str(values["orientation"]),
        )


def learn_box(masks, orientation):
    """The union of the masks' foreground extents, as fractions of each field of view.

    Parameters
    ----------
    masks : list of SimpleITK.Image
        Binary (or label) maps, any orientation; non-zero voxels are foreground.
    orientation : str
        The orientation the fractions refer to.

    Returns
    -------
    box : Box
    """
    lower, upper, fovs = [], [], []
    for mask in masks:
        mask = reorient(mask, orientation)
        size = np.asarray(mask.GetSize())
        z, y, x = np.nonzero(sitk.GetArrayViewFromImage(mask))
        lower.append(np.array([x.min(), y.min(), z.min()]) / size)
        upper.append((np.array([x.max(), y.max(), z.max()]) + 1) / size)
        fovs.append(field_of_view(mask))
    return Box(
        tuple(np.min(lower, axis=0).tolist()),
        tuple(np.max(upper, axis=0).tolist()),
        tuple(np.min(fovs, axis=0).tolist()),
        tuple(np.max(fovs, axis=0).tolist()),
        orientation,
    )


def crop_grid(image, box, *, grid_size, margin, row, column, path):
    """A reference image (zeros) on the segmenter's grid for ``image``.

    Parameters
    ----------
    image : SimpleITK.Image
        Already reoriented to ``box.orientation``.
    box : Box
    grid_size : tuple of 3 int
        Grid voxels (slices, rows, columns).
    margin : float
        Millimetres added on each side of the box (rounded up to whole voxels).
    row, column, path
        Where the image comes from, for the error when its field of view does not fit.

    Returns
    -------
    grid : SimpleITK.Image
        Float32 zeros whose origin, spacing and direction place it over the box.
    """
    fov = field_of_view(image)
    low, high = np.asarray(box.fov_min) / FOV_TOLERANCE, np.asarray(box.fov_max) * FOV_TOLERANCE
    if np.any(fov < low) or np.any(fov > high):
        raise CaseError(
            row,
            column,
            path,
            f"field of view {tuple(np.round(fov, 1))} mm (x, y, z) is far outside the "
            f"segmenter's training range {tuple(np.round(box.fov_min, 1))} to "
            f"{tuple(np.round(box.fov_max, 1))} mm (tolerance x{FOV_TOLERANCE}); its learned "
            "box would not hold the structures",
        )
    size = np.asarray(image.GetSize())
    spacing = np.asarray(image.GetSpacing())
    pad = np.array([math.ceil(margin / s - 1e-9) for s in spacing])
    lower = np.maximum(np.floor(np.asarray(box.lower) * size) - pad, 0)
    upper = np.minimum(np.ceil(np.asarray(box.upper) * size) + pad, size)  # exclusive
    out_size = np.asarray(grid_size[::-1], dtype=float)  # (x, y, z)
    out_spacing = (upper - lower) * spacing / out_size
    # the grid covers the box's voxel edges: its first centre sits half an output voxel in
    first_centre = lower - 0.5 + 0.5 * out_spacing / spacing
    origin = image.TransformContinuousIndexToPhysicalPoint([float(v) for v in first_centre])
    grid = sitk.Image([int(v) for v in out_size], sitk.sitkFloat32)
    grid.SetOrigin(origin)
    grid.SetSpacing([float(v) for v in out_spacing])
    grid.SetDirection(image.GetDirection())
    return grid


def to_grid(image, grid, *, labels=False):
    """``image`` resampled onto ``grid`` as an array (z, y, x): linear, or nearest for labels."""
    resampled = sitk.Resample(
        image,
        grid,
        sitk.Transform(),
        sitk.sitkNearestNeighbor if labels else sitk.sitkLinear,
        0.0,
        image.GetPixelID() if labels else sitk.sitkFloat32,
    )
    return sitk.GetArrayFromImage(resampled)


def from_grid(probabilities, grid, reference):
    """Class index map on ``reference``'s grid from class probabilities on ``grid``.

    Each class's probability is resampled linearly (smoother boundaries than resampling the
    labels); outside the grid only the background (class 0) is probable.

    Parameters
    ----------
    probabilities : ndarray of shape (n_classes, slices, rows, columns)
    grid : SimpleITK.Image
        The grid the probabilities live on.
    reference : SimpleITK.Image
        The image whose grid the result takes (any orientation).

    Returns
    -------
    classes : ndarray of shape reference's (z, y, x), dtype uint8
    """
    channels = []
    for index, channel in enumerate(probabilities):
        image = sitk.GetImageFromArray(np.ascontiguousarray(channel, dtype=np.float32))
        image.CopyInformation(grid)
        resampled = sitk.Resample(
            image,
            reference,
            sitk.Transform(),
            sitk.sitkLinear,
            1.0 if index == 0 else 0.0,
            sitk.sitkFloat32,
        )
        channels.append(sitk.GetArrayFromImage(resampled))  # a view dies with the image
    return np.argmax(np.stack(channels), axis=0).astype(np.uint8)
