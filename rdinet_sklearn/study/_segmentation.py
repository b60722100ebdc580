"""The study's automatic segmentation: ``segmentation`` settings in, the pipeline's first step
out (how well its masks match the manual ones is ``_segmentation_quality``'s).

With ``mode: auto`` every candidate starts with the same :class:`~rdinet_sklearn.ROISegmenter`
(same parameters, seed and cache folder), so all models of one fold share one network,
trained on that fold's training cases only; it segments the original image, and any image
preprocessing then runs on the image and its predicted mask.
"""

from __future__ import annotations

from sklearn.base import clone

from ..segmentation import ROISegmenter
from ._fit import cv_splits

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
    if config.segmentation.mode != "auto":
        return []
    return [(STEP, study_segmenter(config, cache))]


def study_segmenter(config, cache):
    """The study's unfitted :class:`~rdinet_sklearn.ROISegmenter` (``segmentation`` settings)."""
    settings = config.segmentation
    return ROISegmenter(
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


def quality_folds(config):
    """The CV folds whose segmenters segment the training cohort out of fold: the radiomics
    models' (``cv_folds``), else the deep models' (``deep.cv_folds``)."""
    return config.cv_folds if "radiomics" in config.models else config.deep.cv_folds


def segmented_cohort(config, cohort, cache):
    """Every case segmented by a network that never saw it, as the models' folds trained them.

    Each training patient is segmented by its CV fold's segmenter (trained on that fold's
    training rows, as every model's first step in that fold, so from the cache when the
    models ran), each test patient by the segmenter trained on the whole training cohort.

    Returns
    -------
    list of (int or None, ROISegmenter, DataFrame)
        Per CV fold, then for the test cohort (fold None): the fitted segmenter and its
        ``transform`` of the cases it segments.
    """
    segmenter = study_segmenter(config, cache)
    train = cohort.cases.loc[cohort.train_ids]
    folds = quality_folds(config)
    splits = cv_splits(cohort.y_train, cv_folds=folds, seed=config.seed, groups=cohort.groups)
    parts = []
    for fold, (fit_rows, held_out) in enumerate(splits):
        fitted = clone(segmenter).fit(train.iloc[fit_rows])
        parts.append((fold, fitted, fitted.transform(train.iloc[held_out])))
    refitted = clone(segmenter).fit(train)
    parts.append((None, refitted, refitted.transform(cohort.cases.loc[cohort.test_ids])))
    return parts
