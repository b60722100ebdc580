"""Preprocessing steps: IBSI resampling, N4, z-score and Nyúl, on real and synthetic images.

Real images are read from ``../shared/data`` beside the repository (CI has it there): the
soft-tissue-sarcoma T1 MRI (CC BY 3.0) and the IBSI CT phantom (CC BY-NC 3.0, never copied).
"""

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sklearn.base import clone

from rdinet_sklearn._sklearn_compat import InvalidParameterError
from rdinet_sklearn.preprocessing import (
    BiasFieldCorrector,
    IntensityNormalizer,
    PreprocessingError,
    PreprocessingWarning,
    Resampler,
    Resegmenter,
)
from rdinet_sklearn.preprocessing._grid import centred_grid

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
STS = SHARED / "real-dicom" / "sts"
PATIENTS = ["STS_001", "STS_002", "STS_003"]
needs_shared = pytest.mark.skipif(not STS.is_dir(), reason="../shared/data is not beside the repo")


def sts_cases():
    return pd.DataFrame(
        {
            "image": [str(STS / p / "MR_T1/nifti/image/image.nii.gz") for p in PATIENTS],
            "mask": [str(STS / p / "MR_T1/nifti/mask/mask.nii.gz") for p in PATIENTS],
        },
        index=PATIENTS,
    )


def write_case(folder, name, array, labels, *, spacing=(1.0, 1.0, 1.0), direction=None,
               suffix=".nii.gz"):  # fmt: skip
    """Write an image and a label map (z, y, x arrays) on one grid; return their paths."""
    paths = {}
    for column, values in (("image", array), ("mask", labels)):
        image = sitk.GetImageFromArray(values)
        image.SetSpacing(spacing)
        image.SetOrigin((10.0, -5.0, 3.0))
        if direction is not None:
            image.SetDirection(direction)
        paths[column] = str(Path(folder) / f"{name}_{column}{suffix}")
        sitk.WriteImage(image, paths[column])
    return paths


def table(*rows, index=None):
    return pd.DataFrame(list(rows), index=index or [f"P{i}" for i in range(len(rows))])


def read(path):
    image = sitk.ReadImage(path)
    return image, sitk.GetArrayFromImage(image)


def box_labels(shape=(6, 12, 12), box=(slice(2, 4), slice(3, 9), slice(3, 9))):
    labels = np.zeros(shape, np.uint8)
    labels[box] = 1
    return labels


# -- Resampler ------------------------------------------------------------------------------


def test_new_grid_is_centred_and_linear_interpolation_reproduces_a_linear_ramp(tmp_path):
    # intensity = the x coordinate in mm: linear interpolation must return every new voxel's
    # own x coordinate, which holds only if the grid is placed where it says it is.
    shape, spacing = (4, 6, 10), (1.5, 1.0, 2.0)
    x_index = np.broadcast_to(np.arange(shape[2], dtype=np.float32), shape)
    ramp = 10.0 + x_index * spacing[0]
    case = write_case(tmp_path, "ramp", ramp, box_labels(shape, np.s_[1:3, 1:5, 2:8]),
                      spacing=spacing)  # fmt: skip
    out = Resampler(spacing=1.0, cache_dir=tmp_path).fit_transform(table(case))
    image, values = read(out["image"].iloc[0])
    expected_size = [math.ceil(n * s) for n, s in zip((10, 6, 4), spacing, strict=True)]
    assert image.GetSize() == tuple(expected_size)
    old_centre = np.asarray((10.0, -5.0, 3.0)) + (np.asarray((10, 6, 4)) - 1) / 2 * spacing
    new_centre = np.asarray(image.GetOrigin()) + (np.asarray(image.GetSize()) - 1) / 2
    np.testing.assert_allclose(new_centre, old_centre, atol=1e-6)
    x_new = image.GetOrigin()[0] + np.arange(image.GetSize()[0])
    inside = (x_new >= 10.0) & (x_new <= 10.0 + 9 * spacing[0])  # not extrapolated
    np.testing.assert_allclose(values[0, 0, inside], x_new[inside], atol=1e-4)


