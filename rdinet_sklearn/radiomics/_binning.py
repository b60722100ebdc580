"""IBSI fixed-bin-size discretisation for pyradiomics: bins start at the re-segmentation bound.

With a fixed bin width ``w`` and a re-segmentation range ``[L, U]``, IBSI 1 numbers the bins
from the range's lower bound, ``floor((x - L) / w) + 1``. pyradiomics numbers them from the
bin holding the ROI's minimum, ``floor(x / w) - floor(min / w) + 1``. The texture features
that use the grey level itself (joint and sum average, autocorrelation, the high/low
grey-level emphases, busyness) then differ, e.g. on the IBSI CT phantom's configuration C
the joint average is 37.0 instead of 39.0 (the ROI minimum lies two bins above -1000 HU).

Shifting the image cannot fix this: pyradiomics' first bin always holds the ROI's minimum,
whatever the offset. pyradiomics takes no bin edges as a setting, so :func:`range_start_bins`
swaps its ``getBinEdges`` (which every feature class reaches through ``binImage``) for the
IBSI edges while one extraction runs. The swap is a wrapper installed once; it acts only in
the thread that entered the context, so other pyradiomics users in the process are untouched.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np
from radiomics import imageoperations

_ACTIVE = threading.local()
_PYRADIOMICS_BIN_EDGES = imageoperations.getBinEdges


def starts_bins_at_range(settings) -> bool:
    """True if these settings discretise with a fixed bin width inside an absolute range."""
    options = settings["setting"]
    bounds = options.get("resegmentRange")
    return (
        bool(bounds)
        and options.get("binCount") is None
        and options.get("resegmentMode", "absolute") == "absolute"
    )


def ibsi_bin_edges(values, lower, width):
    """Bin edges ``lower, lower + w, ...`` past ``max(values)`` (all bins half-open)."""
    return np.arange(lower, np.max(values) + 2 * width, width)


def _bin_edges(parameterValues, **kwargs):  # noqa: N803 - pyradiomics' own argument name
    lower = getattr(_ACTIVE, "lower", None)
    if lower is None:
        return _PYRADIOMICS_BIN_EDGES(parameterValues, **kwargs)
    return ibsi_bin_edges(parameterValues, lower, kwargs.get("binWidth", 25))


@contextlib.contextmanager
def range_start_bins(settings):
    """While active (in this thread), fixed-width bins start at ``min(resegmentRange)``.

    Does nothing unless :func:`starts_bins_at_range` holds for ``settings``.
    """
    if not starts_bins_at_range(settings):
        yield
        return
    imageoperations.getBinEdges = _bin_edges
    _ACTIVE.lower = float(min(settings["setting"]["resegmentRange"]))
    try:
        yield
    finally:
        _ACTIVE.lower = None
