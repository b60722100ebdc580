"""Time ``make_ted_cohort`` for the reference cohort size (147 patients, default shape).

Run: ``python benchmarks/bench_datasets.py [--n-patients 147] [--n-jobs 1 2]``.
Target: under a minute on 2 cores. Prints one row per ``n_jobs`` setting.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from rdinet_sklearn.datasets import make_ted_cohort


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=147)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    for n_jobs in args.n_jobs:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            cases, y = make_ted_cohort(args.n_patients, tmp, n_jobs=n_jobs)
            seconds = time.perf_counter() - start
            size_mb = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 1e6
            oracle_auc = json.loads((Path(tmp) / "cohort.json").read_text())["oracle_auc"]
        rows.append(
            {
                "n_patients": len(cases),
                "n_jobs": n_jobs,
                "seconds": round(seconds, 1),
                "s_per_patient": round(seconds / len(cases), 3),
                "disk_MB": round(size_mb, 1),
                "positives": int(y.sum()),
                "oracle_auc": round(oracle_auc, 3),
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
