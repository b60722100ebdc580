"""The study design as one function: build the cohort and the candidates, fit, evaluate, render.

Read :func:`run_study` top to bottom: the settings are validated (``_config``), the cohort
built and checked (``_cohort``) before anything is written; then the candidates come from
the factory (``_candidates``), are fitted resumably (``_train``), and every output is
rendered from the fitted models (``_report``).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from sklearn.exceptions import UndefinedMetricWarning
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from ..selection import SelectionFallbackWarning
from ._auto_vs_manual import auto_vs_manual_table, noninferiority_reading
from ._automatic_rater import with_automatic_rater
from ._candidates import build_candidates, check_families
from ._cohort import build_cohort
from ._config import make_config
from ._folder import study_folder
from ._manual_twins import fit_manual_twins
from ._models import study_extractor
from ._preprocessing import preprocessing_steps
from ._report import render_study
from ._segmentation_quality import segmentation_quality
from ._train import compare_models, fit_candidates

logger = logging.getLogger("rdinet_sklearn.study")


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
    operating threshold (``config.threshold``, Youden's J by default) is chosen on those
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
    config : StudyConfig, default=None
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
        over it instead of stratified k-fold. Sets ``config.group_column``.

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
        config = config.updated({"group_column": group_column})
    check_families(config)
    cohort, config, reproducibility = build_cohort(
        cases, y, config, target=target, test_cases=test_cases
    )
    with study_folder(Path(out), config) as folder, warnings.catch_warnings():
        # Expected on small folds and recorded in the fitted estimators (e.g. which
        # selector fell back to its minimum); hundreds of copies would bury the progress.
        for category in (SelectionFallbackWarning, UndefinedMetricWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        _log_cohort(cohort, reproducibility)
        cohort = with_automatic_rater(cohort, config, folder.cache)
        features = extract_features(config, cohort, folder.cache, progress)
        columns = {roi: table.columns for roi, table in features.items()}
        candidates = build_candidates(config, cohort, folder.cache, columns)
        models, diverged = fit_candidates(candidates, config, cohort, folder, progress)
        twins, twin_candidates, twins_diverged = fit_manual_twins(
            models, config, cohort, folder, columns, progress
        )
        # models/ and stages/ describe this run only
        folder.keep_only([*models, *(twin.name for twin in twins.values())])
        comparison = compare_models(models, candidates, config, cohort, folder, progress)
        runs = {
            "diverged": diverged + twins_diverged,
            **_segmentation_runs(
                config, cohort, folder, models, twins, candidates, twin_candidates
            ),
        }
        return render_study(models, comparison, config, cohort, reproducibility, folder.path, runs)


def _segmentation_runs(config, cohort, folder, models, twins, candidates, twin_candidates):
    """With automatic masks: their quality, the manual-mask twins and the comparison."""
    if config.segmentation.mode != "auto":
        return {}
    by_name = {candidate.name: candidate for candidate in candidates}
    table = auto_vs_manual_table(models, twins, by_name, twin_candidates, config, cohort, folder)
    for line in noninferiority_reading(table) if table is not None else []:
        logger.info("automatic vs manual masks: %s", line)
    return {
        "segmentation": segmentation_quality(config, cohort, folder.cache),
        "manual_twins": twins,
        "auto_vs_manual": table,
    }


def _log_cohort(cohort, reproducibility):
    logger.info("feature reproducibility: %s", reproducibility)
    positive, n_positive = cohort.classes[1], int(cohort.y.sum())
    logger.info("positive class: %s; %d cases, %d positive", positive, len(cohort.y), n_positive)


def extract_features(config, cohort, cache, progress):
    """Each ROI strategy's radiomics features of every case (``{roi: DataFrame}``), cached.

    Extraction learns nothing from the data, so extracting every case once here, before
    the folds, leaks nothing: the models' own extraction steps then read the cache. Image
    preprocessing may learn (Nyul's landmarks), so it is fitted on the training cohort only,
    as the refitted models' is: their extraction then reads these cached features.
    """
    cases, preprocess = cohort.cases, preprocessing_steps(config, cache)
    if preprocess and config.feature_rois:
        cases = Pipeline(preprocess).fit(cases.loc[cohort.train_ids]).transform(cases)
    rois = config.feature_rois
    bar = tqdm(rois, desc="radiomics features", disable=not progress)
    return {
        roi: study_extractor(config, roi, cache).set_output(transform="pandas").fit_transform(cases)
        for roi in bar
    }
