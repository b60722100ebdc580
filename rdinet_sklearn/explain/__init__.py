"""Explanations of fitted models: Grad-CAM heat maps, feature contributions (SHAP),
per-patient uncertainty and negative controls."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._contributions": [
            "ExplanationError",
            "explained_features",
            "feature_contributions",
            "mean_abs_contributions",
            "rank_separation",
            "top_contributions",
        ],
        "._gradcam": ["gradcam", "plot_gradcam"],
        "._control_scoring": [
            "VOXEL_COUNT_FEATURES",
            "compare_with_control",
            "control_feature_selector",
            "negative_control_pipeline",
        ],
        "._negative_controls": ["CONTROL_MODES", "NegativeControl", "NegativeControlError"],
        "._uncertainty": [
            "SpreadMisclassification",
            "bootstrap_predict_proba",
            "spread_misclassification",
            "tta_predict_proba",
            "uncertain_flag",
        ],
    },
)
