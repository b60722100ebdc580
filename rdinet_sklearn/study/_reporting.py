"""The study's record for the reporting standards (``explain.checklists``): a
:class:`StudyDescription` filled from the settings and the fitted models, its methods
paragraph and the TRIPOD+AI and CLEAR checklists."""

from __future__ import annotations

import re

import pandas as pd

from ..report import package_versions
from ..reporting import StudyDescription, checklist, methods_paragraph, write_reporting_files
from ._models import CLASSIFIERS
from ._results import TEST, TRAINING

METHODS_TITLE = "Methods paragraph (methods.md)"
TRIPOD_TITLE = "TRIPOD+AI checklist (tripod_ai.md)"
CLEAR_TITLE = "CLEAR checklist (clear.md)"


def _validation(config, result):
    design = result.extra["cv_design"]
    if design["scheme"] == "leave-one-group-out":
        cv = f"leave-one-group-out CV over {design['group_column']!r}"
    else:
        cv = f"stratified {config.cv_folds}-fold CV (seed {config.seed})"
    return (
        f"{len(result.ids[TRAINING])} training and {len(result.ids[TEST])} test patients "
        f"(test fraction {config.test_size}); {cv} in the training cohort tuned each model and "
        f"gave its out-of-fold probabilities, on which the operating threshold "
        f"({config.threshold}) was chosen and then applied unchanged to the test cohort"
    )


def _selection(config):
    radiomics = config.radiomics
    steps = [
        f"reproducibility filter: ICC >= {radiomics.icc_threshold} ({radiomics.reproducibility})",
        f"t-test between outcome groups, p < {radiomics.ttest_alpha}",
        "LASSO (cross-validated penalty)",
    ]
    if radiomics.harmonization:
        steps.insert(0, f"ComBat harmonisation {radiomics.harmonization}")
    return steps


def _tuning(model):
    """The model's grid and the chosen point, as text."""
    grid = CLASSIFIERS[model.classifier][1] if model.is_radiomics else {}
    if not grid:
        return "none; fixed settings"
    return f"{grid}, chosen {model.best_params}"


def study_description(config, result, tables):
    """What the study did, for :func:`~rdinet_sklearn.reporting.methods_paragraph`."""
    y = result.outcomes
    n_patients = sum(len(values) for values in y.values())
    metrics = tables["Table 2 (numeric)"]
    extra = config.explain
    return StudyDescription(
        title=f"rdinet-sklearn study ({config.preset} preset)",
        n_patients=n_patients,
        n_events=int(sum(values.sum() for values in y.values())),
        software=package_versions(),
        roi_strategies=list(config.radiomics.roi_strategies),
        extraction={
            "software": "pyradiomics",
            "settings": config.radiomics.params,
            "normalisation": "none (study default)",
        },
        reproducibility=str(result.extra["reproducibility_reason"]),
        selection=_selection(config),
        models={name: _tuning(model) for name, model in result.models.items()},
        validation=_validation(config, result),
        metrics=sorted(metrics["metric"].unique()),
        intervals=dict(tables["Table 2"].attrs.get("ci_methods", {})),
        contributions=extra.contributions,
        uncertainty=extra.uncertainty,
        negative_controls=list(extra.negative_controls),
        calibration_curve=True,
        decision_curves=True,
        deep_learning=bool(config.deep_models),
        model_files=True,
    )


def methods_table(text):
    """The Markdown methods paragraph as one row per topic (``**Topic.** text``)."""
    rows = re.findall(r"^\*\*(.+?)\.\*\*\s*(.+)$", text, flags=re.MULTILINE)
    return pd.DataFrame(rows, columns=["topic", "text"])


def reporting_tables(config, result, tables, out):
    """Write ``methods.md``, ``tripod_ai.md`` and ``clear.md``; return the report's tables."""
    description = study_description(config, result, tables)
    write_reporting_files(description, out)
    return {
        METHODS_TITLE: methods_table(methods_paragraph(description)),
        TRIPOD_TITLE: checklist(description, "tripod_ai"),
        CLEAR_TITLE: checklist(description, "clear"),
    }
