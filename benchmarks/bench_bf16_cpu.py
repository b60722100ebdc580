"""Why bfloat16 training diverges on a CPU: the kernel check and the issue's probe (issue 31).

Run: ``python benchmarks/bench_bf16_cpu.py`` (``--steps``, ``--runs`` to size it). Every row
runs in a fresh process with one torch thread.

1. Kernel check: one ResNet-10 (2 x 8 x 32 x 32 volumes, batch 8) and one fixed batch; the
   same forward + backward, ``--steps`` times, under bf16 autocast with oneDNN (as torch
   runs it by default), with oneDNN restricted to AVX-512 without native bf16 instructions
   (``ONEDNN_MAX_CPU_ISA=AVX512_CORE``), with oneDNN switched off (torch's reference
   kernels, tens of times slower: ``--reference-steps`` steps), and in float32. Per row:
   steps whose gradient has a NaN/inf or an element above 1e3 (the true gradients are
   below 1), and whether every step gave bit-identical gradients (they should: same
   weights, same batch).
2. The issue's probe: ``ResNet50Classifier(roi=("MR", "LR"), random_state=0,
   precision="bf16", device="cpu", depth=10, volume_size=(8, 32, 32), max_epochs=2,
   batch_size=8)`` on ``make_ted_cohort(24, random_state=0)``, ``--runs`` times: the two
   epoch losses, or the divergence guard's error.
"""

import argparse
import os
import subprocess
import sys
import tempfile

KERNEL_ROWS = (
    ("bf16, oneDNN (default)", "bf16", True, None),
    ("bf16, oneDNN without native bf16", "bf16", True, "AVX512_CORE"),
    ("bf16, oneDNN off (reference kernels)", "bf16", False, None),
    ("float32, oneDNN", "fp32", True, None),
)


def kernel_worker(precision, onednn, steps):
    import torch

    from rdinet_sklearn.nn import ResNet3DModule

    torch.backends.mkldnn.enabled = onednn
    torch.manual_seed(0)
    module = ResNet3DModule(in_channels=2, depth=10)
    volume, target = torch.randn(8, 2, 8, 32, 32), torch.randint(0, 2, (8,))
    bad, first, repeatable = 0, None, True
    for _ in range(steps):
        module.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = module(volume)
        torch.nn.functional.cross_entropy(logits.float(), target).backward()
        grads = torch.cat([p.grad.flatten() for p in module.parameters()])
        bad += int(not torch.isfinite(grads).all() or grads.abs().max() > 1e3)
        first = grads if first is None else first
        repeatable &= torch.equal(grads, first)
    print(f"{bad} {repeatable}")


def probe_worker(folder):
    import warnings

    from rdinet_sklearn.datasets import make_ted_cohort
    from rdinet_sklearn.nn import DivergedFitError, ResNet50Classifier

    warnings.simplefilter("ignore")
    cases, y = make_ted_cohort(24, folder, random_state=0)
    net = ResNet50Classifier(
        roi=("MR", "LR"),
        random_state=0,
        precision="bf16",
        device="cpu",
        depth=10,
        volume_size=(8, 32, 32),
        max_epochs=2,
        batch_size=8,
    )
    try:
        net.fit(cases[["image", "mask"]], y)
    except DivergedFitError as error:
        print(f"DivergedFitError: {error.quantity}, epoch {error.epoch}, batch {error.batch}")
        return
    print("losses " + ", ".join(f"{loss:.4f}" for loss in net.history[:, "train_loss"]))


def run_worker(args, isa=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="backward passes per kernel row")
    parser.add_argument("--reference-steps", type=int, default=10, help="steps, oneDNN off")
    parser.add_argument("--runs", type=int, default=5, help="fresh-process runs of the probe")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "kernel":
            kernel_worker(rest[0], rest[1] == "True", int(rest[2]))
        else:
            probe_worker(rest[0])
        return

    import torch

    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print("\n1. kernel check: the same step repeated, per row")
    print(f"{'row':40s} {'bad steps':>10s} {'repeatable':>11s}")
    for label, precision, onednn, isa in KERNEL_ROWS:
        steps = args.steps if onednn else args.reference_steps
        bad, repeatable = run_worker(["kernel", precision, onednn, steps], isa).split()
        print(f"{label:40s} {bad + '/' + str(steps):>10s} {repeatable:>11s}", flush=True)
    print(f"\n2. the issue's probe (bf16, CPU), {args.runs} fresh processes")
    with tempfile.TemporaryDirectory() as folder:
        for run in range(1, args.runs + 1):
            print(f"run {run}: {run_worker(['probe', folder])}", flush=True)


if __name__ == "__main__":
    main()
