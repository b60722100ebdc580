"""What the ``explain`` settings add to ``rdinet demo``: the same study with them off and on.

Three runs of ``rdinet demo`` into one folder, each in a fresh process (shap compiles its
kernels once per process, and the demo pays that too): the first fits every model with
``explain`` off; the second reruns it (every model reused) and is the baseline of rendering
the results; the third reruns with the preset's ``explain`` settings. Since no model is
refitted, the third minus the second is what the explanations add to the demo.

    PYTHONPATH=$PWD python benchmarks/bench_explain_study.py --patients 147 --shape 8 48 96
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

OFF = [
    "explain.contributions=false",
    "explain.uncertainty=false",
    "explain.negative_controls=[]",
    "explain.checklists=false",
]


def _demo(out, args, settings):
    command = [sys.executable, "-m", "rdinet_sklearn.cli", "demo", "--out", out, "--no-progress"]
    command += [f"--patients={args.patients}", "--preset", args.preset]
    if args.shape:
        command += ["--shape", *map(str, args.shape)]
    for setting in settings:
        command += ["--set", setting]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=147)
    parser.add_argument("--shape", type=int, nargs=3, default=None)
    parser.add_argument("--preset", default="quick", choices=["quick", "paper"])
    parser.add_argument("--set", dest="settings", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = f"{folder}/demo"
        fit = _demo(out, args, [*args.settings, *OFF])
        off = _demo(out, args, [*args.settings, *OFF])
        on = _demo(out, args, args.settings)
    print("| run | seconds |\n| --- | ---: |")
    print(f"| demo, explain off (fits every model) | {fit:.1f} |")
    print(f"| rerun, explain off (models reused: rendering only) | {off:.1f} |")
    print(f"| rerun, the preset's explain settings (models reused) | {on:.1f} |")
    print(f"| **added by explain** | **{on - off:.1f}** |")


if __name__ == "__main__":
    main()
