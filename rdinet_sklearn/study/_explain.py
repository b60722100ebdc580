"""The study's explanations of its headline models: feature contributions, per-patient
uncertainty and negative controls (``explain`` in the settings).

Each is computed on the test cohort (contributions, uncertainty) or by cross-validation in
the training cohort on the study's own folds (negative controls), never on a model's own
training fit. A model that cannot be explained as asked (no named features, a perturbation
count below 2, a control region that cannot be placed) gets one row in the section's
problems table, naming the model and the reason; the rest of the report is still written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import PredefinedSplit

from ..exceptions import RdinetInputError
from ..explain import (
    bootstrap_predict_proba,
    compare_with_control,
    feature_contributions,
    mean_abs_contributions,
    negative_control_pipeline,
    spread_misclassification,
    tta_predict_proba,
)
from ..plots import plot_contributions
from ._candidates import FAMILIES, Family
from ._config import parse_roi
from ._fit import cv_splits
from ._results import TEST

logger = logging.getLogger("rdinet_sklearn.study")

CONTRIBUTIONS_PREFIX = "Feature contributions, "
CONTRIBUTIONS_TITLE = "Feature contributions (mean |SHAP|, test cohort)"
UNCERTAINTY_TITLE = "Uncertainty (test cohort)"
CONTROLS_TITLE = "Negative controls (CV AUC in training)"
TOP_FEATURES = 10
"""Features per model in the contributions table (the figure shows its own top 15)."""


def problems_title(section):
    """The title of ``section``'s table of models it could not explain."""
    return f"{section}: not computed"


@dataclass
class Explanations:
    """What the explanations add to the report: tables, figures and prediction columns.

    ``uncertainty`` holds one frame per model (indexed by test patient id, with
    ``proba_mean``, ``proba_spread`` and ``uncertain``), for ``predictions.csv``.
    """

    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    uncertainty: dict = field(default_factory=dict)

    def add_problems(self, section, problems):
        if problems:
            frame = pd.DataFrame(problems, columns=["model", "reason"])
            self.tables[problems_title(section)] = frame


def _has_image_input(model):
    return FAMILIES[model.family].image_branch


def _explained(models, headline):
    """Headline models with tabular inputs (a ResNet has none; Grad-CAM shows its image)."""
    return [n for n in headline if models[n].family != Family.RESNET]


def contributions(models, headline, cohort, settings):
    """SHAP values of each headline model on the test cohort, background from training."""
    out = Explanations()
    X_train, X_test = cohort.cases.loc[cohort.train_ids], cohort.cases.loc[cohort.test_ids]
    rows, problems = [], []
    for name in _explained(models, headline):
        model = models[name]
        # RDINet runs the CNN for every evaluation: few background rows, one permutation
        cnn = _has_image_input(model)
        options = {"max_background": settings.deep_background_rows, "max_evals": 1} if cnn else {}
        try:
            values = feature_contributions(
                model.estimator,
                X_test,
                background=X_train,
                model_name=name,
                **({"max_background": settings.background_rows} | options),
            )
        except RdinetInputError as error:
            problems.append((name, str(error)))
            continue
        importance = mean_abs_contributions(values).head(TOP_FEATURES)
        rows += [
            {"model": name, "rank": rank, "feature": feature, "mean_abs_shap": value}
            for rank, (feature, value) in enumerate(importance.items(), start=1)
        ]
        axes = plot_contributions(values, title=name)
        out.figures[CONTRIBUTIONS_PREFIX + name] = axes.figure
    if rows:
        out.tables[CONTRIBUTIONS_TITLE] = pd.DataFrame(rows)
    out.add_problems("Feature contributions", problems)
    return out


def _decision_threshold(model):
    return 0.5 if np.isnan(model.threshold) else model.threshold


def _model_uncertainty(model, name, cohort, settings, seed):
    X_test = cohort.cases.loc[cohort.test_ids]
    threshold = _decision_threshold(model)
    if not _has_image_input(model):
        X_train = cohort.cases.loc[cohort.train_ids]
        return "bootstrap refits", bootstrap_predict_proba(
            clone(model.estimator),
            X_train,
            cohort.y_train.to_numpy(),
            X_test,
            n_resamples=settings.bootstrap_resamples,
            threshold=threshold,
            random_state=seed,
            model_name=name,
        )
    return "test-time augmentation", tta_predict_proba(
        model.estimator,
        X_test,
        n_augmentations=settings.tta_augmentations,
        threshold=threshold,
        random_state=seed,
        model_name=name,
    )


