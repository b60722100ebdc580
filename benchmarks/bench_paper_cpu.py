"""The ``paper`` preset end to end at full sizes, with the epoch and fold counts cut (issue 16).

Generates a synthetic cohort (147 patients by default) and fills the volume cache for the
full preset's two deep ROIs at the paper's crop (2 x 32x128x128) for every patient: the
memory the issue asks about. Then runs :func:`rdinet_sklearn.study.run_study` with
``preset="paper"`` on a stratified subset of that cohort (40 patients by default, so that the
run fits in 15 minutes on 2 cores): pyradiomics with filtered images over all seven ROI
strategies, the 21 radiomics models (5-fold CV), and ResNet-50 at 32x128x128 with RDINet and
RDINet+clinical on one deep ROI, each fitted, cross-validated, predicting, and written with
the report. Only the patient count, ``deep.max_epochs`` (default 1), ``deep.cv_folds``
(default 2, the least a study allows: its thresholds come from out-of-fold predictions),
``deep.rois`` (default MR+LR) and ``comparison.repeats`` (default 1: the radiomics
comparison runs, on the study's own folds) differ from the preset; image sizes, network
depth and width, batch size and k are the paper's. Prints, per stage, the wall time and the
peak resident memory of the process tree (sampled, worker processes included); the volume
cache's size; the measured cost of one ResNet-50 training and inference sample; and the
extrapolation of the full preset (all patients, 100 epochs, 5 folds, two deep ROIs) to this
machine and to one H100/H200.

Stages run through the public API in the order run_study needs them, so each is timed on
its own: the cohort, the volumes (:class:`~rdinet_sklearn.volumes.VolumeCropper`, the
process-wide cache every network reads), the radiomics features
(:class:`~rdinet_sklearn.radiomics.RadiomicsExtractor`, into the study's disk cache), then
``run_study``, which finds both in the caches; its per-model fit times come from
``results.json``. Run::

    python benchmarks/bench_paper_cpu.py                         # CPU: 147 cached, 40 studied
    python benchmarks/bench_paper_cpu.py --study-patients 147    # the whole cohort (~35 min)
    python benchmarks/bench_paper_cpu.py --device cuda --max-epochs 100 --study-patients 147

The last line is the GPU check's study (``benchmarks/gpu_check.sh``): the paper's 100 epochs
on one deep ROI, the deep models cross-validated with 2 folds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import threading
import time
from pathlib import Path

import psutil
import torch
from sklearn.model_selection import train_test_split
from torch.utils.flop_counter import FlopCounterMode

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.nn import ResNet3DModule
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.study import make_config, run_study
from rdinet_sklearn.volumes import VolumeCropper, clear_volume_cache, volume_cache_info

GIB = 1024**3
H100_BF16_DENSE_TFLOPS = 989.0
"""NVIDIA's dense (no sparsity) bf16 tensor-core peak of the H100 SXM; the H200 has the same."""
GPU_UTILISATION = (0.10, 0.30)
"""Assumed share of that peak reached by 3D-conv training: the issue's floor (~1600 samples/s
at 23 GFLOP forward) and a typical cuDNN figure for large 3D convolutions."""


