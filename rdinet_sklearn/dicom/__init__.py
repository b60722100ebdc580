"""DICOM in: RTSTRUCT and DICOM-SEG segmentations as masks, and a DICOM folder as a case table.

:func:`structure_mask` puts the named structures of an RTSTRUCT (contours filled by patient
coordinates, holes by the even-odd rule) or a DICOM-SEG (segments resampled by nearest
neighbour) on an image's grid; the case table's mask columns use it for any such file.
:func:`index_dicom` crawls a folder into a case table (``rdinet index``).
"""

from ._grid import Grid
from ._index import IndexReport, index_dicom
from ._structures import PATTERN_PREFIX, match_structure, segmentation_kind, structure_mask

__all__ = [
    "PATTERN_PREFIX",
    "Grid",
    "IndexReport",
    "index_dicom",
    "match_structure",
    "segmentation_kind",
    "structure_mask",
]
