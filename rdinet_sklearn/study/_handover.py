"""A fitted study model as a folder another project can use: case table in, probability out.

The study fits radiomics classifiers on extracted features and RDINet on the case table
joined with them; the model handed over puts the radiomics extraction (which learns nothing
from the data) in front, so that it takes a case table like the training one and nothing
else. Each model gets ``<out>/models/<display name>/`` with

=================  ==========================================================================
``model.rdinet``   the model as an :func:`rdinet_sklearn.io.save` file (never unpickled)
``model.joblib``   the same model as a joblib pickle (load only from a trusted source)
``model.json``     the model card: operating threshold, expected case-table columns, target
                   classes, package version, and what the model is (family, ROI)
=================  ==========================================================================

The model's caches are switched off (``memory=None``): the training cache is not part of
the model, so a loaded model never reads or writes it.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from .. import __version__
from ..exceptions import RdinetInputError
from ..io._tree import find_nodes
from ..radiomics import RadiomicsExtractor
from ._config import parse_roi
from ._reproducibility import extractor_options

CARD_FORMAT = "rdinet-sklearn-study-model"
CARD_VERSION = 1
SAFE_FILE, JOBLIB_FILE, CARD_FILE = "model.rdinet", "model.joblib", "model.json"


class ModelFolderError(RdinetInputError):
    """A study model folder is missing, incomplete, or from another rdinet-sklearn version.

    The command line reports it as bad input (exit code 3), with this message, which names
    the folder or file.

    Examples
    --------
    >>> from rdinet_sklearn.study import ModelFolderError, load_study_model
    >>> try:
    ...     load_study_model("no/such/model")
    ... except ModelFolderError as err:
    ...     print(err)
    no/such/model: not a study model folder (no model.json)
    """


def model_folder(out, name):
    """Where the study writes model ``name`` (its display name, e.g. ``"RDINet MR+LR"``)."""
    return Path(out) / "models" / name


def study_extractor(config, roi, cache):
    """The study's radiomics extractor of one ROI strategy, reading and filling ``cache``."""
    return RadiomicsExtractor(
        roi=parse_roi(roi),
        labels=config.labels,
        params=config.radiomics.params,
        **extractor_options(config),
        image_column=config.image_column,
        mask_column=config.mask_column,
        memory=cache,
        n_jobs=config.n_jobs,
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
    paths = [config.image_column, config.mask_column, reference]
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
    for node in find_nodes(model, lambda n: hasattr(n, "get_params")):
        if "memory" in node.get_params(deep=False):
            node.set_params(memory=None)
    return model


def expected_columns(model, config):
    """``(required, optional)`` case-table columns of a handed-over model.

    The reference (second rater's) mask column is optional: absent or empty, the features
    it would give are NaN, and the model drops them anyway (they serve only the ICC filter
    in training).
    """
    if isinstance(model, Pipeline) and model.steps[0][0] == "radiomics":
        reads = _used_columns(model[0])
    else:
        reads = [config.image_column, config.mask_column]
    optional = [c for c in reads if c == config.reference_mask_column]
    return [c for c in reads if c not in optional], optional


def _json_value(value):
    return value.item() if isinstance(value, np.generic) else value


def model_card(model, config, estimator, *, classes, target, fingerprint):
    """The ``model.json`` content of one study model (a :class:`~._results.FittedModel`)."""
    from ._candidates import FAMILIES

    required, optional = expected_columns(estimator, config)
    roi = parse_roi(model.roi)
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
        "roi_structures": list(roi) if isinstance(roi, tuple) else [roi],
        "columns": {"required": required, "optional": optional},
        "image_branch": FAMILIES[model.family].image_branch,
        "files": {"safe": SAFE_FILE, "joblib": JOBLIB_FILE},
        "fingerprint": fingerprint,
    }


def _read_card(folder):
    path = Path(folder) / CARD_FILE
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFolderError(f"{folder}: not a study model folder (no {CARD_FILE})") from None
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{path}: cannot be read ({exc})") from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelFolderError(f"{path}: not an rdinet-sklearn study model card")
    if card.get("format_version") != CARD_VERSION:
        raise ModelFolderError(
            f"{path}: model card version {card.get('format_version')!r}; this rdinet-sklearn "
            f"reads version {CARD_VERSION}"
        )
    return card


def is_current(folder, fingerprint):
    """Whether ``folder`` holds a complete model written for ``fingerprint``."""
    try:
        card = _read_card(folder)
    except ModelFolderError:
        return False
    files = [Path(folder) / name for name in card["files"].values()]
    return card.get("fingerprint") == fingerprint and all(f.is_file() for f in files)


def write_model_folder(folder, model, card):
    """Write the three files into a fresh folder, then move it into place (never half)."""
    from .. import io

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
    try:
        io.save(model, partial / SAFE_FILE)
        joblib.dump(model, partial / JOBLIB_FILE)
        (partial / CARD_FILE).write_text(json.dumps(card, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(partial, folder)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    return folder


def load_study_model(folder, *, use_joblib=False, allow_other_version=False):
    """A study model folder's fitted model and its card (``model.json``).

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

    Returns
    -------
    model : estimator
        Takes a case table with the card's ``columns``; ``predict_proba[:, 1]`` is the
        probability of ``card["positive_class"]``.
    card : dict
        Threshold, columns, classes, versions and what the model is.

    Raises
    ------
    ModelFolderError
        If the folder is not a complete study model or comes from another version.
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
    card = _read_card(folder)
    saved = card.get("rdinet_sklearn_version")
    if saved != __version__ and not allow_other_version:
        raise ModelFolderError(
            f"{Path(folder) / CARD_FILE}: saved by rdinet-sklearn {saved}, this is "
            f"{__version__}; predictions could differ. Refit the study with this version, "
            f"install rdinet-sklearn {saved}, or pass allow_other_version=True "
            "(--allow-other-version)"
        )
    path = Path(folder) / card["files"]["joblib" if use_joblib else "safe"]
    if not path.is_file():
        raise ModelFolderError(f"{path}: missing from the model folder")
    if use_joblib:
        return joblib.load(path), card
    from .. import io

    return io.load(path), card


def export_stage(folder, model, config, cohort, *, cache, feature_columns, fingerprint):
    """Write ``model`` (a :class:`~._results.FittedModel`) to ``folder`` unless it is there,
    current for ``fingerprint``.

    ``cache`` and ``feature_columns`` as for :func:`handover_model`; the training cases,
    ComBat columns, classes and target come from ``cohort``.
    """
    if is_current(folder, fingerprint):
        return folder
    estimator = handover_model(
        model.estimator,
        model.info,
        config,
        cohort.cases.loc[cohort.train_ids],
        cache=cache,
        feature_columns=feature_columns,
        batch_columns=cohort.batch_columns if model.is_radiomics else (),
    )
    card = model_card(
        model,
        config,
        estimator,
        classes=cohort.classes,
        target=cohort.y.name,
        fingerprint=fingerprint,
    )
    return write_model_folder(folder, estimator, card)
