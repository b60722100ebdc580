"""The study's automatic segmentation: ``segmentation`` settings in, the pipeline's first step
out, and how well its masks match the manual ones, for ``results.json`` and the report.

With ``mode: auto`` every candidate starts with the same :class:`~rdinet_sklearn.ROISegmenter`
(same parameters, seed and cache folder), so all models of one fold share one network,
trained on that fold's training cases only; it segments the original image, and any image
preprocessing then runs on the image and its predicted mask.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.pipeline import Pipeline

from ..metrics import mask_overlap
from ..segmentation import ROISegmenter

STEP = "segmentation"
"""The segmenter's step name in every candidate pipeline."""


def _structures(config):
    """The labels of the structures some model's ROI strategy reads (all of them for "all")."""
    strategies = [*config.radiomics.roi_strategies] if "radiomics" in config.models else []
    strategies += [*config.deep.rois] if config.deep_models else []
    wanted = set()
    for roi in strategies:
        wanted |= set(config.labels) if roi == "all" else set(roi.split("+"))
    return {name: value for name, value in config.labels.items() if name in wanted}


def segmentation_steps(config, cache):
    """``[(STEP, unfitted ROISegmenter)]`` with ``segmentation.mode`` auto, else empty.

    Parameters
    ----------
    config : StudyConfig
    cache : str
        The study's cache folder: trained networks and predicted masks are content-keyed
        there, so a fold's network is trained once however many models ask.
    """
    settings = config.segmentation
    if settings.mode != "auto":
        return []
    segmenter = ROISegmenter(
        labels=_structures(config),
        grid_size=settings.grid_size,
        channels=settings.channels,
        max_epochs=settings.max_epochs,
        margin=settings.margin,
        keep_components=settings.keep_components,
        min_volume=settings.min_volume,
        weights=settings.weights,
        memory=cache,
        image_column=config.image_column,
        mask_column=config.mask_column,
        device=config.deep.device,
        random_state=config.seed,
    )
    return [(STEP, segmenter)]


def _fitted_segmenter(models):
    for model in models.values():
        estimator = model.estimator
        if isinstance(estimator, Pipeline) and estimator.steps[0][0] == STEP:
            return estimator.steps[0][1]
    return None


def segmentation_quality(models, config, test_cases):
    """The ``results.json`` entry: each test case's Dice and HD95 per structure, or None.

    None unless ``segmentation.mode`` is auto. The segmenter is the handed-over models'
    (all share one, trained on the whole training cohort); its masks of the test cohort
    are compared with the case table's manual ones.
    """
    segmenter = _fitted_segmenter(models) if config.segmentation.mode == "auto" else None
    if segmenter is None:
        return None
    predicted = segmenter.transform(test_cases)
    automatic = predicted[segmenter.mask_column]
    pairs = list(zip(automatic, predicted[segmenter.manual_mask_column], strict=True))
    structures = {}
    for name, value in segmenter.structures_.items():
        scores = [mask_overlap(auto, manual, value) for auto, manual in pairs]
        dice, hd95 = zip(*scores, strict=True) if scores else ((), ())
        structures[name] = {"dice": list(dice), "hd95": list(hd95)}
    return {
        "cohort": "test",
        "ids": [str(i) for i in predicted.index],
        "flags": predicted[segmenter.flag_column].tolist() if segmenter.flag_column else [],
        "structures": structures,
    }


def _mean_interval(values):
    """``"mean [95% CI]"`` (Student's t) of the finite values, ``"-"`` when none."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return "-"
    mean = finite.mean()
    if finite.size < 2:
        return f"{mean:.3f}"
    half = stats.t.ppf(0.975, finite.size - 1) * finite.std(ddof=1) / np.sqrt(finite.size)
    return f"{mean:.3f} [{mean - half:.3f}, {mean + half:.3f}]"


def segmentation_table(entry):
    """The report's table: per structure, the test cases' Dice and HD95 (mm), mean [95% CI]."""
    rows = [
        {
            "structure": name,
            "cases": len(scores["dice"]),
            "Dice": _mean_interval(scores["dice"]),
            "HD95 (mm)": _mean_interval(scores["hd95"]),
        }
        for name, scores in entry["structures"].items()
    ]
    return pd.DataFrame(rows)
