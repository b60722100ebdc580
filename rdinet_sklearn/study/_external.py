"""External validation: a finished study's headline models, unchanged, on another cohort.

Each headline model (the best radiomics model by CV AUC and every deep model) is loaded from
its hand-over folder (``models/<name>``) and applied to the external cohort with the
operating threshold chosen in the study's training cohort. Table 2 puts the external
cohort's metrics beside the study's internal test cohort; ROC, calibration and decision
curves, paired DeLong tests and a report follow, as for the study itself.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .._cases import CaseTableError, read_case_table, tabular_columns
from ..io._folder import ModelFolderError, load_model_folder
from ..metrics import table1
from ..plots import plot_calibration, plot_decision_curve, plot_roc
from ..report import write_html_report
from ._apply import binary_outcome, predict_cases
from ._handover import model_folder
from ._outputs import (
    CALIBRATION_TITLE,
    TEST,
    calibration_summary,
    delong_table,
    headline_models,
    performance_table,
    proba_key,
    save_figures,
)
from ._store import slug

EXTERNAL, INTERNAL = "external", "internal test"
DELONG_TITLE = "DeLong tests (external cohort)"
# The report's sections, naming the tables and figures evaluate_study writes.
EXTERNAL_LAYOUT = (
    {
        "title": "Discrimination",
        "caption": (
            "Table 2: each headline model with its study threshold, unchanged, on the "
            "external cohort, beside the study's internal test cohort; 95% CIs."
        ),
        "tables": ["Table 2", "Table 2 (numeric)"],
        "figures": ["ROC, external cohort"],
    },
    {
        "title": "Calibration",
        "caption": (
            "Brier score, calibration intercept (0 is ideal) and slope (1 is ideal) in both "
            "cohorts; a model fitted elsewhere often needs recalibration on a new center."
        ),
        "tables": [CALIBRATION_TITLE],
        "figures": ["Calibration, external cohort"],
    },
    {
        "title": "Model comparison",
        "caption": "Paired DeLong tests between the headline models' external-cohort AUCs.",
        "tables": [DELONG_TITLE],
    },
    {
        "title": "Clinical usefulness",
        "caption": "Net benefit of treating by each model's prediction (external cohort).",
        "figures": ["Decision curves, external cohort"],
    },
    {
        "title": "External cohort",
        "caption": "Clinical characteristics of the external cohort by response.",
        "tables": ["Table 1 by response (external)"],
    },
)
MARKER = "external.json"
"""The file that marks a folder as written by :func:`evaluate_study`."""


def _study_results(study):
    path = Path(study) / "results.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFolderError(f"{study}: not a finished study (no results.json)") from None
    except ValueError as exc:
        raise ModelFolderError(f"{path}: cannot be read ({exc})") from exc


def _headline(results):
    stages = {
        name: {"info": {k: model[k] for k in ("family", "roi", "classifier")}, "cv": model["cv"]}
        for name, model in results["models"].items()
    }
    return headline_models(stages)


def _internal_test(study, names, stages):
    """The study's test-cohort labels; adds each model's test probabilities to ``stages``."""
    path = Path(study) / "tables" / "predictions.csv"
    try:
        rows = pd.read_csv(path)
    except FileNotFoundError:
        raise ModelFolderError(f"{study}: not a finished study (no {path.name})") from None
    rows = rows[rows["cohort"] == TEST]
    y = None
    for name in names:
        model = rows[rows["model"] == name]
        stages[name][proba_key(INTERNAL)] = model["proba"].to_numpy()
        y = model["y_true"].to_numpy() if y is None else y
    return y


def _check_out(out):
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ModelFolderError(
            f"{out}: exists and was not written by rdinet evaluate; choose another --out"
        )


def evaluate_study(
    study,
    cases,
    target,
    out,
    *,
    use_joblib=False,
    allow_other_version=False,
    expect_fingerprint=None,
):
    """Apply a finished study's headline models, unchanged, to an external cohort.

    Parameters
    ----------
    study : str or path-like
        The study's output folder (``results.json``, ``models/``).
    cases : DataFrame or str or path-like
        The external cohort's case table, with the columns the models need and ``target``.
    target : str
        The outcome column; its values must be the study's two classes.
    out : str or path-like
        Output folder: ``report.html``, ``external.json``, ``predictions.csv``,
        ``tables/`` and ``figures/``; written in full or not at all.
    use_joblib, allow_other_version : bool, default=False
        As for :func:`~rdinet_sklearn.study.load_study_model`.
    expect_fingerprint : collection of str, default=None
        Refuse any model folder whose fingerprint is not one of these.

    Returns
    -------
    results : dict
        What ``external.json`` holds: the models, their thresholds, Table 2 (external and
        internal test rows) and the DeLong tests on the external cohort.

    Examples
    --------
    >>> from rdinet_sklearn.study import evaluate_study
    >>> evaluate_study("results/demo", "ext/cases.csv", "response",
    ...                "results/external")  # doctest: +SKIP
    """
    out = Path(out)
    _check_out(out)
    results = _study_results(study)
    config = results["config"]
    source = str(cases) if not isinstance(cases, pd.DataFrame) else "the case table"
    table = read_case_table(cases).copy()
    if config["id_column"] in table.columns:  # problems then name the patient
        table.index = table[config["id_column"]].astype(str)
    if target not in table.columns:
        raise CaseTableError([f"{source}: the target column {target!r} is missing"])
    names = _headline(results)
    predictions, stages, fingerprints, y = {}, {}, {}, None
    for name in names:
        model, card, fingerprint = load_model_folder(
            model_folder(study, name),
            use_joblib=use_joblib,
            allow_other_version=allow_other_version,
            expect_fingerprint=expect_fingerprint,
        )
        if y is None:
            y = binary_outcome(table[target], card, column=target, source=source)
        frame = predict_cases(model, card, table)
        predictions[name] = frame
        proba = frame["probability"].to_numpy()
        stages[name] = {"proba_external": proba, "threshold": card["threshold"]}
        fingerprints[name] = fingerprint
    y_ext = y.to_numpy()
    y_internal = _internal_test(study, names, stages)
    cohorts = {EXTERNAL: y_ext, INTERNAL: y_internal}
    long = performance_table(stages, names, cohorts, formatted=False)
    curves = {n: (y_ext, s["proba_external"]) for n, s in stages.items()}
    figures = {
        "ROC, external cohort": plot_roc(curves),
        "Calibration, external cohort": plot_calibration(curves),
        "Decision curves, external cohort": plot_decision_curve(curves),
    }
    figures = {k: getattr(f, "figure", f) for k, f in figures.items()}
    numeric, categorical = tabular_columns(
        table,
        exclude=(
            config["image_column"],
            config["mask_column"],
            config["reference_mask_column"],
            config["id_column"],
            target,
        ),
    )
    groups = y.map({0: "non-responder", 1: "responder"}).to_numpy()
    tables = {
        "Table 1 by response (external)": table1(
            table[numeric + categorical].reset_index(drop=True),
            pd.Series(groups),
            group_order=["non-responder", "responder"],
        ),
        "Table 2": performance_table(stages, names, cohorts),
        "Table 2 (numeric)": long,
        CALIBRATION_TITLE: calibration_summary(stages, names, cohorts),
        DELONG_TITLE: delong_table(
            {n: {"proba_test": s["proba_external"]} for n, s in stages.items()}, names, y_ext
        ),
    }
    rows = pd.concat(
        [f.assign(model=n, observed=table[target].to_numpy()) for n, f in predictions.items()]
    )
    summary = {
        "study": str(study),
        "cases": source,
        "target": target,
        "models": {
            n: {"threshold": s["threshold"], "fingerprint": fingerprints[n]}
            for n, s in stages.items()
        },
        "table2": json.loads(tables["Table 2 (numeric)"].to_json(orient="records")),
        "calibration": json.loads(
            calibration_summary(stages, names, cohorts, formatted=False).to_json(orient="records")
        ),
        "delong": json.loads(tables[DELONG_TITLE].to_json(orient="records")),
    }
    _write(out, tables, figures, rows, summary, config)
    return summary


def _write(out, tables, figures, rows, summary, config):
    """Everything into a fresh folder next to ``out``, then moved into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=out.parent, prefix=".partial-"))
    try:
        (partial / "tables").mkdir()
        for name, frame in tables.items():
            keep_index = not isinstance(frame.index, pd.RangeIndex)
            frame.to_csv(partial / "tables" / f"{slug(name)}.csv", index=keep_index)
        save_figures(figures, partial / "figures")
        rows.to_csv(partial / "predictions.csv", index=False)
        write_html_report(
            partial / "report.html",
            title="rdinet-sklearn external validation",
            figures=figures,
            tables=tables,
            settings={"study": summary["study"], "cases": summary["cases"], **config},
            layout=EXTERNAL_LAYOUT,
        )
        (partial / MARKER).write_text(json.dumps(summary, indent=2, default=str))
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
