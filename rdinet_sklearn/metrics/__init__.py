"""Evaluation metrics, operating thresholds, DeLong tests and publication tables.

Everything here works on plain ``(y_true, proba)`` arrays, so it applies to the
radiomics pipelines, the CNNs and RDINet alike.
"""

from ._delong import AUCConfidenceInterval, DeLongResult, delong_auc_ci, delong_test
from ._report import binary_report
from ._scorers import (
    npv_score,
    npv_scorer,
    paper_scoring,
    ppv_score,
    ppv_scorer,
    sensitivity_score,
    sensitivity_scorer,
    specificity_score,
    specificity_scorer,
)
from ._tables import TABLE2_METRICS, format_p_value, table1, table2
from ._threshold import apply_threshold, select_threshold, youden_threshold
from ._validation import check_binary_proba

__all__ = [
    "AUCConfidenceInterval",
    "DeLongResult",
    "TABLE2_METRICS",
    "apply_threshold",
    "binary_report",
    "check_binary_proba",
    "delong_auc_ci",
    "delong_test",
    "format_p_value",
    "npv_score",
    "npv_scorer",
    "paper_scoring",
    "ppv_score",
    "ppv_scorer",
    "select_threshold",
    "sensitivity_score",
    "sensitivity_scorer",
    "specificity_score",
    "specificity_scorer",
    "table1",
    "table2",
    "youden_threshold",
]
