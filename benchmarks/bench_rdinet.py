"""CPU benchmark: seconds per epoch of RDINetClassifier against ResNet50Classifier.

Both share one training core; RDINet only adds the tabular MLP and a fusion block, so at the
same backbone, volume size, batch size and number of cases its epochs should cost within
10 % of ResNet50Classifier's (target). One row per fusion variant; ``fusion="tabular"`` has
no CNN and shows how cheap the tabular branch is on its own.

Run: ``python benchmarks/bench_rdinet.py [--epochs 3 --patients 32 --repeats 3]``. The
shared development machine is noisy: the two classifiers are fitted alternately and each
number is the minimum over the epochs after the first (warm-up) and over the repeats.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

from rdinet_sklearn.datasets import CLINICAL_COLUMNS, make_ted_cohort
from rdinet_sklearn.nn import RDINetClassifier, ResNet50Classifier

SETTINGS = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (16, 64, 64),
    "batch_size": 16,
    "random_state": 0,
    "device": "cpu",
}
FUSIONS = ("dynamic", "concat", "film", "image", "tabular")


class _CpuEpochTimer(Callback):
    """Records the process CPU time of each epoch (all threads) as ``cpu_dur``."""

    def on_epoch_begin(self, net, **kwargs):
        self._start = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("cpu_dur", time.process_time() - self._start)


def epoch_seconds(estimator, X, y):
    """(CPU s, wall s) of the fastest epoch after the first."""
    estimator.set_params(callbacks=[("cpu_timer", _CpuEpochTimer())]).fit(X, y)
    history = estimator.history
    return min(history[1:, "cpu_dur"]), min(history[1:, "dur"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--patients", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        cases, y = make_ted_cohort(args.patients, folder, random_state=0, shape=(8, 48, 96))
        clinical = [c for c in CLINICAL_COLUMNS if pd.api.types.is_numeric_dtype(cases[c])]
        table = cases[["image", "mask", *clinical]]
        common = {**SETTINGS, "max_epochs": args.epochs}
        ResNet50Classifier(**{**common, "max_epochs": 1}).fit(table, y)  # crop once, cached
        timings = {name: [] for name in ("ResNet50Classifier", *FUSIONS)}
        for _ in range(args.repeats):  # alternate, so outside load hits every model alike
            timings["ResNet50Classifier"].append(
                epoch_seconds(ResNet50Classifier(**common), table, y)
            )
            for fusion in FUSIONS:
                rdinet = RDINetClassifier(fusion=fusion, **common)
                timings[fusion].append(epoch_seconds(rdinet, table, y))

    best = {name: np.min(values, axis=0) for name, values in timings.items()}
    reference_cpu, reference_wall = best["ResNet50Classifier"]
    print(
        f"Seconds per epoch: ResNet-{SETTINGS['depth']}, {SETTINGS['volume_size']}, batch "
        f"{SETTINGS['batch_size']}, {args.patients} cases, {len(clinical)} tabular columns, "
        f"CPU ({torch.get_num_threads()} threads)"
    )
    print(f"{'model':<30}{'CPU s':>8}{'wall s':>8}{'CPU vs ResNet':>15}{'wall vs ResNet':>16}")
    for name, (cpu, wall) in best.items():
        label = name if name == "ResNet50Classifier" else f"RDINet fusion={name!r}"
        print(
            f"{label:<30}{cpu:>8.2f}{wall:>8.2f}"
            f"{100 * (cpu / reference_cpu - 1):>14.1f}%{100 * (wall / reference_wall - 1):>15.1f}%"
        )
    print("target: fusion='dynamic' within +10 % of ResNet50Classifier")


if __name__ == "__main__":
    main()
