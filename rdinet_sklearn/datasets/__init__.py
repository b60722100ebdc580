"""Synthetic data sets: a thyroid-eye-disease orbit-MRI cohort with a documented signal."""

from ._clinical import CLINICAL_COLUMNS, make_ted_clinical
from ._describe import describe_cohort
from ._scanner import ScannerShift
from ._ted import make_ted_cohort

__all__ = [
    "CLINICAL_COLUMNS",
    "ScannerShift",
    "describe_cohort",
    "make_ted_clinical",
    "make_ted_cohort",
]
