"""The study's automatic segmentation: ``segmentation`` settings in, the pipeline's first step
out (how well its masks match the manual ones is ``_segmentation_quality``'s).

With ``mode: auto`` every candidate starts with the same :class:`~rdinet_sklearn.ROISegmenter`
(same parameters, seed and cache folder), so all models of one fold share one network,
trained on that fold's training cases only; it segments the original image, and any image
preprocessing then runs on the image and its predicted mask.
"""

from __future__ import annotations

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
