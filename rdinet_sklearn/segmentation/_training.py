"""From training cases to a trained network: read, learn the box, resample, train.

:func:`fit_network` is a pure function of the training files' content and the settings,
which is what lets :class:`~rdinet_sklearn.segmentation.ROISegmenter` cache it per training
fold (joblib keys it on the digests; the paths are ignored arguments).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from .._imaging import CaseError, geometry_mismatches, label_array, read_image
from ._grid import crop_grid, learn_box, orientation_code, reorient, to_grid


def normalised(array, *, row, column, path):
    """z-score of the grid volume: scanners' intensity scales differ, the anatomy does not."""
    mean, std = float(array.mean()), float(array.std())
    if not np.isfinite(mean) or std <= 1e-6 * max(1.0, abs(mean)):
        raise CaseError(row, column, path, "intensity is constant or not finite inside the box")
    return ((array - mean) / std).astype(np.float32)


def foreground(mask, label_values):
    """Binary image (uint8) of the voxels holding any of ``label_values``, same grid."""
    binary = sitk.GetImageFromArray(np.isin(label_array(mask), label_values).astype(np.uint8))
    binary.CopyInformation(mask)
    return binary


def class_map(labels, label_values):
    """Class index per voxel: 0 background, i + 1 for ``label_values[i]``; others ignored."""
    classes = np.zeros(labels.shape, dtype=np.int64)
    for index, value in enumerate(label_values, start=1):
        classes[labels == value] = index
    return classes


def _read_pair(image_path, mask_path, *, row, columns):
    image = read_image(image_path, row=row, column=columns[0])
    mask = read_image(mask_path, row=row, column=columns[1])
    mismatch = geometry_mismatches(image, mask)
    if mismatch:
        raise CaseError(row, columns[1], mask_path, f"grid differs from image: {mismatch[0]}")
    return image, mask


def fit_network(case_digests, structures, settings, seed, *, images, masks, rows, columns, device):
    """Learn the box and train the network on the cases; cache key: all but the keywords.

    Parameters
    ----------
    case_digests : list of (str, str)
        Content digests of each case's image and mask (the cache key; unused here).
    structures : dict of str to int
        Structure names to label values, in class order.
    settings : dict
        ``grid_size``, ``margin`` and the training settings of
        :func:`._network.train_network` but ``device``.
    seed : int
        Training seed.
    images, masks, rows : list
        Each case's image path, mask path and case-table row.
    columns : tuple of 2 str
        The image and mask columns, for error messages.
    device : str
        Torch device to train on (``"auto"``: a GPU when visible).

    Returns
    -------
    result : dict
        ``state`` (numpy weights), ``box`` (:meth:`Box.as_dict`) and ``epoch_seconds``.
    """
    from ._network import train_network

    pairs = [
        _read_pair(i, m, row=r, columns=columns)
        for i, m, r in zip(images, masks, rows, strict=True)
    ]
    label_values = list(structures.values())
    orientation = orientation_code(pairs[0][0])
    box = learn_box([foreground(mask, label_values) for _, mask in pairs], orientation)
    volumes, targets = [], []
    for (image, mask), row, path in zip(pairs, rows, images, strict=True):
        image, mask = reorient(image, orientation), reorient(mask, orientation)
        grid = crop_grid(
            image,
            box,
            grid_size=settings["grid_size"],
            margin=settings["margin"],
            row=row,
            column=columns[0],
            path=path,
        )
        volumes.append(normalised(to_grid(image, grid), row=row, column=columns[0], path=path))
        targets.append(class_map(to_grid(mask, grid, labels=True), label_values))
    state, epoch_seconds = train_network(
        np.stack(volumes),
        np.stack(targets),
        n_classes=len(structures) + 1,
        settings={**settings, "device": device},
        seed=seed,
    )
    return {"state": state, "box": box.as_dict(), "epoch_seconds": epoch_seconds}
