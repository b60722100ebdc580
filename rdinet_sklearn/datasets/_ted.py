"""``make_ted_cohort``: write a synthetic thyroid-eye-disease MRI cohort to disk."""

import json
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from joblib import Parallel, delayed

from rdinet_sklearn._sklearn_compat import Interval, validate_params

from .._cases import DEFAULT_LABELS
from .._paths import path_inside, safe_filename
from . import _mri
from ._anatomy import CORONAL_DIRECTION, DEFAULT_SHAPE
from ._clinical import (
    ACTIVITY_FIBROSIS_CORR,
    RESPONSE_COEF,
    seed_sequences,
    simulate_table,
)
from ._scanner import NO_SHIFT, ScannerShift

MIN_SHAPE = (4, 32, 64)
"""Smallest (slices, rows, cols) that still resolves both orbits and all four muscles."""

PATH_COLUMNS = ("image", "mask", "mask_rater2")


def _check_shape(shape):
    message = (
        f"shape must be three integers (slices, rows, cols) of at least {MIN_SHAPE}; got {shape!r}."
    )
    try:
        values = tuple(shape)
    except TypeError:
        raise ValueError(message) from None
    if len(values) != 3 or not all(
        isinstance(n, Integral) and not isinstance(n, bool) for n in values
    ):
        raise ValueError(message)
    if any(n < low for n, low in zip(values, MIN_SHAPE, strict=True)):
        raise ValueError(message)
    return tuple(int(n) for n in values)


def _to_sitk(array, geometry):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(geometry.spacing)
    image.SetOrigin(geometry.origin)
    image.SetDirection(CORONAL_DIRECTION)
    return image


def _write_patient(latents, shape, seed, paths, scanner):
    """Render one patient and write its volumes; ``paths["mask_rater2"]`` may be None."""
    patient = _mri.render_patient(latents, shape, seed, scanner)
    Path(paths["image"]).parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(_to_sitk(patient.image, patient.geometry), paths["image"], True)
    sitk.WriteImage(_to_sitk(patient.mask, patient.geometry), paths["mask"], True)
    if paths["mask_rater2"] is not None:
        sitk.WriteImage(_to_sitk(patient.mask_rater2, patient.geometry), paths["mask_rater2"], True)


def _metadata(params, y, oracle, n_rater2):
    return {
        "generator": "rdinet_sklearn.datasets.make_ted_cohort",
        "parameters": params,
        "n_patients": int(len(y)),
        "n_positive": int(y.sum()),
        "n_rater2": int(n_rater2),
        "oracle_auc": None if np.isnan(auc := oracle.attrs["oracle_auc"]) else auc,
        "labels": dict(DEFAULT_LABELS),
        "planted_signal": {
            "response_logit_coef": RESPONSE_COEF,
            "activity_fibrosis_corr": ACTIVITY_FIBROSIS_CORR,
            "log_signal_per_swelling": _mri.SIGNAL_PER_SWELLING,
            "log_signal_per_fibrosis_mr_lr": _mri.SIGNAL_PER_FIBROSIS,
            "texture_sd_per_softplus_fibrosis_mr_lr": _mri.TEXTURE_PER_FIBROSIS,
            "muscle_swelling_sd": _mri.MUSCLE_SWELLING_SD,
            "noise_sd": _mri.NOISE_SD,
        },
    }


