"""The image grid a segmentation is put on: patient coordinates to voxel indices and back.

SimpleITK describes a grid by size, spacing, origin and direction; a header-only reader
carries the same four, so a structure can be rasterised for :func:`validate_case_table`
without reading the image's voxels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class Grid:
    """Size (x, y, z), spacing (mm), origin (mm) and direction cosines of an image.

    Parameters
    ----------
    size : tuple of int
        Voxels along x, y and z (SimpleITK's order).
    spacing : tuple of float
        Voxel size in mm along x, y and z.
    origin : tuple of float
        Patient coordinates (mm) of the first voxel's centre.
    direction : tuple of float
        The 3 x 3 direction cosines, row-major (SimpleITK's ``GetDirection()``).

    Examples
    --------
    >>> import SimpleITK as sitk
    >>> from rdinet_sklearn.dicom import Grid
    >>> image = sitk.Image(8, 6, 4, sitk.sitkInt16)
    >>> image.SetSpacing((0.5, 0.5, 3.0))
    >>> grid = Grid.of(image)
    >>> grid.shape
    (4, 6, 8)
    >>> grid.continuous_index([[1.0, 1.5, 6.0]]).tolist()
    [[2.0, 3.0, 2.0]]
    """

    size: tuple
    spacing: tuple
    origin: tuple
    direction: tuple

    @classmethod
    def of(cls, image):
        """The grid of a SimpleITK image or header-only reader."""
        return cls(
            tuple(int(v) for v in image.GetSize()),
            tuple(float(v) for v in image.GetSpacing()),
            tuple(float(v) for v in image.GetOrigin()),
            tuple(float(v) for v in image.GetDirection()),
        )

    @property
    def shape(self):
        """The numpy shape (z, y, x) of an array on this grid."""
        return self.size[::-1]

    def key(self):
        """The grid rounded to 1e-4 mm: part of a converted mask's cache key."""
        values = self.spacing + self.origin + self.direction
        return self.size + tuple(round(v, 4) for v in values)

    def continuous_index(self, points):
        """Continuous voxel indices (x, y, z) of patient coordinates ``points`` (n, 3), in mm."""
        direction = np.asarray(self.direction).reshape(3, 3)
        offsets = np.asarray(points, dtype=np.float64) - np.asarray(self.origin)
        # direction is orthonormal: its transpose is its inverse.
        return offsets @ direction / np.asarray(self.spacing)

    def image(self, array):
        """A uint8 SimpleITK image of ``array`` (z, y, x) on this grid."""
        image = sitk.GetImageFromArray(np.asarray(array, dtype=np.uint8))
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image
