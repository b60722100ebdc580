"""Fixed-size ROI volumes for 3D CNNs: crop around the ROI, z-score, resample, cache.

Per case, :class:`VolumeCropper` finds the bounding box of the ROI's labels, keeps the slices
that hold the ROI, widens the box in-plane by ``margin`` millimetres, z-scores the intensities
with the mean and standard deviation of the box, and resamples the box to ``volume_size`` in
physical space with SimpleITK (so anisotropic voxels are handled). With ``orbits="split"`` the
two orbits are cropped separately and stacked as two channels; a case whose ROI lies on one
side only (an automatic mask that missed one orbit's muscles) gets the mirror image of the
other side's box, with a :class:`OneSidedROIWarning` naming it.

Results are cached twice: on disk through ``memory`` (a :class:`joblib.Memory` keyed on the
files' content digests and the cropping parameters) and in an in-process LRU shared by every
cropper, so the folds of a grid search, and every epoch of a fit, reuse one preprocessing.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
import SimpleITK as sitk
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from rdinet_sklearn._sklearn_compat import HasMethods, Interval, StrOptions, fit_context

from .._cache import LRUCache, case_file_digest, resolve_memory
from .._cases import read_case_table, resolve_roi, validate_case_table
from .._imaging import CaseError, read_image
from .._masks import read_roi
from .._versions import _VersionStampMixin

VolumeCacheInfo = namedtuple("VolumeCacheInfo", "hits misses computed entries nbytes")

_CACHE_BUDGET_BYTES = 4 * 1024**3
"""In-process cache size; the study's 147 cases x 2 orbits x 32x128x128 floats take ~0.6 GiB."""

_VOLUMES = LRUCache(max_bytes=_CACHE_BUDGET_BYTES)
"""Cache key -> (volume, the side whose box was mirrored or "") of :func:`_crop_case`."""
_STATS = {"hits": 0, "misses": 0, "computed": 0}


class OneSidedROIWarning(UserWarning):
    """``orbits="split"`` found a case's ROI on one side only and mirrored the other's box.

    Examples
    --------
    >>> import warnings
    >>> from rdinet_sklearn.volumes import OneSidedROIWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", OneSidedROIWarning)
    ...     warnings.warn("filtered", OneSidedROIWarning)
    """


def volume_cache_info():
    """Statistics of the in-process volume cache shared by every :class:`VolumeCropper`.

    Returns
    -------
    info : VolumeCacheInfo
        ``hits`` and ``misses`` of the in-process cache, ``computed`` (cases actually
        preprocessed, i.e. found in neither cache), ``entries`` and ``nbytes`` held.

    See Also
    --------
    clear_volume_cache : Empty the cache and reset these counts.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.volumes import VolumeCropper, clear_volume_cache, volume_cache_info
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> clear_volume_cache()
    >>> cropper = VolumeCropper("MR", orbits="joint", volume_size=(2, 8, 8)).fit(cases)
    >>> cropper.transform(cases).shape
    (4, 1, 2, 8, 8)
    >>> volume_cache_info()
    VolumeCacheInfo(hits=0, misses=4, computed=4, entries=4, nbytes=2048)
    >>> _ = cropper.transform(cases)  # the same cases again: taken from the cache
    >>> volume_cache_info()
    VolumeCacheInfo(hits=4, misses=4, computed=4, entries=4, nbytes=2048)
    >>> shutil.rmtree(folder)
    """
    return VolumeCacheInfo(
        _STATS["hits"], _STATS["misses"], _STATS["computed"], len(_VOLUMES), _VOLUMES.nbytes
    )


def clear_volume_cache():
    """Empty the in-process volume cache and reset its statistics (the disk cache is kept).

    See Also
    --------
    volume_cache_info : The statistics this resets.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.volumes import VolumeCropper, clear_volume_cache, volume_cache_info
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> cropper = VolumeCropper("MR", orbits="joint", volume_size=(2, 8, 8)).fit(cases)
    >>> _ = cropper.transform(cases)
    >>> clear_volume_cache()
    >>> volume_cache_info()
    VolumeCacheInfo(hits=0, misses=0, computed=0, entries=0, nbytes=0)
    >>> _ = cropper.transform(cases)  # preprocessed again
    >>> volume_cache_info().computed
    4
    >>> shutil.rmtree(folder)
    """
    _VOLUMES.clear()
    _STATS.update(hits=0, misses=0, computed=0)