@validate_params(
    {
        "n_patients": [Interval(Integral, 4, None, closed="left")],
        "out_dir": [str, os.PathLike],
        "random_state": ["random_state"],
        "shape": ["array-like"],
        "rater2_fraction": [Interval(Real, 0, 1, closed="both")],
        "response_rate": [Interval(Real, 0, 1, closed="neither")],
        "n_jobs": [Integral, None],
        "return_oracle": ["boolean"],
        "scanner_shift": [None, str, dict, ScannerShift],
        "center": [None, str],
    },
    prefer_skip_nested_validation=True,
)
def make_ted_cohort(
    n_patients=147,
    out_dir="cohort",
    *,
    random_state=0,
    shape=DEFAULT_SHAPE,
    rater2_fraction=1.0,
    response_rate=61 / 147,
    n_jobs=None,
    return_oracle=False,
    scanner_shift=None,
    center=None,
):
    r"""Generate a synthetic thyroid-eye-disease (TED) orbit-MRI cohort on disk.

    In the spirit of :func:`sklearn.datasets.make_classification`: every patient gets a
    coronal fat-suppressed T2-weighted volume of both orbits, the four rectus muscles
    segmented by two raters, 16 clinical features and a binary treatment response driven by
    a documented latent disease state (see Notes).

    Parameters
    ----------
    n_patients : int, default=147
        Number of patients (at least 4); the reference study had 147.
    out_dir : str or path-like, default="cohort"
        Folder to write to (created if needed). Each patient gets ``<out_dir>/<id>/`` with
        ``image.nii.gz`` (int16), ``mask.nii.gz`` and ``mask_rater2.nii.gz`` (uint8), plus
        ``<out_dir>/cases.csv`` and ``<out_dir>/cohort.json``.
    random_state : int, RandomState instance or None, default=0
        Seed; an int gives bitwise-identical files and tables on every call.
    shape : tuple of 3 int, default=(20, 128, 224)
        Array shape (slices, rows, cols), at least ``(4, 32, 64)``. The field of view stays
        about 112 x 64 x 60 mm, so smaller shapes get coarser spacing and life-sized anatomy
        (e.g. ``(8, 48, 96)`` for fast tests).
    rater2_fraction : float, default=1.0
        Fraction of patients (chosen at random) with a second rater's mask; the others have
        NaN in ``mask_rater2`` and no file.
    response_rate : float, default=61/147
        Expected fraction of responders; the realised count varies binomially.
    n_jobs : int or None, default=None
        Patients rendered in parallel with joblib; the output does not depend on it.
    return_oracle : bool, default=False
        Also return the latent state and true response probability of every patient.
    scanner_shift : None, "default", dict or ScannerShift, default=None
        Image every patient as on another scanner (see :class:`ScannerShift` and Notes):
        ``"default"`` for ``ScannerShift()``, or a dict of its fields (``intensity_scale``,
        ``bias_field``, ``spacing``, ``noise_scale``). The patients, masks' anatomy, clinical
        table and response are those of the unshifted cohort with the same ``random_state``.
    center : str, default=None
        Name of the acquiring center (or scanner): adds a ``center`` column after
        ``patient_id`` and prefixes the patient ids (``"B-TED001"``), so that cohorts of
        several centers can be concatenated into one multi-center case table.

    Returns
    -------
    cases : pandas.DataFrame of shape (n_patients, 20)
        Indexed by patient id (``"TED001"``, ...); columns ``patient_id``, absolute paths
        ``image``, ``mask``, ``mask_rater2``, then the 16 clinical columns (see Notes); with
        ``center``, 21 columns.
    y : pandas.Series of shape (n_patients,)
        Treatment response (1 = responder), named ``"response"``, same index.
    oracle : pandas.DataFrame of shape (n_patients, 6)
        Only if ``return_oracle``: ``activity``, ``fibrosis``, ``nuisance_ir``,
        ``nuisance_sr``, ``logit``, ``probability``; ``oracle.attrs["oracle_auc"]`` is the
        AUC of the true probability against ``y``, the best any model can reach.

    See Also
    --------
    make_ted_clinical : The same clinical table and response, without images.
    describe_cohort : One-table summary of a generated (or real) cohort.

    Notes
    -----
    **Images.** Array order (slice z, row y, col x); rows run superior to inferior, slices
    anterior (orbital rim) to posterior (apex), and the LPS direction cosines encode this
    coronal stack. Spacing about 0.5 x 0.5 x 3 mm (x, y, z) varies by +-6 % in plane and
    +-10 % between slices; head position and size vary too. The orbit at low column index is
    the patient's right one. Each orbit holds dark bone, suppressed (dark) fat, the bright
    globe anteriorly, the optic nerve in its bright CSF sheath, and the recti as fusiform
    elliptical bands hugging the wall: SR above and IR below the nerve, MR towards the
    midline and LR towards the temple, mirrored between the orbits. Signal carries a smooth
    multiplicative bias field, a patient gain and Rician noise (SD about 14 for muscle about
    150). Labels: ``IR=1, SR=2, MR=3, LR=4`` in both orbits. Rater 2's boundaries are
    randomly eroded/dilated, shifted and wobbled (about 0.2-0.3 mm), giving Dice about 0.85.

    **Planted signal.** Latent activity :math:`a` (oedema) and fibrosis :math:`f` are standard
    normal with correlation -0.3. The response probability is

    .. math:: p = \sigma(\beta_0 + 1.8\,a - 1.2\,f - 0.5\,\mathrm{smoking}),

    with :math:`\beta_0` solved so that the mean of :math:`p` equals ``response_rate``. Each
    muscle's swelling is :math:`s = a + 0.3\,\varepsilon` for MR and LR but an independent
    nuisance :math:`s = n_{IR|SR} + 0.3\,\varepsilon` for IR and SR (per orbit
    :math:`\varepsilon`). Swelling multiplies thickness by :math:`e^{0.22 s}`, width by
    :math:`e^{0.08 s}` and T2 signal by :math:`e^{0.25 s}` (:math:`s` from -1 to +1 is about
    five noise SDs); fibrosis multiplies MR/LR signal by :math:`e^{-0.12 f}` and adds a fine
    multiplicative texture of SD :math:`0.1\,\mathrm{softplus}(f)`. So MR+LR predict the
    response and IR+SR are equally variable but uninformative. The oracle AUC is about 0.9
    (0.89 +- 0.03 over seeds at n=147; exact value in ``cohort.json``).

    **Clinical columns** (units): ``age`` (years), ``sex`` ("F"/"M", 68 % F), ``smoking``
    (0/1), ``disease_duration_months`` (rises with :math:`f`), ``trab`` (TSH-receptor
    antibodies, IU/L), ``cas`` (clinical activity score 0-7, about :math:`3.2 + 1.1a` plus
    noise), ``exophthalmos_mm`` (Hertel), ``iop_mmHg``, ``bcva`` (logMAR), ``diplopia_grade``
    (Gorman 0-3), ``ft3`` and ``ft4`` (pmol/L), ``tsh`` (mIU/L), ``thyroid_treatment``
    ("antithyroid_drug", "radioiodine", "thyroidectomy"), ``bmi`` (kg/m^2),
    ``eyelid_retraction_mm``. CAS, duration, TRAb, exophthalmos, IOP, diplopia and lid
    retraction echo :math:`a`/:math:`f` noisily, so they add information to the images.

    **Scanner shift.** The default cohort comes from one scanner. ``scanner_shift`` renders
    the same patients (same seeds, anatomy and disease) on a second one: a global gain of
    the stored values (``intensity_scale``), a fixed smooth receive-coil field on top of each
    patient's own (``bias_field``), coarser pixels and thicker slices in a larger field of
    view (``spacing``) and more noise (``noise_scale``); the default
    :class:`ScannerShift` is 2x gain, a coil field varying 27 % between the orbits,
    0.6 x 0.6 x 4 mm voxels and 1.5x noise. Whole-image z-scoring (pyradiomics'
    ``normalize``) removes the gain but not the rest, so radiomics features move (by more
    than one between-patient SD for many MR+LR features) while the response does not: the
    situation ComBat harmonization
    (:class:`rdinet_sklearn.harmonization.ComBatHarmonizer`) addresses. At the default
    shape, with 147 patients per cohort, the quick preset's RBF-SVM trained on
    ``random_state=0`` has external AUC 0.873 on ``random_state=1``, 0.770 on the same
    patients with ``scanner_shift="default"``, and 0.867 with ComBat (``unseen="estimate"``;
    paired DeLong p = 0.006; ``benchmarks/bench_harmonization.py``). The rater-2 masks
    shift with the images. ``cohort.json`` records the shift and the center.

    ``<out_dir>/cases.csv`` holds the case columns plus ``response``, so
    ``cases = pd.read_csv(path); y = cases.pop("response")`` recovers both.

    Examples
    --------
    >>> import tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cases, y = make_ted_cohort(6, tmp, shape=(4, 32, 64))
    >>> cases.shape, y.name, list(cases.columns[:4])
    ((6, 20), 'response', ['patient_id', 'image', 'mask', 'mask_rater2'])
    """
    shape = _check_shape(shape)
    scanner = ScannerShift.coerce(scanner_shift)
    seeds = seed_sequences(random_state, n_patients)
    clinical, y, oracle = simulate_table(n_patients, seeds[0], response_rate)
    if center is not None:
        ids = pd.Index([f"{center}-{pid}" for pid in y.index], name=y.index.name)
        clinical.index = oracle.index = y.index = ids
    n_rater2 = int(round(rater2_fraction * n_patients))
    with_rater2 = np.zeros(n_patients, dtype=bool)
    with_rater2[np.random.default_rng(seeds[1]).choice(n_patients, n_rater2, replace=False)] = True

    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    paths = pd.DataFrame(
        {
            # ``center`` is part of each id: one folder per patient, kept inside ``root``
            column: [
                str(path_inside(root, safe_filename(pid), f"{column}.nii.gz")) for pid in y.index
            ]
            for column in PATH_COLUMNS
        },
        index=y.index,
    )
    paths.loc[~with_rater2, "mask_rater2"] = np.nan
    for stale in paths.index[~with_rater2]:  # an earlier run may have left one
        Path(paths.loc[stale, "mask"]).with_name("mask_rater2.nii.gz").unlink(missing_ok=True)
    Parallel(n_jobs=n_jobs)(
        delayed(_write_patient)(
            oracle.loc[pid].to_dict(),
            shape,
            seeds[2 + i],
            {c: (None if pd.isna(p) else p) for c, p in paths.loc[pid].items()},
            NO_SHIFT if scanner is None else scanner,
        )
        for i, pid in enumerate(y.index)
    )

    identity = {"patient_id": y.index}
    if center is not None:
        identity["center"] = center
    cases = pd.concat([pd.DataFrame(identity, index=y.index), paths, clinical], axis=1)
    cases.join(y).to_csv(root / "cases.csv", index=False)
    params = {
        "n_patients": n_patients,
        "random_state": random_state if isinstance(random_state, Integral) else None,
        "shape": list(shape),
        "rater2_fraction": rater2_fraction,
        "response_rate": response_rate,
    }
    if scanner is not None:  # only then, so that the default cohort.json stays as it was
        params["scanner_shift"] = scanner.as_dict()
    if center is not None:
        params["center"] = center
    metadata = _metadata(params, y, oracle, n_rater2)
    (root / "cohort.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return (cases, y, oracle) if return_oracle else (cases, y)
