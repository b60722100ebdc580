"""Property tests with an oracle: which random inputs must be refused, and which must work.

Each test computes, from the generated input alone, whether it is valid, then demands
exactly that outcome: ``validate_case_table`` raises :class:`CaseTableError` naming the bad
rows exactly when some cell or the table's shape breaks the contract; a selector raises a
ValueError exactly for empty, non-finite or one-class input (and, for LASSO, a class too
small for its folds) and otherwise returns a matrix whose width matches
``get_feature_names_out``; ``check_binary_target`` accepts exactly the two-class targets;
:func:`tabular_columns` splits every column by the documented rule; the ``rdinet``
command, given random broken case tables, model folders and settings, exits 0, 2 or 3
(never 1) and writes nothing outside ``--out``. Examples are derandomised (reproducible in
CI) and few.
"""

import contextlib
import io
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdinet_sklearn import CaseTableError, tabular_columns, validate_case_table
from rdinet_sklearn._checks import check_binary_target
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main
from rdinet_sklearn.io._folder import file_digest
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


# -- the command line: the exit-code contract on bad input ----------------------------------

CONTRACT = {EXIT_OK, EXIT_USAGE, EXIT_BAD_INPUT}
"""Exit codes bad input may give: done, usage error, bad input; never 1 (a traceback)."""


def _files_under(root):
    return {p for p in Path(root).rglob("*") if p.is_file()}


def _run_cli(argv, root, out):
    """``main(argv)`` run in ``root``; its exit code, after checking what it wrote."""
    before = _files_under(root)
    here = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code
    finally:
        os.chdir(here)
    outside = {p for p in _files_under(root) - before if Path(out) not in p.parents}
    assert not outside, f"{argv} wrote outside --out: {sorted(outside)}"
    assert code in CONTRACT, f"{argv} exited {code}"
    return code


_IDS = st.sampled_from(["P1", "P2", "../../x", "/etc/passwd", "P 3;", "", "é"])


@st.composite
def case_table_files(draw, files):
    """Bytes of a CSV case table, good or broken in the ways users break them."""
    n_rows = draw(st.integers(0, 3))
    columns = draw(
        st.lists(st.sampled_from(["patient_id", "image", "mask", "age"]), unique=True, min_size=1)
    )
    cells = {
        "patient_id": lambda: draw(_IDS),
        "image": lambda: draw(st.sampled_from([files["image"], files["mask"], "no.nii.gz", ""])),
        "mask": lambda: draw(st.sampled_from([files["mask"], files["image"], "../m.nii", ""])),
        "age": lambda: draw(st.sampled_from(["52", "", "sixty", "inf", "1e999"])),
    }
    rows = [[cells[c]() for c in columns] for _ in range(n_rows)]
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    text = "\n".join(delimiter.join(row) for row in [columns, *rows]) + "\n"
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "latin-1"])))


@settings(FUZZ, max_examples=25)
@given(data=st.data(), command=st.sampled_from(["validate", "extract"]))
def test_cli_on_random_case_tables_keeps_the_exit_code_contract(files, data, command):
    root = Path(tempfile.mkdtemp())
    try:
        (root / "cases.csv").write_bytes(data.draw(case_table_files(files)))
        out = root / "out"
        argv = [command, "--cases", "cases.csv"]
        if command == "extract":
            argv += ["--roi", "MR", "--params", "original", "--out", str(out / "f.csv")]
        code = _run_cli(argv, root, out)  # asserts the exit-code contract, nothing outside out
        if command == "extract":  # a feature table exactly when it succeeded, never a partial one
            assert (out / "f.csv").exists() == (code == 0)
    finally:
        shutil.rmtree(root)


