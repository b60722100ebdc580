"""An automatic segmenter as the second rater of the manual masks (``reproducibility:
auto_rater``), for a cohort without ``mask_rater2``.

The study's ``ROISegmenter`` (the ``segmentation`` settings) segments every case into
column :data:`AUTOMATIC_RATER_COLUMN`, which the extractor reads as the second rater's
masks; the ICC filter then keeps the features reproducible between manual and automatic
masks, fitted in each fold on that fold's training rows. A training patient's automatic mask
comes from a segmenter trained in another fold of the study's CV (out of fold), never on
that patient, so its agreement with the manual mask is that of an unseen case, as a second
rater's would be; a test patient's comes from the segmenter trained on the whole training
cohort. The segmenters learn from images and manual masks only, never from the outcome: a
model's CV fold may thus rate its training patients with a network that saw that fold's
validation patients' images and masks, which leaks no outcome, as extracting every case's
features before the folds leaks none (``_run.extract_features``).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ._segmentation import segmented_cohort

AUTOMATIC_RATER_COLUMN = "mask_automatic"
"""The case-table column of the automatic second rater's masks."""


def with_automatic_rater(cohort, config, cache):
    """``cohort`` with :data:`AUTOMATIC_RATER_COLUMN` filled, when the setting asks for it.

    Parameters
    ----------
    cohort : Cohort
    config : StudyConfig
        Resolved: ``radiomics.reproducibility`` auto_rater adds the column, any other mode
        returns ``cohort`` unchanged.
    cache : str
        The study's cache folder (trained networks and predicted masks).
    """
    if config.radiomics.reproducibility != "auto_rater" or not config.uses_features:
        return cohort
    paths = pd.Series(None, index=cohort.cases.index, dtype=object)
    for _, segmenter, predicted in segmented_cohort(config, cohort, cache):
        paths.loc[predicted.index] = predicted[segmenter.mask_column].to_numpy()
    cases = cohort.cases.assign(**{AUTOMATIC_RATER_COLUMN: paths})
    return dataclasses.replace(cohort, cases=cases)
