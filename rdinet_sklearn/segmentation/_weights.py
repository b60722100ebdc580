"""The segmenter's weights file: network, box and structures in one local ``torch.save`` file.

Loaded with ``torch.load(weights_only=True)``, which unpickles tensors and plain containers
only, so a weights file cannot run code. Nothing is ever downloaded.
"""

from __future__ import annotations

import os

import numpy as np

from .._atomic import atomic_path
from ..exceptions import RdinetInputError

FORMAT = "rdinet-roi-segmenter-1"


class SegmenterWeightsError(RdinetInputError):
    """A ``weights`` file is missing, unreadable or does not fit the segmenter's parameters.

    Examples
    --------
    >>> from rdinet_sklearn import ROISegmenter
    >>> from rdinet_sklearn.segmentation import SegmenterWeightsError
    >>> import pandas as pd
    >>> cases = pd.DataFrame({"image": ["P1.nii.gz"]}, index=["P1"])
    >>> try:
    ...     ROISegmenter(weights="no/such/unet.pt").fit(cases)
    ... except SegmenterWeightsError as err:
    ...     print(err)
    ROISegmenter: weights file 'no/such/unet.pt' not found
    """


def save_weights(path, *, state, box, structures, grid_size, channels):
    """Write the network's ``state`` (numpy arrays) and what it was trained with."""
    import torch

    payload = {
        "format": FORMAT,
        "state_dict": {name: torch.as_tensor(value) for name, value in state.items()},
        "box": box.as_dict(),
        "structures": dict(structures),
        "grid_size": list(grid_size),
        "channels": list(channels),
    }
    with atomic_path(path) as partial:
        torch.save(payload, partial)


def load_weights(path):
    """``(state, saved)``: numpy weights and, for a :func:`save_weights` file, its settings.

    ``saved`` is None for a bare ``state_dict`` (a network trained elsewhere).
    """
    import torch

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SegmenterWeightsError(f"ROISegmenter: weights file {path!r} not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise SegmenterWeightsError(
            f"ROISegmenter: weights file {path!r} cannot be read ({exc})"
        ) from exc
    if not isinstance(payload, dict) or not payload:
        raise SegmenterWeightsError(f"ROISegmenter: weights file {path!r} holds no weights")
    saved = None
    if payload.get("format") == FORMAT:
        saved = {key: payload[key] for key in ("box", "structures", "grid_size", "channels")}
        payload = payload["state_dict"]
    state = {name: torch.as_tensor(value).numpy() for name, value in payload.items()}
    return state, saved


def check_saved(saved, own, path):
    """Refuse a weights file trained with other structures, grid or channels than ``own``."""
    differ = [
        f"{key}={_plain(saved[key])!r} (here {_plain(own[key])!r})"
        for key in own
        if _plain(saved[key]) != _plain(own[key])
    ]
    if differ:
        raise SegmenterWeightsError(
            f"ROISegmenter: weights file {path!r} was trained with {', '.join(differ)}"
        )


def _plain(value):
    if isinstance(value, dict):
        return {str(k): int(v) for k, v in value.items()}
    return [int(v) for v in np.ravel(value)]
