"""What every preprocessing step shares: case table in, images written to a cache, table out.

A step reads each case's image (and label map), computes new ones and returns the case table
with its image (and mask) column pointing at them. Outputs are content-keyed, as the
extractor's results are (:mod:`rdinet_sklearn._cache`): the key is the digest of the input
files, the step's parameters and what it learned in ``fit``, so a case is preprocessed once
however many folds, clones and runs ask, and a changed input or parameter never reuses a
stale file. Each file is written under a temporary name and renamed into place
(:func:`~rdinet_sklearn._atomic.atomic_path`): a killed run leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._cache import case_file_digest
from .._case_table_steps import CaseTableStepMixin
from .._cases import validate_case_table
from .._imaging import CaseError, geometry_mismatches, read_image, write_image
from .._sklearn_compat import fit_context
from .._versions import _VersionStampMixin
from ..exceptions import RdinetInputError

CACHE_SUBFOLDER = "rdinet_preprocessing"
"""Folder, under ``cache_dir``, of the preprocessed images (one subfolder per step)."""

FORMAT_VERSION = "2"
"""Part of every output's key; raised when a step's computation changes."""

STEP_PARAMETERS = """\
    image_column : str, default="image"
        Column of image paths.
    mask_column : str, default="mask"
        Column of label-map paths.
    cache_dir : str or path-like, default=None
        Folder of the output files (content-keyed, so shared between runs and folds);
        ``None``: a per-user folder in the system temp folder.
    n_jobs : int, default=None
        joblib workers over cases.
