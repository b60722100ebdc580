"""Property tests with an oracle: which random inputs must be refused, and which must work.

Each test computes, from the generated input alone, whether it is valid, then demands
exactly that outcome: ``validate_case_table`` raises :class:`CaseTableError` naming the bad
rows exactly when some cell or the table's shape breaks the contract; a selector raises a
ValueError exactly for empty, non-finite or one-class input (and, for LASSO, a class too
small for its folds) and otherwise returns a matrix whose width matches
``get_feature_names_out``; ``check_binary_target`` accepts exactly the two-class targets;
:func:`tabular_columns` splits every column by the documented rule. Examples are
derandomised (reproducible in CI) and few.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdinet_sklearn import CaseTableError, tabular_columns, validate_case_table
from rdinet_sklearn._checks import check_binary_target
from rdinet_sklearn.selection import (
    LassoSelector,
    ReproducibilityFilter,
    SelectionFallbackWarning,
    TTestSelector,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def files(small_cohort):
    cases, _ = small_cohort
    first = cases.iloc[0]
    return {"image": first["image"], "mask": first["mask"], "rater2": first["mask_rater2"]}


# -- case tables ----------------------------------------------------------------------------

_KINDS = ["image", "mask", "rater2", "missing", "empty", "none", "nan"]
# An intensity image in a label-map column may or may not hold whole numbers 3 and 4, so
# the oracle could not say whether it must be refused: label-map columns never draw it.
_MASK_KINDS = [k for k in _KINDS if k != "image"]
_LABEL_MAPS = {"mask", "rater2"}  # files holding MR and LR, on the image's grid
_EMPTY = {"empty", "none", "nan"}  # cells a second rater may leave empty


def _cell(kind, files):
    return {
        "missing": "/no/such/file.nii.gz",
        "empty": "",
        "none": None,
        "nan": np.nan,
    }.get(kind, files.get(kind))


@st.composite
def case_tables(draw):
    n_rows = draw(st.integers(0, 4))
    columns = draw(st.lists(st.sampled_from(["image", "mask", "mask_rater2", "age"]), unique=True))
    index = draw(
        st.lists(st.sampled_from(["P1", "P2", "P3", "P4"]), min_size=n_rows, max_size=n_rows)
    )
    kinds = {
        column: draw(
            st.lists(
                st.sampled_from(_KINDS if column == "image" else _MASK_KINDS),
                min_size=n_rows,
                max_size=n_rows,
            )
        )
        for column in columns
        if column != "age"
    }
    ages = draw(st.lists(st.floats(allow_nan=True), min_size=n_rows, max_size=n_rows))
    return index, kinds, ages if "age" in columns else None


def _bad_rows(index, kinds, with_reference):
    """The oracle: None if the table itself is invalid, else the rows that must be named."""
    required = ["image", "mask", *(["mask_rater2"] if with_reference else [])]
    if any(c not in kinds for c in required) or not index or len(set(index)) < len(index):
        return None
    bad = set()
    for i, row in enumerate(index):
        reference_ok = not with_reference or kinds["mask_rater2"][i] in _LABEL_MAPS | _EMPTY
        # any of the cohort's files is a readable image; only label maps hold MR and LR
        image_ok = kinds["image"][i] in {"image", *_LABEL_MAPS}
        if not (image_ok and kinds["mask"][i] in _LABEL_MAPS and reference_ok):
            bad.add(row)
    return bad


@FUZZ
@given(spec=case_tables(), with_reference=st.booleans())
def test_validate_case_table_refuses_exactly_the_broken_tables(files, spec, with_reference):
    index, kinds, ages = spec
    table = pd.DataFrame(
        {column: [_cell(k, files) for k in cells] for column, cells in kinds.items()},
        index=pd.Index(index, dtype=object),
    )
    if ages is not None:
        table["age"] = ages  # clinical values, NaN included, are not the contract's concern
    expected = _bad_rows(index, kinds, with_reference)
    reference = "mask_rater2" if with_reference else None
    if expected == set():
        assert (
            validate_case_table(table, roi=("MR", "LR"), reference_mask_column=reference) is table
        )
        return
    with pytest.raises(CaseTableError) as caught:
        validate_case_table(table, roi=("MR", "LR"), reference_mask_column=reference)
    problems = caught.value.problems
    assert problems and all(isinstance(p, str) for p in problems)
    if expected is not None:  # every bad row is named, and only those
        named = {row for row in index if any(f"row {row!r}" in p for p in problems)}
        assert named == expected


# -- selectors ------------------------------------------------------------------------------


@st.composite
def feature_matrices(draw):
    n_rows = draw(st.integers(0, 12))
    n_columns = draw(st.integers(0, 5))
    values = draw(
        st.lists(
            st.floats(-1e3, 1e3, allow_nan=False),
            min_size=n_rows * n_columns,
            max_size=n_rows * n_columns,
        )
    )
    X = np.asarray(values, dtype=float).reshape(n_rows, n_columns)
    if n_columns and n_rows and draw(st.booleans()):
        X[:, draw(st.integers(0, n_columns - 1))] = draw(st.floats(-5, 5))  # constant column
    if n_columns and n_rows and draw(st.booleans()):
        X[draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_columns - 1))] = np.nan
    y = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n_rows, max_size=n_rows)))
    return X, y


def _supervised_must_fail(X, y, *, min_class_size=1):
    """A supervised selector's oracle: empty, non-finite or a class too small is refused."""
    counts = np.unique(y, return_counts=True)[1]
    return (
        X.shape[0] == 0
        or X.shape[1] == 0
        or np.isnan(X.to_numpy()).any()
        or len(counts) < 2
        or counts.min() < min_class_size
    )


