"""Resegmenter: IBSI's combined range-then-outlier re-segmentation, which pyradiomics lacks."""

from __future__ import annotations

from numbers import Real

import numpy as np
import SimpleITK as sitk

from .._sklearn_compat import Interval, InvalidParameterError
from ._base import STEP_ATTRIBUTES, STEP_PARAMETERS, CaseImageTransformer


class Resegmenter(CaseImageTransformer):
    __doc__ = f"""Re-segment every ROI to an intensity range, then to mean ± ``n_sigma`` SD in it.

    IBSI 1's configuration E re-segments the ROI twice: to a fixed range (e.g. -1000 to
    400 HU) and then, among the voxels left, to the mean ± 3 standard deviations.
    pyradiomics applies one re-segmentation only (``resegmentRange`` in one mode), so
    this step does the combined one and hands pyradiomics a range it can apply.

    It moves the ROI voxels the combined re-segmentation drops to ``range[0] - 1``: below
    the range, so that :class:`~rdinet_sklearn.radiomics.RadiomicsExtractor` given
    ``resegmentRange: [range[0], range[1]]`` leaves them out of every intensity and texture
    feature, while the mask, and so the shape features, keep the whole ROI (IBSI's
    morphological mask). Voxels outside the ROI are not changed. Give the extractor the
    same range: without it the moved voxels would count.

    Parameters
    ----------
    range : tuple of 2 float, default=(-1000.0, 400.0)
        The intensity range, applied first (IBSI configuration E: -1000 to 400 HU).
    n_sigma : float, default=3.0
        Then keep the voxels within mean ± ``n_sigma`` SD of those in range.
{STEP_PARAMETERS}
    Attributes
    ----------
{STEP_ATTRIBUTES}
    See Also
    --------
    Resampler : IBSI resampling (put it first).

    Examples
    --------
    >>> import shutil, tempfile
    >>> import numpy as np, SimpleITK as sitk
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.preprocessing import Resegmenter
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> out = Resegmenter(range=(0, 1000), n_sigma=1, cache_dir=folder).fit_transform(cases)
    >>> image = sitk.GetArrayFromImage(sitk.ReadImage(out["image"].iloc[0]))
    >>> bool((image == -1).any())  # voxels beyond 1 SD moved below the range
    True
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        **CaseImageTransformer._parameter_constraints,
        "range": [tuple, list],
        "n_sigma": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        range=(-1000.0, 400.0),  # noqa: A002 - IBSI's and pyradiomics' name for it
        *,
        n_sigma=3.0,
        image_column="image",
        mask_column="mask",
        cache_dir=None,
        n_jobs=None,
    ):
        self.range = range
        self.n_sigma = n_sigma
        super().__init__(
            image_column=image_column, mask_column=mask_column, cache_dir=cache_dir, n_jobs=n_jobs
        )

    def _fit_cases(self, table):
        bounds = tuple(self.range)
        if (
            len(bounds) != 2
            or not all(isinstance(v, Real) for v in bounds)
            or bounds[0] >= bounds[1]
        ):
            raise InvalidParameterError(
                "The 'range' parameter of Resegmenter must be 2 increasing numbers. "
                f"Got {self.range!r} instead."
            )

    def _process(self, image, mask, where, caught):
        image = sitk.Cast(image, sitk.sitkFloat32)
        array = sitk.GetArrayFromImage(image)
        roi = sitk.GetArrayViewFromImage(mask) > 0
        low, high = (float(v) for v in self.range)
        in_range = roi & (array >= low) & (array <= high)
        if in_range.sum() < 2:
            raise where.error(
                f"{int(in_range.sum())} ROI voxel(s) lie in the range [{low:g}, {high:g}]",
                on="mask",
            )
        mean, std = float(array[in_range].mean()), float(array[in_range].std())
        keep = in_range & (np.abs(array - mean) <= self.n_sigma * std)
        array[roi & ~keep] = low - 1
        result = sitk.GetImageFromArray(array)
        result.CopyInformation(image)
        return result, None
