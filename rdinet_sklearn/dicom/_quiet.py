"""pydicom without its warnings about values that break DICOM's length rules.

Real files often do (a 20-character Study ID where DICOM allows 16, left by
de-identification tools), and pydicom warns, and logs, on every such value it reads. We use
only UIDs, positions, names and contours, so the warnings tell the user nothing: reading is
lenient while our code reads, and pydicom's own setting is restored after.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import pydicom

_LOCK = threading.Lock()
_STATE = {"depth": 0, "previous": None}


@contextlib.contextmanager
def quiet_pydicom():
    """Read DICOM leniently and without warnings, as a ``with`` block or a decorator."""
    settings = pydicom.config.settings
    # pydicom's setting is global: threads (VolumeCropper's workers) share one count, and
    # the last to leave restores the user's value.
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["previous"] = settings.reading_validation_mode
            settings.reading_validation_mode = pydicom.config.IGNORE
        _STATE["depth"] += 1
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pydicom")
            warnings.filterwarnings("ignore", module="highdicom")
            yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0:
                settings.reading_validation_mode = _STATE["previous"]
