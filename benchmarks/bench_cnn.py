"""CPU benchmark of the 3D-CNN training core (ResNet50Classifier).

Prints four tables:

1. seconds per epoch of ``ResNet50Classifier`` vs a plain PyTorch loop doing the same work
   (same module, volumes, shuffled batches, augmentation, Adam); target: within 5 %;
2. the share of a training step spent loading the batch and augmenting it; target: < 10 %;
3. forward GFLOP per sample (``torch.utils.flop_counter.FlopCounterMode``) at depth 10,
   16x64x64 and depth 50, 32x128x128;
4. learning check: 3-fold CV AUC on a 60-patient synthetic cohort with true and with
   permuted labels (the fuller version of the test in tests/test_resnet.py).

Run: ``python benchmarks/bench_cnn.py [--skip-learning]``. Numbers depend on the machine and
its load. Each timing is the minimum over epochs (after the first) and repeats, measured both
as process CPU time (all threads; robust when other processes share the cores) and as wall
time (what matters on a dedicated machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold, cross_val_score
from skorch.callbacks import Callback
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.nn import ResNet3DModule, ResNet50Classifier
from rdinet_sklearn.volumes import BatchAugmentation, study_augmentations

TIMING = {"depth": 10, "volume_size": (16, 64, 64), "batch_size": 16}


class _CpuEpochTimer(Callback):
    """Records the process CPU time of each epoch (all threads) as ``cpu_dur``."""

    def on_epoch_begin(self, net, **kwargs):
        self._start = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("cpu_dur", time.process_time() - self._start)


def classifier_epoch_seconds(cases, y, epochs):
    """(CPU s, wall s) of the fastest epoch after the first, and the fitted cropper."""
    cnn = ResNet50Classifier(
        roi=("MR", "LR"),
        max_epochs=epochs,
        random_state=0,
        device="cpu",
        callbacks=[("cpu_timer", _CpuEpochTimer())],
        **TIMING,
    )
    cnn.fit(cases, y)  # volumes are cached by the first fit's preprocessing
    cpu, wall = cnn.history[1:, "cpu_dur"], cnn.history[1:, "dur"]
    return min(cpu), min(wall), cnn.cropper_


def plain_loop_epoch_seconds(volumes, y, epochs):
    """The same work written directly in PyTorch: (CPU s, wall s, loading+augmenting share)."""
    torch.manual_seed(0)
    module = ResNet3DModule(in_channels=volumes.shape[1], depth=TIMING["depth"])
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    augment = BatchAugmentation(study_augmentations(), seed=0)
    dataset = TensorDataset(torch.from_numpy(volumes), torch.as_tensor(y, dtype=torch.long))
    loader = DataLoader(
        dataset,
        batch_size=TIMING["batch_size"],
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    cpu, wall, data_share = [], [], []
    for _ in range(epochs):
        module.train()
        start, start_wall = time.process_time(), time.perf_counter()
        data_seconds = 0.0
        batches = iter(loader)
        while True:
            tick = time.process_time()
            batch = next(batches, None)
            if batch is None:
                break
            xb = augment(batch[0])
            data_seconds += time.process_time() - tick
            optimizer.zero_grad()
            loss = loss_fn(module(xb), batch[1])
            loss.backward()
            optimizer.step()
        cpu.append(time.process_time() - start)
        wall.append(time.perf_counter() - start_wall)
        data_share.append(data_seconds / cpu[-1])
    best = int(np.argmin(cpu[1:])) + 1
    return cpu[best], min(wall[1:]), data_share[best]


def forward_gflop(depth, size, in_channels=2):
    module = ResNet3DModule(in_channels=in_channels, depth=depth).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, in_channels, *size))
    return counter.get_total_flops() / 1e9


def learning_check():
    with tempfile.TemporaryDirectory() as folder:
        cases, y = make_ted_cohort(60, folder, random_state=1, shape=(8, 48, 96))
        cv = StratifiedKFold(3, shuffle=True, random_state=0)
        rows = []
        for labels, name in (
            (y.to_numpy(), "true"),
            (np.random.RandomState(0).permutation(y), "permuted"),
        ):
            cnn = ResNet50Classifier(
                roi=("MR", "LR"),
                depth=10,
                volume_size=(8, 24, 24),
                max_epochs=10,
                random_state=0,
                device="cpu",
            )
            start = time.perf_counter()
            scores = cross_val_score(cnn, cases, labels, cv=cv, scoring="roc_auc")
            rows.append((name, scores, time.perf_counter() - start))
    print("\nLearning check: ResNet-10, 8x24x24, 10 epochs, 3-fold CV on 60 synthetic patients")
    print(f"{'labels':<10}{'fold AUCs':<24}{'mean AUC':>9}{'seconds':>9}")
    for name, scores, seconds in rows:
        print(
            f"{name:<10}{np.array2string(scores, precision=2):<24}"
            f"{scores.mean():>9.3f}{seconds:>9.1f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--patients", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-learning", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        cases, y = make_ted_cohort(args.patients, folder, random_state=0, shape=(8, 48, 96))
        labels = np.array(y)
        ours, plain = [], []
        # alternate the two so that load from other processes hits both alike; keep minima
        for _ in range(args.repeats):
            *seconds, cropper = classifier_epoch_seconds(cases, labels, args.epochs)
            ours.append(seconds)
            plain.append(plain_loop_epoch_seconds(cropper.transform(cases), labels, args.epochs))
    ours_cpu, ours_wall = np.min(ours, axis=0)
    plain_cpu, plain_wall, _ = np.min(plain, axis=0)
    share = plain[int(np.argmin([p[0] for p in plain]))][2]
    print(
        f"Training cost: ResNet-{TIMING['depth']}, {TIMING['volume_size']}, batch "
        f"{TIMING['batch_size']}, {args.patients} cases, CPU ({torch.get_num_threads()} threads)"
    )
    print(f"{'':<38}{'CPU s/epoch':>12}{'wall s/epoch':>13}")
    print(f"{'ResNet50Classifier (skorch core)':<38}{ours_cpu:>12.2f}{ours_wall:>13.2f}")
    print(f"{'plain PyTorch loop, same work':<38}{plain_cpu:>12.2f}{plain_wall:>13.2f}")
    overhead_cpu, overhead_wall = (
        100 * (ours_cpu / plain_cpu - 1),
        100 * (ours_wall / plain_wall - 1),
    )
    print(f"{'overhead (target < 5 %)':<38}{overhead_cpu:>11.1f}%{overhead_wall:>12.1f}%")
    print(f"{'loading + augmentation share (< 10 %)':<38}{100 * share:>11.1f}%")
    print("\nForward cost per sample (FlopCounterMode, 2 input channels)")
    print(f"{'network':<12}{'input':<16}{'GFLOP':>9}")
    for depth, size in ((10, (16, 64, 64)), (50, (32, 128, 128))):
        print(
            f"{f'ResNet-{depth}':<12}{'x'.join(map(str, size)):<16}"
            f"{forward_gflop(depth, size):>9.2f}"
        )

    if not args.skip_learning:
        learning_check()


if __name__ == "__main__":
    main()
