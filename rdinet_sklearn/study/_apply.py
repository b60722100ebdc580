"""Apply a handed-over study model to new cases: checks, probabilities, classes, Grad-CAM.

Every check runs before anything is computed or written: the model's columns, every file,
every case's ROI labels and, for a labelled cohort, the target's classes; each problem names
the file, the column and the patient.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._cases import CaseTableError, read_case_table, require_numbers, validate_case_table
from .._paths import path_inside, safe_filename
from ..io._folder import verify_file
from ..metrics import apply_threshold

SEGMENTATION_FLAG = "segmentation_flag"
"""The predictions' column of structures an automatic mask has below the minimum volume."""


def _source(cases):
    return os.fspath(cases) if isinstance(cases, str | os.PathLike) else "the case table"


def check_cases(cases, card):
    """The case table ready for the model of ``card``: indexed by patient id, checked.

    Parameters
    ----------
    cases : DataFrame or str or path-like
        The case table or its CSV path.
    card : dict
        The model card (``model.json``).

    Returns
    -------
    table : DataFrame
        Indexed by the card's ``id_column`` (as strings) when the table has it; an absent
        optional column (the second rater's mask) is added empty.

    Raises
    ------
    CaseTableError
        Listing every missing column, missing or unreadable file, image/mask mismatch and
        case whose mask lacks the model's ROI labels, each with the file and patient.
    """
    source = _source(cases)
    table = read_case_table(cases).copy()
    id_column = card.get("id_column")
    if id_column and id_column in table.columns:
        table.index = table[id_column].astype(str)
    missing = [c for c in card["columns"]["required"] if c not in table.columns]
    if missing:
        need = f"model {card['name']!r} needs it"
        raise CaseTableError([f"{source}: column {c!r} is missing ({need})" for c in missing])
    for column in card["columns"]["optional"]:
        if column not in table.columns:
            table[column] = np.nan
    optional = card["columns"]["optional"]
    if card.get("segmentation") == "auto":
        # no masks to check: the model's ROISegmenter checks each image as it reads it
        return require_numbers(table, card["numeric_columns"], source=source)
    try:
        validate_case_table(
            table,
            labels=card["labels"],
            roi=tuple(card["roi_structures"]),
            image_column=card["image_column"],
            mask_column=card["mask_column"],
            reference_mask_column=optional[0] if optional else None,
        )
    except CaseTableError as error:
        raise CaseTableError([f"{source}: {problem}" for problem in error.problems]) from error
    return require_numbers(table, card["numeric_columns"], source=source)


def binary_outcome(values, card, *, column, source):
    """1 where ``values`` is the card's positive class, 0 for its other class.

    Raises :class:`CaseTableError` naming the column, the unseen values and their patients
    when ``values`` holds a class the model was not trained on (or a missing value).
    """
    known = {str(c): int(c == card["positive_class"]) for c in card["classes"]}
    text = pd.Series(values).astype(str).where(pd.Series(values).notna(), None)
    unseen = text[~text.isin(known)]
    if len(unseen):
        rows = ", ".join(f"{row!r} ({value})" for row, value in unseen.head(10).items())
        raise CaseTableError(
            [
                f"{source}: column {column!r} holds values the model was not trained on "
                f"(its classes: {card['classes']}): {rows}"
            ]
        )
    return text.map(known).astype(int)


def predict_cases(model, card, cases, *, masks_out=None):
    """One row per case: patient id, probability, the study's threshold, predicted class.

    Parameters
    ----------
    model : estimator
        The handed-over model (:func:`~rdinet_sklearn.study.load_study_model`).
    card : dict
        Its card.
    cases : DataFrame or str or path-like
        New cases (checked by :func:`check_cases`); for a model of an automatic-segmentation
        study, images (and clinical columns) only.
    masks_out : str or path-like, default=None
        For such a model: a folder receiving each case's predicted mask, for review, as
        ``<patient id>.nii.gz``.

    Returns
    -------
    predictions : DataFrame
        Columns ``patient_id``, ``probability`` (of ``card["positive_class"]``),
        ``threshold`` and ``predicted_class``, in the table's row order; for such a model
        also ``segmentation_flag``, naming the structures predicted below the segmenter's
        ``min_volume`` (empty when none).

    Examples
    --------
    >>> from rdinet_sklearn.study import load_study_model, predict_cases
    >>> model, card = load_study_model("results/demo/models/RDINet MR+LR")  # doctest: +SKIP
    >>> predict_cases(model, card, "new/cases.csv").head()  # doctest: +SKIP
    """
    if masks_out is not None and card.get("segmentation") != "auto":
        raise CaseTableError(
            [f"model {card['name']!r} draws no masks (its study used manual ones): no --masks-out"]
        )
    table = check_cases(cases, card)
    columns = card["columns"]["required"] + card["columns"]["optional"]
    inputs, segmenter = table[columns], None
    if card.get("segmentation") == "auto":
        segmenter, model = model[0], model[1:]
        inputs = segmenter.transform(inputs)
    # float64, so that the CSV's shortest round-trip repr reads back the same number
    proba = np.asarray(model.predict_proba(inputs), dtype=float)[:, 1]
    negative, positive = card["classes"]
    calls = apply_threshold(proba, card["threshold"])
    predictions = pd.DataFrame(
        {
            "patient_id": table.index.astype(str),
            "probability": proba,
            "threshold": card["threshold"],
            "predicted_class": np.where(calls == 1, positive, negative),
        }
    )
    if segmenter is not None:
        predictions[SEGMENTATION_FLAG] = inputs[segmenter.flag_column].to_numpy()
        if masks_out is not None:
            copy_masks(inputs[segmenter.mask_column], predictions["patient_id"], masks_out)
    return predictions


