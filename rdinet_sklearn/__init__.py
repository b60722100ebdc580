"""rdinet-sklearn: radiomics, 3D deep learning and RDINet fusion as scikit-learn estimators.

Every step of the RDINet study is an estimator that composes into scikit-learn pipelines:
:class:`RadiomicsExtractor` (pyradiomics on the case table), the selectors
:class:`ReproducibilityFilter` (or :class:`PerturbationReproducibilityFilter` for a single
rater), :class:`TTestSelector` and :class:`LassoSelector`, the ROI
cropper :class:`VolumeCropper`, and the networks :class:`ResNet50Classifier` and
:class:`RDINetClassifier`, and the trainable segmenter :class:`ROISegmenter` (predicted
masks in place of manual ones). See :func:`validate_case_table` for the case-table contract.
"""

from ._lazy import attach

__version__ = "0.1.0"

# Nothing heavy (torch, pyradiomics, SimpleITK) is imported until a name is used.
__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._cases": [
            "DEFAULT_LABELS",
            "PERTURBATION_SUFFIX",
            "REFERENCE_SUFFIX",
            "CaseTableError",
            "read_case_table",
            "resolve_roi",
            "tabular_columns",
            "validate_case_table",
        ],
        "._imaging": ["CaseError"],
        ".datasets": ["describe_cohort", "make_ted_cohort"],
        ".dicom": ["index_dicom"],
        ".harmonization": ["ComBatHarmonizer"],
        ".nn": ["RDINetClassifier", "ResNet50Classifier"],
        ".radiomics": ["RadiomicsExtractor"],
        ".segmentation": ["ROISegmenter"],
        ".selection": [
            "LassoSelector",
            "PerturbationReproducibilityFilter",
            "ReproducibilityFilter",
            "TTestSelector",
        ],
        ".volumes": ["VolumeCropper"],
    },
    submodules=[
        "datasets",
        "dicom",
        "explain",
        "harmonization",
        "io",
        "metrics",
        "nn",
        "plots",
        "preprocessing",
        "radiomics",
        "report",
        "reporting",
        "segmentation",
        "selection",
        "study",
        "volumes",
    ],
)
__all__ += ["__version__"]
