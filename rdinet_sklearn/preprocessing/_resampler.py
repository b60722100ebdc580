"""Resampler: images and label maps to a new voxel spacing, following IBSI 1's rules."""

from __future__ import annotations

from numbers import Real

import numpy as np
import SimpleITK as sitk

from .._imaging import read_image
from .._sklearn_compat import InvalidParameterError, StrOptions
from ._base import STEP_ATTRIBUTES, STEP_PARAMETERS, CaseImageTransformer, is_orthonormal
from ._grid import INTERPOLATORS, resample_image, resample_labels

_INTEGER_TYPES = {
    sitk.sitkInt8,
    sitk.sitkUInt8,
    sitk.sitkInt16,
    sitk.sitkUInt16,
    sitk.sitkInt32,
    sitk.sitkUInt32,
    sitk.sitkInt64,
    sitk.sitkUInt64,
}


class Resampler(CaseImageTransformer):
    __doc__ = f"""Resample every case's image and label map to one voxel spacing, as IBSI 1 does.

    The new grid is centred on the original grid; the image is interpolated linearly or
    with a cubic B-spline; each label of the mask is interpolated linearly and kept where
    the result reaches 0.5; integer-valued images (CT) are rounded after interpolation.
    pyradiomics' own ``resampledPixelSpacing`` follows none of these rules, so on the IBSI
    CT phantom its resampled features miss the reference values (see
    :ref:`ug_ibsi`), while with this step in front of the extractor they lie within
    tolerance.

    Parameters
    ----------
    spacing : float, "median" or tuple of 3 (float or None), default=(1.0, 1.0, 1.0)
        The new spacing in mm, (x, y, z). A float is isotropic; ``None`` keeps that axis of
        each image as it is, e.g. ``(2, 2, None)`` for in-plane only; ``"median"`` is the
        training cases' median spacing per axis, learned in :meth:`fit`.
    interpolation : {{"linear", "cubic"}}, default="linear"
        Image interpolator (IBSI: trilinear or tricubic); the mask is always linear.
    round_intensities : bool or "auto", default="auto"
        Round the interpolated intensities to whole numbers. ``"auto"`` rounds images whose
        pixel type is integer (CT, whose unit HU is integer-valued); pass ``True`` for a CT
        stored as floats (e.g. NIfTI).
{STEP_PARAMETERS}
    Attributes
    ----------
    spacing_ : tuple of 3 (float or None)
        The spacing used, ``"median"`` resolved.
{STEP_ATTRIBUTES}
    See Also
    --------
    BiasFieldCorrector : N4 bias-field correction.
    IntensityNormalizer : z-score or Nyúl histogram standardisation.

    Notes
    -----
    Errors name the row, the file and the step: a direction matrix that is not orthogonal
    (the centred grid is defined in the image's own axes), and a ROI that vanishes, i.e. a
    label of the mask with no voxel left after resampling (smaller than one new voxel).

    Examples
    --------
    >>> import shutil, tempfile
    >>> import SimpleITK as sitk
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.preprocessing import Resampler
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> resampler = Resampler(spacing=(1.0, 1.0, None), cache_dir=folder).fit(cases)
    >>> resampled = resampler.transform(cases)  # in-plane 1 mm, slices kept
    >>> [round(s, 2) for s in sitk.ReadImage(resampled["image"].iloc[0]).GetSpacing()]
    [1.0, 1.0, 7.51]
    >>> resampled["mask"].iloc[0].endswith("_mask.nii.gz")
    True
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        **CaseImageTransformer._parameter_constraints,
        "spacing": [Real, tuple, list, StrOptions({"median"})],
        "interpolation": [StrOptions(set(INTERPOLATORS))],
        "round_intensities": ["boolean", StrOptions({"auto"})],
    }
    _writes_mask = True

    def __init__(
        self,
        spacing=(1.0, 1.0, 1.0),
        *,
        interpolation="linear",
        round_intensities="auto",
        image_column="image",
        mask_column="mask",
        cache_dir=None,
        n_jobs=None,
    ):
        self.spacing = spacing
        self.interpolation = interpolation
        self.round_intensities = round_intensities
        super().__init__(
            image_column=image_column, mask_column=mask_column, cache_dir=cache_dir, n_jobs=n_jobs
        )

    def _fit_cases(self, table):
        if isinstance(self.spacing, str):  # "median": the training cases' median per axis
            spacings = [
                read_image(path, row=row, column=self.image_column, header_only=True).GetSpacing()
                for row, path in table[self.image_column].items()
            ]
            self.spacing_ = tuple(float(v) for v in np.median(np.asarray(spacings), axis=0))
        else:
            self.spacing_ = _checked_spacing(self.spacing)

    def _fitted_state(self):
        return self.spacing_

    def _process(self, image, mask, where, caught):
        if not is_orthonormal(image):
            raise where.error(
                f"direction matrix {tuple(round(v, 4) for v in image.GetDirection())} is not "
                "orthogonal; resample it onto an orthogonal grid first"
            )
        own = image.GetSpacing()
        spacing = [o if s is None else s for s, o in zip(self.spacing_, own, strict=True)]
        rounding = self.round_intensities
        if rounding == "auto":
            rounding = image.GetPixelID() in _INTEGER_TYPES
        resampled = resample_image(
            image, spacing, interpolation=self.interpolation, round_intensities=rounding
        )
        labels = resample_labels(mask, spacing)
        before = set(np.unique(sitk.GetArrayViewFromImage(mask)).tolist()) - {0}
        after = set(np.unique(sitk.GetArrayViewFromImage(labels)).tolist()) - {0}
        vanished = sorted(before - after)
        if vanished:
            raise where.error(
                f"label(s) {vanished} vanish after resampling to spacing "
                f"{tuple(round(float(v), 4) for v in spacing)} mm: the structure is smaller "
                "than one new voxel",
                on="mask",
            )
        return resampled, labels


def _checked_spacing(spacing):
    """``spacing`` as 3 positive floats or None, or an InvalidParameterError saying why."""
    values = (spacing,) * 3 if isinstance(spacing, Real) else tuple(spacing)
    valid = len(values) == 3 and all(
        v is None or (isinstance(v, Real) and np.isfinite(v) and v > 0) for v in values
    )
    if not valid:
        raise InvalidParameterError(
            f"The 'spacing' parameter of Resampler must be a positive number, 'median' or 3 "
            f"positive numbers or None (x, y, z, in mm). Got {spacing!r} instead."
        )
    return tuple(None if v is None else float(v) for v in values)
