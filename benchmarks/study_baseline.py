"""Record a small study's numbers, or compare two records: the redesign must keep them.

``run OUT``: runs the study on a 24-patient synthetic cohort at a tiny size that still fits
every model family (radiomics SVM, logistic regression and random forest, ResNet, RDINet,
RDINet+clinical) with a fixed seed, and writes ``OUT/results.json`` and its tables.
``compare A B``: lists every number of ``A/results.json`` and ``A/tables/predictions.csv``
that differs in ``B`` (timings and file paths excluded); exit 1 when any does.

    PYTHONPATH=$PWD python benchmarks/study_baseline.py run /tmp/after
    PYTHONPATH=$PWD python benchmarks/study_baseline.py compare /tmp/before /tmp/after
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd

SETTINGS = {
    "cv_folds": 3,
    "n_jobs": 1,
    "comparison": {"repeats": 2, "folds": 3},
    "radiomics": {
        "params": "original",
        "roi_strategies": ["IR+SR", "MR+LR"],
        "classifiers": ["svm", "logreg", "rf"],
    },
    "deep": {
        "rois": ["MR+LR"],
        "depth": 10,
        "volume_size": [4, 16, 16],
        "max_epochs": 1,
        "batch_size": 8,
        "d": 8,
    },
}
# Run-specific, not results: wall-clock times and where files went.
IGNORED = {"fit_seconds", "model_file"}


def run(out):
    from rdinet_sklearn.datasets import make_ted_cohort
    from rdinet_sklearn.study import make_config, run_study

    out = Path(out)
    cases, y = make_ted_cohort(24, out / "cohort", random_state=0, shape=(8, 48, 96))
    config = make_config("quick", overrides=[SETTINGS])
    run_study(cases, y, config=config, out=out / "study", progress=False)


def _numbers(value, path=""):
    """``{path: leaf}`` of a JSON value, skipping :data:`IGNORED` keys and the config."""
    if isinstance(value, dict):
        leaves = {}
        for key, item in value.items():
            if key not in IGNORED:
                leaves.update(_numbers(item, f"{path}/{key}"))
        return leaves
    if isinstance(value, list):
        leaves = {}
        for index, item in enumerate(value):
            leaves.update(_numbers(item, f"{path}[{index}]"))
        return leaves
    return {path: value}


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def compare(before, after):
    folders = [Path(before) / "study", Path(after) / "study"]
    results = [json.loads((folder / "results.json").read_text()) for folder in folders]
    for result in results:
        result.pop("config")  # compared separately: the redesign resolves more of it
    old, new = (_numbers(r) for r in results)
    differences = [
        f"{key}: {old.get(key, '<absent>')!r} -> {new.get(key, '<absent>')!r}"
        for key in sorted(set(old) | set(new))
        if not _same(old.get(key), new.get(key))
    ]
    tables = [pd.read_csv(folder / "tables" / "predictions.csv") for folder in folders]
    if not tables[0].equals(tables[1]):
        differences.append("tables/predictions.csv differs")
    print("\n".join(differences) or f"identical: {len(old)} values and every prediction")
    return 1 if differences else 0


if __name__ == "__main__":
    command, *folders = sys.argv[1:]
    sys.exit(run(*folders) if command == "run" else compare(*folders))