class PeakMemory:
    """Samples the resident memory of this process and its children (workers) in a thread."""

    def __init__(self, interval=0.2):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._process = psutil.Process()

    def _tree_rss(self):
        total = 0
        for proc in [self._process, *self._process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # a worker that just exited
                pass
        return total

    def _watch(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._tree_rss())

    def reset(self):
        """Start a new stage: the peak is the current resident memory."""
        self.peak = self._tree_rss()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _stage(rows, memory, name, func):
    memory.reset()
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    rows.append((name, seconds, memory.peak))
    print(f"  {name:<44}{seconds:>9.1f} s{memory.peak / GIB:>8.2f} GiB", flush=True)
    return result


def _roi(name):
    parts = tuple(name.split("+"))
    return parts if len(parts) > 1 else parts[0]


def crop_volumes(cases, config, rois):
    """Fill the process-wide volume cache as the networks of ``config`` would, per ROI."""
    deep = config["deep"]
    for roi in rois:
        cropper = VolumeCropper(
            _roi(roi),
            labels=config["labels"],
            volume_size=tuple(deep["volume_size"]),
            image_column=config["image_column"],
            mask_column=config["mask_column"],
            n_jobs=config["n_jobs"],
        )
        cropper.fit(cases).transform(cases)
    return volume_cache_info()


def extract_features(cases, config, cache):
    """Every ROI strategy's radiomics features, both raters, into the study's disk cache."""
    radiomics = config["radiomics"]
    rois = set(radiomics["roi_strategies"]) | set(config["deep"]["rois"])
    for roi in sorted(rois):
        RadiomicsExtractor(
            roi=_roi(roi),
            labels=config["labels"],
            params=radiomics["params"],
            reference_mask_column=config["reference_mask_column"],
            image_column=config["image_column"],
            mask_column=config["mask_column"],
            memory=cache,
            n_jobs=config["n_jobs"],
            progress=False,
        ).fit_transform(cases)
    return len(rois)


def inference_cost(config, device, repeats=1):
    """Seconds per inference sample of the preset's ResNet, and its forward FLOPs per sample.

    The module is the one ``ResNet50Classifier`` builds (2 channels, the preset's depth,
    width and crop), run at the preset's batch size in float32 on a CPU (the classifier's
    ``precision="auto"`` there) and under bf16 autocast on CUDA; the best of ``repeats``
    batches after a warm-up batch is kept. The training cost per sample is then derived
    from the measured deep-model fits (:func:`deep_passes`), so it includes everything a
    training step does (augmentation, skorch, Adam).
    """
    deep = config["deep"]
    module = ResNet3DModule(
        in_channels=2, depth=deep["depth"], widen_factor=deep["widen_factor"]
    ).to(device)
    module.eval()
    batch = deep["batch_size"]
    volume = torch.randn(batch, 2, *deep["volume_size"], device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(volume[:1])
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    times = []
    for _ in range(repeats + 1):
        _sync(device)
        started = time.perf_counter()
        with torch.no_grad(), autocast:
            module(volume)
        _sync(device)
        times.append(time.perf_counter() - started)
    return min(times[1:]) / batch, counter.get_total_flops()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def deep_passes(n_train, n_test, *, epochs, cv_folds):
    """Training and inference sample passes of one deep model in ``run_study``.

    Each of the ``cv_folds`` folds trains on (k-1)/k of the training cohort and predicts the
    rest (the out-of-fold probabilities); the refit trains on all of it, then predicts the
    test cohort.
    """
    train = epochs * (n_train * (cv_folds - 1) + n_train)
    infer = n_train + n_test
    return train, infer


def _study_subset(cases, y, n_patients):
    """A stratified subset of ``n_patients`` patients (the whole cohort if it has no more)."""
    if n_patients >= len(y):
        return cases, y
    keep, _ = train_test_split(
        list(y.index), train_size=n_patients, stratify=y.to_numpy(), random_state=0
    )
    keep = y.index.intersection(keep)  # the cohort's order
    return cases.loc[keep], y.loc[keep]


def _fit_seconds(results):
    by_family = {}
    for model in results["models"].values():
        by_family.setdefault(model["family"], []).append(model["fit_seconds"])
    return {family: (len(times), sum(times)) for family, times in by_family.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-patients", type=int, default=147, help="cohort size (the volume cache's patients)"
    )
    parser.add_argument(
        "--study-patients",
        type=int,
        default=40,
        help="the stratified subset the study runs on (at most --n-patients)",
    )
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--cv-folds", type=int, default=2, help="deep models' CV folds")
    parser.add_argument(
        "--comparison-repeats", type=int, default=1, help="the radiomics comparison's repeats"
    )
    parser.add_argument("--rois", nargs="+", default=["MR+LR"], help="deep ROIs")
    parser.add_argument("--device", default="cpu", help="the networks' device (cpu, cuda)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a further override, as `rdinet study --set` (e.g. for a smoke run)",
    )
    parser.add_argument("--work", default="/tmp/rdinet-bench-paper")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    device = torch.device(args.device)
    overrides = [
        f"deep.max_epochs={args.max_epochs}",
        f"deep.cv_folds={args.cv_folds}",
        f"deep.rois={json.dumps(args.rois)}",
        f"deep.device={args.device}",
        f"comparison.repeats={args.comparison_repeats}",
        *args.set,
    ]
    config = make_config("paper", overrides=overrides)
    full = make_config("paper", overrides=[o for o in args.set if not o.startswith("deep.rois")])
    work = Path(args.work)
    out = work / "study"
    shutil.rmtree(out, ignore_errors=True)  # every stage is computed afresh
    load_before = os.getloadavg()
    print(
        f"paper preset, {args.n_patients} patients cached, {args.study_patients} studied, "
        f"deep: ResNet-{config['deep']['depth']} at "
        f"{'x'.join(map(str, config['deep']['volume_size']))}, {args.max_epochs} epoch(s), "
        f"cv_folds={args.cv_folds}, ROIs {args.rois}, device {device}; {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}, load average {load_before[0]:.1f}"
    )
    print(f"  {'stage':<44}{'wall':>11}{'peak RSS':>12}")
    rows = []
    started = time.perf_counter()
    with PeakMemory() as memory:
        cases, y = _stage(
            rows,
            memory,
            "synthetic cohort",
            lambda: make_ted_cohort(
                args.n_patients, work / f"cohort{args.n_patients}", random_state=0, n_jobs=2
            ),
        )
        study_cases, study_y = _study_subset(cases, y, args.study_patients)
        clear_volume_cache()
        cache_info = _stage(
            rows,
            memory,
            f"volumes, full preset's ROIs {full['deep']['rois']}",
            lambda: crop_volumes(cases, full, full["deep"]["rois"]),
        )
        _stage(
            rows,
            memory,
            "radiomics features (study params, 2 raters)",
            lambda: extract_features(study_cases, config, str(out / "cache")),
        )
        study_started = time.perf_counter()
        results = _stage(
            rows,
            memory,
            "run_study (models, tables, figures, report)",
            lambda: run_study(study_cases, study_y, config=config, out=out, progress=False),
        )
        study_seconds = time.perf_counter() - study_started
        infer_s, flops = _stage(
            rows, memory, "ResNet inference cost (probe)", lambda: inference_cost(config, device)
        )
    total = time.perf_counter() - started
    fits = _fit_seconds(results)
    for family, (count, seconds) in fits.items():
        print(f"    {family:<20}{count:>3} model(s){seconds:>10.1f} s fitting and predicting")
    report_seconds = study_seconds - sum(seconds for _, seconds in fits.values())
    print(f"    {'the rest of run_study (tables, figures, report)':<40}{report_seconds:>8.1f} s")
    print(f"  {'total':<44}{total:>9.1f} s")
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"peak RSS: {max(r[2] for r in rows) / GIB:.2f} GiB (process tree, sampled), "
        f"{self_peak / GIB:.2f} GiB (main process, getrusage); "
        f"machine {psutil.virtual_memory().total / GIB:.1f} GiB"
    )
    print(
        f"volume cache: {cache_info.entries} volumes, {cache_info.nbytes / GIB:.2f} GiB "
        f"({cache_info.nbytes / max(cache_info.entries, 1) / 2**20:.1f} MiB each)"
    )
    outputs = sorted(str(p.relative_to(out)) for p in out.glob("*") if p.is_file())
    print(f"outputs: {outputs}, {len(list((out / 'figures').glob('*')))} figure files")

    n_test = len(results["split"]["test"])
    n_train = len(results["split"]["train"])
    n_deep = sum(fits.get(f, (0, 0))[0] for f in ("resnet", "rdinet", "rdinet_clinical"))
    deep_measured = sum(fits.get(f, (0, 0))[1] for f in ("resnet", "rdinet", "rdinet_clinical"))
    train, infer = deep_passes(
        n_train, n_test, epochs=args.max_epochs, cv_folds=config["deep"]["cv_folds"]
    )
    train_s = (deep_measured / max(n_deep, 1) - infer * infer_s) / train
    print(
        f"\nResNet forward {flops / 1e9:.1f} GFLOP/sample (training ~3x); on {device}: "
        f"{infer_s:.2f} s per inference sample (probe), {train_s:.2f} s per training sample "
        f"(from {deep_measured:.0f} s for {n_deep} deep models x ({train} training + "
        f"{infer} inference passes))"
    )
    full_deep = full["deep"]
    full_test = math.ceil(full["test_size"] * args.n_patients)  # as train_test_split rounds
    full_train, full_infer = deep_passes(
        args.n_patients - full_test,
        full_test,
        epochs=full_deep["max_epochs"],
        cv_folds=full_deep["cv_folds"],
    )
    n_full_deep = n_deep // max(len(args.rois), 1) * len(full_deep["rois"])
    other = total - sum(r[1] for r in rows if r[0].startswith("ResNet inference")) - deep_measured
    other -= rows[0][1]  # the cohort is not part of a study
    # Extraction grows with the patients; the radiomics models and the report are taken as
    # measured on the subset (an underestimate: their CV fits grow with the patients too).
    extraction = rows[2][1]
    other += extraction * (args.n_patients / len(study_y) - 1)
    print(
        f"\nfull preset on all {args.n_patients} patients ({args.n_patients - full_test} "
        f"training, {full_test} test); radiomics extraction scaled from "
        f"{len(study_y)} to {args.n_patients} patients"
    )
    cpu_deep = n_full_deep * (full_train * train_s + full_infer * infer_s)
    print(
        f"full preset ({full_deep['max_epochs']} epochs, {full_deep['cv_folds']} folds, "
        f"{len(full_deep['rois'])} deep ROIs = {n_full_deep} deep models, "
        f"{full_train} training passes each):"
    )
    print(
        f"  on this machine ({device}): {other / 60:.1f} min radiomics and report + "
        f"{cpu_deep / 86400:.1f} days deep = {(other + cpu_deep) / 86400:.1f} days"
    )
    train_flops = n_full_deep * full_train * 3 * flops + n_full_deep * full_infer * flops
    for share in GPU_UTILISATION:
        rate = share * H100_BF16_DENSE_TFLOPS * 1e12
        gpu_deep = train_flops / rate
        print(
            f"  one H100/H200 at {share:.0%} of {H100_BF16_DENSE_TFLOPS:.0f} TFLOP/s bf16 "
            f"({rate / (3 * flops):.0f} training samples/s): deep {gpu_deep / 60:.1f} min + "
            f"CPU stages {other / 60:.1f} min (2 cores; less with more) = "
            f"{(gpu_deep + other) / 60:.1f} min"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        figures = {
            "stages": [{"stage": n, "seconds": s, "peak_rss_bytes": m} for n, s, m in rows],
            "fit_seconds": fits,
            "volume_cache_bytes": cache_info.nbytes,
            "train_s_per_sample": train_s,
            "infer_s_per_sample": infer_s,
            "forward_flops": flops,
            "total_seconds": total,
            "load_average": [load_before[0], os.getloadavg()[0]],
        }
        Path(args.json).write_text(json.dumps(figures, indent=2, default=float))


if __name__ == "__main__":
    main()
