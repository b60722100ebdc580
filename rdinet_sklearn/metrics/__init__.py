"""Evaluation metrics, operating thresholds, DeLong tests and publication tables.

Everything here works on plain ``(y_true, proba)`` arrays, so it applies to the
radiomics pipelines, the CNNs and RDINet alike.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._calibration": [
            "CalibrationResult",
            "calibration_intercept_slope",
            "calibration_report",
        ],
        "._calibration_curve": ["smoothed_calibration_curve"],
        "._delong": [
            "AUCConfidenceInterval",
            "DeLongResult",
            "delong_auc_ci",
            "delong_test",
            "hanley_mcneil_score_interval",
        ],
        "._intervals": ["brier_interval", "logit_wald_interval", "proportion_interval"],
        "._overlap": ["mask_overlap"],
        "._report": ["binary_report"],
        "._resampled_ttest": [
            "ResampledTTestResult",
            "corrected_resampled_interval",
            "corrected_resampled_ttest",
        ],
        "._scorers": [
            "npv_score",
            "npv_scorer",
            "paper_scoring",
            "ppv_score",
            "ppv_scorer",
            "sensitivity_score",
            "sensitivity_scorer",
            "specificity_score",
            "specificity_scorer",
        ],
        "._tables": [
            "CALIBRATION_METRICS",
            "TABLE2_METRICS",
            "calibration_table",
            "format_p_value",
            "table1",
            "table2",
        ],
        "._threshold": ["apply_threshold", "select_threshold", "youden_threshold"],
        "._validation": ["check_binary_proba"],
    },
)
