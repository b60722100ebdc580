"""Tests of the synthetic TED cohort (rdinet_sklearn.datasets)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn._cases import DEFAULT_LABELS
from rdinet_sklearn.datasets import (
    CLINICAL_COLUMNS,
    ScannerShift,
    describe_cohort,
    make_ted_clinical,
    make_ted_cohort,
)

SMALL = (8, 48, 96)
IR, SR, MR, LR = (DEFAULT_LABELS[m] for m in ("IR", "SR", "MR", "LR"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("ted")
    cases, y, oracle = make_ted_cohort(48, out, shape=SMALL, random_state=0, return_oracle=True)
    return out, cases, y, oracle


@pytest.fixture(scope="module")
def arrays(cohort):
    _, cases, _, _ = cohort
    read = {}
    for pid, row in cases.iterrows():
        read[pid] = tuple(sitk.GetArrayFromImage(sitk.ReadImage(row[c])) for c in ("image", "mask"))
    return read


def dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_table_contract_and_csv_round_trip(cohort):
    out, cases, y, _ = cohort
    assert list(cases.index[:3]) == ["TED001", "TED002", "TED003"]
    assert (cases["patient_id"] == cases.index).all()
    assert list(cases.columns) == ["patient_id", "image", "mask", "mask_rater2", *CLINICAL_COLUMNS]
    assert len(CLINICAL_COLUMNS) == 16
    for column in ("image", "mask", "mask_rater2"):
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in cases[column])
    assert y.name == "response" and y.index.equals(cases.index)
    assert set(np.unique(y)) == {0, 1}
    assert set(cases["sex"]) == {"F", "M"}
    assert cases["cas"].between(0, 7).all() and cases["diplopia_grade"].between(0, 3).all()

    table = pd.read_csv(out / "cases.csv")
    y_csv = table.pop("response")
    np.testing.assert_array_equal(y_csv, y)
    pd.testing.assert_frame_equal(table, cases.reset_index(drop=True), check_dtype=False)


def test_clinical_maker_matches_cohort(cohort):
    _, cases, y, oracle = cohort
    clinical, y_clinical, oracle_clinical = make_ted_clinical(
        48, random_state=0, return_oracle=True
    )
    pd.testing.assert_frame_equal(clinical, cases[list(CLINICAL_COLUMNS)], check_names=False)
    pd.testing.assert_series_equal(y_clinical, y, check_index_type=False, check_names=True)
    np.testing.assert_allclose(oracle_clinical["probability"], oracle["probability"])


def test_files_share_geometry(cohort):
    _, cases, _, _ = cohort
    for pid, row in cases.iterrows():
        image, mask, mask2 = (sitk.ReadImage(row[c]) for c in ("image", "mask", "mask_rater2"))
        assert image.GetPixelID() == sitk.sitkInt16, pid
        assert mask.GetPixelID() == mask2.GetPixelID() == sitk.sitkUInt8, pid
        assert image.GetSize() == mask.GetSize() == mask2.GetSize() == SMALL[::-1]
        for other in (mask, mask2):
            np.testing.assert_allclose(other.GetSpacing(), image.GetSpacing())
            np.testing.assert_allclose(other.GetOrigin(), image.GetOrigin())
            np.testing.assert_allclose(other.GetDirection(), image.GetDirection())
        sx, sy, sz = image.GetSpacing()
        assert sx == pytest.approx(sy) and sz > 2 * sx  # in-plane square, thick slices


def test_default_geometry_is_realistic(tmp_path):
    cases, _ = make_ted_cohort(4, tmp_path, random_state=3)
    spacings = np.array([sitk.ReadImage(p).GetSpacing() for p in cases["image"]])
    assert np.all((spacings[:, :2] > 0.45) & (spacings[:, :2] < 0.55))
    assert np.all((spacings[:, 2] > 2.6) & (spacings[:, 2] < 3.4))
    assert len(np.unique(spacings[:, 0])) == 4  # varies between patients
    image = sitk.GetArrayFromImage(sitk.ReadImage(cases["image"].iloc[0]))
    mask = sitk.GetArrayFromImage(sitk.ReadImage(cases["mask"].iloc[0]))
    assert image.shape == (20, 128, 224)
    # Muscle cross-sections of a few mm at 0.5 mm pixels: tens to hundreds of voxels per slice.
    per_slice = (mask == MR).sum(axis=(1, 2))
    assert 30 < per_slice.max() < 600
    assert 3 < image[:, :5, :5].mean() < 40  # Rician noise floor in the air of the corner


def test_every_label_in_both_orbits_in_its_place(cohort, arrays):
    _, cases, _, _ = cohort
    midline = SMALL[2] / 2
    for pid in cases.index:
        _, mask = arrays[pid]
        for half in (slice(0, int(midline)), slice(int(midline), None)):
            orbit = np.zeros_like(mask)
            orbit[:, :, half] = mask[:, :, half]
            for label in (IR, SR, MR, LR):
                assert (orbit == label).any(), (pid, label)
            centroid = {
                label: np.argwhere(orbit == label).mean(axis=0) for label in (IR, SR, MR, LR)
            }
            # Rows grow downwards: SR above, IR below, MR/LR in between.
            assert centroid[SR][1] < centroid[MR][1] < centroid[IR][1], pid
            assert centroid[SR][1] < centroid[LR][1] < centroid[IR][1], pid
            assert abs(centroid[MR][2] - midline) < abs(centroid[LR][2] - midline), pid


def test_rater_agreement(cohort, arrays):
    _, cases, _, _ = cohort
    scores = {label: [] for label in (IR, SR, MR, LR)}
    for pid, row in cases.iterrows():
        mask = arrays[pid][1]
        mask2 = sitk.GetArrayFromImage(sitk.ReadImage(row["mask_rater2"]))
        assert not np.array_equal(mask, mask2)
        for label in scores:
            scores[label].append(dice(mask == label, mask2 == label))
    for label, values in scores.items():
        assert 0.75 <= np.mean(values) <= 0.95, label


def test_partial_second_rater(tmp_path):
    cases, _ = make_ted_cohort(8, tmp_path, shape=(4, 32, 64), rater2_fraction=0.5)
    has_second = cases["mask_rater2"].notna()
    assert has_second.sum() == 4
    for pid in cases.index:
        assert (tmp_path / pid / "mask_rater2.nii.gz").exists() == has_second[pid]
    table = pd.read_csv(tmp_path / "cases.csv")
    assert table["mask_rater2"].isna().sum() == 4


def test_determinism_and_n_jobs(tmp_path):
    kwargs = dict(shape=(4, 32, 64), random_state=7)
    first, y1 = make_ted_cohort(5, tmp_path / "a", **kwargs)
    second, y2 = make_ted_cohort(5, tmp_path / "b", n_jobs=2, **kwargs)
    other, _ = make_ted_cohort(5, tmp_path / "c", shape=(4, 32, 64), random_state=8)
    pd.testing.assert_series_equal(y1, y2)
    clinical = list(CLINICAL_COLUMNS)
    pd.testing.assert_frame_equal(first[clinical], second[clinical])
    assert not first[clinical].equals(other[clinical])
    for column in ("image", "mask", "mask_rater2"):
        for a, b, c in zip(first[column], second[column], other[column], strict=True):
            assert Path(a).read_bytes() == Path(b).read_bytes()
            assert Path(a).read_bytes() != Path(c).read_bytes()
    metadata = [json.loads((tmp_path / d / "cohort.json").read_text()) for d in "ab"]
    assert metadata[0] == metadata[1]


def test_planted_signal_mr_lr_beats_ir_sr(cohort, arrays):
    _, cases, y, _ = cohort
    means = pd.DataFrame(
        [
            {label: image[mask == label].astype(float).mean() for label in (IR, SR, MR, LR)}
            for image, mask in (arrays[pid] for pid in cases.index)
        ]
    )
    model = make_pipeline(StandardScaler(), LogisticRegression())
    folds = StratifiedKFold(5, shuffle=True, random_state=0)

    def cv_auc(labels):
        return cross_val_score(model, means[labels], y, cv=folds, scoring="roc_auc").mean()

    mr_lr, ir_sr = cv_auc([MR, LR]), cv_auc([IR, SR])
    assert mr_lr > 0.75
    assert mr_lr > ir_sr + 0.1


def test_clinical_cas_echoes_activity_and_response():
    clinical, y, oracle = make_ted_clinical(147, random_state=0, return_oracle=True)
    assert spearmanr(clinical["cas"], y).statistic > 0.2
    assert spearmanr(clinical["cas"], oracle["activity"]).statistic > 0.5
    assert spearmanr(clinical["disease_duration_months"], oracle["fibrosis"]).statistic > 0.3


def test_class_balance_near_study():
    rates = [make_ted_clinical(147, random_state=seed)[1].mean() for seed in range(20)]
    assert all(0.3 < r < 0.55 for r in rates)
    assert np.mean(rates) == pytest.approx(61 / 147, abs=0.02)


def test_oracle_auc_exposed(cohort):
    out, _, y, oracle = cohort
    assert list(oracle.columns) == [
        "activity",
        "fibrosis",
        "nuisance_ir",
        "nuisance_sr",
        "logit",
        "probability",
    ]
    auc = roc_auc_score(y, oracle["probability"])
    assert oracle.attrs["oracle_auc"] == pytest.approx(auc)
    metadata = json.loads((out / "cohort.json").read_text())
    assert metadata["oracle_auc"] == pytest.approx(auc)
    assert metadata["n_positive"] == y.sum() and metadata["parameters"]["shape"] == list(SMALL)
    aucs = [
        make_ted_clinical(147, random_state=s, return_oracle=True)[2].attrs["oracle_auc"]
        for s in range(10)
    ]
    assert 0.85 < np.mean(aucs) < 0.95


def test_describe_cohort(cohort):
    _, cases, y, _ = cohort
    summary = describe_cohort(cases, y)
    assert summary.loc["n_patients", "value"] == 48
    assert summary.loc["n_positive", "value"] == y.sum()
    assert summary.loc["n_rater2", "value"] == 48
    assert summary.loc["shape", "value"] == SMALL


def test_describe_cohort_names_missing_file(cohort, tmp_path):
    _, cases, y, _ = cohort
    broken = cases.copy()
    broken.loc["TED002", "image"] = str(tmp_path / "missing.nii.gz")
    with pytest.raises(ValueError, match="TED002.*missing.nii.gz"):
        describe_cohort(broken, y)


@pytest.fixture(scope="module")
def two_scanners(tmp_path_factory):
    """The same 6 patients on the first scanner and on the default shifted one (center B)."""
    out = tmp_path_factory.mktemp("scanners")
    kwargs = dict(n_patients=6, shape=SMALL, random_state=3)
    first = make_ted_cohort(out_dir=out / "first", **kwargs)
    shifted = make_ted_cohort(
        out_dir=out / "shifted", scanner_shift="default", center="B", **kwargs
    )
    return out, first, shifted


def test_scanner_shift_images_the_same_patients(two_scanners):
    out, (cases, y), (shifted, y_shifted) = two_scanners
    assert list(shifted.columns[:3]) == ["patient_id", "center", "image"]
    assert (shifted["center"] == "B").all() and shifted.index[0] == "B-TED001"
    assert (shifted["patient_id"] == shifted.index).all()
    np.testing.assert_array_equal(y_shifted, y)
    pd.testing.assert_frame_equal(
        shifted[list(CLINICAL_COLUMNS)].reset_index(drop=True),
        cases[list(CLINICAL_COLUMNS)].reset_index(drop=True),
    )
    assert (
        json.loads((out / "shifted" / "cohort.json").read_text())["parameters"]["scanner_shift"]
        == ScannerShift().as_dict()
    )
    assert (
        "scanner_shift" not in json.loads((out / "first" / "cohort.json").read_text())["parameters"]
    )
    for pid, pid_shifted in zip(cases.index, shifted.index, strict=True):
        a, b = (
            sitk.ReadImage(t.loc[p, "image"]) for t, p in ((cases, pid), (shifted, pid_shifted))
        )
        np.testing.assert_allclose(np.divide(b.GetSpacing(), a.GetSpacing()), (1.2, 1.2, 4 / 3))
        mask_a, mask_b = (
            sitk.GetArrayFromImage(sitk.ReadImage(t.loc[p, "mask"]))
            for t, p in ((cases, pid), (shifted, pid_shifted))
        )
        assert set(np.unique(mask_b)) == set(np.unique(mask_a))


def test_scanner_shift_survives_whole_image_normalisation(two_scanners):
    _, (cases, _), (shifted, _) = two_scanners

    def summary(row):
        image = sitk.GetArrayFromImage(sitk.ReadImage(row["image"])).astype(float)
        mask = np.isin(sitk.GetArrayFromImage(sitk.ReadImage(row["mask"])), [MR, LR])
        z = (image - image.mean()) / image.std()  # what pyradiomics' normalize does
        half = image.shape[2] // 2
        right_over_left = image[:, :, :half][mask[:, :, :half]].mean() / (
            image[:, :, half:][mask[:, :, half:]].mean()
        )
        return z[mask].mean(), right_over_left, image[:, :3, :3].mean()

    first = np.array([summary(row) for _, row in cases.iterrows()])
    second = np.array([summary(row) for _, row in shifted.iterrows()])
    assert np.all(second[:, 0] > first[:, 0] + 0.05)  # muscle brighter relative to the image
    assert np.all(second[:, 1] < first[:, 1])  # the coil field darkens the right orbit
    # The air's Rician floor scales with the noise SD times the gain: 1.5 x 2.
    assert 2.5 < np.median(second[:, 2] / first[:, 2]) < 3.5


def test_neutral_scanner_shift_changes_nothing(tmp_path):
    neutral = ScannerShift(intensity_scale=1, bias_field=0, spacing=(1, 1), noise_scale=1)
    kwargs = dict(n_patients=4, shape=(4, 32, 64), random_state=2)
    plain, _ = make_ted_cohort(out_dir=tmp_path / "plain", **kwargs)
    same, _ = make_ted_cohort(out_dir=tmp_path / "same", scanner_shift=neutral, **kwargs)
    for a, b in zip(plain["image"], same["image"], strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes()


@pytest.mark.parametrize(
    "shift, match",
    [
        ("strong", "scanner_shift must be None, 'default'"),
        ({"gain": 2.0}, r"unknown scanner_shift key\(s\) \['gain'\]"),
        ({"spacing": (0.5, 1.0)}, r"spacing must be two factors .* in \[0.9, 2.0\]"),
        ({"spacing": 1.2}, "spacing must be two factors"),
        ({"intensity_scale": 0}, "intensity_scale must be a positive number"),
        ({"noise_scale": float("nan")}, "noise_scale must be a positive number"),
        ({"bias_field": "strong"}, "bias_field must be a number"),
    ],
)
def test_bad_scanner_shift(tmp_path, shift, match):
    with pytest.raises(ValueError, match=match):
        make_ted_cohort(4, tmp_path, shape=(4, 32, 64), scanner_shift=shift)
    assert not (tmp_path / "cases.csv").exists()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_patients": 3}, "n_patients"),
        ({"n_patients": 2.5}, "n_patients"),
        ({"shape": (2, 48, 96)}, "shape"),
        ({"shape": (8, 48)}, "shape"),
        ({"shape": (8.0, 48, 96)}, "shape"),
        ({"rater2_fraction": 1.5}, "rater2_fraction"),
        ({"response_rate": 0.0}, "response_rate"),
        ({"random_state": "seed"}, "random_state"),
        ({"center": 2}, "center"),
        ({"scanner_shift": 1.5}, "scanner_shift"),
    ],
)
def test_bad_params(tmp_path, kwargs, match):
    kwargs = {"n_patients": 4, "shape": (4, 32, 64), **kwargs}
    with pytest.raises(ValueError, match=match):
        make_ted_cohort(out_dir=tmp_path, **kwargs)
    assert not (tmp_path / "cases.csv").exists()


@pytest.mark.parametrize("center", ["../../escaped", "/abs/center", "a/b"])
def test_a_center_name_never_writes_outside_the_cohort_folder(tmp_path, center):
    out = tmp_path / "deep" / "cohort"
    cases, _ = make_ted_cohort(4, out, random_state=0, shape=(8, 48, 96), center=center)
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written and all(out in p.parents for p in written)
    assert cases.index.tolist()[0].startswith(center)  # the ids themselves are kept
    assert all(Path(p).parent.parent == out for p in cases["image"])
