"""Running pyradiomics on (case, ROI, rater) triples: caches, parallel workers, failures.

One *task* is one pyradiomics run: one image, one label map, one set of label values whose
union forms the ROI, one settings document. Its key is the content digest of both files,
the label values, the canonical settings JSON and the pyradiomics version, so a result is
reused whenever (and only when) it would come out the same:

1. an in-process LRU cache (shared by every clone of the estimator in this process: the
   folds of ``cross_val_score`` and the candidates of ``GridSearchCV``);
2. the persistent :class:`joblib.Memory` cache, when one is given: one entry per task,
   written as soon as that task finishes, so a killed run resumes where it stopped;
3. otherwise pyradiomics runs, in parallel over tasks with joblib.

A failing task never loses the others: every task runs, failures are collected and reported
together by the caller.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import radiomics
import SimpleITK as sitk
from joblib import Parallel, delayed, effective_n_jobs
from tqdm.auto import tqdm

from rdinet_sklearn._cache import LRUCache, case_file_digest
from rdinet_sklearn._imaging import CaseError, non_finite_count, read_image, roi_size_problem
from rdinet_sklearn._masks import read_roi, roi_key
from rdinet_sklearn.radiomics._binning import range_start_bins
from rdinet_sklearn.radiomics._perturbation import Perturbation, PerturbationError
from rdinet_sklearn.radiomics._settings import (
    build_pyradiomics_extractor,
    geometry_tolerance,
    quiet_pyradiomics,
)

PROCESS_CACHE_SIZE = 4096
"""Most task results kept in memory (a 944-feature result takes about 8 kB)."""

PROGRESS_MIN_TASKS = 20
"""With ``progress="auto"``, a bar is shown for more pyradiomics runs than this."""

MIN_TASKS_PER_WORKER = 2
"""Fewest pyradiomics runs per joblib worker: a worker starts in about a second (a process
that imports pyradiomics), a run of one ROI takes a quarter of one, so one new case (its ROI
and the second rater's) is extracted in this process."""

BINNING_VERSION = "ibsi-range-bins-1"
"""Part of every result's key: results cached before bins started at the re-segmentation
range's lower bound (:mod:`._binning`) are not reused."""

_PROCESS_CACHE = LRUCache(max_entries=PROCESS_CACHE_SIZE)
_STATS: Counter = Counter()


def extraction_stats() -> dict:
    """Counts of task results in this process since start or :func:`clear_process_cache`.

    Returns
    -------
    stats : dict
        ``extracted`` (pyradiomics runs), ``disk_hits`` (read from a ``memory=`` cache) and
        ``memory_hits`` (reused from the in-process cache).

    See Also
    --------
    clear_process_cache : Empty the in-process cache and reset these counts.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.radiomics import (
    ...     RadiomicsExtractor, clear_process_cache, extraction_stats)
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> params = {"imageType": {"Original": {}}, "featureClass": {"firstorder": ["Mean"]}}
    >>> clear_process_cache()
    >>> extractor = RadiomicsExtractor(roi="MR", params=params).fit(cases)
    >>> extraction_stats()  # fit extracts one case, to learn the feature names
    {'extracted': 1, 'disk_hits': 0, 'memory_hits': 0}
    >>> features = extractor.transform(cases)  # that case is reused, the others extracted
    >>> features.columns.tolist()
    ['MR_original_firstorder_Mean']
    >>> extraction_stats()
    {'extracted': 4, 'disk_hits': 0, 'memory_hits': 1}
    >>> shutil.rmtree(folder)
    """
    return {key: _STATS[key] for key in ("extracted", "disk_hits", "memory_hits")}


def clear_process_cache():
    """Forget the in-process results and reset :func:`extraction_stats`.

    Results cached on disk (a ``memory=`` cache) are kept; only this process's in-memory
    cache, shared by every :class:`RadiomicsExtractor`, is emptied.

    See Also
    --------
    extraction_stats : The counts this resets.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.radiomics import (
    ...     RadiomicsExtractor, clear_process_cache, extraction_stats)
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> params = {"imageType": {"Original": {}}, "featureClass": {"firstorder": ["Mean"]}}
    >>> extractor = RadiomicsExtractor(roi="MR", params=params).fit(cases)
    >>> clear_process_cache()
    >>> extraction_stats()
    {'extracted': 0, 'disk_hits': 0, 'memory_hits': 0}
    >>> _ = extractor.transform(cases)  # nothing cached any more: pyradiomics runs again
    >>> extraction_stats()
    {'extracted': 4, 'disk_hits': 0, 'memory_hits': 0}
    >>> shutil.rmtree(folder)
    """
    _PROCESS_CACHE.clear()
    _read_checked_image.cache_clear()
    _STATS.clear()


@dataclass(frozen=True)
class Task:
    """One pyradiomics run; ``key`` identifies its result across rows, clones and runs."""

    row: object
    image_column: str
    mask_column: str
    image_path: str
    mask_path: str
    key: tuple  # (image digest, mask digest, label values, settings JSON, pyradiomics version
    # [, perturbation JSON])
    perturbation: str | None = None  # Perturbation.to_json() of a perturbed run


def make_task(
    row,
    image_column,
    mask_column,
    image_path,
    mask_path,
    label_values,
    settings_json,
    perturbation=None,
):
    """A :class:`Task`, or raise :class:`CaseError` if a file is missing or unreadable."""
    image_digest = case_file_digest(image_path, row=row, column=image_column)
    mask_digest = case_file_digest(mask_path, row=row, column=mask_column)
    key = (
        image_digest,
        mask_digest,
        roi_key(label_values),
        settings_json,
        f"{radiomics.__version__}+{BINNING_VERSION}",
    )
    if perturbation is not None:
        key += (perturbation,)
    return Task(
        row,
        image_column,
        mask_column,
        os.fspath(image_path),
        os.fspath(mask_path),
        key,
        perturbation,
    )


@functools.lru_cache(maxsize=8)
def _cached_pyradiomics_extractor(settings_json):
    # pyradiomics' execute() works on a copy of its settings, so one instance serves all runs.
    return build_pyradiomics_extractor(json.loads(settings_json))


def _finite_features(result, where, context=""):
    names = tuple(name for name in result if not name.startswith("diagnostics_"))
    values = np.array([float(result[name]) for name in names], dtype=np.float64)
    bad = [f"{names[j]} = {values[j]}" for j in np.flatnonzero(~np.isfinite(values))]
    if bad:
        raise CaseError(
            *where, f"{context}pyradiomics returned non-finite features: {', '.join(bad)}"
        )
    return names, values


@functools.lru_cache(maxsize=2)
def _read_checked_image(path, digest, row, column):
    """The image of ``path`` (content ``digest``), read and checked once for consecutive tasks.

    Tasks come case by case (rater 1, rater 2, then the next ROI strategy of a case), so a
    two-entry cache spares re-reading and re-checking the same volume: what a hand-written
    pyradiomics loop saves by reading each image once. pyradiomics never modifies its input.
    A failed read raises and is not cached.
    """
    image = read_image(path, row=row, column=column)
    # pyradiomics normalises over the whole image: one NaN or inf voxel anywhere poisons every
    # feature (or fails obscurely), so refuse such images up front.
    bad_voxels = non_finite_count(image)
    if bad_voxels:
        raise CaseError(row, column, path, f"holds {bad_voxels} NaN or infinite voxels")
    return image


def _read_case(image_digest, label_values, settings, task, memory=None):
    """The checked image and binary ROI of a task, and its ``(row, column, path)``."""
    image = _read_checked_image(task.image_path, image_digest, task.row, task.image_column)
    roi = read_roi(
        image,
        task.mask_path,
        label_values,
        image_path=task.image_path,
        row=task.row,
        column=task.mask_column,
        tolerance=geometry_tolerance(settings),
        memory=memory,
    )
    where = (task.row, task.mask_column, task.mask_path)
    small = roi_size_problem(sitk.GetArrayViewFromImage(roi) > 0)
    if small:
        raise CaseError(*where, f"the ROI (labels {list(roi_key(label_values))}) {small}")
    return image, roi, where


def _pyradiomics_features(image, roi, settings_json, where, context=""):
    extractor = _cached_pyradiomics_extractor(settings_json)
    try:
        # A non-finite feature is reported below, naming the case: no numpy warnings too.
        with (
            quiet_pyradiomics(),
            np.errstate(all="ignore"),
            warnings.catch_warnings(),
            range_start_bins(json.loads(settings_json)),
        ):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = extractor.execute(image, roi, label=1)
    except Exception as exc:  # pyradiomics and ITK raise many types; name the case for all
        raise CaseError(
            *where, f"{context}pyradiomics failed ({type(exc).__name__}: {exc})"
        ) from exc
    return _finite_features(result, where, context)


def compute_features(
    image_digest, mask_digest, label_values, settings_json, version, *, task, memory=None
):
    """Run pyradiomics for one task (the persistent cache keys on all but ``task``, ``memory``).

    Returns ``(names, values)``: pyradiomics' feature names (no diagnostics) in its order and
    their float64 values. Raises :class:`CaseError` naming the row and file on any problem.
    """
    settings = json.loads(settings_json)
    image, roi, where = _read_case(image_digest, label_values, settings, task, memory)
    return _pyradiomics_features(image, roi, settings_json, where)


def compute_perturbed_features(
    image_digest,
    mask_digest,
    label_values,
    settings_json,
    version,
    perturbation,
    *,
    task,
    memory=None,
):
    """:func:`compute_features` on the image and ROI perturbed by ``perturbation`` (JSON).

    A :class:`CaseError` names the row, the mask file and the perturbation.
    """
    settings = json.loads(settings_json)
    image, roi, where = _read_case(image_digest, label_values, settings, task, memory)
    chain_link = Perturbation.from_json(perturbation)
    try:
        image, roi = chain_link.apply(image, roi, image_digest)
    except PerturbationError as err:
        raise CaseError(*where, f"{chain_link.describe()} {err}") from err
    n_voxels = int(sitk.GetArrayViewFromImage(roi).sum())
    context = f"{chain_link.describe()}, {n_voxels} ROI voxel(s) left: "
    return _pyradiomics_features(image, roi, settings_json, where, context)


@contextlib.contextmanager
def _single_threaded_simpleitk(enabled):
    """SimpleITK's own threads fight joblib's workers for the cores: one thread per worker."""
    if not enabled:
        yield
        return
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def _run_task(task, memory, single_threaded):
    """Worker body: returns ``(key, names, values, source, failure)``; never raises a CaseError.

    A failure travels as a plain tuple because CaseError's constructor does not survive
    pickling back from a process worker.
    """
    function = compute_features if task.perturbation is None else compute_perturbed_features
    # The memory also caches converted RTSTRUCT / SEG masks, keyed on their content.
    cached = memory.cache(function, ignore=["task", "memory"])
    try:
        with _single_threaded_simpleitk(single_threaded):
            on_disk = memory.location is not None and cached.check_call_in_cache(
                *task.key, task=task, memory=memory
            )
            names, values = cached(*task.key, task=task, memory=memory)
    except CaseError as err:
        return task.key, None, None, "failed", (err.row, err.column, err.path, err.problem)
    return task.key, names, values, "disk_hits" if on_disk else "extracted", None


def _show_progress(progress, n_tasks):
    if progress == "auto":
        return n_tasks > PROGRESS_MIN_TASKS and sys.stderr.isatty()
    return bool(progress)


def run_tasks(tasks, *, memory, n_jobs=None, progress="auto"):
    """Results of ``tasks``: ``({key: (names, values)}, [CaseError, ...])``.

    Every task runs (or is read from a cache) even when others fail.
    """
    results, failures, pending = {}, [], {}
    for task in tasks:
        if task.key in results or task.key in pending:
            continue
        if task.key in _PROCESS_CACHE:
            results[task.key] = _PROCESS_CACHE.get(task.key)
            _STATS["memory_hits"] += 1
        else:
            pending[task.key] = task
    if pending:
        n_workers = max(1, min(effective_n_jobs(n_jobs), len(pending) // MIN_TASKS_PER_WORKER))
        calls = [delayed(_run_task)(task, memory, n_workers > 1) for task in pending.values()]
        try:
            outputs = Parallel(n_jobs=n_workers, return_as="generator")(calls)
        except ValueError:  # backends without generator support (Ray): all results at once
            outputs = Parallel(n_jobs=n_workers)(calls)
        bar = tqdm(
            outputs,
            total=len(pending),
            desc="radiomics",
            unit="ROI",
            disable=not _show_progress(progress, len(pending)),
        )
        for key, names, values, source, failure in bar:
            if failure is not None:
                failures.append(CaseError(*failure))
                continue
            _STATS[source] += 1
            results[key] = (names, values)
            _PROCESS_CACHE.put(key, results[key])
    return results, failures
