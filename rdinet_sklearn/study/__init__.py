"""The study design (split, tuning, testing, reporting) as one call, with presets."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._config": ["ConfigError", "PRESET_NAMES", "StudyConfig", "make_config"],
        "._candidates": ["FAMILIES", "Candidate", "FamilyEntry"],
        "._cohort": ["Cohort", "build_cohort"],
        "._results": ["FittedModel", "StudyResult"],
        "._apply": ["predict_cases"],
        "._external": ["ExternalCohortError", "evaluate_study"],
        "._fit": ["UncomputableMetricWarning"],
        "._handover": ["load_study_model"],
        "..io._folder": ["ModelFolderError"],
        "._run": ["run_study"],
    },
)
