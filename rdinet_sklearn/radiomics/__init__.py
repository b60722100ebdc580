"""Radiomics feature extraction with pyradiomics, as a scikit-learn transformer.

This subpackage shares its name with pyradiomics' module ``radiomics``; Python 3 imports
are absolute, so ``import radiomics`` anywhere (here included) still means pyradiomics.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._extraction": ["clear_process_cache", "extraction_stats"],
        "._extractor": ["ExtractionError", "RadiomicsExtractor"],
        "._ibsi": [
            "IBSI_FEATURES",
            "ibsi_compliance",
            "ibsi_ct_verdicts",
            "ibsi_feature_info",
            "phantom_reference_values",
        ],
        "._settings": ["PRESETS", "load_settings"],
    },
)
