"""The case-table contract: one row per patient, image and label-map paths, clinical columns.

A case table is a :class:`pandas.DataFrame` (or a CSV file) with

* ``image``: path to the T2-weighted volume (any format SimpleITK reads, or a DICOM folder);
* ``mask``: path to rater 1's label map on the image's grid, or an RTSTRUCT or DICOM-SEG file
  whose structures ``labels`` names (put on the image's grid when read);
* ``mask_rater2`` (optional): a second rater's mask, likewise; may be empty for some rows;
* any number of clinical columns.

The target is passed separately as ``y``. Row labels (the index) identify patients in every
error message.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd

from ._imaging import CaseError, is_missing_path, non_finite_count, read_image
from ._masks import mask_problems
from .exceptions import RdinetInputError

DEFAULT_LABELS = {"IR": 1, "SR": 2, "MR": 3, "LR": 4}
"""Default label values of the extraocular-muscle map (both orbits share one value per muscle)."""

REFERENCE_SUFFIX = "__rater2"
"""Suffix of the columns computed on the second rater's mask (``<feature>__rater2``)."""

PERTURBATION_SUFFIX = "__perturbed"
"""Suffix of the columns computed on perturbation ``k`` of image and mask
(``<feature>__perturbed<k>``)."""

ALL_ROI = "all"
"""ROI name meaning the union of every structure in ``labels`` (the study's ``all_`` features)."""


NUMERIC_SHARE = 0.9
"""A tabular column whose values are at least 90 % numbers (missing cells not counted) is
numeric; its other entries (``"sixty"`` in ``age``) are typing slips, read as missing with a
:class:`ClinicalValueWarning`. Decided once from the whole training table; ``predict``
applies the same decision and refuses text in a numeric column."""


class ClinicalValueWarning(UserWarning):
    """A clinical value that is no number in a numeric column, read as missing."""


class CaseTableError(RdinetInputError):
    """Raised by :func:`validate_case_table` with every problem found, one per line.

    Parameters
    ----------
    problems : iterable of str
        One message per problem; kept as the list :attr:`problems`.

    Attributes
    ----------
    problems : list of str
        The problems, in the order they were found.

    Examples
    --------
    >>> from rdinet_sklearn import CaseTableError
    >>> err = CaseTableError(["column 'mask' is missing", "the table has no rows"])
    >>> print(err)
    the case table has 2 problem(s):
      - column 'mask' is missing
      - the table has no rows
    >>> err.problems
    ["column 'mask' is missing", 'the table has no rows']
    """

    def __init__(self, problems):
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the case table has {len(self.problems)} problem(s):\n{listing}")


def resolve_roi(roi, labels=None):
    """Turn an ROI specification into its name and label values.

    Parameters
    ----------
    roi : str or tuple of str
        One structure name, a tuple of names whose union forms the ROI, or ``"all"``.
    labels : mapping of str to int or str, default=None
        Structure names to label values; ``None`` means :data:`DEFAULT_LABELS`. With
        RTSTRUCT or DICOM-SEG masks a value may be a structure name as stored in the file or
        ``"re:<pattern>"`` (see :func:`rdinet_sklearn.dicom.match_structure`).

    Returns
    -------
    name : str
        The names joined by ``"+"`` (``"MR+LR"``), used as the feature-name prefix.
    values : tuple of int or str
        The label values (or structure names) whose union forms the ROI.

    Examples
    --------
    >>> from rdinet_sklearn._cases import resolve_roi
    >>> resolve_roi(("MR", "LR"))
    ('MR+LR', (3, 4))
    >>> resolve_roi("tumor", {"tumor": 1})
    ('tumor', (1,))
    >>> resolve_roi("mass", {"mass": "re:GTV_Mass.*"})
    ('mass', ('re:GTV_Mass.*',))
    """
    labels = DEFAULT_LABELS if labels is None else labels
    if not isinstance(labels, Mapping) or not labels:
        raise ValueError(
            f"labels must be a non-empty mapping of name -> label value, got {labels!r}"
        )
    if isinstance(roi, str):
        if roi == ALL_ROI and ALL_ROI not in labels:
            return ALL_ROI, tuple(_label_value(v) for v in labels.values())
        names = (roi,)
    else:
        names = tuple(roi)
    if not names:
        raise ValueError("roi must name at least one structure")
    unknown = [n for n in names if n not in labels]
    if unknown:
        raise ValueError(f"roi names {unknown} are not in labels {dict(labels)}")
    return "+".join(names), tuple(_label_value(labels[n]) for n in names)


