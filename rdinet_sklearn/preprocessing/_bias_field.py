"""BiasFieldCorrector: N4 bias-field correction (SimpleITK) of every case's image."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import SimpleITK as sitk

from .._sklearn_compat import Interval, StrOptions
from ._base import STEP_ATTRIBUTES, STEP_PARAMETERS, CaseImageTransformer

MIN_POSITIVE_FRACTION = 0.5
"""Fewest positive voxels, as a fraction of the weight region, N4 is run on."""


def body_mask(image):
    """Otsu's foreground of the image's positive voxels: the body, without the air around it."""
    positive = sitk.Cast(image > 0, sitk.sitkUInt8)
    otsu = sitk.OtsuThreshold(image, 0, 1)
    return sitk.Cast(otsu * positive, sitk.sitkUInt8)


class BiasFieldCorrector(CaseImageTransformer):
    __doc__ = f"""N4 bias-field correction of every case's image (Tustison et al., IEEE TMI 2010).

    MRI intensities drift smoothly across the field of view with the receive coils'
    sensitivity; N4 estimates that multiplicative field as a B-spline and divides it out.
    The field is fitted on a shrunken copy of the image (fast), within the weight region,
    and divided out at full resolution. The mask is left as it is.

    Parameters
    ----------
    weight : {{"body", "roi"}}, default="body"
        Voxels the field is fitted on: the body (Otsu's foreground of the positive voxels)
        or the ROI (every non-zero label of the mask, e.g. for a small field of view).
    shrink_factor : int, default=4
        Shrink factor of the fitted copy along the finest axis; the others shrink so that
        its voxels are about as large (thick slices are kept).
    n_iterations : int, default=50
        Iterations per fitting level.
    n_fitting_levels : int, default=4
        B-spline fitting levels (each doubles the control-point resolution).
{STEP_PARAMETERS}
    Attributes
    ----------
{STEP_ATTRIBUTES}
    See Also
    --------
    Resampler : IBSI resampling (put it first).
    IntensityNormalizer : Intensity normalisation (put it after).

    Notes
    -----
    N4 works on the logarithm of the intensities, so only positive voxels of the weight
    region take part in the fit (MRI background, 0, is outside the body mask anyway). An
    image with non-positive values in more than half of its weight region (a CT in HU, a
    z-scored image) is refused with an error naming the row, the file and the step.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.preprocessing import BiasFieldCorrector
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> corrected = BiasFieldCorrector(cache_dir=folder).fit_transform(cases)
    >>> corrected["image"].iloc[0].endswith("_image.nii.gz")
    True
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        **CaseImageTransformer._parameter_constraints,
        "weight": [StrOptions({"body", "roi"})],
        "shrink_factor": [Interval(Integral, 1, None, closed="left")],
        "n_iterations": [Interval(Integral, 1, None, closed="left")],
        "n_fitting_levels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        weight="body",
        *,
        shrink_factor=4,
        n_iterations=50,
        n_fitting_levels=4,
        image_column="image",
        mask_column="mask",
        cache_dir=None,
        n_jobs=None,
    ):
        self.weight = weight
        self.shrink_factor = shrink_factor
        self.n_iterations = n_iterations
        self.n_fitting_levels = n_fitting_levels
        super().__init__(
            image_column=image_column, mask_column=mask_column, cache_dir=cache_dir, n_jobs=n_jobs
        )

    def _process(self, image, mask, where, caught):
        image = sitk.Cast(image, sitk.sitkFloat32)
        region = body_mask(image) if self.weight == "body" else sitk.Cast(mask > 0, sitk.sitkUInt8)
        inside = sitk.GetArrayViewFromImage(region) > 0
        values = sitk.GetArrayViewFromImage(image)[inside]
        positive = float(np.mean(values > 0)) if values.size else 0.0
        if positive < MIN_POSITIVE_FRACTION:
            raise where.error(
                f"N4 needs positive intensities, but {1 - positive:.0%} of the {self.weight} "
                f"region's {values.size} voxels are zero or negative (minimum "
                f"{float(values.min()) if values.size else float('nan'):g}); N4 suits MRI, "
                "not CT or already normalised images"
            )
        fitted = region * sitk.Cast(image > 0, sitk.sitkUInt8)
        # Shrink each axis so the fitted copy's voxels are about shrink_factor x the finest
        # spacing: thick slices are kept, an isotropic image shrinks in 3D (64x fewer voxels).
        spacing = np.asarray(image.GetSpacing())
        shrink = [max(1, round(self.shrink_factor * spacing.min() / s)) for s in spacing]
        small_image = sitk.Shrink(image, shrink)
        small_mask = sitk.Shrink(fitted, shrink)
        if not sitk.GetArrayViewFromImage(small_mask).any():  # a region smaller than shrinking
            small_image, small_mask = image, fitted
        n4 = sitk.N4BiasFieldCorrectionImageFilter()
        n4.SetMaximumNumberOfIterations([int(self.n_iterations)] * int(self.n_fitting_levels))
        n4.Execute(small_image, small_mask)
        log_field = n4.GetLogBiasFieldAsImage(image)
        return image / sitk.Exp(log_field), None
