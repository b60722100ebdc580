"""A fitted study model as a folder another project can use: case table in, probability out.

The study fits radiomics classifiers on extracted features and RDINet on the case table
joined with them; the model handed over puts the radiomics extraction (which learns nothing
from the data) in front, so that it takes a case table like the training one and nothing
else. Each model gets a model folder ``<out>/models/<display name>/``
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
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from .. import __version__
from .._cases import resolve_roi, tabular_columns
from ..io._folder import (
    CARD_FORMAT,
    CARD_VERSION,
    is_current,
    load_model_folder,
    strip_caches,
    write_model_folder,
)
from ..radiomics import RadiomicsExtractor
from ._config import parse_roi
from ._reproducibility import extractor_options

IMAGE_FAMILIES = ("resnet", "rdinet", "rdinet_clinical")
"""Model families with an image branch (Grad-CAM applies)."""


def model_folder(out, name):
    """Where the study writes model ``name`` (its display name, e.g. ``"RDINet MR+LR"``)."""
    return Path(out) / "models" / name


def study_extractor(config, roi, cache):
    """The study's radiomics extractor of one ROI strategy, reading and filling ``cache``."""
    return RadiomicsExtractor(
        roi=parse_roi(roi),
        labels=config["labels"],
        params=config["radiomics"]["params"],
        **extractor_options(config),
        image_column=config["image_column"],
        mask_column=config["mask_column"],
        memory=cache,
        n_jobs=config["n_jobs"],
        progress=False,
    )


def _used_columns(transformer):
    """The input columns a fitted ColumnTransformer reads (dropped ones excluded)."""
    used = []
    for _, step, columns in transformer.transformers_:
        if step != "drop":
            used += [str(c) for c in np.atleast_1d(columns) if str(c) not in used]
    return used


def _with_extraction(model, info, config, train_cases, *, cache, passthrough):
    """``model`` behind a fitted step that adds the ROI's radiomics features to the table.

    The step's output columns come in the order ``model`` saw them: a radiomics pipeline
    was fitted on the features (then any batch columns), RDINet on the case table joined
    with them. Fitting it extracts the training cases, which the study's cache already holds.
    """
    reference = extractor_options(config)["reference_mask_column"]
    paths = [config["image_column"], config["mask_column"], reference]
    paths = [column for column in paths if column]
    extract = ("extract", study_extractor(config, info["roi"], cache), paths)
    keep = ("cases", "passthrough", list(passthrough))
    steps = [extract, keep] if info["family"] == "radiomics" else [keep, extract]
    front = ColumnTransformer([s for s in steps if s[2]], verbose_feature_names_out=False)
    front.set_output(transform="pandas").fit(train_cases)
    # One flat pipeline, so that model[-1] is the classifier (as Grad-CAM expects).
    return Pipeline([("radiomics", front), *model.steps])


def handover_model(fitted, info, config, train_cases, *, cache, feature_columns, batch_columns=()):
    """The study model ``fitted`` as a case table -> probability estimator, caches off.

    Parameters
    ----------
    fitted : estimator
        The study's refitted model: a radiomics pipeline (on features, then any
        harmonization batch columns), a ResNet (on the case table) or an RDINet pipeline
        (on the case table joined with the features). It is copied, not changed.
    info : dict
        Its ``family`` and ``roi``.
    config : dict
        The study settings.
    train_cases : DataFrame
        The training cohort's case table (all columns).
    cache : str
        The study's feature cache, from which the extraction step is fitted.
    feature_columns : sequence of str
        The ROI's radiomics feature names (with their rater-2 twins).
    batch_columns : sequence of str, default=()
        Case-table columns a radiomics pipeline harmonizes by (ComBat batch, covariates).

    Returns
    -------
    model : estimator
        Fitted; ``predict_proba`` takes a case table with the columns named by
        :func:`expected_columns`.
    """
    model = copy.deepcopy(fitted)
    if info["family"] == "radiomics":
        passthrough = list(batch_columns)
    elif info["family"] in ("rdinet", "rdinet_clinical"):
        features = set(feature_columns)
        passthrough = [c for c in _used_columns(model[0]) if c not in features]
    else:
        passthrough = None
    if passthrough is not None:
        model = _with_extraction(
            model, info, config, train_cases, cache=cache, passthrough=passthrough
        )
    return strip_caches(model)


def expected_columns(model, config):
    """``(required, optional)`` case-table columns of a handed-over model.

    The reference (second rater's) mask column is optional: absent or empty, the features
    it would give are NaN, and the model drops them anyway (they serve only the ICC filter
    in training).
    """
    if isinstance(model, Pipeline) and model.steps[0][0] == "radiomics":
        reads = _used_columns(model[0])
    else:
        reads = [config["image_column"], config["mask_column"]]
    optional = [c for c in reads if c == config["reference_mask_column"]]
    return [c for c in reads if c not in optional], optional


def _json_value(value):
    return value.item() if isinstance(value, np.generic) else value


def model_card(name, stage, config, model, *, classes, target, fingerprint):
    """The ``model.json`` content of one study model."""
    required, optional = expected_columns(model, config)
    info = stage["info"]
    # The structures by name, a keyword ROI ("all") resolved against the labels, so that
    # the card needs no reading rule of its own.
    _, values = resolve_roi(parse_roi(info["roi"]), config["labels"])
    return {
        "format": CARD_FORMAT,
        "format_version": CARD_VERSION,
        "name": name,
        **info,
        "rdinet_sklearn_version": __version__,
        "threshold": float(stage["threshold"]),
        "target": target,
        "classes": [_json_value(c) for c in classes],
        "positive_class": _json_value(classes[1]),
        "id_column": config["id_column"],
        "image_column": config["image_column"],
        "mask_column": config["mask_column"],
        "labels": dict(config["labels"]),
        "roi_structures": [n for n, v in config["labels"].items() if v in values],
        "columns": {"required": required, "optional": optional},
        "image_branch": info["family"] in IMAGE_FAMILIES,
        "stage_fingerprint": fingerprint,  # the study's key of the fit, for reruns
    }


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


def export_stage(folder, name, stage, config, train_cases, **details):
    """Write model ``name`` of the study to ``folder`` unless it is already there, current.

    ``details``: ``cache``, ``feature_columns`` and ``batch_columns`` as for
    :func:`handover_model`; ``classes``, ``target`` and ``fingerprint`` as for
    :func:`model_card`.
    """
    if is_current(folder, details["fingerprint"]):
        return folder
    model = handover_model(
        stage["estimator"],
        stage["info"],
        config,
        train_cases,
        cache=details["cache"],
        feature_columns=details["feature_columns"],
        batch_columns=details.get("batch_columns", ()),
    )
    card = model_card(
        name,
        stage,
        config,
        model,
        classes=details["classes"],
        target=details["target"],
        fingerprint=details["fingerprint"],
    )
    # The training table's column decision (NUMERIC_SHARE rule), which predict applies.
    paths = (config["image_column"], config["mask_column"], config["reference_mask_column"])
    numeric, _ = tabular_columns(train_cases, exclude=(*paths, config["id_column"]))
    card["numeric_columns"] = [c for c in card["columns"]["required"] if c in numeric]
    write_model_folder(folder, model, card)
    return folder
