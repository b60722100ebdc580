"""``StudyDescription``: what a study did, in plain fields, for the methods text and checklists."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

# Where a reader finds each topic, by default: the study report's section titles and the
# files of its output folder. A study whose report is laid out otherwise passes its own.
DEFAULT_SECTIONS = {
    "cohort": 'report section "Cohort" (Table 1)',
    "outcome": 'report section "Cohort"',
    "software": "methods.md; config.yaml",
    "preprocessing": "methods.md",
    "segmentation": "methods.md",
    "roi_strategies": "methods.md",
    "extraction": 'methods.md; report section "Radiomics features"',
    "ibsi": "methods.md (IBSI compliance)",
    "reproducibility": 'report section "Feature reproducibility"',
    "selection": "methods.md",
    "models": 'methods.md; report section "Model selection in training"',
    "validation": "methods.md; config.yaml",
    "performance": 'report section "Discrimination" (Table 2)',
    "calibration": 'report section "Calibration"',
    "clinical_utility": 'report section "Decision curves"',
    "contributions": 'report section "Feature contributions"',
    "uncertainty": 'report section "Uncertainty"; predictions.csv',
    "negative_controls": 'report section "Negative controls"',
    "external_validation": 'report section "External validation"',
    "missing_data": "methods.md",
    "sample_size": 'report section "Cohort"',
    "code": "config.yaml; the rdinet-sklearn version in methods.md",
    "model_files": "models/ (saved fitted models)",
    "predictions": "predictions.csv",
}

_TOPIC_FIELDS = {"calibration": "calibration_curve", "clinical_utility": "decision_curves"}


@dataclass
class StudyDescription:
    """What a study did: the facts the methods paragraph and the checklists are built from.

    Every field is plain data (strings, numbers, lists, dicts), so a study fills it from
    its configuration and results, and a user can write one by hand. An empty field means
    "not done or not known": the checklists then leave the item to the authors.

    Parameters
    ----------
    title : str
        Short name of the study.
    n_patients, n_events : int
        Patients and positive outcomes (e.g. responders) in the development cohort.
    outcome : str
        Definition of the predicted outcome.
    data_source : str
        Where and when the data come from.
    software : dict of str to str
        Package name to version (e.g. from ``rdinet_sklearn._versions``).
    preprocessing : list of str
        Image preprocessing steps, in order (resampling, bias-field correction,
        normalisation, ...).
    segmentation : str
        How the ROIs were delineated (readers, software, second rater).
    roi_strategies : list of str
        ROI definitions compared (e.g. ``"MR+LR"``).
    extraction : dict
        Feature extraction settings: ``software``, ``settings`` (preset or file),
        ``image_types``, ``feature_classes``, ``bin_width``, ``normalisation``,
        ``n_features``, ... (free keys, printed in order).
    ibsi : str
        IBSI compliance statement (e.g. "pyradiomics reproduces 82 % of the IBSI phase-1
        reference values with these settings").
    reproducibility : str
        The reproducibility filter (e.g. "ICC(3,1) >= 0.75 between two raters").
    selection : list of str
        Feature selection steps with their thresholds, in order.
    models : dict of str to str
        Model name to its tuning grid (as text).
    validation : str
        Validation design (splits, repetitions, seeds, independent test cohort).
    metrics : list of str
        Reported metrics.
    intervals : dict of str to str
        Metric to interval method.
    missing_data : str
        How missing values were handled.
    external_validation : str
        External cohort(s), if any.
    contributions, uncertainty, negative_controls, calibration_curve, decision_curves : bool
        Whether the report holds feature contributions, per-patient uncertainty, negative
        controls, smoothed calibration curves and decision curves; ``negative_controls``
        may instead list the control modes that ran (e.g. ``["volume"]``).
    deep_learning : bool
        Whether deep networks (CNN, RDINet) are among the models.
    model_files : bool
        Whether the fitted models are saved with the results.
    sections : dict of str to str
        Topic to where the report covers it; missing topics use :data:`DEFAULT_SECTIONS`.

    Examples
    --------
    >>> from rdinet_sklearn.reporting import StudyDescription
    >>> study = StudyDescription(title="TED response", n_patients=147, n_events=61)
    >>> study.where("cohort")
    'report section "Cohort" (Table 1)'
    """

    title: str = ""
    n_patients: int = 0
    n_events: int = 0
    outcome: str = ""
    data_source: str = ""
    software: dict = field(default_factory=dict)
    preprocessing: list = field(default_factory=list)
    segmentation: str = ""
    roi_strategies: list = field(default_factory=list)
    extraction: dict = field(default_factory=dict)
    ibsi: str = ""
    reproducibility: str = ""
    selection: list = field(default_factory=list)
    models: dict = field(default_factory=dict)
    validation: str = ""
    metrics: list = field(default_factory=list)
    intervals: dict = field(default_factory=dict)
    missing_data: str = ""
    external_validation: str = ""
    contributions: bool = False
    uncertainty: bool = False
    negative_controls: bool | list = False
    calibration_curve: bool = False
    decision_curves: bool = False
    deep_learning: bool = False
    model_files: bool = False
    sections: dict = field(default_factory=dict)

    def where(self, topic):
        """Where the report covers ``topic`` (``sections``, else the default pointer)."""
        return self.sections.get(topic, DEFAULT_SECTIONS.get(topic, "the report"))

    def has(self, topic):
        """Whether the study holds ``topic``: a non-empty field, or a cohort with patients."""
        if topic in ("cohort", "sample_size"):
            return self.n_patients > 0
        if topic == "performance":
            return bool(self.metrics)
        if topic in ("code", "predictions"):
            return bool(self.software)
        topic = _TOPIC_FIELDS.get(topic, topic)
        names = {f.name for f in fields(self)}
        if topic not in names:
            raise KeyError(f"unknown topic {topic!r}")
        return bool(getattr(self, topic))
