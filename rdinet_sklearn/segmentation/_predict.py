"""One case's predicted label map: grid in, probabilities, back onto the image.

Also the minimum-volume check on a label map (:func:`small_structures`).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from ._grid import crop_grid, from_grid, reorient, to_grid
from ._postprocess import keep_largest_components, largest_component_sizes
from ._training import normalised


def predict_label_map(network, image, box, settings, *, where):
    """The label map of ``image`` (its own grid), the segmenter's network and post-processing.

    Parameters
    ----------
    network : torch.nn.Module
        In evaluation mode, on ``settings["device"]``.
    image : SimpleITK.Image
        Any orientation; reoriented to ``box.orientation`` for the network.
    box : Box
    settings : dict
        ``grid_size``, ``margin``, ``label_values`` (in class order), ``keep_components``,
        ``device`` (resolved) and ``precision``.
    where : dict
        ``row``, ``column`` and ``path`` of the image, for errors.

    Returns
    -------
    labels : SimpleITK.Image
        On ``image``'s grid, holding 0 and the label values.
    """
    from ._network import predict_probabilities

    oriented = reorient(image, box.orientation)
    grid = crop_grid(
        oriented, box, grid_size=settings["grid_size"], margin=settings["margin"], **where
    )
    volume = normalised(to_grid(oriented, grid), **where)
    probabilities = predict_probabilities(
        network, volume, device=settings["device"], precision=settings["precision"]
    )
    values = np.array([0, *settings["label_values"]])
    classes = keep_largest_components(
        from_grid(probabilities, grid, image), len(values), settings["keep_components"]
    )
    dtype = np.uint8 if values.max() <= np.iinfo(np.uint8).max else np.uint16
    labels = sitk.GetImageFromArray(values.astype(dtype)[classes])
    labels.CopyInformation(image)
    return labels


def small_structures(labels, structures, min_volume, parts=1):
    """Structures of the label map ``labels`` below ``min_volume`` mm^3, as ``"MR (3.1 mm3)"``.

    With ``parts`` > 1 (bilateral structures: one muscle per orbit), each of a structure's
    ``parts`` largest face-connected components must reach ``min_volume``, so a structure
    predicted in one orbit only is flagged too, as ``"MR (412.0 + 0.0 mm3)"``.
    """
    voxel = float(np.prod(labels.GetSpacing()))
    array = sitk.GetArrayViewFromImage(labels)
    small = []
    for name, value in structures.items():
        structure = array == value
        counts = (
            np.array([np.count_nonzero(structure)])
            if parts == 1
            else largest_component_sizes(structure, parts)
        )
        volumes = counts * voxel
        if volumes.min() < min_volume:
            small.append(f"{name} ({' + '.join(f'{v:.1f}' for v in volumes)} mm3)")
    return small
