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
    first = sitk.ReadImage(cohort["images"][cases[0][0]])
    (size_x, size_y), (spacing_x, spacing_y) = first.GetSize()[:2], first.GetSpacing()[:2]
    panel_height = 3.0 * (size_y * spacing_y) / (size_x * spacing_x)  # panels 3 in wide
    figure = Figure(figsize=(3.0 * len(cases), panel_height + 1.0), layout="constrained")
    for column, (case, rank) in enumerate(cases, start=1):
        ax = figure.add_subplot(1, len(cases), column)
        image = sitk.ReadImage(cohort["images"][case])
        manual = _structures_in(cohort["manual_masks"][case], values)
        automatic = _structures_in(cohort["automatic_masks"][case], values)
        z = middle_slice(manual)
        spacing_x, spacing_y = image.GetSpacing()[:2]
        ax.imshow(sitk.GetArrayFromImage(image)[z], cmap="gray", aspect=spacing_y / spacing_x)
        for mask, position, style in ((manual, 2, "-"), (automatic, 1, "--")):
            if mask[z].any():  # contour warns on a slice without the level
                ax.contour(mask[z], levels=[0.5], colors=color_for(position), linestyles=style)
        ax.set_title(f"{cohort['ids'][case]} ({rank})\nmean Dice {mean_dice[case]:.2f}")
        ax.set_axis_off()
    legend = [
        Line2D([], [], color=color_for(2), linestyle="-", label="manual"),
        Line2D([], [], color=color_for(1), linestyle="--", label="automatic"),
    ]
    figure.legend(handles=legend, loc="outside lower center", ncols=2)
    return figure
