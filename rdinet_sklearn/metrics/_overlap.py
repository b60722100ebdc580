"""Agreement of a predicted label map with a manual one, structure by structure."""

from __future__ import annotations

import warnings

import numpy as np
import SimpleITK as sitk


def mask_overlap(predicted_path, manual_path, value):
    """Dice and 95th-percentile Hausdorff distance (mm) of one structure of two label maps.

    Parameters
    ----------
    predicted_path, manual_path : str or path-like
        Label maps on the same grid (e.g. a :class:`~rdinet_sklearn.ROISegmenter` output and
        the manual mask it replaces).
    value : int
        The structure's label value.

    Returns
    -------
    dice : float
        ``2|A & B| / (|A| + |B|)`` (0 when both are empty).
    hd95 : float
        The symmetric 95th-percentile surface distance in mm (MONAI's), NaN when either
        structure is empty.

    Examples
    --------
    >>> import tempfile, numpy as np, SimpleITK as sitk
    >>> from rdinet_sklearn.metrics import mask_overlap
    >>> folder = tempfile.mkdtemp()
    >>> a, b = np.zeros((4, 8, 8), np.uint8), np.zeros((4, 8, 8), np.uint8)
    >>> a[1:3, 2:6, 2:6], b[1:3, 2:6, 3:7] = 3, 3
    >>> for name, array in (("a", a), ("b", b)):
    ...     sitk.WriteImage(sitk.GetImageFromArray(array), f"{folder}/{name}.nii.gz")
    >>> dice, hd95 = mask_overlap(f"{folder}/a.nii.gz", f"{folder}/b.nii.gz", 3)
    >>> round(dice, 2), round(hd95, 2)
    (0.75, 1.0)
    """
    import torch  # only here: reading the maps does not need it
    from monai.metrics import compute_hausdorff_distance

    predicted, manual = sitk.ReadImage(str(predicted_path)), sitk.ReadImage(str(manual_path))
    a = sitk.GetArrayFromImage(predicted) == value
    b = sitk.GetArrayFromImage(manual) == value
    dice = float(2 * np.sum(a & b) / max(np.sum(a) + np.sum(b), 1))
    if not a.any() or not b.any():
        return dice, float("nan")
    spacing = tuple(reversed(manual.GetSpacing()))  # array order (z, y, x)
    with warnings.catch_warnings():
        # MONAI 1.5/1.6 passes a deprecated argument to its own helper
        warnings.simplefilter("ignore", FutureWarning)
        hd95 = compute_hausdorff_distance(
            torch.from_numpy(a)[None, None],
            torch.from_numpy(b)[None, None],
            percentile=95,
            spacing=spacing,
        )
    return dice, float(hd95)
