"""The methods paragraph, generated from a :class:`StudyDescription`."""

from __future__ import annotations


def _join(items):
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _software(description):
    return _join(f"{name} {version}" for name, version in description.software.items())


_CONTROL_TEXT = {
    "volume": "ROI volume alone",
    "replaced": "replaced intensities",
    "shuffled": "shuffled voxels",
    "elsewhere": "a region elsewhere",
}


def _controls(controls):
    """The controls that ran (a list of modes), or all four (``True``)."""
    modes = _CONTROL_TEXT if controls is True else controls or ()
    return ", ".join(_CONTROL_TEXT.get(mode, mode) for mode in modes)


def methods_paragraph(description):
    """A methods section in Markdown: one paragraph per topic the description fills.

    Parameters
    ----------
    description : StudyDescription
        What the study did.

    Returns
    -------
    text : str
        Markdown, starting with a ``# Methods`` heading; topics the description leaves
        empty are left out (the checklists flag them for the authors).

    Examples
    --------
    >>> from rdinet_sklearn.reporting import StudyDescription, methods_paragraph
    >>> study = StudyDescription(
    ...     n_patients=147, n_events=61, outcome="response to steroids at 12 weeks",
    ...     selection=["ICC >= 0.75", "Welch t-test p < 0.05", "LASSO (1-SE rule)"],
    ...     software={"rdinet-sklearn": "0.1.0", "pyradiomics": "3.1.4"},
    ... )
    >>> print(methods_paragraph(study))  # doctest: +NORMALIZE_WHITESPACE
    # Methods
    <BLANKLINE>
    **Cohort and outcome.** 147 patients (61 with the outcome); outcome: response to
    steroids at 12 weeks.
    <BLANKLINE>
    **Feature selection.** In order, within each training fold: ICC >= 0.75, Welch t-test
    p < 0.05 and LASSO (1-SE rule).
    <BLANKLINE>
    **Software.** rdinet-sklearn 0.1.0 and pyradiomics 3.1.4.
    """
    parts = [(heading, topic(description)) for heading, topic in TOPICS]
    body = "\n\n".join(f"**{heading}.** {text}" for heading, text in parts if text)
    return f"# Methods\n\n{body}\n" if body else "# Methods\n"


def _sentence(text):
    return text.rstrip(".") + "." if text else ""


def _cohort(d):
    if not d.n_patients:
        return None
    text = f"{d.n_patients} patients ({d.n_events} with the outcome)"
    text += f"; outcome: {d.outcome}." if d.outcome else "."
    return text + (f" Data: {d.data_source}." if d.data_source else "")


def _preprocessing(d):
    return f"{_join(d.preprocessing)}." if d.preprocessing else None


def _segmentation(d):
    text = _sentence(d.segmentation)
    if d.roi_strategies:
        text += f" Regions of interest compared: {_join(d.roi_strategies)}."
    return text.strip()


def _extraction(d):
    settings = "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in d.extraction.items())
    text = f"Radiomics features were extracted with {settings}." if settings else ""
    if d.ibsi:
        text += f" IBSI compliance: {d.ibsi.rstrip('.')}."
    return text.strip()


def _selection(d):
    steps = ([d.reproducibility] if d.reproducibility else []) + list(d.selection)
    return f"In order, within each training fold: {_join(steps)}." if steps else None


def _models(d):
    if not d.models:
        return None
    grids = "; ".join(f"{name} (grid: {grid})" for name, grid in d.models.items())
    return f"{grids}. Hyperparameters were tuned within the training data."


def _validation(d):
    text = _sentence(d.validation)
    if d.external_validation:
        text += f" External validation: {d.external_validation.rstrip('.')}."
    return text.strip()


def _performance(d):
    if not d.metrics:
        return None
    text = f"{_join(d.metrics)}."
    if d.intervals:
        methods = "; ".join(f"{metric}: {method}" for metric, method in d.intervals.items())
        text += f" Intervals: {methods}."
    return text


def _further(d):
    extras = [
        (d.calibration_curve, "smoothed (LOESS) calibration curves with bootstrap bands"),
        (d.decision_curves, "decision curves"),
        (d.contributions, "feature contributions (SHAP values on out-of-fold or test patients)"),
        (d.uncertainty, "per-patient uncertainty (test-time augmentation for the networks, "
         "bootstrap refits for the radiomics models)"),
        (d.negative_controls, f"negative controls ({_controls(d.negative_controls)}) "
         "compared with paired corrected t intervals"),
    ]  # fmt: skip
    shown = [text for flag, text in extras if flag]
    return f"{_join(shown).capitalize()}." if shown else None


def _missing(d):
    return _sentence(d.missing_data) or None


def _software_used(d):
    return f"{_software(d)}." if d.software else None


TOPICS = (
    ("Cohort and outcome", _cohort),
    ("Image preprocessing", _preprocessing),
    ("Segmentation", _segmentation),
    ("Feature extraction", _extraction),
    ("Feature selection", _selection),
    ("Models", _models),
    ("Validation", _validation),
    ("Performance", _performance),
    ("Further analyses", _further),
    ("Missing data", _missing),
    ("Software", _software_used),
)
"""The methods section's topics in order: heading, and the text (empty: left out)."""
