"""RadiomicsExtractor: pyradiomics features of one ROI as a scikit-learn transformer."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from rdinet_sklearn._cache import resolve_memory
from rdinet_sklearn._case_table_steps import CaseTableStepMixin
from rdinet_sklearn._cases import (
    PERTURBATION_SUFFIX,
    REFERENCE_SUFFIX,
    resolve_roi,
    validate_case_table,
)
from rdinet_sklearn._imaging import CaseError, is_missing_path
from rdinet_sklearn._sklearn_compat import HasMethods, Interval, StrOptions, fit_context
from rdinet_sklearn._versions import _VersionStampMixin
from rdinet_sklearn.radiomics._extraction import make_task, run_tasks
from rdinet_sklearn.radiomics._ibsi import feature_info_for_settings
from rdinet_sklearn.radiomics._perturbation import perturbation_chain
from rdinet_sklearn.radiomics._settings import load_settings, settings_key

from ..exceptions import RdinetInputError


class ExtractionError(RdinetInputError):
    """Feature extraction failed for some cases; ``failures`` holds one CaseError per task.

    Raised by :class:`RadiomicsExtractor` after every extraction has run, so that all the
    failed (case, rater) extractions are reported at once.

    Parameters
    ----------
    failures : iterable of CaseError
        One error per failed extraction, naming the row, the column and the file; kept as
        the list :attr:`failures`.

    Attributes
    ----------
    failures : list of CaseError
        The failed extractions.

    Examples
    --------
    >>> from rdinet_sklearn import CaseError
    >>> from rdinet_sklearn.radiomics import ExtractionError
    >>> err = ExtractionError([CaseError("P7", "mask", "P7_mask.nrrd", "file not found")])
    >>> print(err)
    radiomics extraction failed for 1 ROI(s) (the other cases' results are kept in the caches):
      - row 'P7', column 'mask' (P7_mask.nrrd): file not found
    >>> [failure.row for failure in err.failures]
    ['P7']
    """

    def __init__(self, failures):
        self.failures = list(failures)
        listing = "\n".join(f"  - {failure}" for failure in self.failures)
        super().__init__(
            f"radiomics extraction failed for {len(self.failures)} ROI(s) (the other cases' "
            f"results are kept in the caches):\n{listing}"
        )


class RadiomicsExtractor(_VersionStampMixin, CaseTableStepMixin, TransformerMixin, BaseEstimator):
    """pyradiomics features of one region of interest for every case of a case table.

    Each row of the case table names an image and its label map (and optionally a second
    rater's label map); the ROI is the union of one or more labelled structures, passed to
    pyradiomics as a binary mask (label 1), so any organ and any pyradiomics configuration
    works. Output columns are named ``<roi name>_<pyradiomics feature name>``, e.g.
    ``MR+LR_original_shape_MajorAxisLength``; pyradiomics' diagnostics are left out.

    Parameters
    ----------
    roi : str or tuple of str, default=("MR", "LR")
        One structure name of ``labels``, a tuple of names whose union forms the ROI, or
        ``"all"`` (every structure). The names joined by ``"+"`` prefix every column.
    labels : mapping of str to int, default=None
        Structure names to label values; ``None`` means the extraocular-muscle map
        ``{"IR": 1, "SR": 2, "MR": 3, "LR": 4}``.
    params : {"study", "original", "baseline", "ibsi"}, str, path-like or dict, default="study"
        pyradiomics settings: a preset, a pyradiomics YAML parameter file or a dict of the
        same structure (``imageType``, ``featureClass``, ``setting``); see
        :func:`load_settings`. ``"study"``: shape, first-order and texture (glcm, glrlm,
        glszm, gldm, ngtdm) on the original image, its 4 in-plane wavelet sub-bands and its
        square: **572** features (14 shape + 93 x 6 images). ``"original"``: the original
        image only, 107 features, fast. ``"baseline"``: pyradiomics' baseline test settings
        (107 features, binWidth 25, 3D). ``"ibsi"``: the settings with which pyradiomics
        reproduces the most IBSI digital-phantom reference values (107 features, no
        normalisation, bin width 1, 3D; see :func:`ibsi_compliance`). ``"study"`` and
        ``"original"`` z-score the image (scale 100, bin width 5) since MRI has no
        intensity unit, and compute texture (and the wavelet) in-plane per slice
        (``force2D``) for the thick-sliced (about 0.5 x 0.5 x 3 mm) orbit MRI rather than
        resample it.
    reference_mask_column : str, default=None
        Column of a second rater's label map. Each feature is then also computed on it, in
        a column named ``<same name>__rater2``; it is NaN in rows whose cell is empty.
    image_column : str, default="image"
        Column of image paths.
    mask_column : str, default="mask"
        Column of (first rater's) label-map paths.
    memory : None, str or joblib.Memory, default=None
        Persistent cache of each (case, ROI, rater, settings) result, keyed on the content
        of the image and label-map files, the ROI's label values, the settings and the
        pyradiomics version.
    n_jobs : int, default=None
        Number of joblib workers over (case, rater) extractions; ``None`` means 1 unless
        in a :func:`joblib.parallel_config` context, -1 means all cores.
    progress : bool or "auto", default="auto"
        Show a tqdm bar; ``"auto"`` shows it for more than 20 extractions on a terminal.
    perturbations : int, default=0
        Number of perturbed extractions per case, for reproducibility without a second
        rater (:class:`~rdinet_sklearn.selection.PerturbationReproducibilityFilter`). Each
        feature is then also computed on ``perturbations`` perturbed versions of the image
        and the rater-1 ROI, in columns ``<name>__perturbed<k>``: noise at the image's noise
        level, an in-plane rotation (up to 5 degrees) and translation (up to half a voxel),
        and a one-voxel dilation (odd ``k``) or erosion (even ``k``) of the ROI: the chain
        of Zwanenburg et al. (Sci Rep 2019). Cached like every extraction.
    random_state : int, default=0
        Seed of the perturbation chain (the same chain for every case; the noise is drawn
        per case from the image's content, so results do not depend on row order).

    Attributes
    ----------
    roi_name_ : str
        The column prefix, e.g. ``"MR+LR"``.
    radiomics_feature_names_ : ndarray of str
        pyradiomics' feature names, in output order.
    feature_info_ : DataFrame
        One row per output column (indexed like :meth:`get_feature_names_out`): ``roi``,
        ``rater`` (1, or 2 for the ``__rater2`` columns), ``perturbation`` (``k`` for the
        ``__perturbed<k>`` columns, else 0), ``image_filter`` (``"none"`` for
        the original image, else pyradiomics' image type, e.g. ``"wavelet-LH"``),
        ``feature_class``, ``feature`` (pyradiomics' names), ``ibsi_name`` and ``ibsi_code``
        (the IBSI feature tag and 4-character identifier, ``""`` where IBSI defines no such
        feature), ``aggregation`` (IBSI texture aggregation, e.g. ``"2.5D_avg"``),
        ``ibsi_status`` (whether pyradiomics, with these settings, reproduces the IBSI
        digital-phantom reference value: see :func:`ibsi_feature_info`) and ``ibsi_ct``
        (the configurations, "A" to "E", of the IBSI CT phantom, a real CT, whose reference
        the feature met with :class:`~rdinet_sklearn.preprocessing.Resampler` in front).
    n_features_in_ : int
        Number of case-table columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Case-table columns seen in :meth:`fit`.

    See Also
    --------
    load_settings : Read and check a pyradiomics settings document.
    ibsi_compliance : pyradiomics' features on the IBSI digital phantom.
    rdinet_sklearn.selection.ReproducibilityFilter : Uses the ``__rater2`` columns.

    Notes
    -----
    ``fit`` learns nothing from the data: it checks the case table and extracts the first
    case to learn the feature names (cached, so the later ``transform`` reuses it).

    *Caching.* Results are kept in an in-process cache shared by clones (folds of
    ``cross_val_score``, candidates of ``GridSearchCV``) and, with ``memory``, on disk: a
    triple is never extracted twice, and a killed run resumes without redoing finished
    cases. See :func:`extraction_stats`.

    *Parallelism.* Extractions run in ``n_jobs`` joblib workers, each with SimpleITK
    limited to one thread (its threads would otherwise compete with the workers); at most
    one worker per two extractions, so one new case is extracted in this process (a worker
    takes longer to start than its two ROIs take to extract). The features are the same.

    *Errors.* All extractions run even when some fail; failed ones (missing or unreadable
    file, image/mask grid mismatch, ROI label absent, pyradiomics error, non-finite feature)
    are then reported together in one :class:`ExtractionError` naming each row and file.

    Output is a DataFrame indexed like the case table, so that the feature names reach the
    next step of a pipeline (``ReproducibilityFilter`` pairs columns by name).

    Examples
    --------
    >>> import shutil, tempfile
    >>> import numpy as np, pandas as pd, SimpleITK as sitk
    >>> from rdinet_sklearn.radiomics import RadiomicsExtractor
    >>> folder, rng, rows = tempfile.mkdtemp(), np.random.default_rng(0), {}
    >>> for case in ["P1", "P2"]:
    ...     image = sitk.GetImageFromArray(rng.normal(100, 20, (4, 24, 24)))
    ...     labels = np.zeros((4, 24, 24), np.uint8)
    ...     labels[1:3, 4:12, 4:10], labels[1:3, 4:12, 12:20] = 3, 4  # MR, LR
    ...     mask = sitk.GetImageFromArray(labels)
    ...     rows[case] = {"image": f"{folder}/{case}.nrrd", "mask": f"{folder}/{case}_m.nrrd"}
    ...     sitk.WriteImage(image, rows[case]["image"])
    ...     sitk.WriteImage(mask, rows[case]["mask"])
    >>> cases = pd.DataFrame.from_dict(rows, orient="index")
    >>> features = RadiomicsExtractor(roi=("MR", "LR"), params="original").fit_transform(cases)
    >>> features.shape
    (2, 107)
    >>> print(features.columns[0])
    MR+LR_original_shape_Elongation
    >>> extractor = RadiomicsExtractor(roi=("MR", "LR"), params="original").fit(cases)
    >>> info = extractor.feature_info_
    >>> info.loc["MR+LR_original_glcm_Contrast", ["ibsi_code", "ibsi_status"]].tolist()
    ['ACUI', 'compliant']
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        "roi": [str, tuple, list],
        "labels": [Mapping, None],
        "params": [str, os.PathLike, Mapping],
        "reference_mask_column": [str, None],
        "image_column": [str],
        "mask_column": [str],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
        "progress": ["boolean", StrOptions({"auto"})],
        "perturbations": [Interval(Integral, 0, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        roi=("MR", "LR"),
        *,
        labels=None,
        params="study",
        reference_mask_column=None,
        image_column="image",
        mask_column="mask",
        memory=None,
        n_jobs=None,
        progress="auto",
        perturbations=0,
        random_state=0,
    ):
        self.roi = roi
        self.labels = labels
        self.params = params
        self.reference_mask_column = reference_mask_column
        self.image_column = image_column
        self.mask_column = mask_column
        self.memory = memory
        self.n_jobs = n_jobs
        self.progress = progress
        self.perturbations = perturbations
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the case table and learn the output feature names from its first case.

        Parameters
        ----------
        X : DataFrame of shape (n_cases, n_columns)
            The case table (see :mod:`rdinet_sklearn._cases`).
        y : None
            Ignored.

        Returns
        -------
        self : RadiomicsExtractor
            The fitted extractor.
        """
        table = self._check_table(X, reset=True)
        self._extract_and_set_names(table.iloc[:1], complete=False)
        return self

    @fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and extract every case, each (case, rater) once.

        Parameters
        ----------
        X : DataFrame of shape (n_cases, n_columns)
            The case table.
        y : None
            Ignored.

        Returns
        -------
        features : DataFrame of shape (n_cases, n_features_out)
            Indexed like ``X``; columns as :meth:`get_feature_names_out`.
        """
        table = self._check_table(X, reset=True)
        return self._extract_and_set_names(table, complete=True)

    def transform(self, X):
        """Extract the features of every case.

        Parameters
        ----------
        X : DataFrame of shape (n_cases, n_columns)
            A case table with the columns seen in :meth:`fit`.

        Returns
        -------
        features : DataFrame of shape (n_cases, n_features_out)
            Indexed like ``X``; columns as :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        table = self._check_table(X, reset=False)
        return self._extract(table, complete=True)

    def get_feature_names_out(self, input_features=None):
        """Output column names: ROI features, then their rater-2 and perturbed twins (if any).

        Parameters
        ----------
        input_features : None
            Ignored (the output does not derive from input columns).

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        names = [f"{self.roi_name_}_{name}" for name in self.radiomics_feature_names_]
        return np.asarray(
            [name + suffix for *_, suffix in self._slots(complete=True) for name in names],
            dtype=object,
        )

    def _check_table(self, X, *, reset):
        self._require_case_table(X)
        validate_case_table(
            X,
            labels=self.labels,
            roi=self.roi,
            image_column=self.image_column,
            mask_column=self.mask_column,
            reference_mask_column=self.reference_mask_column,
            check_files=False,
        )
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _extract_and_set_names(self, table, *, complete):
        self.roi_name_, self._label_values = resolve_roi(self.roi, self.labels)
        self._settings_json = settings_key(load_settings(self.params))
        tasks, results, slots = self._run(table, complete=complete)
        first = tasks[table.index[0], 0]
        self.radiomics_feature_names_ = np.asarray(results[first.key][0], dtype=object)
        self.feature_info_ = self._feature_info(json.loads(self._settings_json))
        return self._assemble(table, tasks, results, slots=slots)

    def _feature_info(self, settings):
        info = feature_info_for_settings(self.radiomics_feature_names_, settings)
        slots = self._slots(complete=True)
        info = pd.concat([info] * len(slots), ignore_index=True)
        n_names = len(self.radiomics_feature_names_)
        raters = [2 if suffix == REFERENCE_SUFFIX else 1 for *_, suffix in slots]
        chain_index = [0 if link is None else link.index for _, link, _ in slots]
        info.insert(0, "perturbation", np.repeat(chain_index, n_names))
        info.insert(0, "rater", np.repeat(raters, n_names))
        info.insert(0, "roi", self.roi_name_)
        info.index = self.get_feature_names_out()
        return info

    def _slots(self, *, complete):
        """(mask column, perturbation or None, column suffix) of each block of output columns.

        Not ``complete`` (in ``fit``, to learn the names): the rater-1 block only.
        """
        slots = [(self.mask_column, None, "")]
        if not complete:
            return slots
        if self.reference_mask_column is not None:
            slots.append((self.reference_mask_column, None, REFERENCE_SUFFIX))
        chain = perturbation_chain(self.perturbations, self.random_state)
        return slots + [
            (self.mask_column, link, f"{PERTURBATION_SUFFIX}{link.index}") for link in chain
        ]

    def _extract(self, table, *, complete):
        tasks, results, slots = self._run(table, complete=complete)
        return self._assemble(table, tasks, results, slots=slots)

    def _run(self, table, *, complete):
        """Run (or fetch from the caches) every (row, rater) task; raise all failures at once."""
        slots = self._slots(complete=complete)
        tasks, failures = {}, []
        for row, entry in table.iterrows():
            for slot, (column, link, suffix) in enumerate(slots):
                if suffix == REFERENCE_SUFFIX and is_missing_path(entry[column]):
                    continue
                try:
                    tasks[row, slot] = make_task(
                        row,
                        self.image_column,
                        column,
                        entry[self.image_column],
                        entry[column],
                        self._label_values,
                        self._settings_json,
                        perturbation=None if link is None else link.to_json(),
                    )
                except CaseError as err:
                    failures.append(err)
        results, run_failures = run_tasks(
            tasks.values(),
            memory=resolve_memory(self.memory),
            n_jobs=self.n_jobs,
            progress=self.progress,
        )
        failures += run_failures
        if failures:
            raise ExtractionError(failures)
        return tasks, results, slots

    def _assemble(self, table, tasks, results, *, slots):
        expected = tuple(self.radiomics_feature_names_)
        n_names = len(expected)
        values = np.full((len(table), n_names * len(slots)), np.nan)
        mismatched = []
        for i, row in enumerate(table.index):
            for slot in range(len(slots)):
                if (row, slot) not in tasks:
                    continue
                names, row_values = results[tasks[row, slot].key]
                if names != expected:
                    mismatched.append(
                        f"row {row!r}: pyradiomics features differ from those seen in fit "
                        f"(missing {sorted(set(expected) - set(names))[:5]}, "
                        f"extra {sorted(set(names) - set(expected))[:5]})"
                    )
                    continue
                values[i, slot * n_names : (slot + 1) * n_names] = row_values
        if mismatched:
            raise ValueError("\n".join(mismatched))
        prefix = f"{self.roi_name_}_"
        names_out = [prefix + name + suffix for *_, suffix in slots for name in expected]
        return pd.DataFrame(values, index=table.index, columns=names_out)