def _label_value(value):
    """A label value (int) or a structure name / ``re:`` pattern (str)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Integral) and not isinstance(value, bool):
        return int(value)
    raise ValueError(f"a label value must be an integer or a structure name (str), got {value!r}")


def read_case_table(cases):
    """Return ``cases`` as a DataFrame; a CSV path has its relative file paths made absolute.

    Relative paths in a CSV are taken relative to the CSV's folder, so a cohort folder can be
    moved as a whole.

    Parameters
    ----------
    cases : DataFrame or str or path-like
        A case table, returned unchanged, or the path of a CSV file holding one. In a CSV, the
        cells of the ``image`` column and of every column whose name starts with ``mask`` are
        made absolute; empty cells stay empty.

    Returns
    -------
    table : DataFrame
        The case table.

    Raises
    ------
    FileNotFoundError
        If the CSV file does not exist.
    CaseTableError
        If the CSV file is not UTF-8 text or not comma-separated.
    TypeError
        If ``cases`` is neither a DataFrame nor a path.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> import pandas as pd
    >>> from rdinet_sklearn import read_case_table
    >>> folder = tempfile.mkdtemp()
    >>> csv = os.path.join(folder, "cases.csv")
    >>> pd.DataFrame(
    ...     {"image": ["P1.nii.gz"], "mask": ["P1_mask.nii.gz"], "mask_rater2": [""], "age": [52]}
    ... ).to_csv(csv, index=False)
    >>> table = read_case_table(csv)
    >>> table.loc[0, "image"] == os.path.join(folder, "P1.nii.gz")
    True
    >>> table.loc[0, "mask"] == os.path.join(folder, "P1_mask.nii.gz")
    True
    >>> bool(pd.isna(table.loc[0, "mask_rater2"]))  # an empty cell stays empty
    True
    >>> shutil.rmtree(folder)
    """
    if isinstance(cases, pd.DataFrame):
        return cases
    if isinstance(cases, str | os.PathLike):
        path = os.fspath(cases)
        if not os.path.exists(path):
            raise FileNotFoundError(f"case table {path} not found")
        table = _read_csv(path)
        folder = os.path.dirname(os.path.abspath(path))
        for column in table.columns:
            if column in ("image", "mask") or column.startswith("mask"):
                table[column] = [
                    p if is_missing_path(p) or os.path.isabs(p) else os.path.join(folder, p)
                    for p in table[column]
                ]
        return table
    raise TypeError(f"cases must be a pandas DataFrame or a CSV path, got {type(cases).__name__}")


def _read_csv(path):
    """The CSV at ``path``: UTF-8 and comma-separated, or a :class:`CaseTableError` saying so.

    There is no guessing: a latin-1 file read as such could hold mis-decoded paths, so it
    is refused with the byte and its offset, and a table of one column whose name holds
    ``;``, a tab or ``|`` is refused as using the wrong delimiter.
    """
    try:
        table = pd.read_csv(path)
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        raise CaseTableError(
            [
                f"{path}: not UTF-8 text (byte 0x{byte} at offset {exc.start}, e.g. a latin-1 "
                "or Windows-1252 file); save the case table as UTF-8 ('CSV UTF-8')"
            ]
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CaseTableError([f"{path}: not a readable CSV file ({exc})"]) from exc
    if len(table.columns) == 1:
        header = str(table.columns[0])
        found = [sep for sep in (";", "\t", "|") if sep in header]
        if found:
            raise CaseTableError(
                [
                    f"{path}: the delimiter looks wrong: one column {header!r}, split by "
                    f"{found[0]!r}; a case table is comma-separated"
                ]
            )
    return table


def _missing_columns(table, required):
    problems = []
    for column in required:
        if column not in table.columns:
            close = difflib.get_close_matches(column, [str(c) for c in table.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"column {column!r} is missing{hint}")
    return problems


def _check_row(row, entry, columns, wanted, *, tolerance):
    """Problems with one patient's files: readable, finite, same grid, structures present
    and large enough for radiomics."""
    problems = []
    image_column, mask_columns = columns[0], columns[1:]
    try:
        image = read_image(entry[image_column], row=row, column=image_column)
    except CaseError as err:
        problems.append(str(err))
        image = None
    bad_voxels = 0 if image is None else non_finite_count(image)
    if bad_voxels:
        where = (row, image_column, entry[image_column])
        problems.append(str(CaseError(*where, f"holds {bad_voxels} NaN or infinite voxels")))
    for column in mask_columns:
        path = entry[column]
        if column != mask_columns[0] and is_missing_path(path):
            continue  # a second rater is optional row by row
        problems += mask_problems(
            image,
            path,
            wanted,
            image_path=entry[image_column],
            row=row,
            column=column,
            tolerance=tolerance,
        )
    return problems


def validate_case_table(
    cases,
    *,
    labels=None,
    roi=None,
    image_column="image",
    mask_column="mask",
    reference_mask_column=None,
    id_column=None,
    check_files=True,
    tolerance=1e-3,
):
    """Check a case table against the contract and report every problem at once.

    Parameters
    ----------
    cases : DataFrame or str
        The case table, or the path of a CSV holding it.
    labels : mapping of str to int or str, default=None
        Structure names to label values; ``None`` means :data:`DEFAULT_LABELS`. For
        RTSTRUCT / DICOM-SEG mask files, structure names or ``"re:<pattern>"``.
    roi : str or tuple of str, default=None
        Structures that must be present in every mask; ``None`` checks every structure in
        ``labels``.
    image_column, mask_column : str, default="image", "mask"
        Columns holding the image and rater-1 label-map paths.
    reference_mask_column : str, default=None
        Column of a second rater's label map (cells may be empty).
    id_column : str, default=None
        Column of patient identifiers that must be unique (and name the patient in every
        problem); by default the index must be unique and names the patient.
    check_files : bool, default=True
        Whether to open the files (header of the image, pixels of each label map).
    tolerance : float, default=1e-3
        Allowed difference in spacing, origin (mm) and direction between image and masks.

    Returns
    -------
    cases : DataFrame
        The case table (read from CSV if a path was given).

    Raises
    ------
    CaseTableError
        Listing every problem: missing columns, no rows, duplicate patients, missing or
        unreadable files, images with NaN or infinite voxels (and how many), grid mismatches
        between image and masks, absent structures and structures smaller than
        :data:`~rdinet_sklearn._imaging.MIN_ROI_VOXELS` voxels or thinner than
        :data:`~rdinet_sklearn._imaging.MIN_ROI_EXTENT` along an axis, each naming the
        patient, the structure and the file.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn import validate_case_table
    >>> table = pd.DataFrame({"image": ["a.nii.gz"], "mask": ["a_mask.nii.gz"]}, index=["P1"])
    >>> validate_case_table(table)
    Traceback (most recent call last):
    ...
    rdinet_sklearn._cases.CaseTableError: the case table has 2 problem(s):
      - row 'P1', column 'image' (a.nii.gz): file not found
      - row 'P1', column 'mask' (a_mask.nii.gz): file not found
    """
    table = read_case_table(cases)
    labels = DEFAULT_LABELS if labels is None else labels
    if roi is None:
        wanted = dict(labels)
    else:
        _, values = resolve_roi(roi, labels)
        wanted = {name: v for name, v in labels.items() if v in values}
    columns = [image_column, mask_column] + (
        [reference_mask_column] if reference_mask_column else []
    )
    problems = _missing_columns(table, columns + ([id_column] if id_column else []))
    if len(table) == 0:
        problems.append("the table has no rows")
    ids = table[id_column] if id_column and id_column in table.columns else table.index
    duplicated = sorted({str(v) for v in ids[ids.duplicated()]})
    if duplicated:
        problems.append(
            f"duplicate patients: {duplicated} (a case table has one row per patient; rows "
            "that are several image series of a patient need a column naming each row, "
            "e.g. --id-column image, or one series each, e.g. rdinet index --modality MR)"
        )
    if problems:
        raise CaseTableError(problems)
    if check_files:
        # Problems name the patient: its id when the table has an id column, else the index.
        patients = table[id_column].astype(str) if id_column else table.index
        for patient, (_, entry) in zip(patients, table.iterrows(), strict=True):
            problems.extend(_check_row(patient, entry, columns, wanted, tolerance=tolerance))
    if problems:
        raise CaseTableError(problems)
    return table


def tabular_columns(table, *, exclude=()):
    """The tabular (clinical or radiomics) columns of a case table: numeric and categorical.

    The one rule for "which columns are tabular inputs", used by the study (its Table 1 and
    clinical features) and by :class:`~rdinet_sklearn.nn.RDINetClassifier`: every column not
    named in ``exclude`` (the image and label-map path columns, the patient identifier) is
    tabular. Numeric columns hold values (at least :data:`NUMERIC_SHARE` of the non-missing
    ones numbers); the others are categories, except text columns whose values are all
    distinct, which identify rows (patient ids, file paths) rather than describe them and are
    left out.

    Parameters
    ----------
    table : DataFrame
        The case table.
    exclude : iterable of str, default=()
        Columns that are never tabular, e.g. ``("image", "mask", "mask_rater2")``.

    Returns
    -------
    numeric : list of str
        Columns of numbers, in table order (booleans are categories, not numbers).
    categorical : list of str
        The other tabular columns, in table order.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn import tabular_columns
    >>> table = pd.DataFrame({
    ...     "image": ["a.nii", "b.nii", "c.nii"], "mask": ["am.nii", "bm.nii", "cm.nii"],
    ...     "patient": ["P1", "P2", "P3"], "age": [51, 60, 47], "sex": ["F", "M", "F"],
    ...     "smoker": [True, False, False],
    ... })
    >>> tabular_columns(table, exclude=["image", "mask"])
    (['age'], ['sex', 'smoker'])
    """
    skip = set(exclude)
    numeric, categorical = [], []
    for column in table.columns:
        if column in skip:
            continue
        values = table[column]
        if pd.api.types.is_bool_dtype(values):
            categorical.append(column)
        elif pd.api.types.is_numeric_dtype(values) or _mostly_numbers(values):
            numeric.append(column)
        elif values.nunique() < len(values):
            categorical.append(column)
    return numeric, categorical


def _not_numbers(values):
    """The non-missing entries of ``values`` that are not numbers (row -> value)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.iloc[:0]
    numbers = pd.to_numeric(values.where(~values.map(_is_bool), None), errors="coerce")
    return values[numbers.isna() & values.notna()]


