"""The study design (split, tuning, testing, reporting) as one call, with presets."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._config": ["ConfigError", "PRESETS", "make_config"],
        "._apply": ["predict_cases"],
        "._external": ["evaluate_study"],
        "._fit": ["UncomputableMetricWarning"],
        "._handover": ["load_study_model"],
        "..io._folder": ["ModelFolderError"],
        "._run": ["run_study"],
    },
)
