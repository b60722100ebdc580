"""Fit every candidate on the training cohort (resumably) and compare the best by repeated CV.

Each candidate is tuned by CV, refitted and scored (:func:`~._fit.fit_and_predict`) as one
stage of the :class:`~._store.StageStore`, keyed by a fingerprint of its settings, its
estimator, the data and the split; a stage already on disk with the same fingerprint is
reused. Each fitted model is then handed over to ``models/<name>/``.
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._cache import file_digest
from ._comparison import comparison_table, repeated_cv_aucs, repeated_splits
from ._config import fingerprint
from ._cv import FoldDivergedError
from ._fit import UncomputableMetricWarning, fit_and_predict
from ._handover import export_stage, model_folder
from ._outputs import best_per_roi
from ._results import FittedModel

logger = logging.getLogger("rdinet_sklearn.study")


def _data_key(config, cohort):
    """What the stages depend on besides settings: the table, the files, outcome, split."""
    cases = cohort.cases
    return (
        pd.util.hash_pandas_object(cases.astype(str)).sum().item(),
        [file_digest(p) for p in cases[config.image_column]],
        [file_digest(p) for p in cases[config.mask_column]],
        cohort.y.tolist(),
        list(cohort.train_ids),
    )


def _described(estimator, folder):
    """The estimator's repr without the study folder's location, which is where its caches
    are, not what it computes: a study folder moved elsewhere still resumes."""
    return repr(estimator).replace(str(folder.path), "<out>")


def _warn_uncomputable(model, groups=None):
    problems = []
    if np.isnan(model.threshold):
        problems.append(
            "no operating threshold can be chosen on the training cohort's out-of-fold "
            "predictions (one class, or every probability equal); its ACC, SEN, SPE, PPV "
            "and NPV are NaN in every cohort"
        )
    undefined = [k + 1 for k, auc in enumerate(model.cv["test_roc_auc"]) if np.isnan(auc)]
    if undefined:
        problem = f"the AUC of cross-validation fold(s) {undefined} is undefined (one class)"
        if groups is not None:  # leave-one-group-out: fold k + 1 holds out the k-th group
            names = np.unique(groups)
            problem += f"; held-out group(s) {[str(names[k - 1]) for k in undefined]}"
        problems.append(problem)
    for problem in problems:
        message = f"model {model.name!r}, training cohort: {problem}."
        logger.warning(message)
        warnings.warn(message, UncomputableMetricWarning, stacklevel=3)


def _log_groups(config, groups):
    if groups is not None:
        names = np.unique(groups)
        logger.info(
            "CV: leave-one-group-out over %r (%d groups): %s",
            config.group_column,
            len(names),
            ", ".join(names),
        )


def fitting_settings(config, *ignored):
    """The settings a stage's fingerprint holds: all but ``explain`` (which changes the
    report, not any fit) and ``ignored``."""
    skip = {"explain", *ignored}
    return {k: v for k, v in config.to_dict().items() if k not in skip}


def fit_candidates(candidates, config, cohort, folder, progress):
    """Every candidate tuned, refitted, scored and handed over.

    Returns
    -------
    models : dict of str to FittedModel
        The candidates that were fitted.
    diverged : list of dict
        One ``results.json["diverged"]`` entry per candidate whose network diverged (in a
        CV fold or the refit): not scored, not handed over; the others go on.
    """
    _log_groups(config, cohort.groups)
    data_key = _data_key(config, cohort)
    settings = fitting_settings(config, "comparison")
    train, test = cohort.train_ids, cohort.test_ids
    models, diverged = {}, []
    bar = tqdm(candidates, desc="models", unit="model", disable=not progress)
    for candidate in bar:
        bar.set_postfix_str(candidate.name)
        X = cohort.cases
        radiomics = candidate.family == "radiomics"

        def compute(candidate=candidate, X=X, radiomics=radiomics):
            return fit_and_predict(
                candidate.estimator,
                candidate.grid,
                (X.loc[train], cohort.y.loc[train]),
                (X.loc[test], cohort.y.loc[test]),
                cv_folds=config.cv_folds if radiomics else config.deep.cv_folds,
                seed=config.seed,
                n_jobs=config.n_jobs if radiomics else None,
                threshold_rule=config.threshold,
                groups=cohort.groups,
            )

        estimator = candidate.estimator
        what = _described(estimator, folder)
        key = fingerprint(candidate.name, settings, what, candidate.grid, data_key)
        try:
            stage = folder.store.get_or_run(candidate.name, key, compute)
        except FoldDivergedError as error:
            name, fold = candidate.name, error.fold
            logger.warning("model %s diverged in fold %s: %s", name, fold, error.error)
            diverged.append(error.record(candidate.name))
            continue
        model = FittedModel.from_stage(candidate, stage)
        model = model.replace(model_file=str(folder.store.path(candidate.name)))
        export_stage(model_folder(folder.path, candidate.name), model, config, cohort, key)
        logger.info("model %s: threshold %.3f", candidate.name, model.threshold)
        _warn_uncomputable(model, cohort.groups)
        models[candidate.name] = model
    return models, diverged


def compare_models(models, candidates, config, cohort, folder, progress):
    """The repeated-CV comparison table (see ``comparison`` in the presets), or None.

    Each compared model is its candidate's unfitted estimator at the tuned parameters.
    """
    settings = config.comparison
    names = best_per_roi(models)
    if settings.deep:
        names += [n for n, m in models.items() if not m.is_radiomics]
    if not settings.repeats or len(names) < 2:
        return None
    y_train = cohort.y_train
    splits = repeated_splits(y_train, settings, config.seed, cohort.groups)
    if cohort.groups is not None:
        logger.info("comparison: the leave-one-group-out splits, once (repeats do not apply)")
    by_name = {candidate.name: candidate for candidate in candidates}
    started, aucs = time.perf_counter(), {}
    for name in tqdm(names, desc="comparison", unit="model", disable=not progress):
        try:
            aucs[name] = repeated_aucs(by_name[name], models[name], splits, config, cohort, folder)
        except FoldDivergedError as error:  # its study fit converged; this split did not
            logger.warning("comparison: model %s diverged in split %s; left out", name, error.fold)
    logger.info(
        "comparison: %d models x %d splits in %.1f s",
        len(names),
        len(splits),
        time.perf_counter() - started,
    )
    return comparison_table(aucs, splits) if len(aucs) >= 2 else None


def repeated_aucs(candidate, model, splits, config, cohort, folder):
    """The AUCs of ``candidate`` at ``model``'s tuned parameters on every repeated-CV split of
    the training cohort, as a resumable stage (``"comparison <name>"``).

    Raises
    ------
    FoldDivergedError
        When its network diverges in a split.
    """
    X, y_train, params = cohort.cases.loc[cohort.train_ids], cohort.y_train, model.best_params
    n_jobs = config.n_jobs if model.is_radiomics else None

    def compute():
        aucs = repeated_cv_aucs(candidate.estimator, params, X, y_train, splits, n_jobs=n_jobs)
        return {"aucs": aucs}

    what = _described(candidate.estimator, folder)
    key = fingerprint(
        "comparison",
        candidate.name,
        fitting_settings(config),
        what,
        params,
        _data_key(config, cohort),
    )
    return folder.store.get_or_run(f"comparison {candidate.name}", key, compute)["aucs"]