def test_mask_is_interpolated_linearly_and_thresholded_at_one_half(tmp_path):
    # One row of 1 mm voxels resampled to 0.5 mm: the new centres sit a quarter voxel from the
    # old ones, so a voxel beside the ROI's edge gets 0.25 (out) and the edge itself 0.75 (in);
    # nearest neighbour would give the same here, so also check a 2-voxel ROI to 1.5 mm.
    labels = np.zeros((1, 1, 8), np.uint8)
    labels[0, 0, 2:4] = 1
    case = write_case(tmp_path, "row", np.ones((1, 1, 8), np.float32), labels)
    out = Resampler(spacing=(1.5, 1.0, 1.0), cache_dir=tmp_path).fit_transform(table(case))
    image, mask = read(out["mask"].iloc[0])
    old_x = 10.0 + np.arange(8)
    new_x = image.GetOrigin()[0] + 1.5 * np.arange(image.GetSize()[0])
    fraction = np.interp(new_x, old_x, labels[0, 0].astype(float))
    np.testing.assert_array_equal(mask[0, 0], (fraction >= 0.5).astype(np.uint8))
    assert 0 < mask.sum() < 8


def test_integer_images_are_rounded_and_float_images_are_not(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.integers(-1000, 400, (6, 12, 12)).astype(np.int16)
    integer = write_case(tmp_path, "ct", values, box_labels())
    floating = write_case(tmp_path, "mr", values.astype(np.float32) + 0.25, box_labels())
    out = Resampler(spacing=0.7, cache_dir=tmp_path).fit_transform(table(integer, floating))
    _, ct = read(out["image"].iloc[0])
    _, mr = read(out["image"].iloc[1])
    np.testing.assert_array_equal(ct, np.round(ct))
    assert not np.allclose(mr, np.round(mr))
    forced = Resampler(spacing=0.7, round_intensities=True, cache_dir=tmp_path)
    _, mr_rounded = read(forced.fit_transform(table(floating))["image"].iloc[0])
    np.testing.assert_array_equal(mr_rounded, np.round(mr_rounded))


def test_none_keeps_an_axis_and_median_is_learned_on_the_training_cases(tmp_path):
    cases = [
        write_case(
            tmp_path, f"c{i}", np.ones((6, 12, 12), np.float32), box_labels(), spacing=(s, s, z)
        )  # fmt: skip
        for i, (s, z) in enumerate([(0.5, 3.0), (0.7, 4.0), (0.9, 5.0), (2.0, 9.0)])
    ]
    in_plane = Resampler(spacing=(1.0, 1.0, None), cache_dir=tmp_path)
    out = in_plane.fit_transform(table(*cases[:2]))
    assert read(out["image"].iloc[1])[0].GetSpacing() == pytest.approx((1.0, 1.0, 4.0))
    median = Resampler(spacing="median", cache_dir=tmp_path).fit(table(*cases[:3]))
    assert median.spacing_ == pytest.approx((0.7, 0.7, 4.0))  # the fourth case is not seen
    out = median.transform(table(cases[3]))
    assert read(out["image"].iloc[0])[0].GetSpacing() == pytest.approx((0.7, 0.7, 4.0))


@needs_shared
def test_resampler_on_real_mri_keeps_the_tumour_and_the_grid_centre(tmp_path):
    cases = sts_cases()
    out = Resampler(spacing=(2.0, 2.0, 2.0), cache_dir=tmp_path).fit_transform(cases)
    assert list(out.index) == PATIENTS
    for row in PATIENTS:
        before = sitk.ReadImage(cases.loc[row, "image"])
        image, values = read(out.loc[row, "image"])
        mask, labels = read(out.loc[row, "mask"])
        assert image.GetSpacing() == mask.GetSpacing() == (2.0, 2.0, 2.0)
        size, origin = centred_grid(before, (2.0, 2.0, 2.0))
        assert list(image.GetSize()) == size and image.GetOrigin() == pytest.approx(origin)
        old_volume = read(cases.loc[row, "mask"])[1].sum()
        old_volume *= np.prod(before.GetSpacing())
        assert labels.sum() * 8.0 == pytest.approx(old_volume, rel=0.1)
        original = sitk.GetArrayViewFromImage(before)
        assert original.min() <= values.min() and values.max() <= original.max()


def test_outputs_are_cached_by_content_and_parameters(tmp_path):
    case = write_case(tmp_path, "c", np.arange(6 * 12 * 12, dtype=np.float32).reshape(6, 12, 12),
                      box_labels())  # fmt: skip
    first = Resampler(spacing=0.8, cache_dir=tmp_path).fit_transform(table(case))
    stamp = Path(first["image"].iloc[0]).stat().st_mtime_ns
    again = clone(Resampler(spacing=0.8, cache_dir=tmp_path)).fit_transform(table(case))
    assert again["image"].iloc[0] == first["image"].iloc[0]
    assert Path(again["image"].iloc[0]).stat().st_mtime_ns == stamp  # reused, not rewritten
    other = Resampler(spacing=0.9, cache_dir=tmp_path).fit_transform(table(case))
    assert other["image"].iloc[0] != first["image"].iloc[0]


# -- BiasFieldCorrector ---------------------------------------------------------------------


@needs_shared
def test_n4_removes_most_of_a_smooth_bias_added_to_real_mri(tmp_path):
    source = sitk.ReadImage(str(STS / "STS_001/MR_T1/nifti/image/image.nii.gz"))
    values = sitk.GetArrayFromImage(source).astype(np.float32)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in values.shape], indexing="ij")
    field = np.exp(0.4 * x + 0.3 * y).astype(np.float32)  # up to 2x brighter on one side
    biased = sitk.GetImageFromArray(values * field)
    biased.CopyInformation(source)
    path = str(tmp_path / "biased.nii.gz")
    sitk.WriteImage(biased, path)
    case = table({"image": path, "mask": str(STS / "STS_001/MR_T1/nifti/mask/mask.nii.gz")})
    out = BiasFieldCorrector(cache_dir=tmp_path).fit_transform(case)
    _, corrected = read(out["image"].iloc[0])
    body = values > np.percentile(values, 60)

    def log_ratio_spread(image):  # how far the image is from a multiple of the original
        ratio = np.log(image[body] / values[body])
        return float(np.std(ratio))

    assert log_ratio_spread(corrected) < 0.5 * log_ratio_spread(values * field)