def copy_masks(paths, patients, folder):
    """Copy each predicted mask to ``<folder>/<patient id>.nii.gz``, each atomically.

    Patient ids become file names through :func:`~rdinet_sklearn._paths.safe_filename`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path, patient in zip(paths, patients, strict=True):
        with atomic_path(path_inside(folder, safe_filename(patient) + ".nii.gz")) as partial:
            shutil.copyfile(path, partial)
    return folder


def write_gradcam_figures(model, card, cases, folder):
    """Each case's Grad-CAM figure (``<patient id>.png`` and ``.svg``) under ``folder``.

    Patient ids become file names through :func:`~rdinet_sklearn._paths.safe_filename`
    (an id such as ``../../x`` or ``/etc/x`` stays a harmless name inside ``folder``). Every
    heat map is computed before the first file is written; each file is written atomically.
    """
    from ..explain import gradcam, plot_gradcam

    if not card["image_branch"]:
        raise CaseTableError(
            [f"model {card['name']!r} ({card['family']}) has no image branch for Grad-CAM"]
        )
    table = check_cases(cases, card)
    columns = card["columns"]["required"] + card["columns"]["optional"]
    folder = Path(folder)
    heatmaps, volumes = gradcam(model, table[columns], return_volumes=True)
    folder.mkdir(parents=True, exist_ok=True)
    for i, patient in enumerate(table.index.astype(str)):
        figure = plot_gradcam(volumes[i : i + 1], heatmaps[i : i + 1], titles=[patient])
        name = safe_filename(patient)
        for suffix, options in ((".png", {"dpi": 150}), (".svg", {})):
            with atomic_path(path_inside(folder, name + suffix)) as partial:
                figure.savefig(partial, format=suffix[1:], **options)
    return folder


def write_table_atomic(frame, path):
    """``frame`` as CSV at ``path``, written to a temporary name and renamed into place."""
    with atomic_path(path) as partial:
        frame.to_csv(partial, index=False)
    return Path(path)


PREDICT_AUGMENTATIONS = 10
"""Test-time augmented predictions per case for ``rdinet predict --explain``."""


def _background(folder, card):
    from ..explain import ExplanationError

    name = card["files"].get("background")
    if name is None:
        raise ExplanationError(
            f"model {card['name']!r}: its folder has no background rows to explain against "
            "(a ResNet has no tabular input; a folder written before --explain existed needs "
            "the study rerun)"
        )
    return pd.read_csv(verify_file(folder, card, "background"), index_col=0)


def explain_predictions(model, card, folder, cases, predictions):
    """``predictions`` with each case's top contributing features and, for the deep models,
    the test-time augmentation spread (``proba_mean``, ``proba_spread``, ``uncertain``).

    Contributions are SHAP values against the training rows saved in the model folder
    (``files.background`` of the card), so no training data is needed; a deep model
    evaluates its network once per coalition (``max_evals=1``).
    """
    from ..explain import feature_contributions, top_contributions, tta_predict_proba

    table = check_cases(cases, card)
    columns = card["columns"]["required"] + card["columns"]["optional"]
    X = table[columns]
    explained = predictions.copy()
    if card["family"] != "resnet":
        background = _background(folder, card)
        values = feature_contributions(
            model,
            X,
            background=background,
            background_is_transformed=True,
            max_background=len(background),
            max_evals=1 if card["image_branch"] else 500,
            model_name=card["name"],
        )
        explained["top_contributions"] = top_contributions(values).to_numpy()
    if card["image_branch"]:
        spread = tta_predict_proba(
            model,
            X,
            n_augmentations=PREDICT_AUGMENTATIONS,
            threshold=card["threshold"],
            model_name=card["name"],
        )
        for column in ("proba_mean", "proba_spread", "uncertain"):
            explained[column] = spread[column].to_numpy()
    return explained
