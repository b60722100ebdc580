"""rdinet-sklearn: radiomics, 3D deep learning and RDINet fusion as scikit-learn estimators.

Every step of the RDINet study is an estimator that composes into scikit-learn pipelines:
:class:`RadiomicsExtractor` (pyradiomics on the case table), the selectors
:class:`ReproducibilityFilter`, :class:`TTestSelector` and :class:`LassoSelector`, the ROI
cropper :class:`VolumeCropper`, and the networks :class:`ResNet50Classifier` and
:class:`RDINetClassifier`. See :func:`validate_case_table` for the case-table contract.
"""

from ._cases import (
    DEFAULT_LABELS,
    REFERENCE_SUFFIX,
    CaseTableError,
    read_case_table,
    resolve_roi,
    validate_case_table,
)
from ._imaging import CaseError
from .datasets import describe_cohort, make_ted_cohort
from .nn import RDINetClassifier, ResNet50Classifier
from .radiomics import RadiomicsExtractor
from .selection import LassoSelector, ReproducibilityFilter, TTestSelector
from .volumes import VolumeCropper

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LABELS",
    "REFERENCE_SUFFIX",
    "CaseError",
    "CaseTableError",
    "LassoSelector",
    "RDINetClassifier",
    "RadiomicsExtractor",
    "ReproducibilityFilter",
    "ResNet50Classifier",
    "TTestSelector",
    "VolumeCropper",
    "describe_cohort",
    "make_ted_cohort",
    "read_case_table",
    "resolve_roi",
    "validate_case_table",
    "__version__",
]
