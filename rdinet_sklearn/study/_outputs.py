"""The study's tables (Table 2, calibration, CV, DeLong, predictions) and figures, each
computed from the fitted models (:class:`~._results.FittedModel`); ``_report`` writes them."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd

from .._paths import slug
from ..metrics import calibration_report, calibration_table, delong_test, table2
from ..plots import (
    cv_scores_frame,
    plot_calibration,
    plot_cv_scores,
    plot_decision_curve,
    plot_radar,
    plot_roc,
    save_figure,
)
from ._comparison import COMPARISON_TITLE
from ._explain import (
    CONTRIBUTIONS_PREFIX,
    CONTRIBUTIONS_TITLE,
    CONTROLS_TITLE,
    UNCERTAINTY_TITLE,
    problems_title,
)
from ._reporting import CLEAR_TITLE, METHODS_TITLE, TRIPOD_TITLE
from ._results import TEST, TRAINING

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
        "title": "Feature contributions",
        "caption": (
            "SHAP values of each headline model's inputs on the test cohort, against a small "
            "fixed background of training patients: for radiomics models the features the "
            "selectors keep, for RDINet its tabular inputs (radiomics and clinical) with the "
            "image held at the patient's own volume. They explain the model, not the disease: "
            "correlated features share credit."
        ),
        "tables": [CONTRIBUTIONS_TITLE, problems_title("Feature contributions")],
    },
    {
        "title": "Uncertainty",
        "caption": (
            "Each test patient's spread of probability: test-time augmentation (the training "
            "augmentations) for the deep models, refits on bootstrap resamples for radiomics. "
            "A patient is uncertain when the threshold lies within 1.96 spreads of the mean "
            "probability (predictions.csv: proba_mean, proba_spread, uncertain). Do errors "
            "concentrate among uncertain patients?"
        ),
        "tables": [UNCERTAINTY_TITLE, problems_title("Uncertainty")],
    },
    {
        "title": "Negative controls",
        "caption": (
            "The headline radiomics model beside the same pipeline (same selection, same CV "
            "folds) on control inputs: volume (the ROI's shape volume alone), replaced (ROI "
            "intensities drawn from elsewhere: no intensity or texture), shuffled (voxels "
            "shuffled within the ROI: histogram kept, texture destroyed), elsewhere (a region "
            "of the same size elsewhere: nothing anatomical). A control near the real model "
            "explains the signature; one near 0.5 does not."
        ),
        "tables": [CONTROLS_TITLE, problems_title("Negative controls")],
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
    {
        "title": "Reporting checklists (TRIPOD+AI, CLEAR)",
        "caption": (
            "A methods paragraph generated from the settings that ran, and each TRIPOD+AI and "
            "CLEAR item marked covered (with the report section or file), not applicable, or "
            "for the authors; also written as methods.md, tripod_ai.md and clear.md."
        ),
        "tables": [METHODS_TITLE, TRIPOD_TITLE, CLEAR_TITLE],
    },
)


def report_layout(figures):
    """:data:`REPORT_LAYOUT` with the run's contribution figures (one per model) placed."""
    contributions = [name for name in figures if name.startswith(CONTRIBUTIONS_PREFIX)]
    return tuple(
        {**entry, "figures": contributions} if entry["title"] == "Feature contributions" else entry
        for entry in REPORT_LAYOUT
    )


def cv_table(models):
    """Mean and SD of each CV metric per model that was tuned by cross-validation."""
    rows = []
    for name, model in models.items():
        if model.cv is None:
            continue
        row = {"model": name, **model.info}
        for key, scores in model.cv.items():
            row[f"{key[5:]}_mean"] = float(np.mean(scores))
            row[f"{key[5:]}_sd"] = float(np.std(scores, ddof=1))
        rows.append(row)
    return pd.DataFrame(rows)


def headline_models(models):
    """The best radiomics model (by CV AUC) and every deep model, in that order."""
    radiomics = {n: m for n, m in models.items() if m.is_radiomics}
    chosen = []
    if radiomics:
        chosen.append(max(radiomics, key=lambda n: np.mean(radiomics[n].cv["test_roc_auc"])))
    chosen += [n for n, m in models.items() if not m.is_radiomics]
    return chosen


def best_per_roi(models):
    """For each radiomics ROI strategy, its classifier with the best CV AUC."""
    best = {}
    for name, model in models.items():
        if not model.is_radiomics:
            continue
        score = np.mean(model.cv["test_roc_auc"])
        if model.roi not in best or score > best[model.roi][1]:
            best[model.roi] = (name, score)
    return [name for name, _ in best.values()]


def performance_table(models, names, cohorts, *, formatted=True):
    """Table 2: the six metrics with CIs per model and cohort, at each model's threshold.

    ``cohorts`` maps a cohort name (:data:`TRAINING`, scored on the out-of-fold
    probabilities, :data:`TEST` or an external cohort's) to its labels; each model's
    probabilities in it come from :meth:`FittedModel.proba`. A model whose threshold could
    not be chosen (NaN) gets NaN threshold metrics (AUC, which needs no threshold, is
    still given).
    """
    results = {
        name: {
            cohort: (y, models[name].proba(cohort), models[name].threshold)
            for cohort, y in cohorts.items()
        }
        for name in names
    }
    return table2(results, formatted=formatted)