def test_n4_refuses_images_with_mostly_non_positive_values(tmp_path):
    rng = np.random.default_rng(0)
    ct = write_case(tmp_path, "ct", rng.normal(-500, 100, (6, 12, 12)).astype(np.float32),
                    box_labels())  # fmt: skip
    with pytest.raises(PreprocessingError, match="BiasFieldCorrector") as info:
        BiasFieldCorrector(weight="roi", cache_dir=tmp_path).fit_transform(table(ct))
    (failure,) = info.value.failures
    assert failure.row == "P0" and failure.path == ct["image"]
    assert "N4 needs positive intensities" in failure.problem
    assert not list((tmp_path / "rdinet_preprocessing").rglob("*.nii.gz"))  # nothing written


# -- IntensityNormalizer --------------------------------------------------------------------


def _mri_like(rng, scale, offset, shape=(6, 16, 16)):
    background = np.zeros(shape, np.float32)
    body = rng.gamma(4.0, 25.0, shape).astype(np.float32) + 50
    inside = np.zeros(shape, bool)
    inside[:, 2:14, 2:14] = True
    return np.where(inside, offset + scale * body, background).astype(np.float32)


def test_zscore_over_the_roi_gives_roi_mean_0_and_sd_1(tmp_path):
    rng = np.random.default_rng(1)
    case = write_case(tmp_path, "c", _mri_like(rng, 3.0, 20.0), box_labels((6, 16, 16)))
    out = IntensityNormalizer(region="roi", cache_dir=tmp_path).fit_transform(table(case))
    _, values = read(out["image"].iloc[0])
    roi = box_labels((6, 16, 16)) > 0
    assert values[roi].mean() == pytest.approx(0, abs=1e-5)
    assert values[roi].std() == pytest.approx(1, abs=1e-5)


def test_nyul_maps_a_rescaled_scan_onto_the_same_standard_scale(tmp_path):
    rng = np.random.default_rng(2)
    base = _mri_like(rng, 1.0, 0.0)
    labels = box_labels((6, 16, 16))
    train = [write_case(tmp_path, f"t{i}", _mri_like(rng, 1 + i / 3, 10.0 * i), labels)
             for i in range(4)]  # fmt: skip
    nyul = IntensityNormalizer(method="nyul", region="roi", cache_dir=tmp_path)
    nyul.fit(table(*train))
    landmarks = nyul.landmarks_.copy()
    assert landmarks[0] == 0 and landmarks[-1] == 100 and np.all(np.diff(landmarks) > 0)
    scanner_a = write_case(tmp_path, "a", base, labels)
    scanner_b = write_case(tmp_path, "b", 2.5 * base + 40 * (base > 0), labels)  # gain, offset
    out = nyul.transform(table(scanner_a, scanner_b))
    _, a = read(out["image"].iloc[0])
    _, b = read(out["image"].iloc[1])
    body = base > 0
    np.testing.assert_allclose(a[body], b[body], atol=1e-3)
    # each percentile lands on its landmark (up to the interpolation between two voxels)
    roi_percentiles = np.percentile(a[labels > 0], (1, 25, 50, 75, 99))
    np.testing.assert_allclose(roi_percentiles, landmarks, atol=0.5)
    np.testing.assert_array_equal(nyul.landmarks_, landmarks)  # transform learns nothing


