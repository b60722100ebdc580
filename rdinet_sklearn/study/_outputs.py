"""The study's deliverables from finished stages: tables, DeLong tests, figures, report, JSON."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from ..metrics import calibration_table, delong_test, table2
from ..plots import (
    cv_scores_frame,
    plot_calibration,
    plot_cv_scores,
    plot_decision_curve,
    plot_radar,
    plot_roc,
    save_figure,
)
from ..report import write_html_report
from ._comparison import COMPARISON_TITLE
from ._store import slug
from ._summary import SUMMARY_CAPTION, format_summary, summary_reading

CALIBRATION_TITLE = "Calibration (Brier score, intercept and slope)"

# The report's sections after the summary, naming the tables and figures the study writes.
# Tables or figures a run makes that are not listed here still get a section of their own.
REPORT_LAYOUT = (
    {
        "title": "Cohort",
        "caption": (
            "Clinical characteristics of the training and test cohorts, and of responders "
            "and non-responders within the training cohort, with univariate tests."
        ),
        "tables": ["Table 1", "Table 1 by response (training)"],
    },
    {
        "title": "Discrimination",
        "caption": (
            "Table 2: each metric with its 95% confidence interval in both cohorts. Each "
            "model's threshold is chosen on its out-of-fold training predictions and applied "
            "unchanged to the test cohort; training rows, the training ROC and the training "
            "radar are out-of-fold, never the model's own training fit."
        ),
        "tables": ["Table 2", "Table 2 (numeric)"],
        "figures": [
            "ROC, training cohort (out-of-fold)",
            "ROC, test cohort",
            "Radar of training metrics (out-of-fold)",
            "Radar of test metrics",
        ],
    },
    {
        "title": "Model comparison",
        "caption": (
            "Paired DeLong tests between the headline models' test-cohort AUCs, and the "
            "corrected resampled t-tests (Nadeau-Bengio) of repeated stratified CV in the "
            "training cohort, which a 30-patient test set cannot replace."
        ),
        "tables": ["DeLong tests", COMPARISON_TITLE],
    },
    {
        "title": "Calibration",
        "caption": (
            "Brier score, calibration intercept (0 is ideal) and slope (1 is ideal) with "
            "95% CIs in both cohorts; the curve shows observed event rate against predicted "
            "probability in the test cohort, where a well-calibrated model follows the "
            "diagonal."
        ),
        "tables": [CALIBRATION_TITLE],
        "figures": ["Calibration, test cohort"],
    },
    {
        "title": "Clinical usefulness",
        "caption": (
            "Net benefit of treating by each model's prediction, against treating all or "
            "no patients, over a range of threshold probabilities (test cohort)."
        ),
        "figures": ["Decision curves, test cohort"],
    },
    {
        "title": "Model selection in training",
        "caption": (
            "Cross-validated scores in the training cohort at each model's tuned settings; "
            "the summary's best models are chosen by the mean CV AUC shown here."
        ),
        "tables": ["Cross-validation in the training cohort"],
        "figures": ["CV AUC by ROI strategy (radiomics)", "CV AUC of the deep models"],
    },
)


def cv_table(stages):
    """Mean and SD of each CV metric per model that was tuned by cross-validation."""
    rows = []
    for name, stage in stages.items():
        if stage["cv"] is None:
            continue
        row = {"model": name, **stage.get("info", {})}
        for key, scores in stage["cv"].items():
            row[f"{key[5:]}_mean"] = float(np.mean(scores))
            row[f"{key[5:]}_sd"] = float(np.std(scores, ddof=1))
        rows.append(row)
    return pd.DataFrame(rows)


def headline_models(stages):
    """The best radiomics model (by CV AUC) and every deep model, in that order."""
    radiomics = {n: s for n, s in stages.items() if s["info"]["family"] == "radiomics"}
    chosen = []
    if radiomics:
        chosen.append(max(radiomics, key=lambda n: np.mean(radiomics[n]["cv"]["test_roc_auc"])))
    chosen += [n for n, s in stages.items() if s["info"]["family"] != "radiomics"]
    return chosen


def best_per_roi(stages):
    """For each radiomics ROI strategy, its classifier with the best CV AUC."""
    best = {}
    for name, stage in stages.items():
        info = stage["info"]
        if info["family"] != "radiomics":
            continue
        score = np.mean(stage["cv"]["test_roc_auc"])
        if info["roi"] not in best or score > best[info["roi"]][1]:
            best[info["roi"]] = (name, score)
    return [name for name, _ in best.values()]


TRAINING = "training (out-of-fold)"
TEST = "test"
_PROBA_KEY = {TRAINING: "proba_oof", TEST: "proba_test"}


def proba_key(cohort):
    """The stage entry holding a cohort's probabilities (``proba_<slug>`` for other cohorts)."""
    return _PROBA_KEY.get(cohort, f"proba_{slug(cohort)}")


