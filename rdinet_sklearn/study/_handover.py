"""A fitted study model as a folder another project can use: case table in, probability out.

Every study model takes the case table (its radiomics extraction is its first step), so the
model scored in cross-validation is the one handed over, copied with its caches off. Each
model gets ``<out>/models/<display name>/`` with

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
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from .. import __version__
from .._atomic import atomic_folder
from ..exceptions import RdinetInputError
from ..io._tree import find_nodes
from ._config import parse_roi

CARD_FORMAT = "rdinet-sklearn-study-model"
CARD_VERSION = 1
SAFE_FILE, JOBLIB_FILE, CARD_FILE = "model.rdinet", "model.joblib", "model.json"
BACKGROUND_FILE = "background.csv"
BACKGROUND_ROWS = 20
"""Seeded training rows of the explained features saved with a model, for ``--explain``."""


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


# -- the model folder's format: card, files, loading (kept together so it can move to io/) --


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


def write_model_folder(folder, model, card, background=None):
    """Write the files into a fresh folder, then move it into place (never half)."""
    from .. import io

    with atomic_folder(folder) as partial:
        io.save(model, partial / SAFE_FILE)
        joblib.dump(model, partial / JOBLIB_FILE)
        if background is not None:
            background.to_csv(partial / BACKGROUND_FILE)
        (partial / CARD_FILE).write_text(json.dumps(card, indent=2))
    return Path(folder)


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
    # the fitted study estimator (with its cache) reads the training rows' features
    background = explanation_background(
        model.estimator, cohort.cases.loc[cohort.train_ids], config.seed
    )
    if background is not None:
        card["files"]["background"] = BACKGROUND_FILE
    return write_model_folder(folder, estimator, card, background)