def test_nyul_needs_as_many_training_images_as_learned_landmarks(tmp_path):
    labels = box_labels((6, 16, 16))
    rng = np.random.default_rng(3)
    cases = table(*[write_case(tmp_path, f"c{i}", _mri_like(rng, 1, 0), labels) for i in range(2)])
    with pytest.raises(ValueError, match="learns 3 landmarks .* got 2 training image"):
        IntensityNormalizer(method="nyul", cache_dir=tmp_path).fit(cases)
    IntensityNormalizer(method="nyul", percentiles=(1, 50, 99), cache_dir=tmp_path).fit(cases)


def test_nyul_warns_about_a_test_image_outside_the_training_range(tmp_path):
    labels = box_labels((6, 16, 16))
    rng = np.random.default_rng(4)
    train = table(*[write_case(tmp_path, f"c{i}", _mri_like(rng, 1, 0), labels) for i in range(3)])
    nyul = IntensityNormalizer(method="nyul", cache_dir=tmp_path).fit(train)
    far = write_case(tmp_path, "far", _mri_like(rng, 1, 0) + 1e5 * (labels >= 0), labels)
    with pytest.warns(PreprocessingWarning, match=r"IntensityNormalizer: row 'P0'.*far_image"):
        out = nyul.transform(table(far))
    assert np.isfinite(read(out["image"].iloc[0])[1]).all()


def test_constant_image_is_an_error_not_a_nan_image(tmp_path):
    case = write_case(tmp_path, "flat", np.full((6, 12, 12), 7, np.float32), box_labels())
    for step in (IntensityNormalizer(region="image"), IntensityNormalizer(method="nyul",
                 percentiles=(1, 50, 99))):  # fmt: skip
        with pytest.raises(PreprocessingError, match="row 'P0'.*flat_image") as info:
            step.set_params(cache_dir=tmp_path).fit_transform(table(case))
        assert "IntensityNormalizer" in str(info.value)


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing", [0, -1.0, (1.0, 0.0, 1.0), (1.0, -2.0, None), (1.0, 1.0)])
def test_zero_negative_or_malformed_spacing_is_refused(spacing, tmp_path):
    case = write_case(tmp_path, "c", np.ones((6, 12, 12), np.float32), box_labels())
    with pytest.raises(InvalidParameterError, match="'spacing' parameter of Resampler"):
        Resampler(spacing=spacing, cache_dir=tmp_path).fit(table(case))


