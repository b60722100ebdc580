"""External validation: a finished study's headline models, unchanged, on another cohort.

Each headline model (the best radiomics model by CV AUC and every deep model) is loaded from
its hand-over folder (``models/<name>``) and applied to the external cohort with the
operating threshold chosen in the study's training cohort. Table 2 puts the external
cohort's metrics beside the study's internal test cohort; ROC, calibration and decision
curves, paired DeLong tests and a report follow, as for the study itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._atomic import atomic_folder
from .._cases import CaseTableError, read_case_table, tabular_columns
from ..exceptions import RdinetInputError
from ..harmonization import ComBatHarmonizer
from ..io._folder import ModelFolderError, load_model_folder
from ..io._tree import find_nodes
from ..metrics import table1
from ..plots import plot_calibration, plot_decision_curve, plot_roc
from ..report import Report, write_html_report
from ._apply import binary_outcome, predict_cases
from ._handover import model_folder
from ._outputs import (
    CALIBRATION_TITLE,
    calibration_summary,
    delong_table,
    headline_models,
    performance_table,
    save_figures,
)
from ._report import write_tables
from ._results import TEST, FittedModel, StudyResult

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


class ExternalCohortError(RdinetInputError):
    """An external cohort that cannot validate the study's models (e.g. one outcome class).

    The command line reports it as bad input (exit code 3), in one line naming the cohort.

    Examples
    --------
    >>> from rdinet_sklearn.study import ExternalCohortError
    >>> issubclass(ExternalCohortError, ValueError)
    True
    """


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


def _study_models(results):
    """The study's models as :class:`FittedModel` (CV scores and threshold, no estimator)."""
    return {
        name: FittedModel(
            name=name,
            family=model["family"],
            roi=model["roi"],
            classifier=model["classifier"],
            estimator=None,
            threshold=model["threshold"],
            cv=model["cv"],
        )
        for name, model in results["models"].items()
    }


def _internal_test(study, models):
    """The study's test-cohort labels, and ``models`` with their test probabilities."""
    path = Path(study) / "tables" / "predictions.csv"
    try:
        rows = pd.read_csv(path)
    except FileNotFoundError:
        raise ModelFolderError(f"{study}: not a finished study (no {path.name})") from None
    rows = rows[rows["cohort"] == TEST]
    y, scored = None, {}
    for name, model in models.items():
        own = rows[rows["model"] == name]
        scored[name] = model.replace(probabilities={INTERNAL: own["proba"].to_numpy()})
        y = own["y_true"].to_numpy() if y is None else y
    return y, scored


def _check_out(out):
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ModelFolderError(
            f"{out}: exists and was not written by rdinet evaluate; choose another --out"
        )


def _check_outcome(y, target, source):
    """Refuse a one-class cohort before any prediction: no AUC or threshold metric exists."""
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ExternalCohortError(
            f"{source}: the external cohort's outcome {target!r} holds one class only "
            f"({len(y)} cases); its AUC and threshold metrics need responders and "
            "non-responders"
        )


def _check_batches(loaded, table, source):
    """Refuse ComBat batches a model never saw (with ``unseen="error"``) before predicting."""
    for name, (model, *_) in loaded.items():  # (model, card, fingerprint)
        for harmonizer in find_nodes(model, lambda n: isinstance(n, ComBatHarmonizer)):
            column = harmonizer.batch_column
            if harmonizer.unseen != "error" or column not in table.columns:
                continue
            unseen = sorted(set(table[column].astype(str)) - set(map(str, harmonizer.batches_)))
            if unseen:
                raise CaseTableError(
                    [
                        f"{source}: column {column!r} holds ComBat batch(es) {unseen} that "
                        f"model {name!r} never saw (fitted: {harmonizer.batches_.tolist()}); "
                        'refit the study with radiomics.harmonization.unseen="estimate"'
                    ]
                )


def _load(study, names, **options):
    """Each model's verified :class:`~rdinet_sklearn.io._folder.LoadedModel`."""
    return {name: load_model_folder(model_folder(study, name), **options) for name in names}