@pytest.fixture(scope="module")
def model_folder(small_cohort, tmp_path_factory):
    """A real, small model folder (radiomics + logistic regression) and a case table."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from rdinet_sklearn import __version__
    from rdinet_sklearn.io._folder import CARD_FORMAT, CARD_VERSION, write_model_folder
    from rdinet_sklearn.radiomics import RadiomicsExtractor

    cases, y = small_cohort
    train = cases.iloc[:6]
    folder = tmp_path_factory.mktemp("fuzz_model")
    extractor = RadiomicsExtractor(roi="MR", params="original", progress=False)
    model = make_pipeline(extractor, LogisticRegression()).fit(train[["image", "mask"]], y.iloc[:6])
    card = {
        "format": CARD_FORMAT,
        "format_version": CARD_VERSION,
        "name": "fuzz",
        "family": "radiomics",
        "roi": "MR",
        "rdinet_sklearn_version": __version__,
        "threshold": 0.5,
        "classes": [0, 1],
        "positive_class": 1,
        "id_column": "patient_id",
        "image_column": "image",
        "mask_column": "mask",
        "labels": {"IR": 1, "SR": 2, "MR": 3, "LR": 4},
        "roi_structures": ["MR"],
        "columns": {"required": ["image", "mask"], "optional": []},
        "image_branch": False,
        "numeric_columns": [],
    }
    write_model_folder(folder / "model", model, card)
    cases.iloc[6:9].to_csv(folder / "cases.csv", index=False)
    return folder


def _flip(path, at):
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path, at):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * (at % 100) // 100])  # always shorter


def _edit_card(path, change):
    card = json.loads(path.read_text())
    change(card)
    path.write_text(json.dumps(card))


_DAMAGE = {
    "flip a byte": lambda folder, at: _flip(folder / "model.rdinet", at),
    "truncate": lambda folder, at: _truncate(folder / "model.rdinet", at),
    "delete the file": lambda folder, at: (folder / "model.rdinet").unlink(),
    "delete the card": lambda folder, at: (folder / "model.json").unlink(),
    "garbage card": lambda folder, at: (folder / "model.json").write_bytes(bytes([at % 256]) * 9),
    "card is a list": lambda folder, at: (folder / "model.json").write_text("[1, 2]"),
    "path outside": lambda folder, at: _edit_card(
        folder / "model.json", lambda c: c["files"].update(safe="../../model.rdinet")
    ),
    "absolute path": lambda folder, at: _edit_card(
        folder / "model.json", lambda c: c["files"].update(safe="/etc/passwd")
    ),
    "no digests": lambda folder, at: _edit_card(folder / "model.json", lambda c: c.pop("digests")),
    "other version": lambda folder, at: _edit_card(
        folder / "model.json", lambda c: c.update(format_version=f"v{at}")
    ),
    "untrusted type": lambda folder, at: _rezip_skops(folder),
}


def _rezip_skops(folder):
    import skops.io

    path = folder / "model.rdinet"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model.skops"] = skops.io.dumps(os.system)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _edit_card(
        folder / "model.json",
        lambda c: c["digests"].update({"model.rdinet": {"sha256": file_digest(path)}}),
    )


@settings(FUZZ, max_examples=15)
@given(damage=st.sampled_from(sorted(_DAMAGE)), at=st.integers(0, 10**6), use_joblib=st.booleans())
def test_cli_refuses_damaged_model_folders_with_exit_3(model_folder, damage, at, use_joblib):
    root = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(model_folder / "model", root / "model")
        _DAMAGE[damage](root / "model", at)
        out = root / "out"
        argv = ["predict", "--model", "model", "--cases", str(model_folder / "cases.csv")]
        argv += ["--out", str(out / "p.csv"), *(["--use-joblib"] if use_joblib else [])]
        code = _run_cli(argv, root, out)
        # only damage to the model.rdinet that --use-joblib leaves unread may pass
        unread = {"flip a byte", "truncate", "untrusted type", "delete the file"}
        harmless = use_joblib and damage in unread
        assert code == (EXIT_OK if harmless else EXIT_BAD_INPUT), damage
    finally:
        shutil.rmtree(root)


_KEYS = ["seed", "test_size", "cv_folds", "deep.max_epochs", "deep.device", "models", "nope.key"]
_VALUES = ["-1", "1.5", "abc", "[]", "{", "null", "!!python/object/apply:os.system [touch X]"]


@settings(FUZZ, max_examples=25)
@given(
    overrides=st.lists(
        st.tuples(st.sampled_from(_KEYS), st.sampled_from(_VALUES)), min_size=1, max_size=3
    ),
    config=st.sampled_from(["", "seed: [", "- a list", "deep: 3", "!!python/name:os.system"]),
)
def test_cli_bad_settings_keep_the_exit_code_contract(overrides, config):
    root = Path(tempfile.mkdtemp())
    try:
        (root / "config.yaml").write_text(config)
        out = root / "out"
        argv = ["study", "--cases", "none.csv", "--target", "response", "--out", str(out)]
        argv += ["--config", "config.yaml", "--no-progress"]
        for key, value in overrides:
            argv += ["--set", f"{key}={value}"]
        _run_cli(argv, root, out)  # none.csv does not exist: never a study that runs
        assert not (root / "X").exists()  # YAML never runs code
    finally:
        shutil.rmtree(root)