"""
"""numpydoc entries of the parameters every step takes (last in each step's list)."""

STEP_ATTRIBUTES = """\
    n_features_in_ : int
        Number of case-table columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Case-table columns seen in :meth:`fit`.
"""
"""numpydoc entries of the attributes every fitted step has."""


def default_cache_dir():
    """Where outputs go without ``cache_dir``: a per-user folder of the system temp dir."""
    return Path(tempfile.gettempdir()) / f"rdinet-sklearn-{os.getuid()}"


class PreprocessingError(RdinetInputError):
    """A preprocessing step failed for some cases; ``failures`` holds one CaseError each.

    Parameters
    ----------
    step : str
        The step's class name, e.g. ``"Resampler"``.
    failures : iterable of CaseError
        One error per failed case, naming the row, the column and the file.

    Attributes
    ----------
    step : str
        The step that failed.
    failures : list of CaseError
        The failed cases.

    Examples
    --------
    >>> from rdinet_sklearn import CaseError
    >>> from rdinet_sklearn.preprocessing import PreprocessingError
    >>> err = PreprocessingError("Resampler", [CaseError("P1", "mask", "m.nii", "empty")])
    >>> print(err)
    Resampler failed for 1 case(s):
      - row 'P1', column 'mask' (m.nii): empty
    """

    def __init__(self, step, failures):
        self.step = step
        self.failures = list(failures)
        listing = "\n".join(f"  - {failure}" for failure in self.failures)
        super().__init__(f"{step} failed for {len(self.failures)} case(s):\n{listing}")


class PreprocessingWarning(UserWarning):
    """A preprocessing step did something the user should know, for one named case.

    Examples
    --------
    >>> import warnings
    >>> from rdinet_sklearn.preprocessing import PreprocessingWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("IntensityNormalizer: row 'P1' ...", PreprocessingWarning)
    >>> caught[0].category.__name__
    'PreprocessingWarning'
    """


def is_orthonormal(image, tolerance=1e-4):
    """True if the image's direction cosines form an orthonormal matrix."""
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    return np.allclose(direction @ direction.T, np.eye(3), atol=tolerance)


class CaseImageTransformer(
    _VersionStampMixin, CaseTableStepMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Base of the steps: shared parameters, the content-keyed output cache, parallel cases.

    Subclasses declare their own parameters first, then the shared keyword-only ones
    (:data:`STEP_PARAMETERS`), which their ``__init__`` hands to this one, and extend
    ``_parameter_constraints``, as scikit-learn's ``_BaseFilter`` subclasses do. They define
    ``_uses_mask`` (read the mask column), ``_writes_mask`` (output a new mask),
    ``_fit_cases(table)`` (learn from the training cases; optional),
    ``_fitted_state()`` (JSON-able, part of every output's key) and
    ``_process(image, mask, where, caught)`` returning ``(image, mask or None)``, raising
    :class:`CaseError` through ``where.error(...)`` and appending ``where.warning(...)``
    messages to ``caught`` (warnings of joblib workers would not reach the user).
    """

    _parameter_constraints: dict = {
        "image_column": [str],
        "mask_column": [str],
        "cache_dir": [str, os.PathLike, None],
        "n_jobs": [Integral, None],
    }

    _uses_mask = True
    _writes_mask = False

    def __init__(self, *, image_column, mask_column, cache_dir, n_jobs):
        self.image_column = image_column
        self.mask_column = mask_column
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the case table and learn what the step needs from the training cases.

        Parameters
        ----------
        X : DataFrame of shape (n_cases, n_columns)
            The case table (training fold).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted step.
        """
        table = self._check_table(X, reset=True)
        self._fit_cases(table)
        return self

    def transform(self, X):
        """Preprocess every case (or reuse its cached output); return the new case table.

        Parameters
        ----------
        X : DataFrame of shape (n_cases, n_columns)
            A case table with the columns seen in :meth:`fit`.

        Returns
        -------
        cases : DataFrame of shape (n_cases, n_columns)
            ``X`` with the image column (and, for :class:`Resampler`, the mask column)
            pointing at the preprocessed files.
        """
        check_is_fitted(self, "n_features_in_")
        table = self._check_table(X, reset=False)
        folder = self._output_folder()
        state = json.dumps(
            {
                "step": type(self).__name__,
                "params": self._key_params(),
                "fitted": self._fitted_state(),
                "format": FORMAT_VERSION,
            },
            sort_keys=True,
            default=str,
        )
        jobs, failures = [], []
        for row, entry in table.iterrows():
            try:
                jobs.append(self._job(row, entry, state, folder))
            except CaseError as err:
                failures.append(err)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_run_job)(self, *job) for job in jobs if not job[-1]
        )
        for failure, caught in results:
            if failure is not None:
                failures.append(CaseError(*failure))
            for message in caught:
                warnings.warn(message, PreprocessingWarning, stacklevel=2)
        if failures:
            raise PreprocessingError(type(self).__name__, failures)
        out = table.copy()
        out[self.image_column] = [str(job[2]) for job in jobs]
        if self._writes_mask:
            out[self.mask_column] = [str(job[3]) for job in jobs]
        return out

    # -- hooks with defaults --------------------------------------------------------------

    def _fit_cases(self, table):
        """Learn from the training cases; nothing by default."""

    def _fitted_state(self):
        return None

    def _key_params(self):
        ignored = CaseImageTransformer._parameter_constraints  # the shared, non-step ones
        return {k: v for k, v in self.get_params(deep=False).items() if k not in ignored}

    # -- machinery ------------------------------------------------------------------------

    def _check_table(self, X, *, reset):
        self._require_case_table(X)
        validate_case_table(
            X,
            image_column=self.image_column,
            mask_column=self.mask_column,
            check_files=False,
        )
        if reset:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.n_features_in_ = len(X.columns)
        return X

    def _output_folder(self):
        root = Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()
        return root / CACHE_SUBFOLDER / type(self).__name__.lower()

    def _job(self, row, entry, state, folder):
        image_path = entry[self.image_column]
        digests = [case_file_digest(image_path, row=row, column=self.image_column)]
        mask_path = entry[self.mask_column] if self._uses_mask else None
        if self._uses_mask:
            digests.append(case_file_digest(mask_path, row=row, column=self.mask_column))
        key = hashlib.blake2b("\n".join([*digests, state]).encode(), digest_size=16).hexdigest()
        out_image = folder / f"{key}_image.nii.gz"
        out_mask = folder / f"{key}_mask.nii.gz"
        done = out_image.exists() and (out_mask.exists() or not self._writes_mask)
        return row, (image_path, mask_path), out_image, out_mask, done

    def _read(self, row, paths):
        image_path, mask_path = paths
        image = read_image(image_path, row=row, column=self.image_column)
        array = sitk.GetArrayViewFromImage(image)
        if not np.all(np.isfinite(array)):
            raise CaseError(row, self.image_column, image_path, "holds NaN or infinite intensities")
        mask = None
        if mask_path is not None:
            mask = read_image(mask_path, row=row, column=self.mask_column)
            mismatches = geometry_mismatches(image, mask)
            if mismatches:
                raise CaseError(
                    row,
                    self.mask_column,
                    mask_path,
                    f"grid differs from the image's: {'; '.join(mismatches)}",
                )
            mask.CopyInformation(image)
        return image, mask


class Where:
    """The row and files of one case, to build errors and warnings naming them and the step."""

    def __init__(self, step, row, image_column, image_path, mask_column, mask_path):
        self.step, self.row = step, row
        self.image = (image_column, image_path)
        self.mask = (mask_column, mask_path)

    def error(self, problem, *, on="image"):
        column, path = self.image if on == "image" else self.mask
        return CaseError(self.row, column, path, f"{self.step}: {problem}")

    def warning(self, problem, *, on="image"):
        column, path = self.image if on == "image" else self.mask
        return f"{self.step}: row {self.row!r}, column {column!r} ({path}): {problem}"


def _run_job(step, row, paths, out_image, out_mask, done):
    """Worker body: ``(failure tuple or None, [warning messages])``; never raises CaseError.

    Warnings travel back as messages (a worker process's warnings would not reach the user).
    """
    where = Where(type(step).__name__, row, step.image_column, paths[0], step.mask_column, paths[1])
    caught = []
    try:
        image, mask = step._read(row, paths)
        image, mask = step._process(image, mask, where, caught)
        if not np.all(np.isfinite(sitk.GetArrayViewFromImage(image))):
            raise where.error("the result holds NaN or infinite intensities")
        if step._writes_mask:
            write_image(mask, out_mask)
        write_image(image, out_image)
    except CaseError as err:
        return (err.row, err.column, err.path, err.problem), caught
    return None, caught
