"""The report's segmentation section (automatic masks only): mask quality, contours, and the
twinned models on automatic beside manual masks, in Table 2 and compared."""

from __future__ import annotations

from ._auto_vs_manual import AUTO_VS_MANUAL_TITLE
from ._manual_twins import AUTOMATIC_SUFFIX
from ._segmentation_figure import FIGURE_TITLE, contour_figure
from ._segmentation_quality import segmentation_table

SEGMENTATION_TITLE = "Segmentation quality (automatic vs manual masks)"

SEGMENTATION_SECTION = {
    "title": "Automatic segmentation",
    "caption": (
        "Dice and 95th-percentile Hausdorff distance (mm) of the automatic masks against the "
        "manual ones per structure, median with its distribution-free 95% CI (and the mean "
        "Dice): out-of-fold in the training cohort "
        "(each patient segmented by its CV fold's network, which never saw it) and in the "
        "test cohort (the network of the handed-over models). The contours show the best "
        "and worst test cases. Below, each twinned model on automatic masks against the "
        "same pipeline on manual masks over the same splits: automatic - manual CV AUC with "
        "its corrected resampled t 95% interval, non-inferior when the lower bound lies "
        "above -margin, and the paired DeLong test on the test cohort. Table 2 shows both."
    ),
    "tables": [SEGMENTATION_TITLE, AUTO_VS_MANUAL_TITLE],
    "figures": [FIGURE_TITLE],
}
"""Placed after the report's "Model comparison" section."""


def segmentation_tables(extra):
    """The section's tables by title, from the run's ``extra`` entries (none when manual)."""
    tables = {}
    if extra.get("segmentation") is not None:
        tables[SEGMENTATION_TITLE] = segmentation_table(extra["segmentation"])
    if extra.get("auto_vs_manual") is not None:
        tables[AUTO_VS_MANUAL_TITLE] = extra["auto_vs_manual"]
    return tables


def segmentation_figures(extra):
    """The section's contour figure by title (none when manual or without test cases)."""
    entry = extra.get("segmentation")
    figure = contour_figure(entry) if entry is not None else None
    return {FIGURE_TITLE: figure} if figure is not None else {}


def with_segmentation_section(layout):
    """``layout`` with :data:`SEGMENTATION_SECTION` after "Model comparison" (else last)."""
    titles = [entry["title"] for entry in layout]
    at = titles.index("Model comparison") + 1 if "Model comparison" in titles else len(layout)
    return (*layout[:at], SEGMENTATION_SECTION, *layout[at:])


def with_twins(models, names, twins):
    """Table 2's models and rows: each twinned model followed by its manual-mask twin."""
    rows = []
    for name in names:
        rows.append(name)
        if name in twins:
            rows.append(twins[name].name)
    return {**models, **{twin.name: twin for twin in twins.values()}}, rows


def labelled_automatic(table2, twins):
    """The formatted Table 2 with each twinned model shown as ``"<model> (automatic masks)"``.

    Only the displayed table: the numeric one keeps the models' names, as ``results.json``.
    """
    if not twins:
        return table2
    labels = {name: f"{name}{AUTOMATIC_SUFFIX}" for name in twins}
    return table2.rename(index=labels, level="model")
