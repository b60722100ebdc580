"""The study design as one function: split, tune in training, test, report; cached and resumable."""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from rdinet_sklearn._checks import check_binary_target

from .._cache import file_digest
from .._cases import (
    CaseTableError,
    numeric_values,
    read_case_table,
    tabular_columns,
    validate_case_table,
)
from .._folds import require_folds
from ..metrics import table1
from ..selection import SelectionFallbackWarning
from ._comparison import COMPARISON_TITLE, comparison_table, repeated_cv_aucs, repeated_splits
from ._config import ConfigError, fingerprint, make_config
from ._fit import UncomputableMetricWarning, fit_and_predict
from ._handover import export_stage, model_folder, study_extractor
from ._models import radiomics_model, rdinet_model, resnet_model
from ._outputs import (
    CALIBRATION_TITLE,
    TEST,
    TRAINING,
    best_per_roi,
    calibration_summary,
    cv_table,
    delong_table,
    headline_models,
    make_figures,
    performance_table,
    predictions_table,
    write_outputs,
)
from ._reproducibility import reproducibility_report, resolve_reproducibility
from ._store import StageStore
from ._summary import summary_table

logger = logging.getLogger("rdinet_sklearn.study")
MISSING_TITLE = "Missing clinical values"
"""The table counting missing clinical values per column and cohort (imputed in-fold)."""