def uncertainty(models, headline, cohort, settings, seed):
    """Each headline model's spread per test patient, and whether errors concentrate there."""
    out, rows, problems = Explanations(), [], []
    y_test = cohort.y_test.to_numpy()
    for name in headline:
        model = models[name]
        try:
            method, frame = _model_uncertainty(model, name, cohort, settings, seed)
        except RdinetInputError as error:
            problems.append((name, str(error)))
            continue
        out.uncertainty[name] = frame
        # misclassification at the model's own operating threshold, on its plain prediction
        result = spread_misclassification(
            y_test, model.proba(TEST), frame["proba_spread"], threshold=_decision_threshold(model)
        )
        rows.append(
            {
                "model": name,
                "method": method,
                "mean_spread": float(frame["proba_spread"].mean()),
                "n_uncertain": int(frame["uncertain"].sum()),
                **result._asdict(),
            }
        )
    if rows:
        table = pd.DataFrame(rows)
        table.attrs["caption"] = (
            "auc: AUC of the spread for misclassification (0.5: errors are no more uncertain "
            "than correct calls), DeLong 95% CI; difference_low/high: Welch 95% CI of the mean "
            "spread of misclassified minus correctly classified patients."
        )
        out.tables[UNCERTAINTY_TITLE] = table
    out.add_problems("Uncertainty", problems)
    return out


def _study_folds(cohort, config):
    """The study's training CV as a splitter (every row in one validation fold)."""
    splits = cv_splits(
        cohort.y_train.to_numpy(), cv_folds=config.cv_folds, seed=config.seed, groups=cohort.groups
    )
    fold = np.empty(len(cohort.train_ids), dtype=int)
    for index, (_, validation) in enumerate(splits):
        fold[validation] = index
    return PredefinedSplit(fold)


def negative_controls(models, headline, cohort, config, out):
    """The headline radiomics model beside each control on the study's CV folds."""
    result, problems = Explanations(), []
    radiomics = [n for n in headline if models[n].is_radiomics]
    if not radiomics or not config.explain.negative_controls:
        return result
    name, rows = radiomics[0], []
    model = models[name]
    real = clone(model.estimator)
    X_train, y_train = cohort.cases.loc[cohort.train_ids], cohort.y_train.to_numpy()
    folds = _study_folds(cohort, config)
    for mode in config.explain.negative_controls:
        control = negative_control_pipeline(
            real,
            mode,
            roi=parse_roi(model.roi),
            labels=config.labels,
            out_dir=out / "controls",
            image_column=config.image_column,
            mask_column=config.mask_column,
            random_state=config.seed,
            keep_columns=cohort.batch_columns,  # read by the ComBat step, if any
        )
        try:
            scores = compare_with_control(real, control, X_train, y_train, cv=folds)
        except RdinetInputError as error:
            problems.append((f"{name}, {mode} control", str(error)))
            continue
        rows.append(
            {
                "model": name,
                "control": mode,
                **{k: v for k, v in scores.items() if not k.endswith("_scores")},
            }
        )
        logger.info("negative control %s: AUC %.3f", mode, scores["control_auc"])
    if rows:
        table = pd.DataFrame(rows)
        table.attrs["caption"] = (
            "difference: real minus control CV AUC on the same folds, with the corrected "
            "resampled t 95% interval (Nadeau-Bengio) and its p-value."
        )
        result.tables[CONTROLS_TITLE] = table
    result.add_problems("Negative controls", problems)
    return result


def explain_study(models, headline, cohort, config, out):
    """Every explanation the settings ask for, merged into one :class:`Explanations`."""
    settings, merged = config.explain, Explanations()
    parts = []
    if settings.contributions:
        parts.append(contributions(models, headline, cohort, settings))
    if settings.uncertainty:
        parts.append(uncertainty(models, headline, cohort, settings, config.seed))
    parts.append(negative_controls(models, headline, cohort, config, out))
    for part in parts:
        merged.tables.update(part.tables)
        merged.figures.update(part.figures)
        merged.uncertainty.update(part.uncertainty)
    return merged


def with_uncertainty(predictions, explanations):
    """``predictions.csv`` with ``proba_mean``, ``proba_spread`` and ``uncertain`` columns
    (test rows of the models whose uncertainty was computed; empty elsewhere)."""
    frames = [
        frame[["proba_mean", "proba_spread", "uncertain"]].assign(model=name, cohort=TEST)
        for name, frame in explanations.uncertainty.items()
    ]
    if not frames:
        return predictions
    spread = pd.concat(frames).rename_axis("case").reset_index()
    spread["case"] = spread["case"].astype(str)
    spread["uncertain"] = spread["uncertain"].astype("boolean")
    return predictions.merge(spread, on=["case", "model", "cohort"], how="left")
