"""Overhead of running radiomics extraction on Dask (and Ray) instead of local joblib.

On a synthetic TED cohort at the default image size (20 x 128 x 224), extracts one ROI
(``MR+LR``, rater 1 and rater 2) with the ``"original"`` settings:

1. sequentially (``n_jobs=1``): the per-ROI cost;
2. with joblib's local process pool on 2 cores (``loky``);
3. on a ``dask.distributed.LocalCluster`` of 2 single-threaded worker processes
   (cluster start-up timed separately);
4. on Ray with 2 CPUs, if ``ray`` is installed.

Overhead is the parallel run's time beyond the ideal ``sequential / 2``, per ROI. From the
per-ROI cost and the measured Dask overhead the script then estimates a 10,000-patient
extraction on a 100-core cluster. Results are checked to be identical across backends.

Run: ``python benchmarks/bench_scaleout.py [--patients 40] [--preset original]``.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

import joblib
import pandas as pd

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache

WORKERS = 2
TARGET_PATIENTS = 10_000
TARGET_CORES = 100


def extract(cases, preset, backend=None):
    """Seconds and features of one extraction with a cold in-process cache."""
    clear_process_cache()
    extractor = RadiomicsExtractor(
        roi=("MR", "LR"),
        params=preset,
        reference_mask_column="mask_rater2",
        n_jobs=1 if backend is None else -1,
        progress=False,
    )
    start = time.perf_counter()
    if backend is None:
        features = extractor.fit_transform(cases)
    else:
        with joblib.parallel_config(backend=backend, n_jobs=WORKERS):
            features = extractor.fit_transform(cases)
    return time.perf_counter() - start, features


def start_dask():
    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    return time.perf_counter() - start, lambda: (client.close(), cluster.close())


def start_ray():
    import ray
    from ray.util.joblib import register_ray

    start = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    register_ray()
    return time.perf_counter() - start, ray.shutdown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--preset", default="original")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)

    folder = tempfile.mkdtemp()
    cases, _ = make_ted_cohort(args.patients, folder, random_state=0)
    n_rois = int(cases["mask"].notna().sum() + cases["mask_rater2"].notna().sum())
    extract(cases.iloc[:2], args.preset)  # import pyradiomics, build the extractor

    sequential, reference = extract(cases, args.preset)
    per_roi = sequential / n_rois
    rows = [("sequential (n_jobs=1)", 0.0, sequential, "")]
    runs = [("loky, 2 processes", None, "loky"), ("dask LocalCluster, 2x1", start_dask, "dask")]
    runs.append(("ray, 2 CPUs", start_ray, "ray"))
    for name, starter, backend in runs:
        startup, stop = 0.0, None
        try:
            if starter is not None:
                startup, stop = starter()
            # start-up includes the workers' first imports (pyradiomics, SimpleITK)
            startup += extract(cases.iloc[:WORKERS], args.preset, backend)[0]
            seconds, features = extract(cases, args.preset, backend)
            pd.testing.assert_frame_equal(features, reference)
            rows.append((name, startup, seconds, "identical"))
        except ImportError:
            rows.append((name, float("nan"), float("nan"), "not installed"))
        except ValueError as error:  # e.g. a backend without return_as="generator"
            rows.append((name, startup, float("nan"), f"failed: {str(error)[-50:]}"))
        finally:
            if stop is not None:
                stop()

    ideal = sequential / WORKERS
    print(f"\n{args.patients} patients, {n_rois} ROIs, preset {args.preset!r}, {WORKERS} cores")
    print(
        f"{'backend':<26}{'start-up s':>11}{'extract s':>11}{'speed-up':>10}"
        f"{'overhead ms/ROI':>17}  results"
    )
    overheads = {}
    for name, startup, seconds, note in rows:
        overhead = (seconds - (sequential if name.startswith("seq") else ideal)) / n_rois
        overheads[name] = overhead
        print(
            f"{name:<26}{startup:>11.1f}{seconds:>11.2f}{sequential / seconds:>10.2f}"
            f"{1e3 * overhead:>17.1f}  {note}"
        )

    dask_overhead = max(overheads["dask LocalCluster, 2x1"], 0.0)
    dask_startup = next(r[1] for r in rows if r[0].startswith("dask"))
    rois = TARGET_PATIENTS * n_rois / args.patients
    estimate = rois * (per_roi + dask_overhead) / TARGET_CORES + dask_startup
    print(
        f"\nEstimate, {TARGET_PATIENTS:,} patients on {TARGET_CORES} cores (Dask):\n"
        f"  {rois:,.0f} ROIs x ({per_roi:.2f} s per ROI + {dask_overhead * 1e3:.0f} ms "
        f"overhead) / {TARGET_CORES} cores + {dask_startup:.0f} s start-up "
        f"= {estimate / 60:.1f} min ({estimate / 3600:.2f} h)\n"
        "  assumes the workers read the images from shared storage as fast as locally and "
        "one pyradiomics run per core (SimpleITK single-threaded);\n  the 'study' preset "
        "(572 features, wavelets) costs several times 'original' per ROI."
    )


if __name__ == "__main__":
    main()
