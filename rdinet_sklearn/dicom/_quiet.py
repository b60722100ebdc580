"""pydicom without its warnings about values that break DICOM's length rules.

Real files often do (a 20-character Study ID where DICOM allows 16, left by
de-identification tools), and pydicom warns, and logs, on every such value it reads. We use
only UIDs, positions, names and contours, so the warnings tell the user nothing: reading is
lenient while our code reads, and pydicom's own setting is restored after.
"""

from __future__ import annotations

import contextlib
import warnings

import pydicom


@contextlib.contextmanager
def quiet_pydicom():
    """Read DICOM leniently and without warnings, as a ``with`` block or a decorator."""
    settings = pydicom.config.settings
    previous = settings.reading_validation_mode
    settings.reading_validation_mode = pydicom.config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pydicom")
            warnings.filterwarnings("ignore", module="highdicom")
            yield
    finally:
        settings.reading_validation_mode = previous
