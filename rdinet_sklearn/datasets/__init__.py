"""Synthetic data sets: a thyroid-eye-disease orbit-MRI cohort with a documented signal."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._clinical": ["CLINICAL_COLUMNS", "RESPONSE_LINKED_COLUMNS", "make_ted_clinical"],
        "._describe": ["describe_cohort"],
        "._scanner": ["ScannerShift"],
        "._ted": ["make_ted_cohort"],
    },
)
