"""Negative controls: case tables whose images or ROIs keep one property and destroy another.

A radiomics signature may be tumour (here: muscle) volume or noise in disguise (the
safeguards literature; READII's negative-control features). :class:`NegativeControl` writes
control images or masks for every case and returns the case table pointing at them, so the
*same* pipeline (same extractor, selection, CV splits) scores them beside the real inputs:

* ``"volume"``: nothing is written; :func:`control_feature_selector` keeps only the ROI's
  shape volume feature, so the model sees the ROI size alone.
* ``"replaced"``: the ROI's voxels take intensities drawn at random from the rest of the
  image (keeps the shape, destroys intensity and texture).
* ``"shuffled"``: the ROI's voxels are permuted within the ROI (keeps shape and histogram,
  destroys texture).
* ``"elsewhere"``: a compact region of the ROI's voxel count placed at random in the field
  of view, off the ROI (destroys everything anatomical).

Files are content-keyed (the image and mask bytes, the ROI's labels, the mode and the seed
name them), written atomically and reused when present; the random draws of a case depend
only on its content and ``random_state``, never on row order.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import SimpleITK as sitk
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._cache import case_file_digest
from .._case_table_steps import CaseTableStepMixin
from .._cases import resolve_roi
from .._imaging import label_array, read_image, write_image
from .._paths import path_inside, safe_filename
from .._sklearn_compat import Interval, StrOptions, fit_context
from ..exceptions import RdinetInputError

CONTROL_MODES = ("volume", "replaced", "shuffled", "elsewhere")

_FILE_FORMAT_VERSION = "1"  # part of the content key: bump when the control images change


class NegativeControlError(RdinetInputError):
    """A control cannot be built for a case; the message names the row, file and structure.

    Examples
    --------
    >>> from rdinet_sklearn.explain import NegativeControlError
    >>> isinstance(NegativeControlError("row 'P1'"), ValueError)
    True
    """


class NegativeControl(CaseTableStepMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replace each case's image or mask by a negative control of its ROI.

    Parameters
    ----------
    mode : {"volume", "replaced", "shuffled", "elsewhere"}, default="elsewhere"
        What the control keeps (see the module's description): ``"volume"`` writes
        nothing and returns the table unchanged (pair it with
        :func:`control_feature_selector`); ``"replaced"`` and ``"shuffled"`` write a new
        image; ``"elsewhere"`` writes a new mask.
    roi : str or tuple of str, default=("MR", "LR")
        The structure(s) whose union is the ROI, as for
        :class:`~rdinet_sklearn.radiomics.RadiomicsExtractor`.
    labels : mapping of str to int, default=None
        Structure names to label values; ``None`` means the extraocular-muscle map.
    out_dir : str or path-like, default=None
        Folder of the control files (one sub-folder per patient); ``None`` means
        ``<temporary folder>/rdinet-negative-controls``. Files are named by content, so
        several runs may share it.
    image_column, mask_column : str, default="image", "mask"
        Columns of image and label-map paths.
    random_state : int, default=0
        Seed of the draws (combined with each case's content).
    max_tries : int, default=200
        Random placements tried per case in ``"elsewhere"`` mode before giving up.

    Attributes
    ----------
    roi_name_ : str
        The ROI's name, e.g. ``"MR+LR"``.
    n_features_in_ : int
        Number of case-table columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Case-table columns seen in :meth:`fit`.

    See Also
    --------
    control_feature_selector : The features each control is scored on.
    negative_control_pipeline : A pipeline with the control inserted.
    compare_with_control : Paired corrected-t comparison against the real model.

    Notes
    -----
    The ``"elsewhere"`` region is a box of the ROI's voxel count spanning as many slices as
    the ROI (a square in-plane cross-section, the last row partly filled), placed uniformly
    among the positions that do not touch the ROI. Its mask holds only that region, its
    voxels split among the ROI's structures in their real counts (raster order), so an
    extractor of the same ``roi`` reads it. An ROI of
    more than half the field of view cannot be placed elsewhere and raises
    :class:`NegativeControlError`.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.explain import NegativeControl
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(4, 32, 64))
    >>> control = NegativeControl("shuffled", out_dir=f"{folder}/controls").fit(cases)
    >>> controlled = control.transform(cases)
    >>> (controlled["image"] != cases["image"]).all(), (controlled["mask"] == cases["mask"]).all()
    (np.True_, np.True_)
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        "mode": [StrOptions(set(CONTROL_MODES))],
        "roi": [str, tuple, list],
        "labels": [Mapping, None],
        "out_dir": [str, os.PathLike, None],
        "image_column": [str],
        "mask_column": [str],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "max_tries": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        mode="elsewhere",
        *,
        roi=("MR", "LR"),
        labels=None,
        out_dir=None,
        image_column="image",
        mask_column="mask",
        random_state=0,
        max_tries=200,
    ):
        self.mode = mode
        self.roi = roi
        self.labels = labels
        self.out_dir = out_dir
        self.image_column = image_column
        self.mask_column = mask_column
        self.random_state = random_state
        self.max_tries = max_tries

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the case table's columns and the ROI; nothing is learnt from the data.

        Parameters
        ----------
        X : DataFrame
            The case table.
        y : None
            Ignored.

        Returns
        -------
        self : NegativeControl
        """
        self._check_table(X, reset=True)
        self.roi_name_, self._label_values = resolve_roi(self.roi, self.labels)
        return self

    def transform(self, X):
        """Write (or reuse) each case's control files; the table pointing at them.

        Parameters
        ----------
        X : DataFrame
            The case table.

        Returns
        -------
        controlled : DataFrame
            A copy of ``X`` whose image (``"replaced"``, ``"shuffled"``) or mask
            (``"elsewhere"``) column names the control files.
        """
        check_is_fitted(self)
        table = self._check_table(X, reset=False).copy()
        if self.mode == "volume":
            return table
        column = self.mask_column if self.mode == "elsewhere" else self.image_column
        table[column] = [self._control_file(row, entry) for row, entry in table.iterrows()]
        return table

    def _check_table(self, X, *, reset):
        self._require_case_table(X)
        missing = [c for c in (self.image_column, self.mask_column) if c not in X.columns]
        if missing:
            raise ValueError(f"the case table has no column(s) {missing}")
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    # -- one case ---------------------------------------------------------------------------

    def _error(self, row, path, problem):
        return NegativeControlError(
            f"negative control {self.mode!r}, row {row!r}, structure {self.roi_name_!r} "
            f"({path}): {problem}"
        )

    def _control_file(self, row, entry):
        image_path, mask_path = entry[self.image_column], entry[self.mask_column]
        key = json.dumps(
            [
                _FILE_FORMAT_VERSION,
                case_file_digest(image_path, row=row, column=self.image_column),
                case_file_digest(mask_path, row=row, column=self.mask_column),
                self.mode,
                sorted(self._label_values),
                self.random_state,
            ]
        )
        digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        kind = "mask" if self.mode == "elsewhere" else "image"
        folder = self.out_dir or os.path.join(tempfile.gettempdir(), "rdinet-negative-controls")
        target = path_inside(folder, safe_filename(row), f"{self.mode}-{digest}-{kind}.nii.gz")
        if target.exists():
            return str(target)
        image = read_image(image_path, row=row, column=self.image_column)
        mask = read_image(mask_path, row=row, column=self.mask_column)
        labels = label_array(mask, row=row, column=self.mask_column, path=mask_path)
        roi = np.isin(labels, self._label_values)
        if not roi.any():
            raise self._error(row, mask_path, "the ROI's labels are absent from the mask")
        rng = np.random.default_rng([self.random_state, int(digest[:15], 16)])
        if self.mode == "elsewhere":
            region = self._place_region(row, mask_path, roi, rng)
            # Each structure keeps its voxel count (the extractor requires every label of
            # the ROI): the region's voxels, in raster order, are split among them.
            counts = [int((labels == value).sum()) for value in self._label_values]
            values = np.repeat(np.asarray(self._label_values, dtype=np.uint8), counts)
            placed = np.zeros(roi.shape, dtype=np.uint8)
            placed[region] = values
            result = sitk.GetImageFromArray(placed)
            result.CopyInformation(mask)
        else:
            array = sitk.GetArrayFromImage(image).astype(np.float32)
            if self.mode == "replaced":
                outside = array[~roi]
                array[roi] = rng.choice(outside, size=int(roi.sum()), replace=True)
            else:
                array[roi] = rng.permutation(array[roi])
            result = sitk.GetImageFromArray(array)
            result.CopyInformation(image)
        write_image(result, target)
        return str(target)

    def _place_region(self, row, mask_path, roi, rng):
        """A boolean region of ``roi.sum()`` voxels in the field of view, off the ROI."""
        n_voxels, shape = int(roi.sum()), roi.shape
        if 2 * n_voxels > roi.size:
            raise self._error(
                row,
                mask_path,
                f"the ROI ({n_voxels} voxels) is larger than half the field of view "
                f"({roi.size} voxels), so no region of its size fits elsewhere",
            )
        depth = int(np.any(roi, axis=(1, 2)).sum())
        side = int(np.ceil(np.sqrt(n_voxels / depth)))
        rows = int(np.ceil(n_voxels / (depth * side)))
        box = np.zeros((depth, rows, side), dtype=bool)
        box.reshape(depth, -1)[:, : int(np.ceil(n_voxels / depth))] = True
        box.reshape(-1)[np.flatnonzero(box)[n_voxels:]] = False  # exactly n_voxels
        if any(b > s for b, s in zip(box.shape, shape, strict=True)):
            raise self._error(
                row, mask_path, f"a region of the ROI's size {box.shape} exceeds the image {shape}"
            )
        for _ in range(self.max_tries):
            window = tuple(
                slice(start, start + b)
                for b, s in zip(box.shape, shape, strict=True)
                for start in [int(rng.integers(0, s - b + 1))]
            )
            if not np.any(roi[window] & box):
                region = np.zeros(shape, dtype=bool)
                region[window] = box
                return region
        raise self._error(
            row,
            mask_path,
            f"no place off the ROI was found for a region of its size in {self.max_tries} "
            "random tries (the ROI fills too much of the field of view)",
        )
