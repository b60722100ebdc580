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

TRAINING_VERSION = "2"
"""Part of every trained network's cache key; raised when training changes what it learns
(2: class-fraction targets, per-structure gain, cosine lr), so a disk cache never hands back
a network of the old code."""


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


def class_fractions(mask, grid, label_values):
    """Fraction of each class per grid voxel (background first), shape (n_classes, z, y, x).

    Each structure's indicator is resampled linearly onto the grid rather than its labels by
    nearest neighbour: the grid is coarser than the image (about 1 mm against 0.5 mm in
    plane), and nearest-neighbour targets move a boundary by up to half a grid voxel, which
    on a thin muscle (a lateral rectus can be under 2 mm thick) costs more Dice than the
    network ever loses. Trained on fractions, the softmax learns where within a grid voxel a
    boundary lies, and the linear resampling of the probabilities back onto the image
    (:func:`._grid.from_grid`) puts it there: with perfect predictions the round trip keeps
    a Dice of 0.94-0.97 per rectus on the synthetic cohort at the default grid, against
    0.88-0.91 with nearest-neighbour targets (20 patients' manual masks).
    """
    labels = label_array(mask)
    fractions = []
    for value in label_values:
        indicator = sitk.GetImageFromArray((labels == value).astype(np.float32))
        indicator.CopyInformation(mask)
        fractions.append(to_grid(indicator, grid))
    structures = np.clip(np.stack(fractions), 0.0, 1.0)
    background = np.clip(1.0 - structures.sum(axis=0), 0.0, 1.0)
    return np.concatenate([background[None], structures]).astype(np.float32)


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
    volumes, targets, zero_levels = [], [], []
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
        signal = to_grid(image, grid)
        volumes.append(normalised(signal, row=row, column=columns[0], path=path))
        zero_levels.append(-float(signal.mean()) / float(signal.std()))
        # float16 halves the memory of the fractions (117 cases x 5 classes at the default
        # grid: 108 MB); each batch is cast back to float32 for the loss
        targets.append(class_fractions(mask, grid, label_values).astype(np.float16))
    state, epoch_seconds = train_network(
        np.stack(volumes),
        np.stack(targets),
        zero_levels=np.asarray(zero_levels, dtype=np.float32),
        n_classes=len(structures) + 1,
        settings={**settings, "device": device},
        seed=seed,
    )
    return {"state": state, "box": box.as_dict(), "epoch_seconds": epoch_seconds}
