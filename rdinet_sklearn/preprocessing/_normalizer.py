"""IntensityNormalizer: z-score or Nyúl histogram standardisation, landmarks fitted in fit."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from .._imaging import CaseError
from .._sklearn_compat import InvalidParameterError, StrOptions
from ._base import STEP_ATTRIBUTES, STEP_PARAMETERS, CaseImageTransformer, PreprocessingError, Where
from ._bias_field import body_mask

STANDARD_RANGE = (0.0, 100.0)
"""Nyúl's standard scale: each image's lowest and highest percentile land here (TorchIO's)."""


def _region(image, mask, region, where):
    """Boolean array of the voxels whose statistics normalise the image."""
    if region == "image":
        return np.ones(sitk.GetArrayViewFromImage(image).shape, dtype=bool)
    if region == "foreground":
        inside = sitk.GetArrayFromImage(body_mask(image)) > 0
    else:  # "roi"
        inside = sitk.GetArrayFromImage(mask) > 0
    if inside.sum() < 2:
        raise where.error(f"the {region} region holds {int(inside.sum())} voxel(s)")
    return inside


def image_landmarks(values, percentiles, where):
    """The intensities at ``percentiles`` of ``values``; strictly increasing, or an error."""
    landmarks = np.percentile(values, percentiles)
    if np.any(np.diff(landmarks) <= 0):
        raise where.error(
            f"intensity percentiles {list(percentiles)} are not strictly increasing "
            f"({np.round(landmarks, 4).tolist()}): too few distinct intensities to standardise"
        )
    return landmarks


def to_standard_scale(landmarks):
    """Landmarks mapped linearly so that the first and last land on :data:`STANDARD_RANGE`."""
    low, high = STANDARD_RANGE
    return low + (landmarks - landmarks[0]) * (high - low) / (landmarks[-1] - landmarks[0])


def piecewise_linear(values, source, target):
    """Map ``source`` landmarks onto ``target`` linearly between them, and beyond the ends
    along the first and last segments (Nyúl: intensities past the percentiles extrapolate)."""
    mapped = np.interp(values, source, target)
    below, above = values < source[0], values > source[-1]
    slope_low = (target[1] - target[0]) / (source[1] - source[0])
    slope_high = (target[-1] - target[-2]) / (source[-1] - source[-2])
    mapped[below] = target[0] + (values[below] - source[0]) * slope_low
    mapped[above] = target[-1] + (values[above] - source[-1]) * slope_high
    return mapped


class IntensityNormalizer(CaseImageTransformer):
    __doc__ = f"""Normalise every case's intensities: z-score, or Nyúl histogram standardisation.

    MRI intensities have no unit: the same tissue reads differently between scanners,
    protocols and even sessions. ``"zscore"`` rescales each image by the mean and standard
    deviation of a region. ``"nyul"`` (Nyúl, Udupa & Zhang, IEEE TMI 2000) maps each image's
    intensity percentiles piecewise-linearly onto standard landmarks learned in :meth:`fit`
    from the training cases only, so the normaliser belongs inside cross-validation.

    Parameters
    ----------
    method : {{"zscore", "nyul"}}, default="zscore"
        The normalisation.
    region : {{"image", "foreground", "roi"}}, default="foreground"
        Voxels whose statistics (mean and SD, or percentiles) are used: the whole image,
        the body (Otsu's foreground of the positive voxels: a tissue mask without the air)
        or the ROI (every non-zero label of the mask). The whole image is then mapped.
    percentiles : tuple of float, default=(1, 25, 50, 75, 99)
        ``"nyul"``: the intensity percentiles used as landmarks; the first and last are
        mapped to 0 and 100, the others are learned (the mean over the training cases).
{STEP_PARAMETERS}
    Attributes
    ----------
    landmarks_ : ndarray of shape (n_percentiles,)
        ``"nyul"``: the standard landmarks (0, the learned ones, 100); ``None`` for z-score.
    training_range_ : tuple of float
        ``"nyul"``: the lowest first and highest last percentile over the training images.
{STEP_ATTRIBUTES}
    See Also
    --------
    BiasFieldCorrector : N4 bias-field correction (put it first).
    rdinet_sklearn.harmonization.ComBatHarmonizer : Harmonise features instead of images.

    Notes
    -----
    Nyúl: with percentiles :math:`p_1 < \\dots < p_m` of image :math:`k` at intensities
    :math:`\\mu_{{k,1..m}}`, ``fit`` maps each so that :math:`\\mu_{{k,1}} \\to 0` and
    :math:`\\mu_{{k,m}} \\to 100` and averages the mapped interior landmarks over the training
    images; ``transform`` maps each image's own :math:`\\mu` onto them piecewise-linearly.
    TorchIO's ``HistogramStandardization`` is the model; it is written here on numpy
    because TorchIO would bring its own image classes and torch into preprocessing that
    needs neither, and because the landmarks must live on a scikit-learn estimator.

    ``fit`` needs at least as many training images as learned (interior) landmarks, else
    each landmark rests on fewer images than there are landmarks to place. A test image
    whose intensity range lies entirely outside the training images' is still mapped (by
    its own percentiles), with a :class:`PreprocessingWarning` naming the row and file.

    Examples
    --------
    >>> import shutil, tempfile
    >>> import numpy as np, SimpleITK as sitk
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.preprocessing import IntensityNormalizer
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> nyul = IntensityNormalizer(method="nyul", cache_dir=folder).fit(cases)
    >>> nyul.landmarks_[[0, -1]].tolist()
    [0.0, 100.0]
    >>> out = nyul.transform(cases)
    >>> image = sitk.GetArrayFromImage(sitk.ReadImage(out["image"].iloc[0]))
    >>> bool(np.isfinite(image).all())
    True
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        **CaseImageTransformer._parameter_constraints,
        "method": [StrOptions({"zscore", "nyul"})],
        "region": [StrOptions({"image", "foreground", "roi"})],
        "percentiles": [tuple, list],
    }

    def __init__(
        self,
        method="zscore",
        *,
        region="foreground",
        percentiles=(1, 25, 50, 75, 99),
        image_column="image",
        mask_column="mask",
        cache_dir=None,
        n_jobs=None,
    ):
        self.method = method
        self.region = region
        self.percentiles = percentiles
        super().__init__(
            image_column=image_column, mask_column=mask_column, cache_dir=cache_dir, n_jobs=n_jobs
        )

    def _fit_cases(self, table):
        self.landmarks_, self.training_range_ = None, None
        if self.method != "nyul":
            return
        percentiles = _checked_percentiles(self.percentiles)
        learned = len(percentiles) - 2
        if len(table) < learned:
            raise ValueError(
                f"IntensityNormalizer(method='nyul') learns {learned} landmarks "
                f"(percentiles {list(percentiles)}) but got {len(table)} training image(s): "
                f"give at least {learned}, or fewer percentiles"
            )
        mapped, lows, highs, failures = [], [], [], []
        for row, entry in table.iterrows():
            paths = (entry[self.image_column], entry[self.mask_column])
            where = Where(
                type(self).__name__, row, self.image_column, paths[0], self.mask_column, paths[1]
            )
            try:
                image, mask = self._read(row, paths)
                values = sitk.GetArrayViewFromImage(image)[_region(image, mask, self.region, where)]
                landmarks = image_landmarks(values, percentiles, where)
            except CaseError as err:
                failures.append(err)
                continue
            mapped.append(to_standard_scale(landmarks))
            lows.append(landmarks[0])
            highs.append(landmarks[-1])
        if failures:
            raise PreprocessingError(type(self).__name__, failures)
        self.landmarks_ = np.mean(mapped, axis=0)
        self.training_range_ = (float(min(lows)), float(max(highs)))

    def _fitted_state(self):
        if self.landmarks_ is None:
            return None
        return [float(v) for v in self.landmarks_]

    def _process(self, image, mask, where, caught):
        image = sitk.Cast(image, sitk.sitkFloat32)
        array = sitk.GetArrayFromImage(image).astype(np.float64)
        inside = _region(image, mask, self.region, where)
        values = array[inside]
        if self.method == "zscore":
            std = float(values.std())
            if std <= 1e-12 * max(1.0, abs(float(values.mean()))):
                raise where.error(f"intensity is constant over the {self.region} region")
            out = (array - values.mean()) / std
        else:
            landmarks = image_landmarks(values, _checked_percentiles(self.percentiles), where)
            low, high = self.training_range_
            if landmarks[-1] < low or landmarks[0] > high:
                caught.append(
                    where.warning(
                        f"its intensity range [{landmarks[0]:g}, {landmarks[-1]:g}] lies outside "
                        f"the training images' [{low:g}, {high:g}]; it is mapped by its own "
                        "percentiles, but check it comes from a comparable acquisition"
                    )
                )
            out = piecewise_linear(array.ravel(), landmarks, self.landmarks_).reshape(array.shape)
        result = sitk.GetImageFromArray(out.astype(np.float32))
        result.CopyInformation(image)
        return result, None


def _checked_percentiles(percentiles):
    values = np.asarray(percentiles, dtype=float)
    if (
        values.ndim != 1
        or len(values) < 3
        or np.any(np.diff(values) <= 0)
        or values[0] < 0
        or values[-1] > 100
    ):
        raise InvalidParameterError(
            "The 'percentiles' parameter of IntensityNormalizer must be at least 3 strictly "
            f"increasing numbers in [0, 100]. Got {percentiles!r} instead."
        )
    return values
