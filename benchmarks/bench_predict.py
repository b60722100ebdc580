"""Time one new patient, NIfTI to probability, with a finished study's model (issue 14).

Run: ``python benchmarks/bench_predict.py --study results/demo`` after ``rdinet demo --out
results/demo`` (the ``quick`` preset). Each row is a fresh process, as a user runs it: the
interpreter start, the imports, reading the model folder, the radiomics extraction of the
case, the network and writing the CSV all count. Targets (2 CPU cores): ``rdinet predict``
on one case with the quick preset's RDINet+clinical model <= 5 s; ``import rdinet_sklearn``
and ``rdinet --help`` <= 1.5 s.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

TARGETS = {"import rdinet_sklearn": 1.5, "rdinet --help": 1.5, "rdinet predict, one case": 5.0}


def wall_times(command, repeats):
    """Wall times of ``repeats`` runs of ``command``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="results/demo", help="a finished study's folder")
    parser.add_argument("--model", default="RDINet+clinical MR+LR")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    study = Path(args.study)
    cases = pd.read_csv(study / "cohort" / "cases.csv")
    folder = Path(tempfile.mkdtemp())
    try:
        one = folder / "one.csv"
        cases.head(1).to_csv(one, index=False)
        cli = [sys.executable, "-m", "rdinet_sklearn.cli"]
        predict = [
            *cli,
            "predict",
            "--model",
            str(study / "models" / args.model),
            "--cases",
            str(one),
            "--out",
            str(folder / "prediction.csv"),
        ]
        rows = {
            "import rdinet_sklearn": wall_times(
                [sys.executable, "-c", "import rdinet_sklearn"], args.repeats
            ),
            "rdinet --help": wall_times([*cli, "--help"], args.repeats),
            "rdinet predict, one case": wall_times(predict, args.repeats),
        }
        probability = pd.read_csv(folder / "prediction.csv").iloc[0]
    finally:
        shutil.rmtree(folder)
    print(f"model: {args.model} ({study})")
    print(f"case: {probability.iloc[0]}, probability {probability['probability']:.4f}")
    print(f"| step (fresh process) | best of {args.repeats}, s | median, s | target, s |")
    print("| --- | --- | --- | --- |")
    for name, times in rows.items():
        best, median = min(times), statistics.median(times)
        print(f"| {name} | {best:.2f} | {median:.2f} | <= {TARGETS[name]:.1f} |")


if __name__ == "__main__":
    main()