def assert_selector_contract(selector, X, y, *, must_fail, may_select_nothing=False):
    """Refused (ValueError with a message) exactly when ``must_fail``; else a selection."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectionFallbackWarning)  # the documented fallbacks
        if must_fail:
            with pytest.raises(ValueError, match=r"\w"):
                selector.fit_transform(X, y)
            return
        Xt = selector.fit_transform(X, y)
    names = selector.get_feature_names_out()
    assert Xt.shape == (X.shape[0], len(names)) and (len(names) >= 1 or may_select_nothing)
    assert set(names) <= set(X.columns)
    kept = np.asarray(X[list(names)], dtype=float)
    assert np.array_equal(np.isnan(np.asarray(Xt, dtype=float)), np.isnan(kept))  # no new NaN


@FUZZ
@given(data=feature_matrices())
def test_ttest_selector_selects_or_refuses(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    must_fail = _supervised_must_fail(frame, y)
    assert_selector_contract(TTestSelector(alpha=0.5), frame, y, must_fail=must_fail)


@settings(FUZZ, max_examples=15)
@given(data=feature_matrices())
def test_lasso_selector_selects_or_refuses(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    must_fail = _supervised_must_fail(frame, y, min_class_size=2)  # 2 inner folds
    lasso = LassoSelector(Cs=4, cv=2, random_state=0)
    assert_selector_contract(lasso, frame, y, must_fail=must_fail)


@FUZZ
@given(data=feature_matrices(), noise=st.floats(0, 2))
def test_reproducibility_filter_selects_or_refuses(data, noise):
    X, y = data
    names = [f"f{i}" for i in range(X.shape[1])]
    rater2 = X + noise * np.sin(np.arange(X.size)).reshape(X.shape)
    frame = pd.concat(
        [
            pd.DataFrame(X, columns=names),
            pd.DataFrame(rater2, columns=[f"{n}__rater2" for n in names]),
        ],
        axis=1,
    )
    # Unsupervised: y does not matter. Rater-1 values must be finite, and an ICC needs 3 rows;
    # when no paired feature is reproducible enough, the selection is empty (no fallback).
    must_fail = X.shape[0] < 3 or X.shape[1] == 0 or np.isnan(X).any()
    filter_ = ReproducibilityFilter(threshold=0.75)
    assert_selector_contract(filter_, frame, y, must_fail=must_fail, may_select_nothing=True)


def test_numeric_path_cell_is_explained():
    table = pd.DataFrame({"image": [5], "mask": [3.5]}, index=["P1"])
    with pytest.raises(CaseTableError, match="P1"):
        validate_case_table(table)


# -- targets and tabular columns ------------------------------------------------------------

_POOLS = {"int": [0, 1, 2], "str": ["no", "yes", "maybe"], "bool": [False, True, True]}
_FLAWS = {"nan": np.nan, "none": None, "continuous": 0.5}


@FUZZ
@given(
    kind=st.sampled_from(sorted(_POOLS)),
    codes=st.lists(st.integers(0, 2), max_size=8),
    flaw=st.sampled_from([None, *_FLAWS]),
    where=st.integers(0, 7),
)
def test_check_binary_target_accepts_exactly_two_classes(kind, codes, flaw, where):
    labels = [_POOLS[kind][c] for c in codes]
    if flaw and labels:
        labels[where % len(labels)] = _FLAWS[flaw]
    y = np.asarray(labels, dtype=object)  # as an object column of a table holds them
    if (flaw is None or not labels) and len(set(labels)) == 2:
        classes, positive = check_binary_target(y, estimator_name="fuzz")
        assert sorted(set(labels)) == classes.tolist()
        assert positive.tolist() == [v == classes[1] for v in labels]
        return
    with pytest.raises(ValueError, match="fuzz") as caught:
        check_binary_target(y, estimator_name="fuzz")
    if flaw in ("nan", "none") and labels:
        assert f"[{where % len(labels)}]" in str(caught.value)  # the row is named


@FUZZ
@given(
    columns=st.lists(
        st.sampled_from(["number", "bool", "category", "identifier", "path"]), max_size=5
    ),
    n_rows=st.integers(2, 5),
)
def test_tabular_columns_follow_the_rule(columns, n_rows):
    values = {
        "number": np.arange(n_rows, dtype=float),
        "bool": np.arange(n_rows) % 2 == 0,
        "category": ["a", "a"] + ["b"] * (n_rows - 2),  # repeated values: a category
        "identifier": [f"P{i}" for i in range(n_rows)],
        "path": [f"/data/{i}.nii" for i in range(n_rows)],
    }
    table = pd.DataFrame({f"{kind}{i}": values[kind] for i, kind in enumerate(columns)})
    excluded = [c for c in table.columns if c.startswith("path")]
    numeric, categorical = tabular_columns(table, exclude=excluded)
    assert numeric == [c for c in table.columns if c.startswith("number")]
    assert categorical == [c for c in table.columns if c.startswith(("bool", "category"))]