def _read_cohort(cases, target, id_column):
    source = str(cases) if not isinstance(cases, pd.DataFrame) else "the case table"
    table = read_case_table(cases).copy()
    if id_column in table.columns:  # problems then name the patient
        table.index = table[id_column].astype(str)
    if target not in table.columns:
        raise CaseTableError([f"{source}: the target column {target!r} is missing"])
    return table, source


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
        The outcome column; its values must be the study's two classes, both present.
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

    Raises
    ------
    CaseTableError
        Before any prediction: the target column is missing or holds a class the models
        were not trained on, or a ComBat batch the models never saw.
    ExternalCohortError
        Before any prediction: the outcome holds one class only (no AUC can be computed).

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
    table, source = _read_cohort(cases, target, config["id_column"])
    models = _study_models(results)
    names = headline_models(models)
    loaded = _load(
        study,
        names,
        use_joblib=use_joblib,
        allow_other_version=allow_other_version,
        expect_fingerprint=expect_fingerprint,
    )
    y = binary_outcome(table[target], loaded[names[0]][1], column=target, source=source)
    _check_outcome(y, target, source)
    _check_batches(loaded, table, source)
    y_internal, models = _internal_test(study, {n: models[n] for n in names})
    predictions = {}
    for name, (model, card, _) in loaded.items():
        predictions[name] = predict_cases(model, card, table)
        proba = predictions[name]["probability"].to_numpy()
        models[name] = models[name].replace(
            estimator=model, threshold=card["threshold"], probabilities={EXTERNAL: proba}
        )
    y_ext = y.to_numpy()
    result = StudyResult(
        models=models,
        outcomes={EXTERNAL: y_ext, INTERNAL: y_internal},
        ids={EXTERNAL: list(table.index.astype(str))},
        config=config,
    )
    tables = _tables(result, table, target, config, y)
    figures = _figures(result)
    rows = pd.concat(
        [f.assign(model=n, observed=table[target].to_numpy()) for n, f in predictions.items()]
    )
    summary = {
        "study": str(study),
        "cases": source,
        "target": target,
        "models": {
            n: {"threshold": m.threshold, "fingerprint": loaded[n].fingerprint}
            for n, m in models.items()
        },
        "table2": _records(tables["Table 2 (numeric)"]),
        "calibration": _records(
            calibration_summary(models, names, _cohorts(result), formatted=False)
        ),
        "delong": _records(tables[DELONG_TITLE]),
    }
    _write(out, tables, figures, rows, summary, config)
    return summary


def _cohorts(result):
    return {EXTERNAL: result.y(EXTERNAL), INTERNAL: result.y(INTERNAL)}


def _figures(result):
    curves = {n: (result.y(EXTERNAL), m.proba(EXTERNAL)) for n, m in result.models.items()}
    figures = {
        "ROC, external cohort": plot_roc(curves),
        "Calibration, external cohort": plot_calibration(curves),
        "Decision curves, external cohort": plot_decision_curve(curves),
    }
    return {k: getattr(f, "figure", f) for k, f in figures.items()}


def _tables(result, table, target, config, y):
    models, names, cohorts = result.models, list(result.models), _cohorts(result)
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
    return {
        "Table 1 by response (external)": table1(
            table[numeric + categorical].reset_index(drop=True),
            pd.Series(groups),
            group_order=["non-responder", "responder"],
        ),
        "Table 2": performance_table(models, names, cohorts),
        "Table 2 (numeric)": performance_table(models, names, cohorts, formatted=False),
        CALIBRATION_TITLE: calibration_summary(models, names, cohorts),
        DELONG_TITLE: delong_table(models, names, result.y(EXTERNAL), cohort=EXTERNAL),
    }


def _records(frame):
    return json.loads(frame.to_json(orient="records"))


def _write(out, tables, figures, rows, summary, config):
    """Everything into a fresh folder next to ``out``, then moved into place."""
    with atomic_folder(out) as partial:
        (partial / "tables").mkdir()
        write_tables(tables, partial / "tables")
        save_figures(figures, partial / "figures")
        rows.to_csv(partial / "predictions.csv", index=False)
        report = Report(
            title="rdinet-sklearn external validation",
            figures=figures,
            tables=tables,
            settings={"study": summary["study"], "cases": summary["cases"], **config},
            layout=EXTERNAL_LAYOUT,
        )
        write_html_report(partial / "report.html", report)
        (partial / MARKER).write_text(json.dumps(summary, indent=2, default=str))