def _box_to_volume(image, lower, upper, volume_size):
    """Crop ``image`` to voxel box [lower, upper] (x, y, z), resample to ``volume_size`` (z, y, x).

    The output grid covers exactly the box's physical extent (voxel edges, not centres) with
    ``volume_size`` voxels, keeping the image's direction, so spacing may differ per axis.
    """
    size = [int(u - lo + 1) for lo, u in zip(lower, upper, strict=True)]
    box = sitk.RegionOfInterest(image, size=size, index=[int(v) for v in lower])
    out_size = [int(v) for v in reversed(volume_size)]
    in_spacing = np.asarray(box.GetSpacing())
    out_spacing = np.asarray(size) * in_spacing / np.asarray(out_size)
    first_centre = -0.5 + 0.5 * out_spacing / in_spacing
    origin = box.TransformContinuousIndexToPhysicalPoint([float(v) for v in first_centre])
    resampled = sitk.Resample(
        box,
        out_size,
        sitk.Transform(),
        sitk.sitkLinear,
        origin,
        [float(v) for v in out_spacing],
        box.GetDirection(),
        0.0,
        sitk.sitkFloat32,
    )
    return sitk.GetArrayFromImage(resampled)


def _crop_case(
    image_digest,
    mask_digest,
    label_values,
    volume_size,
    margin,
    orbits,
    *,
    image_path,
    mask_path,
    row,
    image_column,
    mask_column,
):
    """One case's volume and the side whose box was mirrored (``""`` when none).

    The digests and parameters key the disk cache; the paths are ignored by it.
    """
    _STATS["computed"] += 1
    image = read_image(image_path, row=row, column=image_column)
    intensities = sitk.GetArrayFromImage(image)  # a copy: `image` is replaced below
    bad_voxels = int(np.count_nonzero(~np.isfinite(intensities)))
    if bad_voxels:
        raise CaseError(row, image_column, image_path, f"holds {bad_voxels} NaN or infinite voxels")
    roi_image = read_roi(
        image,
        mask_path,
        label_values,
        image_path=image_path,
        row=row,
        column=mask_column,
        require_all=False,  # an ROI of two structures may lack one in a case
    )
    roi = sitk.GetArrayViewFromImage(roi_image).astype(bool)
    spacing = np.asarray(image.GetSpacing())  # x, y, z
    pad = [math.ceil(margin / spacing[0] - 1e-9), math.ceil(margin / spacing[1] - 1e-9), 0]
    halves, mirrored_side = _orbit_halves(roi, image, orbits)
    image = sitk.Cast(image, sitk.sitkFloat32)
    channels = []
    for part, mirror in halves:
        z, y, x = np.nonzero(part)
        lower = np.maximum([x.min() - pad[0], y.min() - pad[1], z.min()], 0)
        upper = np.minimum(
            [x.max() + pad[0], y.max() + pad[1], z.max()], np.asarray(image.GetSize()) - 1
        )
        if np.any((upper - lower + 1)[:2] < 2):
            raise CaseError(
                row,
                mask_column,
                mask_path,
                f"ROI box is {tuple(int(v) for v in upper - lower + 1)} voxels (x, y, z): "
                "less than 2 voxels in-plane, too small to resample",
            )
        inside = intensities[
            lower[2] : upper[2] + 1, lower[1] : upper[1] + 1, lower[0] : upper[0] + 1
        ]
        mean, std = float(inside.mean()), float(inside.std())
        if std <= 1e-6 * max(1.0, abs(mean)):
            raise CaseError(
                row, image_column, image_path, "intensity is constant inside the ROI box"
            )
        volume = (_box_to_volume(image, lower, upper, volume_size) - mean) / std
        channels.append(volume[..., ::-1] if mirror else volume)
    return np.stack(channels).astype(np.float32, copy=False), mirrored_side