def _is_bool(value):
    return isinstance(value, bool | np.bool_)


def _mostly_numbers(values):
    present = values.dropna()
    numbers = len(present) - len(_not_numbers(present))
    return len(present) > 0 and numbers >= NUMERIC_SHARE * len(present)


def _listing(bad):
    return ", ".join(f"{row!r} ({value!r})" for row, value in bad.head(10).items())


def numeric_values(table, columns):
    """``table`` with ``columns`` as numbers; text that is no number becomes missing.

    The study's side of the :data:`NUMERIC_SHARE` rule: a column decided numeric keeps
    its numbers, and each other entry (``"sixty"``) is read as a missing value, imputed in
    each fold like any other, with a :class:`ClinicalValueWarning` naming its rows.

    Parameters
    ----------
    table : DataFrame
        The case table (rows named by patient).
    columns : sequence of str
        Its numeric columns (:func:`tabular_columns`).

    Returns
    -------
    table : DataFrame
        A copy with ``columns`` of dtype float.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from rdinet_sklearn._cases import numeric_values, tabular_columns
    >>> table = pd.DataFrame({"age": [51, 60, "sixty"] + list(range(40, 47))},
    ...                      index=[f"P{i}" for i in range(10)])
    >>> tabular_columns(table)
    (['age'], [])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     numbers = numeric_values(table, ["age"])
    >>> print(caught[0].message)
    column 'age' is numeric (90% or more of its values are numbers); read as missing: 'P2' ('sixty')
    >>> int(numbers["age"].isna().sum())
    1
    """
    table = table.copy()
    for column in columns:
        bad = _not_numbers(table[column])
        if len(bad):
            warnings.warn(
                f"column {column!r} is numeric ({NUMERIC_SHARE:.0%} or more of its values are "
                f"numbers); read as missing: {_listing(bad)}",
                ClinicalValueWarning,
                stacklevel=2,
            )
        table[column] = pd.to_numeric(table[column].where(~table[column].index.isin(bad.index)))
    return table


def require_numbers(table, columns, *, source="the case table"):
    """``table`` with ``columns`` as numbers, or a :class:`CaseTableError` naming each
    row and value that is no number (predict applies the training's column decision)."""
    problems = []
    for column in columns:
        bad = _not_numbers(table[column])
        if len(bad):
            problems.append(
                f"{source}: column {column!r} was numeric in training; not numbers: {_listing(bad)}"
            )
    if problems:
        raise CaseTableError(problems)
    table = table.copy()
    for column in columns:
        table[column] = pd.to_numeric(table[column])
    return table