def test_non_orthogonal_direction_is_refused_naming_the_case(tmp_path):
    sheared = (1.0, 0.3, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    case = write_case(
        tmp_path,
        "shear",
        np.ones((6, 12, 12), np.float32),
        box_labels(),
        direction=sheared,
        suffix=".mha",
    )  # NIfTI would orthogonalise it
    with pytest.raises(PreprocessingError, match="Resampler") as info:
        Resampler(cache_dir=tmp_path).fit_transform(table(case, index=["patient-9"]))
    (failure,) = info.value.failures
    assert failure.row == "patient-9" and failure.path == case["image"]
    assert "not orthogonal" in failure.problem


def test_a_mask_vanishing_after_resampling_is_refused_and_nothing_is_cached(tmp_path):
    labels = np.zeros((6, 12, 12), np.uint8)
    labels[3, 5, 5] = 1  # one 1 mm voxel
    whole = box_labels((6, 12, 12), np.s_[:, 2:10, 2:10])
    good = write_case(tmp_path, "good", np.ones((6, 12, 12), np.float32), whole)
    tiny = write_case(tmp_path, "tiny", np.ones((6, 12, 12), np.float32), labels)
    with pytest.raises(PreprocessingError) as info:
        Resampler(spacing=4.0, cache_dir=tmp_path).fit_transform(table(good, tiny))
    (failure,) = info.value.failures
    assert (failure.row, failure.column, failure.path) == ("P1", "mask", tiny["mask"])
    assert "label(s) [1] vanish after resampling" in failure.problem
    written = list((tmp_path / "rdinet_preprocessing").rglob("*"))
    assert not [p for p in written if "partial" in p.name]
    assert len([p for p in written if p.is_file()]) == 2  # the good case's image and mask


def test_resegmenter_moves_dropped_voxels_below_the_range_and_keeps_the_mask(tmp_path):
    rng = np.random.default_rng(5)
    values = rng.normal(0, 100, (6, 12, 12)).astype(np.float32)
    values[3, 5, 5] = 5000  # above the range
    case = write_case(tmp_path, "c", values, box_labels())
    out = Resegmenter(range=(-1000, 400), n_sigma=2, cache_dir=tmp_path).fit_transform(table(case))
    assert out["mask"].iloc[0] == case["mask"]
    _, moved = read(out["image"].iloc[0])
    roi = box_labels() > 0
    in_range = roi & (values >= -1000) & (values <= 400)
    mean, sd = values[in_range].mean(), values[in_range].std()
    kept = in_range & (np.abs(values - mean) <= 2 * sd)
    np.testing.assert_array_equal(moved[kept], values[kept])
    assert np.all(moved[roi & ~kept] == -1001) and (roi & ~kept).sum() > 1
    np.testing.assert_array_equal(moved[~roi], values[~roi])


# -- the acceptance -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_measurement(tmp_path_factory):
    """Every configuration A-E of the IBSI CT phantom through its pipeline (about 10 s)."""
    from rdinet_sklearn.preprocessing import ibsi_ct_compliance

    if not STS.is_dir():
        pytest.skip("../shared/data is not beside the repo")
    folder = SHARED / "ibsi-1-ct-phantom"
    return ibsi_ct_compliance(folder, cache_dir=tmp_path_factory.mktemp("ct"))


@pytest.mark.parametrize("configuration", ["B", "C", "D", "E"])
def test_every_phantom_compliant_feature_is_within_tolerance_on_the_ibsi_ct(
    configuration, ct_measurement
):
    measured = ct_measurement[ct_measurement["configuration"] == configuration]
    claimed = measured[measured["phantom_status"] == "compliant"]
    assert len(claimed) == 99
    missed = claimed.loc[~claimed["within"], ["feature", "measured", "reference", "tolerance"]]
    assert missed.empty, missed.to_string()


def test_shipped_ct_verdicts_are_those_measured_now(ct_measurement):
    from rdinet_sklearn.preprocessing._ibsi_ct import ct_verdicts
    from rdinet_sklearn.radiomics import ibsi_ct_verdicts

    fresh = ct_verdicts(ct_measurement)
    shipped = ibsi_ct_verdicts()
    assert {(r.feature_class, r.feature): (r.checked, r.within) for r in fresh.itertuples()} == (
        shipped
    ), "run python docs/generate_ibsi_page.py --measure-ct"


def test_configuration_c_bins_start_at_the_range_lower_bound(ct_measurement):
    # pyradiomics alone starts at the ROI minimum's bin, two bins above -1000 HU: 37.0.
    c = ct_measurement.set_index(["configuration", "feature_class", "feature"])
    assert c.loc[("C", "glcm", "JointAverage"), "measured"] == pytest.approx(39.0, abs=0.2)


@needs_shared
@pytest.mark.slow
def test_must_work_snippet_runs_on_the_real_sts_mri(monkeypatch):
    monkeypatch.chdir(REPO)  # the snippet's paths are relative to the repository root
    import pandas as pd
    from sklearn.pipeline import make_pipeline

    from rdinet_sklearn import RadiomicsExtractor
    from rdinet_sklearn.preprocessing import BiasFieldCorrector, IntensityNormalizer, Resampler

    root = "../shared/data/real-dicom/sts"
    patients = ["STS_001", "STS_002", "STS_003"]
    cases = pd.DataFrame(
        {
            "image": [f"{root}/{p}/MR_T1/nifti/image/image.nii.gz" for p in patients],
            "mask": [f"{root}/{p}/MR_T1/nifti/mask/mask.nii.gz" for p in patients],
        },
        index=patients,
    )
    prep = make_pipeline(
        Resampler(spacing=(1.0, 1.0, 1.0)),
        BiasFieldCorrector(),
        IntensityNormalizer(method="nyul"),
        RadiomicsExtractor(roi="mass", labels={"mass": 1}),
    )
    features = prep.fit_transform(cases)

    assert features.shape == (3, 572) and list(features.index) == patients
    assert np.isfinite(features.to_numpy()).all()
    assert features.columns[0] == "mass_original_shape_Elongation"
    nyul = prep.named_steps["intensitynormalizer"]
    assert nyul.landmarks_[0] == 0 and nyul.landmarks_[-1] == 100
    with warnings.catch_warnings():
        warnings.simplefilter("error", PreprocessingWarning)  # the training cases lie inside
        again = prep.transform(cases)
    np.testing.assert_allclose(again.to_numpy(), features.to_numpy())
