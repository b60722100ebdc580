"""Clean-up of a predicted label map: keep the largest connected components per structure.

Connected components come from :func:`scipy.ndimage.label` (MONAI's
``KeepLargestConnectedComponent`` needs scikit-image or cuCIM, neither a dependency here).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# Face-connected neighbours only (6 in 3D): voxels touching at an edge or a corner are
# separate components, so two muscles that touch diagonally are not merged.
_FACE_CONNECTED = ndimage.generate_binary_structure(3, 1)


def keep_largest_components(classes, n_classes, keep):
    """Per class 1..n_classes-1, keep the ``keep`` largest connected components.

    Parameters
    ----------
    classes : ndarray of int, shape (z, y, x)
        Class index per voxel; 0 is background.
    n_classes : int
        Background plus structures.
    keep : int
        Components kept per structure (2 for bilateral structures such as one muscle in
        each orbit).

    Returns
    -------
    cleaned : ndarray, same shape and dtype; dropped components become background.
    """
    cleaned = classes.copy()
    for index in range(1, n_classes):
        components, sizes = _components(classes == index)
        if sizes.size <= keep:
            continue
        kept = np.argsort(sizes)[::-1][:keep] + 1
        cleaned[(components > 0) & ~np.isin(components, kept)] = 0
    return cleaned


def _components(structure):
    """Face-connected component labels of a binary array (0: outside) and their sizes."""
    components, _ = ndimage.label(structure, structure=_FACE_CONNECTED)
    return components, np.bincount(components.ravel())[1:]


def largest_component_sizes(structure, count):
    """Voxel counts of the ``count`` largest components, largest first; 0 for absent ones."""
    sizes = np.sort(_components(structure)[1])[::-1][:count]
    return np.pad(sizes, (0, count - sizes.size))
