"""The study's cohort, built once: case table, encoded target, ids, split and CV groups.

Everything the later steps would otherwise re-derive from the case table (the 0/1 outcome
and its classes, the training and test ids, the leave-one-group-out groups, the clinical
and harmonization columns) is decided and checked here, before any file is written or any
feature extracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .._cases import (
    CaseTableError,
    numeric_values,
    read_case_table,
    tabular_columns,
    validate_case_table,
)
from .._checks import check_binary_target
from .._folds import require_folds
from ._reproducibility import resolve_reproducibility


@dataclass(frozen=True)
class Cohort:
    """The case table with its outcome, split and groups (built by :func:`build_cohort`).

    Parameters
    ----------
    cases : DataFrame
        The case table (outcome column removed), indexed by patient id (as strings) where
        the table has the id column.
    y : Series
        The outcome coded 0/1 (1: ``classes[1]``) on the same index, named after its column.
    classes : ndarray of shape (2,)
        The outcome's two values, negative first.
    train_ids, test_ids : ndarray
        Patient ids (index values) of the training and test cohorts.
    groups : ndarray of str or None
        The ``group_column`` label of each training case (leave-one-group-out CV), or None.
    numeric, categorical : list of str
        Clinical columns (see :func:`~rdinet_sklearn.tabular_columns`); text in a numeric
        column is read as missing (:func:`~rdinet_sklearn._cases.numeric_values`).
    batch_columns : list of str
        Columns the radiomics models' ComBat step reads (batch, covariates); empty without.

    Examples
    --------
    >>> import tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.study import build_cohort, make_config
    >>> cases, y = make_ted_cohort(20, tempfile.mkdtemp(), shape=(8, 48, 96), random_state=0)
    >>> cohort, config, why = build_cohort(cases, y, make_config("quick"))
    >>> len(cohort.train_ids), len(cohort.test_ids), config.radiomics.reproducibility
    (16, 4, 'raters')
    """

    cases: pd.DataFrame
    y: pd.Series
    classes: np.ndarray
    train_ids: np.ndarray
    test_ids: np.ndarray
    groups: np.ndarray | None
    numeric: list
    categorical: list
    batch_columns: list

    @property
    def y_train(self):
        return self.y.loc[self.train_ids]

    @property
    def y_test(self):
        return self.y.loc[self.test_ids]

    @property
    def clinical(self):
        """The numeric and categorical clinical column names, as a pair."""
        return self.numeric, self.categorical

    def missing_values(self):
        """Missing clinical values per column (rows) and cohort (columns), imputed in-fold."""
        cohort = pd.Series("test", index=self.cases.index)
        cohort[cohort.index.isin(self.train_ids)] = "training"
        return self.cases[[*self.numeric, *self.categorical]].isna().groupby(cohort).sum().T


def _index_by_id(cases, id_column):
    if id_column and id_column in cases.columns:
        cases.index = cases[id_column].astype(str)
    return cases


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


def _outcome(cases, y, target):
    """The case table without its outcome column, and the outcome."""
    if y is not None:
        return cases, y
    if target is None or target not in cases.columns:
        raise CaseTableError([f"give y, or target= naming a column of the case table ({target!r})"])
    return cases, cases.pop(target)


def _with_test_cases(cases, y, test_cases, id_column):
    """``cases`` and ``test_cases`` as one table and outcome, and the test cohort's ids."""
    source = test_cases if isinstance(test_cases, str | Path) else "test_cases"
    test = read_case_table(test_cases).copy()
    if not id_column or id_column not in test.columns:
        test.index = pd.RangeIndex(len(cases), len(cases) + len(test))  # after the training rows
    test = _index_by_id(test, id_column)
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


def harmonization_columns(cases, config):
    """Case-table columns the radiomics models' ComBat step reads (batch, covariates)."""
    settings = config.radiomics.harmonization
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


def training_groups(cases, train_ids, column):
    """The ``column`` label of each training case (None without a column), checked."""
    if column is None:
        return None
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


def check_fold_counts(y_train, config):
    """Refuse, before any work, a training cohort too small for the CVs the settings ask."""
    asked = {}
    if not config.group_column:  # leave-one-group-out needs no class counts
        asked["cv_folds"] = config.cv_folds
        if config.deep_models:
            asked["deep.cv_folds"] = config.deep.cv_folds
    if config.comparison.repeats:
        asked["comparison.folds"] = config.comparison.folds
    for what, folds in asked.items():
        require_folds(y_train, folds, what=what)


def _split(cases, y, config, external_ids):
    if external_ids is not None:
        return cases.index[~cases.index.isin(external_ids)].to_numpy(), external_ids
    return train_test_split(
        cases.index.to_numpy(), test_size=config.test_size, stratify=y, random_state=config.seed
    )


def _drawn_before(config):
    """The second rater's column to check now: not auto_rater's, drawn into the study folder."""
    automatic = config.radiomics.reproducibility == "auto_rater"
    return None if automatic else config.reference_mask_column


def build_cohort(cases, y, config, *, target=None, test_cases=None):
    """The study's :class:`Cohort` and ``config`` resolved for it (and why), all checked.

    Parameters
    ----------
    cases : DataFrame or str
        The case table or its CSV path.
    y : array-like or None
        The outcome; None reads (and drops) column ``target``.
    config : StudyConfig
        The settings (unresolved).
    target : str, default=None
        The outcome column when ``y`` is None.
    test_cases : DataFrame or str, default=None
        An external test cohort replacing the random split.

    Returns
    -------
    cohort : Cohort
    config : StudyConfig
        Resolved for this case table (the reproducibility filter chosen by ``auto``).
    reproducibility : str
        Why the reproducibility filter is what it is.

    Examples
    --------
    >>> import tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.study import build_cohort, make_config
    >>> cases, y = make_ted_cohort(20, tempfile.mkdtemp(), shape=(8, 48, 96), random_state=0)
    >>> cohort, config, why = build_cohort(cases.assign(y=y), None, make_config("quick"),
    ...                                    target="y")
    >>> cohort.y.name, cohort.classes.tolist(), "y" in cohort.cases.columns
    ('y', [0, 1], False)
    """
    cases, y = _outcome(read_case_table(cases).copy(), y, target)
    cases = _index_by_id(cases, config.id_column)
    external_ids = None
    if test_cases is not None:
        y = pd.Series(np.asarray(y), index=cases.index, name=target or getattr(y, "name", None))
        cases, y, external_ids = _with_test_cases(cases, y, test_cases, config.id_column)
    y, classes = _binary_target(y, cases.index)
    config, reproducibility = resolve_reproducibility(config, cases)
    validate_case_table(
        cases,
        labels=config.labels,
        image_column=config.image_column,
        mask_column=config.mask_column,
        reference_mask_column=_drawn_before(config),
    )
    train_ids, test_ids = _split(cases, y, config, external_ids)
    check_fold_counts(classes[y.loc[train_ids].to_numpy()], config)  # names the class
    paths = (config.image_column, config.mask_column, config.reference_mask_column)
    numeric, categorical = tabular_columns(cases, exclude=(*paths, config.id_column))
    cases = numeric_values(cases, numeric)  # text in a numeric column: missing, with a warning
    cohort = Cohort(
        cases=cases,
        y=y,
        classes=classes,
        train_ids=train_ids,
        test_ids=test_ids,
        groups=training_groups(cases, train_ids, config.group_column),
        numeric=numeric,
        categorical=categorical,
        batch_columns=harmonization_columns(cases, config),
    )
    return cohort, config, reproducibility