def _orbit_halves(roi, image, orbits):
    """[(binary array, mirror?)] and the side whose box mirrors the other's (``""``: none).

    One entry for "joint"; for "split", (left, right mirrored). The split is at the middle
    column of the label map, so it assumes the head is roughly centred left-right in the
    field of view; an empty half takes the other half's ROI mirrored about that column, the
    best guess of where the missing orbit's structures are. ITK's physical space is LPS:
    when the column axis points towards +x the low-index half is the patient's right.
    """
    if orbits == "joint":
        return [(roi, False)], ""
    middle = roi.shape[2] // 2
    low, high = roi.copy(), roi.copy()
    low[:, :, middle:] = False
    high[:, :, :middle] = False
    column_points_left = image.GetDirection()[0] >= 0
    right, left = (low, high) if column_points_left else (high, low)
    mirrored_side = ""
    if left.any() != right.any():
        if left.any():
            right, mirrored_side = left[:, :, ::-1], "right"
        else:
            left, mirrored_side = right[:, :, ::-1], "left"
    return [(left, False), (right, True)], mirrored_side


CROPPER_PARAMETERS = """\
    roi : str or tuple of str, default="all"
        Structures whose union is the ROI (names of ``labels``), or ``"all"``.
    labels : dict of str to int, default=None
        Structure names to label values; ``None`` means the extraocular muscles
        ``{"IR": 1, "SR": 2, "MR": 3, "LR": 4}``.
    volume_size : tuple of 3 int, default=(32, 128, 128)
        Output size (slices, rows, columns); the study's 128x128x32.
    margin : float, default=5.0
        In-plane margin added around the ROI's bounding box, in **millimetres** (converted to
        voxels with the image spacing, rounded up). Slices are not padded: the box keeps
        exactly the slices that contain the ROI.
    orbits : {"split", "joint"}, default="split"
        ``"split"``: one box per orbit (the label map's left and right halves), stacked as two
        channels (left orbit, right orbit mirrored left-right so both look alike).
        ``"joint"``: one box around the whole ROI, one channel; use it for non-bilateral
        structures.
    image_column, mask_column : str, default="image", "mask"
        Case-table columns holding the image and label-map paths.
    memory : None, str or joblib.Memory, default=None
        Disk cache of preprocessed volumes, keyed on the files' content and the parameters.
    n_jobs : int, default=None
        Cases preprocessed in parallel (threads; SimpleITK releases the GIL).
"""
"""numpydoc entries of the cropper's parameters, shared with the networks that take them."""