def calibration_summary(models, names, cohorts, *, formatted=True):
    """Table 2's companion: Brier score, calibration intercept and slope with CIs."""
    results = {
        name: {cohort: (y, models[name].proba(cohort)) for cohort, y in cohorts.items()}
        for name in names
    }
    table = calibration_table(results, formatted=formatted)
    if formatted:  # why an NA cell is NA (e.g. near-constant predictions), beside it
        table["note"] = [_calibration_note(*results[m][c]) for m, c in table.index]
    return table


def _calibration_note(y, proba):
    with warnings.catch_warnings():  # calibration_table has warned already; keep the reason
        warnings.simplefilter("ignore")
        notes = calibration_report(y, proba)["note"].dropna()
    return "; ".join(dict.fromkeys(note for note in notes if note))


def predictions_table(result):
    """Every model's probability for every patient: out-of-fold in training, then test.

    The models, then their manual-mask twins (``"<model> (manual masks)"``, with automatic
    masks only). Columns ``case``, ``model``, ``cohort`` (:data:`TRAINING` or
    :data:`TEST`), ``fold`` (the CV fold that scored a training row; empty for test rows),
    ``y_true``, ``proba``, ``threshold`` (the model's operating threshold) and
    ``predicted`` (``proba >= threshold``; empty without a threshold).
    """
    frames = []
    twins = {twin.name: twin for twin in result.extra.get("manual_twins", {}).values()}
    for name, model in {**result.models, **twins}.items():
        threshold = model.threshold
        for cohort, folds in ((TRAINING, model.folds), (TEST, None)):
            proba = np.asarray(model.proba(cohort), dtype=float)
            missing = [pd.NA] * proba.shape[0]
            called = missing if np.isnan(threshold) else (proba >= threshold).astype(int)
            frames.append(
                pd.DataFrame(
                    {
                        "case": result.ids[cohort],
                        "model": name,
                        "cohort": cohort,
                        "fold": pd.array(missing if folds is None else folds, dtype="Int64"),
                        "y_true": result.y(cohort),
                        "proba": proba,
                        "threshold": threshold,
                        "predicted": pd.array(called, dtype="Int64"),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def delong_table(models, names, y, cohort=TEST):
    """Paired DeLong tests on ``cohort`` between every two of the models ``names``."""
    rows = []
    for a, b in itertools.combinations(names, 2):
        result = delong_test(y, models[a].proba(cohort), models[b].proba(cohort))
        rows.append({"model_a": a, "model_b": b, **result._asdict()})
    return pd.DataFrame(rows)


CV_TITLE = "CV AUC in the training cohort (one point per fold)"


def _cv_frame(models, classifier=None):
    """One row per model and fold; ``classifier`` relabels some models (name -> label)."""
    classifier = classifier or {}
    frame = cv_scores_frame({n: m.cv for n, m in models.items()}, metrics=["roc_auc"])
    frame["roi"] = [models[n].roi for n in frame["model"]]
    frame["classifier"] = [classifier.get(n, models[n].classifier) for n in frame["model"]]
    return frame


def _radar_scores(numeric_table2, names, cohort):
    """``models x metrics`` values of one cohort from the numeric Table 2."""
    rows = numeric_table2[numeric_table2["cohort"] == cohort]
    wide = rows.pivot(index="model", columns="metric", values="value").reindex(names)
    # A metric with a zero denominator (e.g. PPV with no positive calls) or no threshold is
    # undefined; the radar draws it at 0 rather than dropping the model.
    return wide.fillna(0.0)


def make_figures(models, names, y_train, y_test, numeric_table2):
    """ROC (training out-of-fold, test), calibration, decision curve, radars, CV box plots."""
    test_curves = {n: (y_test, models[n].proba(TEST)) for n in names}
    figures = {
        "ROC, training cohort (out-of-fold)": plot_roc(
            {n: (y_train, models[n].proba(TRAINING)) for n in names}
        ),
        "ROC, test cohort": plot_roc(test_curves),
        "Calibration, test cohort": plot_calibration(test_curves),
        "Decision curves, test cohort": plot_decision_curve(test_curves),
        "Radar of training metrics (out-of-fold)": plot_radar(
            _radar_scores(numeric_table2, names, TRAINING)
        ),
        "Radar of test metrics": plot_radar(_radar_scores(numeric_table2, names, TEST)),
    }
    radiomics = {n: m for n, m in models.items() if m.is_radiomics and m.cv}
    if radiomics:
        figures["CV AUC by ROI strategy (radiomics)"] = plot_cv_scores(
            _cv_frame(radiomics), x="roi", hue="classifier", title=CV_TITLE
        )
    deep = {n: m for n, m in models.items() if not m.is_radiomics and m.cv}
    if deep:
        figures["CV AUC of the deep models"] = _deep_cv_figure(deep, radiomics)
    return {name: getattr(fig, "figure", fig) for name, fig in figures.items()}


def _deep_cv_figure(deep, radiomics):
    """Each deep ROI next to its best radiomics model (by mean CV AUC): the fusion's inputs."""
    compared, relabel = dict(deep), {}
    for roi in {m.roi for m in deep.values()}:
        candidates = {n: m for n, m in radiomics.items() if m.roi == roi}
        if candidates:
            best = max(candidates, key=lambda n: np.mean(candidates[n].cv["test_roc_auc"]))
            compared[best], relabel[best] = candidates[best], "Radiomics (best)"
    return plot_cv_scores(_cv_frame(compared, relabel), x="roi", hue="classifier", title=CV_TITLE)


def save_figures(figures, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, figure) in enumerate(figures.items(), start=1):
        save_figure(figure, folder / f"{index:02d}_{slug(name)}")
