"""Render a :class:`~._results.StudyResult` once: tables, figures, ``results.json``, report.

:func:`render_study` turns the fitted models into the study's result and writes every
output from it; :func:`write_outputs` (shared with ``rdinet evaluate``) writes tables,
figures, report and JSON into a folder, each file atomically.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._paths import slug
from ..metrics import table1
from ..report import Report, write_html_report
from ._auto_vs_manual import AUTO_VS_MANUAL_TITLE
from ._comparison import COMPARISON_TITLE
from ._explain import explain_study, with_uncertainty
from ._outputs import (
    CALIBRATION_TITLE,
    best_per_roi,
    calibration_summary,
    cv_table,
    delong_table,
    headline_models,
    make_figures,
    performance_table,
    predictions_table,
    report_layout,
    save_figures,
)
from ._preprocessing import applied_preprocessing, preprocessing_table
from ._reporting import reporting_tables
from ._reproducibility import reproducibility_report
from ._results import TEST, TRAINING, StudyResult
from ._segmentation_report import (
    labelled_automatic,
    segmentation_figures,
    segmentation_tables,
    with_segmentation_section,
    with_twins,
)
from ._summary import SUMMARY_CAPTION, format_summary, summary_reading, summary_table

MISSING_TITLE = "Missing clinical values"
"""The table counting missing clinical values per column and cohort (imputed in-fold)."""

PREPROCESSING_TITLE = "Image preprocessing"
DIVERGED_TITLE = "Diverged models (no metrics, not handed over)"


def study_result(models, comparison, config, cohort, reproducibility, runs=None):
    """The :class:`StudyResult` of a study run (``config`` resolved, as it ran).

    ``runs`` adds what the run recorded besides the models (``{"diverged": [...]}``; with
    automatic masks ``segmentation``, ``manual_twins`` and ``auto_vs_manual``).
    """
    extra = {"reproducibility_reason": reproducibility, **(runs or {})}
    extra["preprocessing"] = applied_preprocessing(models, config)
    if cohort.groups is None:
        extra["cv_design"] = {"scheme": "stratified k-fold"}
    else:  # fold k of predictions.csv holds out the k-th of these groups
        extra["cv_design"] = {
            "scheme": "leave-one-group-out",
            "group_column": config.group_column,
            "groups": np.unique(cohort.groups).tolist(),
        }
    return StudyResult(
        models=models,
        outcomes={TRAINING: cohort.y_train.to_numpy(), TEST: cohort.y_test.to_numpy()},
        ids={TRAINING: [str(i) for i in cohort.train_ids], TEST: [str(i) for i in cohort.test_ids]},
        config=config,
        comparison=comparison,
        extra=extra,
        missing_values=cohort.missing_values(),
    )


def _cohort_tables(cohort):
    clinical = cohort.cases[cohort.numeric + cohort.categorical]
    split = pd.Series("training", index=cohort.cases.index)
    split = split.where(cohort.cases.index.isin(cohort.train_ids), "test")
    responders = cohort.y_train.map({0: "non-responder", 1: "responder"})
    return {
        "Table 1": table1(clinical, split, group_order=["training", "test"]),
        "Table 1 by response (training)": table1(
            clinical.loc[cohort.train_ids],
            responders,
            group_order=["non-responder", "responder"],
        ),
    }


def study_tables(result, cohort):
    """Every table of the study's report by title, and the ``results.json`` entries that
    come with the feature reproducibility and calibration tables."""
    models, y_test = result.models, result.y(TEST)
    headline = headline_models(models)
    best = best_per_roi(models)
    table_models = best + [n for n in headline if n not in best]
    cohorts = {TRAINING: result.y(TRAINING), TEST: y_test}
    tables = _cohort_tables(cohort)
    table2_models, rows = with_twins(models, table_models, result.extra.get("manual_twins", {}))
    for key, formatted in (("Table 2", True), ("Table 2 (numeric)", False)):
        tables[key] = performance_table(table2_models, rows, cohorts, formatted=formatted)
    tables["Table 2"] = labelled_automatic(tables["Table 2"], result.extra.get("manual_twins"))
    tables[CALIBRATION_TITLE] = calibration_summary(models, table_models, cohorts)
    calibration = calibration_summary(models, table_models, cohorts, formatted=False)
    tables["Cross-validation in the training cohort"] = cv_table(models)
    tables["DeLong tests"] = delong_table(models, headline, y_test)
    tables["Summary"] = summary_table(models, y_test)
    if result.comparison is not None:
        tables[COMPARISON_TITLE] = result.comparison
    # Imputed in each fold (study._models.clinical_selection); counted for the report.
    tables[MISSING_TITLE] = result.missing_values
    reproducibility_tables, entries = reproducibility_report(
        models, headline, result.config, result.extra["reproducibility_reason"]
    )
    tables.update(reproducibility_tables)
    entries["calibration"] = _records(calibration)
    tables.update(_run_tables(result.extra))
    return tables, entries


def _run_tables(extra):
    """The report's tables of the image preprocessing applied and the diverged models."""
    tables = {}
    if extra["preprocessing"] is not None:
        tables[PREPROCESSING_TITLE] = preprocessing_table(extra["preprocessing"])
    tables.update(segmentation_tables(extra))
    if extra.get("diverged"):
        columns = ["model", "fold", "estimator", "epoch", "batch", "quantity"]
        tables[DIVERGED_TITLE] = pd.DataFrame(extra["diverged"], columns=columns)
    return tables


