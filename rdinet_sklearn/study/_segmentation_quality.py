"""How well the study's automatic masks match the manual ones: Dice and HD95 per structure,
out-of-fold in the training cohort and in the test cohort, for ``results.json`` and the report.

Out-of-fold: each training patient is segmented by its CV fold's segmenter, which never saw
that patient; these are the same networks the models' CV folds trained (same segmenter
parameters, seed and cache, same fold training rows), so they come from the cache. Test:
the segmenter trained on the whole training cohort, which every handed-over model holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import mask_overlap
from ..metrics._intervals import median_interval
from ._results import TEST, TRAINING
from ._segmentation import quality_folds, segmented_cohort


def _cohort_entry(segmenter, predicted):
    """Each case's automatic mask and its Dice and HD95 (mm) per structure against the manual."""
    automatic = [str(p) for p in predicted[segmenter.mask_column]]
    manual = [str(p) for p in predicted[segmenter.manual_mask_column]]
    structures = {}
    for name, value in segmenter.structures_.items():
        scores = [mask_overlap(a, m, value) for a, m in zip(automatic, manual, strict=True)]
        dice, hd95 = zip(*scores, strict=True) if scores else ((), ())
        structures[name] = {"dice": [float(d) for d in dice], "hd95": [float(h) for h in hd95]}
    flags = predicted[segmenter.flag_column] if segmenter.flag_column else [""] * len(predicted)
    return {
        "ids": [str(i) for i in predicted.index],
        "flags": [str(f) for f in flags],
        "images": [str(p) for p in predicted[segmenter.image_column]],
        "automatic_masks": automatic,
        "manual_masks": manual,
        "structures": structures,
    }


def _concatenated(entries):
    """One cohort entry from the folds' entries, in fold order."""
    merged = {key: [] for key in ("ids", "flags", "images", "automatic_masks", "manual_masks")}
    for entry in entries:
        for key in merged:
            merged[key] += entry[key]
    merged["structures"] = {
        name: {m: sum((e["structures"][name][m] for e in entries), []) for m in ("dice", "hd95")}
        for name in entries[0]["structures"]
    }
    return merged


def segmentation_quality(config, cohort, cache):
    """The ``results.json`` entry of the automatic masks' quality, or None with manual masks.

    Parameters
    ----------
    config : StudyConfig
    cohort : Cohort
    cache : str
        The study's cache folder, where the models' fold segmenters are.

    Returns
    -------
    dict or None
        ``structures`` (name -> label value), ``cv_folds``, and ``cohorts``: for
        :data:`TRAINING` (out-of-fold, with each case's ``fold``) and :data:`TEST`, the
        case ``ids``, ``flags``, ``images``, ``automatic_masks``, ``manual_masks`` and per
        structure the ``dice`` and ``hd95`` (mm) of every case.
    """
    if config.segmentation.mode != "auto":
        return None
    *folds, (_, refitted, test) = segmented_cohort(config, cohort, cache)
    per_fold = [
        {**_cohort_entry(fitted, predicted), "fold": [fold] * len(predicted)}
        for fold, fitted, predicted in folds
    ]
    out_of_fold = {**_concatenated(per_fold), "fold": sum((e["fold"] for e in per_fold), [])}
    return {
        "structures": dict(refitted.structures_),
        "cv_folds": None if cohort.groups is not None else quality_folds(config),
        "cohorts": {TRAINING: out_of_fold, TEST: _cohort_entry(refitted, test)},
    }


def _median_interval(values):
    """``"median [95% CI]"`` (:func:`~rdinet_sklearn.metrics._intervals.median_interval`):
    the median alone below 6 cases, where no 95% interval exists; ``"-"`` without values."""
    median, low, high = median_interval(values)
    if np.isnan(median):
        return "-"
    if np.isnan(low):
        return f"{median:.3f}"
    return f"{median:.3f} [{low:.3f}, {high:.3f}]"


def _mean(values):
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return round(float(finite.mean()), 3) if finite.size else np.nan


def segmentation_table(entry):
    """The report's table: per structure and cohort, Dice and HD95 (mm), median [95% CI].

    The mean Dice is given too (the usual summary; without an interval, see
    :func:`_median_interval`). HD95 is undefined (left out) where a structure is empty in
    either mask; ``empty`` counts those cases.
    """
    rows = []
    for name in entry["structures"]:
        for cohort, scores in entry["cohorts"].items():
            dice, hd95 = scores["structures"][name]["dice"], scores["structures"][name]["hd95"]
            rows.append(
                {
                    "structure": name,
                    "cohort": cohort,
                    "cases": len(dice),
                    "Dice, median [95% CI]": _median_interval(dice),
                    "Dice, mean": _mean(dice),
                    "HD95 (mm), median [95% CI]": _median_interval(hd95),
                    "empty": int(np.sum(~np.isfinite(np.asarray(hd95, dtype=float)))),
                }
            )
    return pd.DataFrame(rows)
