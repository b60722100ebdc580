"""Each twinned model on automatic masks against its manual-mask twin (``_manual_twins``):
the CV AUC difference with its corrected resampled t interval and non-inferiority reading,
and the paired DeLong test on the test cohort.

The CV comparison runs on the repeated splits of ``comparison`` (``repeats`` x ``folds``)
where the study compares that kind of model there (radiomics models; deep ones with
``comparison.deep``), else on the study's own CV folds, which the model and its twin share
(same folds, same seed), at no extra cost.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..metrics import corrected_resampled_interval, corrected_resampled_ttest, delong_test
from ._comparison import repeated_splits
from ._cv import FoldDivergedError
from ._manual_twins import manual_config
from ._results import TEST
from ._train import repeated_aucs

logger = logging.getLogger("rdinet_sklearn.study")

AUTO_VS_MANUAL_TITLE = "Automatic vs manual masks (same models, same splits)"


def noninferiority(automatic, manual, n_train, n_test, margin):
    """Corrected resampled t interval of the mean ``automatic - manual`` fold AUC, read
    against ``-margin``.

    Parameters
    ----------
    automatic, manual : array-like of shape (n_splits,)
        The two models' AUCs on the same splits, in the same order.
    n_train, n_test : float
        Mean training and validation rows per split (the Nadeau-Bengio correction).
    margin : float
        Non-inferiority margin (positive): the automatic chain is non-inferior when the
        two-sided 95% interval's lower bound (a one-sided 2.5% test) lies above ``-margin``.

    Returns
    -------
    dict
        ``cv_auc_automatic``, ``cv_auc_manual``, ``cv_difference``, ``ci_low``,
        ``ci_high``, ``t``, ``df``, ``p_value`` (of no difference), ``margin`` and
        ``non_inferior`` (None where a fold AUC is undefined).

    Examples
    --------
    >>> from rdinet_sklearn.study._auto_vs_manual import noninferiority
    >>> row = noninferiority([0.80, 0.78, 0.83], [0.81, 0.80, 0.82], 80, 40, margin=0.05)
    >>> round(row["cv_difference"], 3), row["non_inferior"]
    (-0.007, False)
    """
    a, b = np.asarray(automatic, dtype=float), np.asarray(manual, dtype=float)
    row = {
        "cv_auc_automatic": float(np.mean(a)),
        "cv_auc_manual": float(np.mean(b)),
        "cv_difference": float(np.mean(a - b)),
        "ci_low": np.nan,
        "ci_high": np.nan,
        "t": np.nan,
        "df": a.size - 1,
        "p_value": np.nan,
        "margin": float(margin),
        "non_inferior": None,
    }
    if a.size < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return row
    result = corrected_resampled_ttest(a, b, n_train, n_test)
    low, high = corrected_resampled_interval(a, b, n_train, n_test)
    row.update(
        ci_low=float(low),
        ci_high=float(high),
        t=float(result.statistic),
        p_value=float(result.p_value),
        non_inferior=bool(low > -margin),
    )
    return row


def _study_folds(model, twin):
    """Both models' AUCs on the study's CV folds, and the folds' mean sizes."""
    folds = np.asarray(model.folds)
    n_test = folds.size / np.unique(folds).size
    aucs = model.cv["test_roc_auc"], twin.cv["test_roc_auc"]
    return aucs, (folds.size - n_test, n_test), f"the study's {np.unique(folds).size}-fold CV"


def _repeated(model, twin, candidates, config, cohort, folder):
    """Both models' AUCs on the repeated-CV splits, or None when the study compares no such
    model there (or a network diverged in a split)."""
    settings = config.comparison
    if not settings.repeats or not (model.is_radiomics or settings.deep):
        return None
    splits = repeated_splits(cohort.y_train, settings, config.seed, cohort.groups)
    auto_candidate, twin_candidate = candidates
    try:
        a = repeated_aucs(auto_candidate, model, splits, config, cohort, folder)
        b = repeated_aucs(twin_candidate, twin, splits, manual_config(config), cohort, folder)
    except FoldDivergedError as error:
        logger.warning("auto vs manual: %s diverged in split %s", model.name, error.fold)
        return None
    sizes = (
        float(np.mean([len(train) for train, _ in splits])),
        float(np.mean([len(validation) for _, validation in splits])),
    )
    design = (
        "the leave-one-group-out splits"
        if cohort.groups is not None
        else f"{settings.repeats} x {settings.folds} repeated stratified CV"
    )
    return (a, b), sizes, design


def auto_vs_manual_table(models, twins, candidates, twin_candidates, config, cohort, folder):
    """One row per twinned model: CV non-inferiority and test-cohort DeLong, automatic vs manual.

    Parameters
    ----------
    models : dict of str to FittedModel
        The study's models (automatic masks).
    twins : dict of str to FittedModel
        Twinned model name -> its manual-mask twin (:func:`fit_manual_twins`).
    candidates : dict of str to Candidate
        The study's candidates by name.
    twin_candidates : dict of str to Candidate
        Twinned model name -> the twin's candidate.

    Returns
    -------
    DataFrame or None
        None without twins.
    """
    if not twins:
        return None
    margin = config.segmentation.noninferiority_margin
    y_test = cohort.y_test.to_numpy()
    rows = []
    for name, twin in twins.items():
        model = models[name]
        pair = (candidates[name], twin_candidates[name])
        repeated = _repeated(model, twin, pair, config, cohort, folder)
        (a, b), (n_train, n_test), design = repeated or _study_folds(model, twin)
        delong = delong_test(y_test, model.proba(TEST), twin.proba(TEST))
        rows.append(
            {
                "model": name,  # its twin's name is in results.json's manual_twins
                "cv_splits": design,
                **noninferiority(a, b, n_train, n_test, margin),
                "test_auc_automatic": delong.auc_a,
                "test_auc_manual": delong.auc_b,
                "delong_z": delong.z,
                "delong_p_value": delong.p_value,
            }
        )
    return pd.DataFrame(rows)


def noninferiority_reading(table):
    """One sentence per row: the CV difference, its interval and what it says."""
    lines = []
    for row in table.itertuples():
        if row.non_inferior is None or pd.isna(row.non_inferior):
            verdict = "not assessable (a fold AUC is undefined)"
        elif row.non_inferior:
            verdict = f"non-inferior at margin {row.margin:.2f}"
        else:
            verdict = f"non-inferiority not shown at margin {row.margin:.2f}"
        lines.append(
            f"{row.model}: automatic - manual CV AUC {row.cv_difference:+.3f} "
            f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}] ({row.cv_splits}): {verdict}"
        )
    return lines
