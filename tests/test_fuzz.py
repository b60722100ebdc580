"""Property tests: random case tables and feature matrices never cause an unexplained crash.

``validate_case_table`` either accepts a table or raises :class:`CaseTableError`; the
selectors either raise a ValueError or return a matrix whose width matches
``get_feature_names_out``. Examples are derandomised (reproducible in CI) and few.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdinet_sklearn import CaseTableError, validate_case_table
from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector

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
        column: draw(st.lists(st.sampled_from(_KINDS), min_size=n_rows, max_size=n_rows))
        for column in columns
        if column != "age"
    }
    ages = draw(st.lists(st.floats(allow_nan=True), min_size=n_rows, max_size=n_rows))
    return index, kinds, ages if "age" in columns else None


@FUZZ
@given(spec=case_tables(), with_reference=st.booleans())
def test_validate_case_table_passes_or_explains(files, spec, with_reference):
    index, kinds, ages = spec
    table = pd.DataFrame(
        {column: [_cell(k, files) for k in cells] for column, cells in kinds.items()},
        index=pd.Index(index, dtype=object),
    )
    if ages is not None:
        table["age"] = ages
    try:
        checked = validate_case_table(
            table, roi=("MR", "LR"), reference_mask_column="mask_rater2" if with_reference else None
        )
    except CaseTableError as error:
        assert error.problems and all(isinstance(p, str) for p in error.problems)
        return
    assert checked is table and len(table) > 0 and table.index.is_unique


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


def assert_selector_contract(selector, X, y):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Xt = selector.fit_transform(X, y)
    except ValueError as error:
        assert str(error)  # a message, not a bare ValueError
        return
    names = selector.get_feature_names_out()
    assert Xt.shape == (X.shape[0], len(names))
    assert set(names) <= set(X.columns)
    assert not np.isnan(np.asarray(Xt, dtype=float)).any() or np.isnan(X.to_numpy()).any()


@FUZZ
@given(data=feature_matrices())
def test_ttest_selector_selects_or_explains(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    assert_selector_contract(TTestSelector(alpha=0.5), frame, y)


@settings(FUZZ, max_examples=15)
@given(data=feature_matrices())
def test_lasso_selector_selects_or_explains(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    assert_selector_contract(LassoSelector(Cs=4, cv=2, random_state=0), frame, y)


@FUZZ
@given(data=feature_matrices(), noise=st.floats(0, 2))
def test_reproducibility_filter_selects_or_explains(data, noise):
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
    assert_selector_contract(ReproducibilityFilter(threshold=0.75), frame, y)


def test_numeric_path_cell_is_explained():
    table = pd.DataFrame({"image": [5], "mask": [3.5]}, index=["P1"])
    with pytest.raises(CaseTableError, match="P1"):
        validate_case_table(table)
