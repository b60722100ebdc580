"""A fitted study model as a folder another project can use: case table in, probability out.

Every study model takes the case table (its radiomics extraction is its first step), so the
model scored in cross-validation is the one handed over, copied with its caches off. Each
model gets a model folder ``<out>/models/<display name>/``
(:mod:`rdinet_sklearn.io._folder`: the pickle-free file, a joblib copy and the card, which
here holds the operating threshold, expected case-table columns, target classes, package
version and what the model is: family, ROI).

The model's caches are switched off (``memory=None``): the training cache is not part of
the model, so a loaded model never reads or writes it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from .. import __version__
from .._cases import resolve_roi
from ..io._folder import (
    CARD_FORMAT,
    CARD_VERSION,
    is_current,
    load_model_folder,
    strip_caches,
    write_model_folder,
)
from ._config import parse_roi

BACKGROUND_ROWS = 20
"""Seeded training rows of the explained features saved with a model, for ``--explain``."""


def model_folder(out, name):
    """Where the study writes model ``name`` (its display name, e.g. ``"RDINet MR+LR"``)."""
    return Path(out) / "models" / name


def _used_columns(transformer):
    """The input columns a fitted ColumnTransformer reads (dropped ones excluded)."""
    used = []
    for _, step, columns in transformer.transformers_:
        if step != "drop":
            used += [str(c) for c in np.atleast_1d(columns) if str(c) not in used]
    return used


def handover_model(fitted):
    """The study model ``fitted`` (case table -> probability) with its caches off, copied.

    The training cache is not part of the model, so a loaded model never reads or writes it.
    """
    model = copy.deepcopy(fitted)
    return strip_caches(model)


def expected_columns(model, config):
    """``(required, optional)`` case-table columns of a handed-over model.

    The reference (second rater's) mask column is optional: absent or empty, the features
    it would give are NaN, and the model drops them anyway (they serve only the ICC filter
    in training).
    """
    if isinstance(model, Pipeline) and "radiomics" in model.named_steps:  # after preprocessing
        reads = _used_columns(model.named_steps["radiomics"])
    else:
        reads = [config.image_column, config.mask_column]
    if config.segmentation.mode == "auto":  # its ROISegmenter draws the mask
        reads = [c for c in reads if c != config.mask_column]
    optional = [c for c in reads if c == config.reference_mask_column]
    return [c for c in reads if c not in optional], optional


# -- the study's model card; the folder format itself is rdinet_sklearn.io._folder's --


def _json_value(value):
    return value.item() if isinstance(value, np.generic) else value


def model_card(model, config, estimator, *, classes, target, fingerprint):
    """The ``model.json`` content of one study model (a :class:`~._results.FittedModel`)."""
    from ._candidates import FAMILIES

    required, optional = expected_columns(estimator, config)
    # The structures by name, a keyword ROI ("all") resolved against the labels, so that
    # the card needs no reading rule of its own.
    _, values = resolve_roi(parse_roi(model.roi), config.labels)
    return {
        "format": CARD_FORMAT,
        "format_version": CARD_VERSION,
        "name": model.name,
        **model.info,
        "rdinet_sklearn_version": __version__,
        "threshold": float(model.threshold),
        "target": target,
        "classes": [_json_value(c) for c in classes],
        "positive_class": _json_value(classes[1]),
        "id_column": config.id_column,
        "image_column": config.image_column,
        "mask_column": config.mask_column,
        "labels": dict(config.labels),
        "roi_structures": [n for n, v in config.labels.items() if v in values],
        "columns": {"required": required, "optional": optional},
        "image_branch": FAMILIES[model.family].image_branch,
        "segmentation": config.segmentation.mode,  # auto: the model's first step draws masks
        "stage_fingerprint": fingerprint,  # the study's key of the fit, for reruns
    }


def explanation_background(estimator, cases, seed):
    """:data:`BACKGROUND_ROWS` seeded training rows of ``estimator``'s explained features
    (no image paths), or None for a model without named tabular inputs (a ResNet)."""
    from ..explain import ExplanationError, explained_features

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(cases), min(BACKGROUND_ROWS, len(cases)), replace=False))
    try:
        return explained_features(estimator, cases.iloc[rows])
    except ExplanationError:
        return None


def load_study_model(
    folder, *, use_joblib=False, allow_other_version=False, expect_fingerprint=None
):
    """A study model folder's fitted model and its card (``model.json``), verified.

    The folder is checked before anything is loaded (:mod:`rdinet_sklearn.io._folder`):
    the card's files stay inside the folder and have the digests it records, and the
    model keeps no cache location.

    Parameters
    ----------
    folder : str or path-like
        ``<study>/models/<model name>``.
    use_joblib : bool, default=False
        Load ``model.joblib`` (a pickle: only from a trusted source) instead of the
        pickle-free ``model.rdinet``.
    allow_other_version : bool, default=False
        Load a model saved by another rdinet-sklearn version (its feature definitions,
        preprocessing or networks may differ); by default that is refused.
    expect_fingerprint : str or collection of str, default=None
        Refuse the folder unless its fingerprint (SHA-256 of ``model.json``) is one of these.

    Returns
    -------
    model : estimator
        Takes a case table with the card's ``columns``; ``predict_proba[:, 1]`` is the
        probability of ``card["positive_class"]``.
    card : dict
        Threshold, columns, classes, versions, digests and what the model is.

    Raises
    ------
    ModelFolderError
        If the folder is not a complete study model, was altered, comes from another
        version or is not the one expected.
    rdinet_sklearn.io.ModelFileError
        If ``model.rdinet`` is damaged.

    Examples
    --------
    >>> from rdinet_sklearn.study import load_study_model
    >>> model, card = load_study_model(
    ...     "results/demo/models/RDINet+clinical MR+LR")  # doctest: +SKIP
    >>> card["threshold"], card["columns"]["required"][:2]  # doctest: +SKIP
    (0.41..., ['image', 'mask'])
    """
    model, card, _ = load_model_folder(
        folder,
        use_joblib=use_joblib,
        allow_other_version=allow_other_version,
        expect_fingerprint=expect_fingerprint,
    )
    return model, card


def export_stage(folder, model, config, cohort, fingerprint):
    """Write ``model`` (a :class:`~._results.FittedModel`) to ``folder`` unless it is there,
    current for ``fingerprint``; classes and target come from ``cohort``."""
    if is_current(folder, fingerprint):
        return folder
    estimator = handover_model(model.estimator)
    card = model_card(
        model,
        config,
        estimator,
        classes=cohort.classes,
        target=cohort.y.name,
        fingerprint=fingerprint,
    )
    # The training table's column decision (NUMERIC_SHARE rule), which predict applies.
    card["numeric_columns"] = [c for c in card["columns"]["required"] if c in cohort.numeric]
    # the fitted study estimator (with its cache) reads the training rows' features
    background = explanation_background(
        model.estimator, cohort.cases.loc[cohort.train_ids], config.seed
    )
    write_model_folder(folder, estimator, card, background)
    return folder
