"""Benchmark DICOM input: RTSTRUCT / DICOM-SEG conversion, and extraction from DICOM vs NIfTI.

On the real data in ``../shared/data/real-dicom`` (or ``RDINET_SHARED_DATA``):

1. the time to convert each segmentation onto its image's grid (no cache: the in-process
   cache is cleared before every run): the nine STS RTSTRUCTs (CT, T1 MRI, PET of three
   patients) and the dcmqi DICOM-SEGs (``liver.dcm``, the five segments of
   ``partial_overlaps.dcm``, the LABELMAP ``sparse-labelmap-ppv5.dcm``);
2. RadiomicsExtractor (``n_jobs=1``, nothing cached) on each STS series from DICOM (series
   folder + RTSTRUCT) and from NIfTI (``image.nii.gz`` + ``mask.nii.gz``), per case.

Times are the best of ``--repeats`` runs. Run:
``python benchmarks/bench_dicom.py [--repeats 3] [--params study]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from rdinet_sklearn._imaging import read_image
from rdinet_sklearn.dicom import Grid, structure_mask
from rdinet_sklearn.dicom import _structures as structures
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RDINET_SHARED_DATA", ROOT.parent / "shared" / "data")) / "real-dicom"
STS = [f"STS_00{p}/{m}" for p in (1, 2, 3) for m in ("CT", "MR_T1", "PET")]


def best_of(repeats, function):
    """Best wall time of ``repeats`` calls of ``function`` (and its last result)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def conversion_rows(repeats):
    jobs = []
    for series in STS:
        base = DATA / "sts" / series / "dicom"
        jobs.append((f"RTSTRUCT {series}", base / "image", base / "mask" / "RS.dcm", [1]))
    seg = DATA / "dcmqi-segmentations"
    jobs += [
        ("SEG liver.dcm", seg / "ct-3slice", seg / "liver.dcm", [1]),
        ("SEG partial_overlaps.dcm (5)", seg / "ct-3slice", seg / "partial_overlaps.dcm", None),
        (
            "SEG sparse-labelmap-ppv5.dcm",
            seg / "24x38x3" / "image",
            seg / "sparse-labelmap-ppv5.dcm",
            [1],
        ),
    ]
    rows = []
    for name, image_path, mask_path, numbers in jobs:
        grid = Grid.of(read_image(image_path))
        numbers = numbers or [1, 2, 3, 4, 5]

        def convert(mask_path=mask_path, grid=grid, numbers=numbers):
            structures._CONVERTED.clear()
            return [structure_mask(mask_path, [n], grid) for n in numbers]

        seconds, masks = best_of(repeats, convert)
        rows.append(
            {
                "segmentation": name,
                "grid (x, y, z)": "x".join(map(str, grid.size)),
                "voxels in ROI": sum(int(m.sum()) for m in masks),
                "convert, s": round(seconds, 3),
            }
        )
    return pd.DataFrame(rows)


def extraction_rows(repeats, params):
    rows = []
    for series in STS:
        base = DATA / "sts" / series
        pairs = {
            "DICOM + RTSTRUCT": (base / "dicom" / "image", base / "dicom" / "mask" / "RS.dcm"),
            "NIfTI + NIfTI": (
                base / "nifti" / "image" / "image.nii.gz",
                base / "nifti" / "mask" / "mask.nii.gz",
            ),
        }
        row = {"series": series}
        for source, (image, mask) in pairs.items():
            table = pd.DataFrame({"image": [str(image)], "mask": [str(mask)]})
            labels = {"mass": "re:GTV_Mass.*"} if source.startswith("DICOM") else {"mass": 1}

            def extract(table=table, labels=labels):
                clear_process_cache()
                structures._CONVERTED.clear()
                extractor = RadiomicsExtractor(roi="mass", labels=labels, params=params, n_jobs=1)
                return extractor.fit_transform(table)

            row[f"{source}, s"], _ = best_of(repeats, extract)
        row["DICOM / NIfTI"] = row["DICOM + RTSTRUCT, s"] / row["NIfTI + NIfTI, s"]
        rows.append(row)
    return pd.DataFrame(rows).round(3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", default="study")
    args = parser.parse_args()
    print(conversion_rows(args.repeats).to_markdown(index=False))
    print()
    extraction = extraction_rows(args.repeats, args.params)
    print(extraction.to_markdown(index=False))
    total = extraction[["DICOM + RTSTRUCT, s", "NIfTI + NIfTI, s"]].sum()
    print(f"\nall nine series: DICOM {total.iloc[0]:.2f} s, NIfTI {total.iloc[1]:.2f} s")


if __name__ == "__main__":
    main()