def _records(frame):
    return json.loads(frame.to_json(orient="records"))


def results_json(result, tables, entries):
    """What ``results.json`` holds, from the result, its tables and their JSON entries."""
    models = result.models
    results = {
        "config": result.config.to_dict(),
        "split": {"train": result.ids[TRAINING], "test": result.ids[TEST]},
        "models": {
            name: {
                **model.info,
                "best_params": {k: repr(v) for k, v in model.best_params.items()},
                "threshold": model.threshold,
                "cv": model.cv,
                "fit_seconds": model.fit_seconds,
                "model_file": model.model_file,
            }
            for name, model in models.items()
        },
        "table2": _records(tables["Table 2 (numeric)"]),
        "delong": _records(tables["DeLong tests"]),
        "missing_clinical_values": tables[MISSING_TITLE].to_dict(),
        **entries,
        "cv_design": result.extra["cv_design"],
        "preprocessing": result.extra["preprocessing"],
        "segmentation": result.extra.get("segmentation"),
        **_twin_entries(result.extra, tables),
        "diverged": result.extra.get("diverged", []),
    }
    if COMPARISON_TITLE in tables:
        results["comparison"] = _records(tables[COMPARISON_TITLE])
    results["summary"] = _records(tables["Summary"])
    return results


def _twin_entries(extra, tables):
    """``manual_twins`` (twinned model -> its twin) and ``auto_vs_manual``, when any."""
    twins = extra.get("manual_twins")
    if not twins:
        return {}
    return {
        "manual_twins": {
            name: {
                "name": twin.name,
                **twin.info,
                "best_params": {k: repr(v) for k, v in twin.best_params.items()},
                "threshold": twin.threshold,
                "cv": twin.cv,
                "model_file": twin.model_file,
            }
            for name, twin in twins.items()
        },
        "auto_vs_manual": _records(tables[AUTO_VS_MANUAL_TITLE]),
    }


def write_tables(tables, folder):
    """Each table as ``<folder>/<slug of its title>.csv``, written atomically."""
    for name, frame in tables.items():
        keep_index = not isinstance(frame.index, pd.RangeIndex)  # a plain row count says nothing
        with atomic_path(folder / f"{slug(name)}.csv") as partial:
            frame.to_csv(partial, index=keep_index)


def write_json(value, path):
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(value, indent=2, default=str))


def render_study(models, comparison, config, cohort, reproducibility, out, runs=None):
    """Write the study's tables, predictions, figures, report and ``results.json`` to ``out``.

    ``runs``: see :func:`study_result` (the diverged models, which have no metrics).

    Returns
    -------
    results : dict
        What ``results.json`` holds.
    """
    result = study_result(models, comparison, config, cohort, reproducibility, runs)
    tables, entries = study_tables(result, cohort)
    headline, numeric = headline_models(models), tables["Table 2 (numeric)"]
    figures = make_figures(models, headline, result.y(TRAINING), result.y(TEST), numeric)
    explanations = explain_study(models, headline, cohort, config, out)
    tables.update(explanations.tables)
    figures.update(explanations.figures)
    figures.update(segmentation_figures(result.extra))
    if config.explain.checklists:
        tables.update(reporting_tables(config, result, tables, out))
    with atomic_path(out / "tables" / "predictions.csv") as partial:
        with_uncertainty(predictions_table(result), explanations).to_csv(partial, index=False)
    write_tables(tables, out / "tables")
    save_figures(figures, out / "figures")
    summary = tables["Summary"]
    with atomic_path(out / "report.html") as partial:
        report = Report(
            title=f"rdinet-sklearn study ({config.preset} preset)",
            figures=figures,
            tables={k: v for k, v in tables.items() if k != "Summary"},
            settings=config.to_dict(),
            summary=format_summary(summary),
            reading=summary_reading(summary),
            summary_caption=SUMMARY_CAPTION,
            layout=with_segmentation_section(report_layout(figures)),
        )
        write_html_report(partial, report)
    results = results_json(result, tables, entries)
    results["explain"] = {title: _records(table) for title, table in explanations.tables.items()}
    write_json(results, out / "results.json")
    return results
