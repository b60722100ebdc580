"""``describe_cohort``: a one-table summary of a cohort's size, balance and image geometry."""

import numpy as np
import pandas as pd
import SimpleITK as sitk


def _read_header(path, patient):
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as error:
        raise ValueError(f"Patient {patient!r}: cannot read image header of {path}") from error
    return reader.GetSize()[::-1], reader.GetSpacing()


def describe_cohort(cases, y):
    """Summarise a cohort: patients, responders, second-rater coverage and image geometry.

    Reads only the image headers, so it is fast even for hundreds of patients.

    Parameters
    ----------
    cases : pandas.DataFrame
        Case table with an ``image`` column of paths (and optionally ``mask_rater2``), as
        returned by :func:`make_ted_cohort` or read from ``cases.csv``.
    y : array-like of shape (n_patients,)
        Binary response.

    Returns
    -------
    summary : pandas.DataFrame
        One ``value`` column indexed by quantity: ``n_patients``, ``n_positive``,
        ``positive_fraction``, ``n_rater2``, ``shape`` (slices, rows, cols; ``"varies"`` if not
        shared), mean and range of ``spacing_x_mm``, ``spacing_y_mm``, ``spacing_z_mm``.

    See Also
    --------
    make_ted_cohort : Generates a cohort to describe.

    Examples
    --------
    >>> import tempfile
    >>> from rdinet_sklearn.datasets import describe_cohort, make_ted_cohort
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cases, y = make_ted_cohort(6, tmp, shape=(4, 32, 64))
    ...     summary = describe_cohort(cases, y)
    >>> summary.loc["n_patients", "value"], summary.loc["shape", "value"]
    (6, (4, 32, 64))
    """
    if "image" not in cases.columns:
        raise ValueError("cases must have an 'image' column of file paths.")
    y = np.asarray(y)
    if len(y) != len(cases):
        raise ValueError(f"y has {len(y)} entries but cases has {len(cases)} rows.")
    headers = [_read_header(path, patient) for patient, path in cases["image"].items()]
    shapes = {tuple(int(n) for n in size) for size, _ in headers}
    spacing = np.array([spacing for _, spacing in headers])
    n_rater2 = int(cases["mask_rater2"].notna().sum()) if "mask_rater2" in cases else 0
    rows = {
        "n_patients": len(cases),
        "n_positive": int(y.sum()),
        "positive_fraction": round(float(y.mean()), 3),
        "n_rater2": n_rater2,
        "shape": shapes.pop() if len(shapes) == 1 else "varies",
    }
    for axis, name in enumerate("xyz"):
        values = spacing[:, axis]
        rows[f"spacing_{name}_mm"] = f"{values.mean():.3f} ({values.min():.3f}-{values.max():.3f})"
    return pd.DataFrame({"value": pd.Series(rows, dtype=object)}).rename_axis("quantity")
