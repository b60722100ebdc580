"""The report's segmentation figure: the best and worst test cases by Dice, the automatic
contour over the manual one on the structures' middle slice."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..plots._style import color_for, styled
from ._results import TEST

FIGURE_TITLE = "Automatic vs manual contours (test cohort, best and worst Dice)"


def _mean_dice(cohort):
    """Each case's Dice averaged over the structures."""
    dice = np.array([scores["dice"] for scores in cohort["structures"].values()], dtype=float)
    return dice.mean(axis=0)


def chosen_cases(cohort, n_each):
    """``(position, "best" or "worst")`` of the ``n_each`` best, then the ``n_each`` worst
    cases by mean Dice (each case once: fewer of each in a small cohort)."""
    order = np.argsort(-_mean_dice(cohort), kind="stable").tolist()
    n_best = min(n_each, (len(order) + 1) // 2)
    n_worst = min(n_each, len(order) - n_best)
    best = [(i, "best") for i in order[:n_best]]
    return best + [(i, "worst") for i in order[::-1][:n_worst]]


def _structures_in(path, values):
    labels = sitk.GetArrayFromImage(sitk.ReadImage(path))
    return np.isin(labels, values)


def middle_slice(manual):
    """The middle of the axial slices (axis 0) holding the manual structures."""
    slices = np.flatnonzero(manual.any(axis=(1, 2)))
    return int(slices[slices.size // 2]) if slices.size else manual.shape[0] // 2


def _panel(cohort, case, values, margin_mm=6.0):
    """One case's middle slice, zoomed on the structures (manual or automatic) plus a margin.

    The structures are a few millimetres wide in a field of view of centimetres: shown
    whole, the two contours would be a few pixels apart at the report's size.
    """
    image = sitk.ReadImage(cohort["images"][case])
    manual = _structures_in(cohort["manual_masks"][case], values)
    automatic = _structures_in(cohort["automatic_masks"][case], values)
    z = middle_slice(manual)
    drawn = manual[z] | automatic[z]
    spacing_x, spacing_y = image.GetSpacing()[:2]
    rows, columns = slice(None), slice(None)
    if drawn.any():
        found_rows, found_columns = (
            np.flatnonzero(drawn.any(axis=1)),
            np.flatnonzero(drawn.any(axis=0)),
        )
        pad_rows, pad_columns = int(margin_mm / spacing_y), int(margin_mm / spacing_x)
        rows = slice(max(found_rows[0] - pad_rows, 0), found_rows[-1] + pad_rows + 1)
        columns = slice(max(found_columns[0] - pad_columns, 0), found_columns[-1] + pad_columns + 1)
    return {
        "image": sitk.GetArrayFromImage(image)[z][rows, columns],
        "manual": manual[z][rows, columns],
        "automatic": automatic[z][rows, columns],
        "aspect": spacing_y / spacing_x,
    }


@styled
def contour_figure(entry, *, n_each=2):
    """The figure, or None without a test case.

    Parameters
    ----------
    entry : dict
        ``results.json``'s ``segmentation`` entry (see :func:`segmentation_quality`).
    n_each : int, default=2
        Best and worst cases shown (fewer when the cohort is small).
    """
    cohort = entry["cohorts"][TEST]
    if not cohort["ids"]:
        return None
    values = list(entry["structures"].values())
    mean_dice = _mean_dice(cohort)
    cases = chosen_cases(cohort, n_each)
    panels = [_panel(cohort, case, values) for case, _ in cases]
    heights = [p["image"].shape[0] * p["aspect"] / p["image"].shape[1] for p in panels]
    # two panels a row: the report shows a figure at most 520 px wide, and a row of four
    # wide two-orbit panels would leave each a quarter of that
    n_columns = min(2, len(cases))
    n_rows = -(-len(cases) // n_columns)
    panel_height = 4.0 * max(heights)  # panels 4 in wide
    figure = Figure(
        figsize=(4.0 * n_columns, (panel_height + 0.6) * n_rows + 0.4), layout="constrained"
    )
    for index, ((case, rank), panel) in enumerate(zip(cases, panels, strict=True), start=1):
        ax = figure.add_subplot(n_rows, n_columns, index)
        ax.imshow(panel["image"], cmap="gray", aspect=panel["aspect"])
        for mask, position, style in ((panel["manual"], 2, "-"), (panel["automatic"], 1, "--")):
            if mask.any():  # contour warns on a slice without the level
                ax.contour(mask, levels=[0.5], colors=color_for(position), linestyles=style)
        ax.set_title(f"{cohort['ids'][case]} ({rank})\nmean Dice {mean_dice[case]:.2f}")
        ax.set_axis_off()
    legend = [
        Line2D([], [], color=color_for(2), linestyle="-", label="manual"),
        Line2D([], [], color=color_for(1), linestyle="--", label="automatic"),
    ]
    figure.legend(handles=legend, loc="outside lower center", ncols=2)
    return figure