def _start_log(out):
    handler = logging.FileHandler(out / "study.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the console shows progress bars; details go to the log file
    return handler


def _binary_target(y, index):
    """0/1 Series of the outcome on the case table's index, and the two classes."""
    name = getattr(y, "name", None) or "response"
    try:
        classes, positive = check_binary_target(
            np.asarray(y), estimator_name="the study", rows=index
        )
    except ValueError as error:  # the target is part of the input: bad input, not a bug
        raise CaseTableError([f"target: {error}"]) from error
    return pd.Series(positive.astype(int), index=index, name=name), classes


def clinical_columns(cases, config):
    """Numeric and categorical clinical columns (:func:`~rdinet_sklearn.tabular_columns`)."""
    paths = (config["image_column"], config["mask_column"], config["reference_mask_column"])
    return tabular_columns(cases, exclude=(*paths, config["id_column"]))


def _extract(cases, roi, config, cache):
    extractor = study_extractor(config, roi, cache).set_output(transform="pandas")
    return extractor.fit_transform(cases)


def _harmonization_columns(cases, config):
    """Case-table columns the radiomics models' ComBat step reads (batch, covariates)."""
    settings = config["radiomics"].get("harmonization")
    if settings is None:
        return []
    columns = [settings.get("batch_column", "center"), *(settings.get("covariates") or [])]
    missing = [c for c in columns if c not in cases.columns]
    if missing:
        raise CaseTableError(
            [
                f"radiomics.harmonization reads column(s) {missing}, which the case table "
                f"lacks; its columns: {list(cases.columns)}"
            ]
        )
    return columns


def _training_groups(cases, train_ids, config):
    """The ``group_column`` label of each training case (None without one), checked."""
    column = config.get("group_column")
    if column is None:
        return None
    if not isinstance(column, str):
        raise ConfigError(f"setting 'group_column' must be a column name or null; got {column!r}")
    if column not in cases.columns:
        raise CaseTableError(
            [
                f"group_column {column!r} (leave-one-group-out CV) is not a column of the case "
                f"table; its columns: {list(cases.columns)}"
            ]
        )
    groups = cases.loc[train_ids, column]
    if groups.isna().any():
        missing = groups.index[groups.isna()].tolist()
        raise CaseTableError([f"group_column {column!r}: no value for patient(s) {missing}"])
    groups = groups.astype(str)
    if groups.nunique() < 2:
        raise CaseTableError(
            [
                f"group_column {column!r}: leave-one-group-out CV needs at least 2 groups in "
                f"the training cohort; it has {sorted(groups.unique())}"
            ]
        )
    return groups.to_numpy()


def _warn_uncomputable(name, stage, groups=None):
    problems = []
    if np.isnan(stage["threshold"]):
        problems.append(
            "no operating threshold can be chosen on the training cohort's out-of-fold "
            "predictions (one class, or every probability equal); its ACC, SEN, SPE, PPV "
            "and NPV are NaN in every cohort"
        )
    undefined = [k + 1 for k, auc in enumerate(stage["cv"]["test_roc_auc"]) if np.isnan(auc)]
    if undefined:
        problem = f"the AUC of cross-validation fold(s) {undefined} is undefined (one class)"
        if groups is not None:  # leave-one-group-out: fold k + 1 holds out the k-th group
            names = np.unique(groups)
            problem += f"; held-out group(s) {[str(names[k - 1]) for k in undefined]}"
        problems.append(problem)
    for problem in problems:
        message = f"model {name!r}, training cohort: {problem}."
        logger.warning(message)
        warnings.warn(message, UncomputableMetricWarning, stacklevel=3)


def _check_integer(key, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"setting {key!r} must be an integer >= {minimum}; got {value!r}")


def _check_settings(config):
    """Fold and comparison settings that would fail only after the slow stages."""
    # Operating thresholds are chosen on out-of-fold predictions: every model needs CV.
    _check_integer("cv_folds", config["cv_folds"], 2)
    _check_integer("deep.cv_folds", config["deep"]["cv_folds"], 2)
    comparison = config["comparison"]
    _check_integer("comparison.repeats", comparison["repeats"], 0)
    _check_integer("comparison.folds", comparison["folds"], 2)
    if not isinstance(comparison["deep"], bool):
        raise ConfigError(
            f"setting 'comparison.deep' must be true or false; got {comparison['deep']!r}"
        )


def _model_plan(config, roi_features, clinical, cache):
    """``{name: (info, estimator, grid, X-builder)}`` for every model the config asks for."""
    plan = {}
    wanted = set(config["models"])
    if "radiomics" in wanted:
        for roi in config["radiomics"]["roi_strategies"]:
            for classifier in config["radiomics"]["classifiers"]:
                estimator, grid = radiomics_model(classifier, config, memory=f"{cache}/pipelines")
                info = {"family": "radiomics", "roi": roi, "classifier": classifier}
                plan[f"Radiomics {roi} {classifier.upper()}"] = (info, estimator, grid, roi)
    for roi in config["deep"]["rois"]:
        if "resnet" in wanted:
            info = {"family": "resnet", "roi": roi, "classifier": "ResNet"}
            plan[f"ResNet {roi}"] = (info, resnet_model(config, roi, memory=cache), {}, None)
        for key, label, tabular_clinical in (
            ("rdinet", "RDINet", None),
            ("rdinet_clinical", "RDINet+clinical", clinical),
        ):
            if key in wanted:
                columns = roi_features[roi].columns
                estimator = rdinet_model(
                    config, roi, columns, clinical=tabular_clinical, memory=cache
                )
                info = {"family": key, "roi": roi, "classifier": label}
                plan[f"{label} {roi}"] = (info, estimator, {}, roi)
    return plan


def run_study(
    cases,
    y=None,
    *,
    preset="quick",
    out="results/study",
    config=None,
    target=None,
    overrides=(),
    progress=True,
    test_cases=None,
    group_column=None,
):
    """Run the study design on a cohort and write tables, figures, models and a report.

    Design: a stratified 4:1 train/test split (seeded), or ``test_cases`` as the test
    cohort (external validation: every case of ``cases`` trains); on the training cohort only,
    stratified k-fold CV tunes every model and gives its out-of-fold probabilities; the
    operating threshold (``config["threshold"]``, Youden's J by default) is chosen on those
    out-of-fold probabilities and applied unchanged to the refitted model's test-cohort
    probabilities. Training-cohort rows, curves and the CV table's threshold metrics come
    from the out-of-fold probabilities too. Models: radiomics
    (each ROI strategy x SVM, logistic regression, random forest, after ICC, t-test and LASSO
    selection), the 3D ResNet, RDINet and RDINet with clinical features (for each deep ROI).

    Parameters
    ----------
    cases : DataFrame or str
        The case table or its CSV path (see :func:`rdinet_sklearn.validate_case_table`).
    y : array-like of shape (n_cases,), default=None
        Binary outcome; or give ``target``, a column of ``cases`` to use (and drop).
    preset : {"quick", "paper", "demo"}, default="quick"
        Starting settings; see :func:`make_config`. Ignored when ``config`` is given.
    out : str or path-like, default="results/study"
        Output folder: ``report.html``, ``results.json``, ``config.yaml``, ``study.log``,
        ``tables/``, ``figures/``, ``models/`` (one hand-over folder per fitted model,
        for :func:`load_study_model`), ``stages/`` (their estimators, scores and
        predictions) and ``cache/`` (features and volumes). Rerunning with the same
        folder reuses every finished stage.
    config : dict, default=None
        Settings from :func:`make_config`.
    target : str, default=None
        Name of the outcome column of ``cases`` when ``y`` is None.
    overrides : iterable of str or dict, default=()
        Updates applied to the preset (``"deep.max_epochs=5"``).
    progress : bool, default=True
        Show a progress bar over the models.
    test_cases : DataFrame or str, default=None
        An external test cohort's case table (or CSV path) replacing the random split: same
        layout as ``cases``, with the outcome in column ``target`` (or ``y``'s name, when
        ``y`` is a named Series). Patient ids must differ from those of ``cases``.
    group_column : str, default=None
        A column of ``cases`` (e.g. ``"center"``): the CV in the training cohort (tuning,
        out-of-fold predictions, thresholds, the comparison) is then leave-one-group-out
        over it instead of stratified k-fold. Sets ``config["group_column"]``.

    Returns
    -------
    results : dict
        What ``results.json`` holds: settings, split, per-model CV scores, thresholds and
        files, Table 2 and DeLong tests.

    Examples
    --------
    >>> from rdinet_sklearn.study import run_study
    >>> results = run_study("cohort/cases.csv", target="response", out="results/mine",
    ...                     preset="quick")  # doctest: +SKIP
    """
    config = config if config is not None else make_config(preset, overrides=overrides)
    if group_column is not None:
        config = {**config, "group_column": group_column}
    out = Path(out)
    for folder in ("tables", "figures", "cache"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    handler = _start_log(out)
    try:
        with warnings.catch_warnings():
            # Expected on small folds and recorded in the fitted estimators (e.g. which
            # selector fell back to its minimum); hundreds of copies would bury the progress.
            for category in (SelectionFallbackWarning, UndefinedMetricWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            return _run(cases, y, target, config, out, progress, test_cases)
    finally:
        logger.removeHandler(handler)
        handler.close()


def _check_fold_counts(y_train, config):
    """Refuse, before any work, a training cohort too small for the CVs the settings ask."""
    asked = {}
    if not config["group_column"]:  # leave-one-group-out needs no class counts
        asked["cv_folds"] = config["cv_folds"]
        if set(config["models"]) - {"radiomics"}:
            asked["deep.cv_folds"] = config["deep"]["cv_folds"]
    if config["comparison"]["repeats"]:
        asked["comparison.folds"] = config["comparison"]["folds"]
    for what, folds in asked.items():
        require_folds(y_train, folds, what=what)


def _index_by_id(cases, config):
    if config["id_column"] and config["id_column"] in cases.columns:
        cases.index = cases[config["id_column"]].astype(str)
    return cases


def _with_test_cases(cases, y, test_cases, config):
    """``cases`` and ``test_cases`` as one table and outcome, and the test cohort's ids."""
    source = test_cases if isinstance(test_cases, str | Path) else "test_cases"
    test = read_case_table(test_cases).copy()
    if not config["id_column"] or config["id_column"] not in test.columns:
        test.index = pd.RangeIndex(len(cases), len(cases) + len(test))  # after the training rows
    test = _index_by_id(test, config)
    target = getattr(y, "name", None)
    if target is None:
        raise CaseTableError(["give target= naming the outcome column of test_cases"])
    if target not in test.columns:
        raise CaseTableError([f"{source}: the outcome column {target!r} is missing"])
    shared = test.index.intersection(cases.index)
    if len(shared):
        raise CaseTableError(
            [f"{source}: patient id {pid!r} is also in the training cases" for pid in shared]
        )
    missing = [c for c in cases.columns if c not in test.columns]
    if missing:
        raise CaseTableError([f"{source}: column {c!r} is missing" for c in missing])
    y_test = test.pop(target)
    combined = pd.concat([cases, test[cases.columns]])
    outcome = pd.concat([pd.Series(np.asarray(y), index=cases.index), y_test]).rename(target)
    return combined, outcome, test.index.to_numpy()


def _run(cases, y, target, config, out, progress, test_cases=None):
    _check_settings(config)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cases = read_case_table(cases).copy()
    if y is None:
        if target is None or target not in cases.columns:
            raise CaseTableError(
                [f"give y, or target= naming a column of the case table ({target!r})"]
            )
        y = cases.pop(target)
    cases = _index_by_id(cases, config)
    external_ids = None
    if test_cases is not None:
        y = pd.Series(np.asarray(y), index=cases.index, name=target or getattr(y, "name", None))
        cases, y, external_ids = _with_test_cases(cases, y, test_cases, config)
    y, classes = _binary_target(y, cases.index)
    config, reproducibility = resolve_reproducibility(config, cases)
    logger.info("feature reproducibility: %s", reproducibility)
    logger.info("positive class: %s; %d cases, %d positive", classes[1], len(y), int(y.sum()))
    validate_case_table(
        cases,
        labels=config["labels"],
        image_column=config["image_column"],
        mask_column=config["mask_column"],
        reference_mask_column=config["reference_mask_column"],
    )
    if external_ids is None:
        train_ids, test_ids = train_test_split(
            cases.index.to_numpy(),
            test_size=config["test_size"],
            stratify=y,
            random_state=config["seed"],
        )
    else:
        test_ids = external_ids
        train_ids = cases.index[~cases.index.isin(external_ids)].to_numpy()
    _check_fold_counts(y.loc[train_ids], config)
    numeric, categorical = clinical_columns(cases, config)
    cases = numeric_values(cases, numeric)  # text in a numeric column: missing, with a warning
    cohort = pd.Series("training", index=cases.index).where(cases.index.isin(train_ids), "test")
    clinical = cases[numeric + categorical]
    tables = {
        "Table 1": table1(clinical, cohort, group_order=["training", "test"]),
        "Table 1 by response (training)": table1(
            clinical.loc[train_ids],
            y.loc[train_ids].map({0: "non-responder", 1: "responder"}),
            group_order=["non-responder", "responder"],
        ),
        # Imputed in each fold (study._models.clinical_selection); counted for the report.
        MISSING_TITLE: cases[numeric + categorical].isna().groupby(cohort).sum().T,
    }
    batch_columns = _harmonization_columns(cases, config)  # checked before any extraction
    groups = _training_groups(cases, train_ids, config)  # likewise
    if groups is not None:
        names = np.unique(groups)
        logger.info(
            "CV: leave-one-group-out over %r (%d groups): %s",
            config["group_column"],
            len(names),
            ", ".join(names),
        )
    cache = str(out / "cache")
    rois = set(config["radiomics"]["roi_strategies"] if "radiomics" in config["models"] else [])
    if set(config["models"]) & {"rdinet", "rdinet_clinical"}:
        rois |= set(config["deep"]["rois"])
    roi_features = {
        roi: _extract(cases, roi, config, cache)
        for roi in tqdm(sorted(rois), desc="radiomics features", disable=not progress)
    }
    plan = _model_plan(config, roi_features, (numeric, categorical), cache)
    data_key = (
        pd.util.hash_pandas_object(cases.astype(str)).sum().item(),
        [file_digest(p) for p in cases[config["image_column"]]],
        [file_digest(p) for p in cases[config["mask_column"]]],
        y.tolist(),
        list(train_ids),
    )
    store = StageStore(out)
    stages, inputs = {}, {}
    bar = tqdm(plan.items(), desc="models", unit="model", disable=not progress)
    for name, (info, estimator, grid, roi) in bar:
        bar.set_postfix_str(name)
        if roi is None:
            X = cases
        elif info["family"] == "radiomics":
            X = roi_features[roi].join(cases[batch_columns])
        else:
            X = cases.join(roi_features[roi])
        radiomics = info["family"] == "radiomics"

        def compute(estimator=estimator, grid=grid, X=X, radiomics=radiomics):
            return fit_and_predict(
                estimator,
                grid,
                (X.loc[train_ids], y.loc[train_ids]),
                (X.loc[test_ids], y.loc[test_ids]),
                cv_folds=config["cv_folds"] if radiomics else config["deep"]["cv_folds"],
                seed=config["seed"],
                n_jobs=config["n_jobs"] if radiomics else None,
                threshold_rule=config["threshold"],
                groups=groups,
            )

        model_settings = {k: v for k, v in config.items() if k != "comparison"}
        key = fingerprint(name, model_settings, repr(estimator), grid, data_key)
        stage = store.get_or_run(name, key, compute)
        stage.update(info=info, model_file=str(store.path(name)))
        export_stage(
            model_folder(out, name),
            name,
            stage,
            config,
            cases.loc[train_ids],
            cache=cache,
            feature_columns=[] if roi is None else roi_features[roi].columns,
            batch_columns=batch_columns if info["family"] == "radiomics" else (),
            classes=classes,
            target=y.name,
            fingerprint=key,
        )
        logger.info("model %s: threshold %.3f", name, stage["threshold"])
        _warn_uncomputable(name, stage, groups)
        stages[name] = stage
        inputs[name] = (estimator, X.loc[train_ids], config["n_jobs"] if radiomics else None)
    comparison = _compare(
        stages, inputs, y.loc[train_ids], config, store, data_key, progress, groups
    )
    return _report(
        stages, tables, comparison, config, out, y, train_ids, test_ids, reproducibility, groups
    )


def _compare(stages, inputs, y_train, config, store, data_key, progress, groups=None):
    """The repeated-CV comparison table (see ``comparison`` in :data:`PRESETS`), or None."""
    settings = config["comparison"]
    names = best_per_roi(stages)
    if settings["deep"]:
        names += [n for n, s in stages.items() if s["info"]["family"] != "radiomics"]
    if not settings["repeats"] or len(names) < 2:
        return None
    splits = repeated_splits(y_train, settings, config["seed"], groups)
    if groups is not None:
        logger.info("comparison: the leave-one-group-out splits, once (repeats do not apply)")
    started, aucs = time.perf_counter(), {}
    for name in tqdm(names, desc="comparison", unit="model", disable=not progress):
        estimator, X, n_jobs = inputs[name]
        params = stages[name]["best_params"]

        def compute(estimator=estimator, params=params, X=X, n_jobs=n_jobs):
            return {"aucs": repeated_cv_aucs(estimator, params, X, y_train, splits, n_jobs=n_jobs)}

        key = fingerprint("comparison", name, config, repr(estimator), params, data_key)
        aucs[name] = store.get_or_run(f"comparison {name}", key, compute)["aucs"]
    logger.info(
        "comparison: %d models x %d splits in %.1f s",
        len(names),
        len(splits),
        time.perf_counter() - started,
    )
    return comparison_table(aucs, splits)


def _report(
    stages, tables, comparison, config, out, y, train_ids, test_ids, reproducibility, groups=None
):
    y_train, y_test = y.loc[train_ids].to_numpy(), y.loc[test_ids].to_numpy()
    headline = headline_models(stages)
    table_models = best_per_roi(stages) + [n for n in headline if n not in best_per_roi(stages)]
    cohorts = {TRAINING: y_train, TEST: y_test}
    for key, formatted in (("Table 2", True), ("Table 2 (numeric)", False)):
        tables[key] = performance_table(stages, table_models, cohorts, formatted=formatted)
    tables[CALIBRATION_TITLE] = calibration_summary(stages, table_models, cohorts)
    calibration = calibration_summary(stages, table_models, cohorts, formatted=False)
    tables["Cross-validation in the training cohort"] = cv_table(stages)
    tables["DeLong tests"] = delong_table(stages, headline, y_test)
    tables["Summary"] = summary_table(stages, y_test)
    if comparison is not None:
        tables[COMPARISON_TITLE] = comparison
    figures = make_figures(stages, headline, y_train, y_test, tables["Table 2 (numeric)"])
    split = {"train": [str(i) for i in train_ids], "test": [str(i) for i in test_ids]}
    reproducibility_tables, entries = reproducibility_report(
        stages, headline, config, reproducibility
    )
    tables.update(reproducibility_tables)
    entries["calibration"] = json.loads(calibration.to_json(orient="records"))
    entries["missing_clinical_values"] = tables[MISSING_TITLE].to_dict()
    if groups is None:
        entries["cv_design"] = {"scheme": "stratified k-fold"}
    else:  # fold k of predictions.csv holds out the k-th of these groups
        entries["cv_design"] = {
            "scheme": "leave-one-group-out",
            "group_column": config["group_column"],
            "groups": np.unique(groups).tolist(),
        }
    return write_outputs(
        out,
        config=config,
        tables=tables,
        figures=figures,
        stages=stages,
        split=split,
        predictions=predictions_table(stages, y, train_ids, test_ids),
        title=f"rdinet-sklearn study ({config['preset']} preset)",
        extra=entries,
    )
