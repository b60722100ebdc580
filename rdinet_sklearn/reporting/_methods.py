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
    d = description
    parts = []
    if d.n_patients:
        text = f"{d.n_patients} patients ({d.n_events} with the outcome)"
        text += f"; outcome: {d.outcome}." if d.outcome else "."
        if d.data_source:
            text += f" Data: {d.data_source}."
        parts.append(("Cohort and outcome", text))
    if d.preprocessing:
        parts.append(("Image preprocessing", f"{_join(d.preprocessing)}."))
    if d.segmentation or d.roi_strategies:
        text = d.segmentation.rstrip(".") + "." if d.segmentation else ""
        if d.roi_strategies:
            text += f" Regions of interest compared: {_join(d.roi_strategies)}."
        parts.append(("Segmentation", text.strip()))
    if d.extraction or d.ibsi:
        settings = "; ".join(
            f"{key.replace('_', ' ')}: {value}" for key, value in d.extraction.items()
        )
        text = f"Radiomics features were extracted with {settings}." if settings else ""
        if d.ibsi:
            text += f" IBSI compliance: {d.ibsi.rstrip('.')}."
        parts.append(("Feature extraction", text.strip()))
    if d.reproducibility or d.selection:
        steps = ([d.reproducibility] if d.reproducibility else []) + list(d.selection)
        parts.append(("Feature selection", f"In order, within each training fold: {_join(steps)}."))
    if d.models:
        grids = "; ".join(f"{name} (grid: {grid})" for name, grid in d.models.items())
        parts.append(("Models", f"{grids}. Hyperparameters were tuned within the training data."))
    if d.validation or d.external_validation:
        text = d.validation.rstrip(".") + "." if d.validation else ""
        if d.external_validation:
            text += f" External validation: {d.external_validation.rstrip('.')}."
        parts.append(("Validation", text.strip()))
    if d.metrics:
        text = f"{_join(d.metrics)}."
        if d.intervals:
            methods = "; ".join(f"{metric}: {method}" for metric, method in d.intervals.items())
            text += f" Intervals: {methods}."
        parts.append(("Performance", text))
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
    if shown:
        parts.append(("Further analyses", f"{_join(shown).capitalize()}."))
    if d.missing_data:
        parts.append(("Missing data", d.missing_data.rstrip(".") + "."))
    if d.software:
        parts.append(("Software", f"{_software(d)}."))
    body = "\n\n".join(f"**{heading}.** {text}" for heading, text in parts)
    return f"# Methods\n\n{body}\n" if body else "# Methods\n"