def performance_table(stages, names, cohorts, *, formatted=True):
    """Table 2: the six metrics with CIs per model and cohort, at each model's threshold.

    ``cohorts`` maps :data:`TRAINING` (scored on the out-of-fold probabilities) and/or
    :data:`TEST` (or another cohort name, read from the stage's :func:`proba_key`) to the
    cohort's labels. A model whose threshold could not be chosen (NaN)
    gets NaN threshold metrics (AUC, which needs no threshold, is still given).
    """
    results = {
        name: {
            cohort: (y, stages[name][proba_key(cohort)], stages[name]["threshold"])
            for cohort, y in cohorts.items()
        }
        for name in names
    }
    return table2(results, formatted=formatted)


def calibration_summary(stages, names, cohorts, *, formatted=True):
    """Table 2's companion: Brier score, calibration intercept and slope with CIs."""
    results = {
        name: {cohort: (y, stages[name][proba_key(cohort)]) for cohort, y in cohorts.items()}
        for name in names
    }
    return calibration_table(results, formatted=formatted)


def predictions_table(stages, y, train_ids, test_ids):
    """Every model's probability for every patient: out-of-fold in training, then test.

    Columns ``case``, ``model``, ``cohort`` (:data:`TRAINING` or :data:`TEST`), ``fold``
    (the CV fold that scored a training row; empty for test rows), ``y_true``, ``proba``,
    ``threshold`` (the model's operating threshold) and ``predicted`` (``proba >=
    threshold``; empty without a threshold).
    """
    frames = []
    for name, stage in stages.items():
        threshold = stage["threshold"]
        for cohort, ids, folds in ((TRAINING, train_ids, stage["fold"]), (TEST, test_ids, None)):
            proba = np.asarray(stage[_PROBA_KEY[cohort]], dtype=float)
            missing = [pd.NA] * proba.shape[0]
            called = missing if np.isnan(threshold) else (proba >= threshold).astype(int)
            frames.append(
                pd.DataFrame(
                    {
                        "case": [str(i) for i in ids],
                        "model": name,
                        "cohort": cohort,
                        "fold": pd.array(missing if folds is None else folds, dtype="Int64"),
                        "y_true": y.loc[ids].to_numpy(),
                        "proba": proba,
                        "threshold": threshold,
                        "predicted": pd.array(called, dtype="Int64"),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def delong_table(stages, names, y_test):
    """Paired DeLong tests on the test cohort between every two headline models."""
    rows = []
    for a, b in itertools.combinations(names, 2):
        result = delong_test(y_test, stages[a]["proba_test"], stages[b]["proba_test"])
        rows.append({"model_a": a, "model_b": b, **result._asdict()})
    return pd.DataFrame(rows)


CV_TITLE = "CV AUC in the training cohort (one point per fold)"


def _cv_frame(stages):
    frame = cv_scores_frame({n: s["cv"] for n, s in stages.items()}, metrics=["roc_auc"])
    frame["roi"] = [stages[n]["info"]["roi"] for n in frame["model"]]
    frame["classifier"] = [stages[n]["info"]["classifier"] for n in frame["model"]]
    return frame


def _radar_scores(numeric_table2, names, cohort):
    """``models x metrics`` values of one cohort from the numeric Table 2."""
    rows = numeric_table2[numeric_table2["cohort"] == cohort]
    wide = rows.pivot(index="model", columns="metric", values="value").reindex(names)
    # A metric with a zero denominator (e.g. PPV with no positive calls) or no threshold is
    # undefined; the radar draws it at 0 rather than dropping the model.
    return wide.fillna(0.0)


def make_figures(stages, names, y_train, y_test, numeric_table2):
    """ROC (training out-of-fold, test), calibration, decision curve, radars, CV box plots."""
    test_curves = {n: (y_test, stages[n]["proba_test"]) for n in names}
    figures = {
        "ROC, training cohort (out-of-fold)": plot_roc(
            {n: (y_train, stages[n]["proba_oof"]) for n in names}
        ),
        "ROC, test cohort": plot_roc(test_curves),
        "Calibration, test cohort": plot_calibration(test_curves),
        "Decision curves, test cohort": plot_decision_curve(test_curves),
        "Radar of training metrics (out-of-fold)": plot_radar(
            _radar_scores(numeric_table2, names, TRAINING)
        ),
        "Radar of test metrics": plot_radar(_radar_scores(numeric_table2, names, TEST)),
    }
    radiomics = {n: s for n, s in stages.items() if s["info"]["family"] == "radiomics" and s["cv"]}
    if radiomics:
        figures["CV AUC by ROI strategy (radiomics)"] = plot_cv_scores(
            _cv_frame(radiomics), x="roi", hue="classifier", title=CV_TITLE
        )
    deep = {n: s for n, s in stages.items() if s["info"]["family"] != "radiomics" and s["cv"]}
    if deep:
        # Each deep ROI next to its best radiomics model (by mean CV AUC): the fusion's inputs.
        compared = dict(deep)
        for roi in {s["info"]["roi"] for s in deep.values()}:
            candidates = {n: s for n, s in radiomics.items() if s["info"]["roi"] == roi}
            if candidates:
                best = max(candidates, key=lambda n: np.mean(candidates[n]["cv"]["test_roc_auc"]))
                compared[best] = {**candidates[best], "info": {**candidates[best]["info"]}}
                compared[best]["info"]["classifier"] = "Radiomics (best)"
        figures["CV AUC of the deep models"] = plot_cv_scores(
            _cv_frame(compared), x="roi", hue="classifier", title=CV_TITLE
        )
    return {name: getattr(fig, "figure", fig) for name, fig in figures.items()}


def save_figures(figures, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, figure) in enumerate(figures.items(), start=1):
        save_figure(figure, folder / f"{index:02d}_{slug(name)}")


def write_outputs(
    out, *, config, tables, figures, stages, split, title, predictions=None, extra=None
):
    """Write the HTML report, the tables as CSV, the figures and ``results.json``.

    ``tables["Summary"]`` (a ``summary_table``), when present, opens the report.
    ``predictions`` (:func:`predictions_table`) goes to ``tables/predictions.csv`` only: one
    row per model and patient is data for later analysis, not a table to read in the report.
    ``extra`` holds further ``results.json`` entries (e.g. the feature reproducibility).
    """
    if predictions is not None:
        predictions.to_csv(out / "tables" / "predictions.csv", index=False)
    for name, frame in tables.items():
        keep_index = not isinstance(frame.index, pd.RangeIndex)  # a plain row count says nothing
        frame.to_csv(out / "tables" / f"{slug(name)}.csv", index=keep_index)
    save_figures(figures, out / "figures")
    summary = tables.get("Summary")
    write_html_report(
        out / "report.html",
        title=title,
        figures=figures,
        tables={k: v for k, v in tables.items() if k != "Summary"},
        settings=config,
        summary=None if summary is None else format_summary(summary),
        reading=None if summary is None else summary_reading(summary),
        summary_caption=SUMMARY_CAPTION,
        layout=REPORT_LAYOUT,
    )
    results = {
        "config": config,
        "split": split,
        "models": {
            name: {
                **stage["info"],
                "best_params": {k: repr(v) for k, v in stage["best_params"].items()},
                "threshold": stage["threshold"],
                "cv": stage["cv"],
                "fit_seconds": stage["fit_seconds"],
                "model_file": stage["model_file"],
            }
            for name, stage in stages.items()
        },
        "table2": json.loads(tables["Table 2 (numeric)"].to_json(orient="records")),
        "delong": json.loads(tables["DeLong tests"].to_json(orient="records")),
        **(extra or {}),
    }
    if COMPARISON_TITLE in tables:
        results["comparison"] = json.loads(tables[COMPARISON_TITLE].to_json(orient="records"))
    if summary is not None:
        results["summary"] = json.loads(summary.to_json(orient="records"))
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return results
