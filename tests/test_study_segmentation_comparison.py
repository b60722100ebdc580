"""The parts of the study's automatic-vs-manual comparison that need no study run."""

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy import stats

from rdinet_sklearn.metrics import corrected_resampled_ttest
from rdinet_sklearn.study._auto_vs_manual import noninferiority, noninferiority_reading
from rdinet_sklearn.study._outputs import REPORT_LAYOUT
from rdinet_sklearn.study._segmentation_figure import chosen_cases, contour_figure, middle_slice
from rdinet_sklearn.study._segmentation_report import (
    SEGMENTATION_SECTION,
    with_segmentation_section,
)

AUTOMATIC = [0.80, 0.74, 0.86, 0.79, 0.83, 0.77]
MANUAL = [0.82, 0.77, 0.84, 0.80, 0.85, 0.78]


def test_noninferiority_interval_is_the_corrected_resampled_t_interval():
    row = noninferiority(AUTOMATIC, MANUAL, n_train=80, n_test=20, margin=0.05)
    difference = np.subtract(AUTOMATIC, MANUAL)
    corrected = np.sqrt(difference.var(ddof=1) * (1 / 6 + 20 / 80))
    half = stats.t.ppf(0.975, 5) * corrected
    assert row["cv_difference"] == pytest.approx(difference.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (difference.mean() - half, difference.mean() + half)
    )
    test = corrected_resampled_ttest(AUTOMATIC, MANUAL, 80, 20)
    assert (row["t"], row["p_value"], row["df"]) == pytest.approx((test.statistic, test.p_value, 5))
    assert row["ci_low"] > -0.05 and row["non_inferior"] is True


def test_noninferiority_depends_on_the_margin():
    worse = np.subtract(AUTOMATIC, 0.03)  # interval about [-0.070, -0.013]
    assert noninferiority(worse, MANUAL, 80, 20, margin=0.05)["non_inferior"] is False
    assert noninferiority(worse, MANUAL, 80, 20, margin=0.10)["non_inferior"] is True


def test_noninferiority_with_an_undefined_fold_auc_is_not_assessed():
    row = noninferiority([0.8, np.nan, 0.7], [0.8, 0.7, 0.7], 80, 40, margin=0.05)
    assert row["non_inferior"] is None and np.isnan(row["ci_low"])
    assert noninferiority_reading_of(row).endswith("not assessable (a fold AUC is undefined)")


def noninferiority_reading_of(row):
    frame = pd.DataFrame([{"model": "M", "cv_splits": "the study's 3-fold CV", **row}])
    [line] = noninferiority_reading(frame)
    return line


def test_reading_names_the_model_difference_interval_and_verdict():
    row = noninferiority(AUTOMATIC, MANUAL, n_train=80, n_test=20, margin=0.05)
    line = noninferiority_reading_of(row)
    assert line.startswith(f"M: automatic - manual CV AUC {row['cv_difference']:+.3f} [")
    assert line.endswith("(the study's 3-fold CV): non-inferior at margin 0.05")


def _cohort(dice_mr, dice_lr):
    n = len(dice_mr)
    return {
        "ids": [f"P{i}" for i in range(n)],
        "structures": {"MR": {"dice": dice_mr}, "LR": {"dice": dice_lr}},
    }


def test_chosen_cases_are_the_best_then_the_worst_by_mean_dice():
    cohort = _cohort([0.9, 0.2, 0.8, 0.5, 0.95], [0.9, 0.4, 0.6, 0.5, 0.85])
    # means: 0.9, 0.3, 0.7, 0.5, 0.9 -> best P0 (first of the tie), P4; worst P1, P3
    assert chosen_cases(cohort, 2) == [(0, "best"), (4, "best"), (1, "worst"), (3, "worst")]
    # each case once in a small cohort
    assert chosen_cases(_cohort([0.9, 0.1, 0.5], [0.9, 0.1, 0.5]), 2) == [
        (0, "best"),
        (2, "best"),
        (1, "worst"),
    ]
    assert chosen_cases(_cohort([0.7], [0.7]), 2) == [(0, "best")]


def test_middle_slice_is_the_middle_of_the_structures_slices():
    mask = np.zeros((10, 4, 4), bool)
    mask[3:8, 1, 1] = True
    assert middle_slice(mask) == 5
    assert middle_slice(np.zeros((6, 4, 4), bool)) == 3  # no structure: the volume's middle


def test_contour_figure_on_the_real_cohort_files(small_cohort):
    """One panel per chosen case, drawn from the cohort's image and mask files."""
    cases, _ = small_cohort
    rows = cases.iloc[:3]
    mask = sitk.GetArrayFromImage(sitk.ReadImage(rows["mask"].iloc[0]))
    assert set(np.unique(mask)) >= {3, 4}
    entry = {
        "structures": {"MR": 3, "LR": 4},
        "cohorts": {
            "test": {
                **_cohort([0.9, 0.3, 0.6], [0.8, 0.2, 0.7]),
                "images": list(rows["image"]),
                # the second rater as the "automatic" contour: a real, slightly other mask
                "automatic_masks": list(rows["mask_rater2"]),
                "manual_masks": list(rows["mask"]),
            }
        },
    }
    figure = contour_figure(entry)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == [
        "P0 (best)\nmean Dice 0.85",
        "P2 (best)\nmean Dice 0.65",
        "P1 (worst)\nmean Dice 0.25",
    ]
    assert all(ax.collections for ax in figure.axes)  # the contours were drawn
    empty = {**entry, "cohorts": {"test": {**entry["cohorts"]["test"], "ids": []}}}
    assert contour_figure(empty) is None


def test_segmentation_section_follows_the_model_comparison():
    layout = with_segmentation_section(REPORT_LAYOUT)
    titles = [entry["title"] for entry in layout]
    assert titles.index("Automatic segmentation") == titles.index("Model comparison") + 1
    assert len(layout) == len(REPORT_LAYOUT) + 1
    assert with_segmentation_section(())[-1] is SEGMENTATION_SECTION
