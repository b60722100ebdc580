"""With automatic masks, the headline models again on the manual masks: their "twins".

A twin is the candidate the factory builds for the same family, ROI strategy and classifier
with ``segmentation.mode`` manual, i.e. the same pipeline without the segmentation step,
tuned and scored on the same CV splits and test cohort. It is named ``"<model> (manual
masks)"``, fitted and handed over like any model (its card says ``segmentation: manual``),
but kept apart from the study's models: it is a reference for the automatic chain, never a
candidate for the headline, the summary or the explanations.

Twinned: every deep model (all are headline models) and the best radiomics classifier of
each ROI strategy (the headline radiomics model among them); radiomics twins read the
cached manual-mask features, so they cost seconds.
"""

from __future__ import annotations

import dataclasses

from ._candidates import build_candidates
from ._outputs import best_per_roi
from ._train import fit_candidates

MANUAL_SUFFIX = " (manual masks)"
"""Appended to a model's name to name its manual-mask twin."""
AUTOMATIC_SUFFIX = " (automatic masks)"
"""Appended to a twinned model's name where it is shown beside its twin."""


def twin_name(name):
    return f"{name}{MANUAL_SUFFIX}"


def twinned_models(models):
    """The fitted models that get a manual-mask twin, in report order."""
    radiomics = best_per_roi(models)
    return [n for n, m in models.items() if n in radiomics or not m.is_radiomics]


def manual_config(config):
    """``config`` with manual masks: the factory then builds the pipelines without a segmenter."""
    return config.updated({"segmentation": {"mode": "manual"}})


def fit_manual_twins(models, config, cohort, folder, feature_columns, progress):
    """The twins of :func:`twinned_models`, fitted resumably; nothing without automatic masks.

    Returns
    -------
    twins : dict of str to FittedModel
        Each twinned model's name -> its twin (named with :data:`MANUAL_SUFFIX`).
    candidates : dict of str to Candidate
        Each twinned model's name -> the twin's unfitted candidate.
    diverged : list of dict
        ``results.json["diverged"]`` entries of twins whose network diverged (no twin).
    """
    if config.segmentation.mode != "auto":
        return {}, {}, []
    manual = manual_config(config)
    built = {c.name: c for c in build_candidates(manual, cohort, folder.cache, feature_columns)}
    candidates = {
        name: dataclasses.replace(built[name], name=twin_name(name))
        for name in twinned_models(models)
    }
    fitted, diverged = fit_candidates(list(candidates.values()), manual, cohort, folder, progress)
    twins = {name: fitted[twin_name(name)] for name in candidates if twin_name(name) in fitted}
    return twins, candidates, diverged
