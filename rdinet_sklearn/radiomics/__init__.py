"""Radiomics feature extraction with pyradiomics, as a scikit-learn transformer.

This subpackage shares its name with pyradiomics' module ``radiomics``; Python 3 imports
are absolute, so ``import radiomics`` anywhere (here included) still means pyradiomics.
"""

from rdinet_sklearn.radiomics._extraction import clear_process_cache, extraction_stats
from rdinet_sklearn.radiomics._extractor import ExtractionError, RadiomicsExtractor
from rdinet_sklearn.radiomics._settings import PRESETS, load_settings

__all__ = [
    "PRESETS",
    "ExtractionError",
    "RadiomicsExtractor",
    "clear_process_cache",
    "extraction_stats",
    "load_settings",
]