class VolumeCropper(_VersionStampMixin, TransformerMixin, BaseEstimator):
    __doc__ = f"""Crop the ROI of each case to a fixed-size, z-scored 3D volume (CNN input).

    Parameters
    ----------
{CROPPER_PARAMETERS}
    Attributes
    ----------
    roi_name_ : str
        The ROI's name, e.g. ``"MR+LR"``.
    label_values_ : tuple of int
        Label values forming the ROI.
    n_channels_ : int
        Channels per volume: 2 for ``"split"``, 1 for ``"joint"``.

    See Also
    --------
    volume_cache_info : Hits, misses and cases computed by the in-process cache.
    rdinet_sklearn.nn.ResNet50Classifier : Trains a 3D CNN on these volumes.

    Notes
    -----
    Intensities are z-scored with the statistics of the (unresampled) box, ROI and margin
    together, :math:`x' = (x - \\mu_{{box}}) / \\sigma_{{box}}`: the muscles alone are too few
    voxels for stable statistics. Resampling uses linear interpolation onto a grid covering
    the box's physical extent. The output is a float32 array, not a table, so there is no
    ``get_feature_names_out`` and ``set_output`` does not apply.

    Examples
    --------
    >>> from rdinet_sklearn.volumes import VolumeCropper
    >>> cropper = VolumeCropper(roi=("MR", "LR"), volume_size=(8, 24, 24))
    >>> cropper.fit(None).n_channels_
    2
    """

    _parameter_constraints: dict = {
        "roi": [str, tuple, list],
        "labels": [dict, None],
        "volume_size": [tuple, list],
        "margin": [Interval(Real, 0, None, closed="left")],
        "orbits": [StrOptions({"split", "joint"})],
        "image_column": [str],
        "mask_column": [str],
        "memory": [None, str, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        roi="all",
        *,
        labels=None,
        volume_size=(32, 128, 128),
        margin=5.0,
        orbits="split",
        image_column="image",
        mask_column="mask",
        memory=None,
        n_jobs=None,
    ):
        self.roi = roi
        self.labels = labels
        self.volume_size = volume_size
        self.margin = margin
        self.orbits = orbits
        self.image_column = image_column
        self.mask_column = mask_column
        self.memory = memory
        self.n_jobs = n_jobs

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters; the volumes are computed by :meth:`transform`.

        Parameters
        ----------
        X : DataFrame, str or None
            The case table (ignored beyond a column check; fitting learns nothing from data).
        y : None
            Ignored.

        Returns
        -------
        self : VolumeCropper
        """
        size = tuple(self.volume_size)
        if len(size) != 3 or not all(isinstance(v, Integral) and v > 0 for v in size):
            raise ValueError(
                f"volume_size must be 3 positive ints (slices, rows, cols), got {size}"
            )
        self.roi_name_, self.label_values_ = resolve_roi(self.roi, self.labels)
        self.n_channels_ = 2 if self.orbits == "split" else 1
        if X is not None:
            self._check_columns(read_case_table(X))
        return self

    def _check_columns(self, table):
        validate_case_table(
            table,
            labels=self.labels,
            roi=self.roi,
            image_column=self.image_column,
            mask_column=self.mask_column,
            check_files=False,
        )

    def transform(self, X):
        """Preprocess every case (or fetch it from the caches).

        Parameters
        ----------
        X : DataFrame or str
            The case table, or the path of a CSV holding it.

        Returns
        -------
        volumes : ndarray of shape (n_cases, n_channels_, *volume_size), dtype float32
        """
        check_is_fitted(self)
        table = read_case_table(X)
        self._check_columns(table)
        params = (
            self.label_values_,
            tuple(int(v) for v in self.volume_size),
            float(self.margin),
            self.orbits,
        )
        keys, found, missing = [], {}, {}
        for row, entry in table.iterrows():
            image_path, mask_path = entry[self.image_column], entry[self.mask_column]
            key = (
                case_file_digest(image_path, row=row, column=self.image_column),
                case_file_digest(mask_path, row=row, column=self.mask_column),
                *params,
            )
            keys.append(key)
            if key in _VOLUMES:
                _STATS["hits"] += 1
                found[key] = _VOLUMES.get(key)
            elif key not in missing:
                _STATS["misses"] += 1
                missing[key] = (row, image_path, mask_path)
        if missing:
            crop = resolve_memory(self.memory).cache(
                _crop_case, ignore=["image_path", "mask_path", "row", "image_column", "mask_column"]
            )
            results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(crop)(
                    *key,
                    image_path=image,
                    mask_path=mask,
                    row=row,
                    image_column=self.image_column,
                    mask_column=self.mask_column,
                )
                for key, (row, image, mask) in missing.items()
            )
            for key, result in zip(missing, results, strict=True):
                _VOLUMES.put(key, result)
                found[key] = result
        self._warn_one_sided(table, [found[key][1] for key in keys])
        return (
            np.stack([found[key][0] for key in keys])
            if keys
            else np.empty((0, self.n_channels_, *self.volume_size), dtype=np.float32)
        )

    def _warn_one_sided(self, table, mirrored_sides):
        one_sided = [
            f"row {row!r} ({path}): no ROI on the patient's {side}"
            for row, path, side in zip(
                table.index, table[self.mask_column], mirrored_sides, strict=True
            )
            if side
        ]
        if one_sided:
            warnings.warn(
                f"orbits='split' found {len(one_sided)} case(s) with the ROI on one side of the "
                f"image midline only: {'; '.join(one_sided)}. Each missing side's box is the "
                "mirror image of the other's; use orbits='joint' for a single structure",
                OneSidedROIWarning,
                stacklevel=3,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []  # float32 volumes, whatever the input
        return tags
