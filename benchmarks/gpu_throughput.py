"""Training throughput on one GPU (H100/H200) at the study's settings, next to the chip's peak.

Measures training samples/s of

* ``loop``: the bare module (forward, backward, Adam step, batched augmentation on the GPU),
  optionally with ``channels_last_3d`` memory format and ``torch.compile``;
* ``classifier``: the skorch training core of ``ResNet50Classifier`` running the same batches
  (``fit_loop`` on in-memory volumes, so the numbers exclude the one-off preprocessing),

and prints achieved TFLOP/s (3 x forward FLOPs per sample, counted with FlopCounterMode) as a
share of the chip's dense bf16 peak. Each path's training-loss curve is printed too (first
and last value, one line per path, ``loss curve ...``), and the script exits with status 3
if a loss was not finite (the skorch core raises its ``DivergedFitError`` first).

Study setting (defaults): ResNet-50, 2 x 32 x 128 x 128 volumes, batch 16, bf16 autocast::

    python benchmarks/gpu_throughput.py                  # --model resnet
    python benchmarks/gpu_throughput.py --channels-last --compile
    python benchmarks/gpu_throughput.py --tiny           # CPU fallback / smoke test

New models plug in through ``MODELS``: a function ``(args) -> (classifier, make_batch)`` where
``classifier`` is an unfitted estimator built on the training core and ``make_batch(n)``
returns ``(net_input, y)`` on the CPU (an array, or a dict with a ``"volume"`` entry). Register
it under a name to use ``--model <name>``; ``--model rdinet`` runs RDINetClassifier (dynamic
fusion, k=3) with 24 tabular inputs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from rdinet_sklearn.nn import RDINetClassifier, ResNet50Classifier
from rdinet_sklearn.volumes import BatchAugmentation, study_augmentations

BF16_DENSE_PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0}
"""Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets; first match wins."""


def _resnet(args):
    classifier = ResNet50Classifier(
        depth=args.depth,
        volume_size=tuple(args.size),
        batch_size=args.batch,
        precision=args.precision,
        random_state=0,
    )

    def make_batch(n):
        generator = torch.Generator().manual_seed(0)
        volume = torch.randn(n, 2, *args.size, generator=generator).numpy()
        return volume, np.arange(n) % 2

    return classifier, make_batch


N_TABULAR = 24
"""Tabular inputs of the RDINet run: about 8 selected radiomics and 16 clinical features."""


def _rdinet(args):
    classifier = RDINetClassifier(
        depth=args.depth,
        volume_size=tuple(args.size),
        batch_size=args.batch,
        precision=args.precision,
        random_state=0,
        module__n_tabular=N_TABULAR,  # fixed here; fit() derives it from the tabular columns
    )

    def make_batch(n):
        generator = torch.Generator().manual_seed(0)
        volume = torch.randn(n, 2, *args.size, generator=generator).numpy()
        tabular = torch.randn(n, N_TABULAR, generator=generator).numpy()
        return {"volume": volume, "tabular": tabular}, np.arange(n) % 2

    return classifier, make_batch


MODELS = {"resnet": _resnet, "rdinet": _rdinet}


def _peak_tflops(device):
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_DENSE_PEAK_TFLOPS.items() if key in name), None)


def _to_device(net_input, device, channels_last):
    def move(array, is_volume):
        tensor = torch.as_tensor(array).to(device, non_blocking=True)
        if is_volume and channels_last:
            tensor = tensor.contiguous(memory_format=torch.channels_last_3d)
        return tensor

    if isinstance(net_input, dict):
        return {k: move(v, k == "volume") for k, v in net_input.items()}
    return move(net_input, True)


def _forward(module, x):
    return module(**x) if isinstance(x, dict) else module(x)


def forward_flops_per_sample(module, x):
    module.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        _forward(module, x)
    batch = (x["volume"] if isinstance(x, dict) else x).shape[0]
    return counter.get_total_flops() / batch


def bare_loop(classifier, make_batch, args, device):
    """Samples/s of forward + backward + Adam + augmentation on fixed device batches."""
    classifier.set_params(device=str(device))
    classifier.initialize()  # builds the module exactly as the classifier would
    module = classifier.module_
    if args.channels_last:
        module = module.to(memory_format=torch.channels_last_3d)
    flops = forward_flops_per_sample(module, _to_device(make_batch(1)[0], device, False))
    step_module = torch.compile(module) if args.compile else module
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    augment = BatchAugmentation(study_augmentations(), seed=0, device=device)
    net_input, y = make_batch(args.batch)
    x = _to_device(net_input, device, args.channels_last)
    y = torch.as_tensor(y, device=device)
    dtype = classifier._autocast_dtype(training=True)  # the precision it would train in
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    module.train()

    losses = []  # kept on the device: reading each one would sync every step

    def step():
        xa = {**x, "volume": augment(x["volume"])} if isinstance(x, dict) else augment(x)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = torch.nn.functional.cross_entropy(_forward(step_module, xa).float(), y)
        losses.append(loss.detach())
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    for _ in range(args.warmup):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(device)
    rate = args.steps * args.batch / (time.perf_counter() - start)
    return rate, flops, torch.stack(losses).float().cpu().numpy()


def classifier_loop(classifier, make_batch, args, device):
    """Samples/s of the skorch training core on in-memory batches (no preprocessing)."""
    n = args.batch * args.steps
    net_input, y = make_batch(n)
    classifier.set_params(device=str(device), max_epochs=1)
    classifier.initialize()
    classifier.fit_loop(*make_batch(args.batch * max(args.warmup, 1)))  # warm-up epoch
    _sync(device)
    start = time.perf_counter()
    classifier.fit_loop(net_input, y)
    _sync(device)
    rate = n / (time.perf_counter() - start)
    curve = [b["train_loss"] for row in classifier.history for b in row["batches"]]
    return rate, np.asarray(curve, dtype=float)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="resnet")
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--size", type=int, nargs=3, default=[32, 128, 128])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"], default="auto")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--channels-last", action="store_true", help="channels_last_3d (loop)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the module (loop)")
    parser.add_argument("--tiny", action="store_true", help="CPU-sized smoke configuration")
    args = parser.parse_args()
    if args.tiny:
        args.depth, args.size, args.batch, args.steps, args.warmup = 10, [8, 24, 24], 4, 3, 1
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    build = MODELS[args.model]
    loop_rate, flops, loop_curve = bare_loop(*build(args), args, device)
    core_rate, core_curve = classifier_loop(*build(args), args, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = _peak_tflops(device)
    print(
        f"{args.model} depth {args.depth}, input {'x'.join(map(str, args.size))}, batch "
        f"{args.batch}, precision {args.precision}, channels_last={args.channels_last}, "
        f"compile={args.compile} on {name}"
    )
    print(f"forward GFLOP/sample: {flops / 1e9:.2f} (training ~3x)")
    print(f"{'path':<28}{'samples/s':>10}{'TFLOP/s':>9}{'% bf16 peak':>12}")
    for label, rate in (("bare loop", loop_rate), ("skorch core (classifier)", core_rate)):
        tflops = rate * 3 * flops / 1e12
        share = f"{100 * tflops / peak:.1f}" if peak else "n/a"
        print(f"{label:<28}{rate:>10.1f}{tflops:>9.2f}{share:>12}")
    if peak:
        print(f"(dense bf16 peak of this chip taken as {peak:.0f} TFLOP/s)")
    finite = True
    for label, curve in (("bare loop", loop_curve), ("skorch core", core_curve)):
        ok = bool(np.isfinite(curve).all())
        finite &= ok
        print(
            f"loss curve {label}: first {curve[0]:.4f}, last {curve[-1]:.4f}, {len(curve)} "
            f"steps, {'all finite' if ok else 'NOT FINITE'}"
        )
    if not finite:
        raise SystemExit(3)


if __name__ == "__main__":
    main()
