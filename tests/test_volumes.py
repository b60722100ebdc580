"""VolumeCropper geometry, caching and errors; batched augmentation."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import torch
from sklearn.base import clone

from rdinet_sklearn._imaging import CaseError
from rdinet_sklearn.volumes import (
    BatchAugmentation,
    OneSidedROIWarning,
    RandomGaussianNoise,
    RandomRotation,
    RandomScaling,
    VolumeCropper,
    clear_volume_cache,
    study_augmentations,
    volume_cache_info,
)

SHAPE = (6, 20, 40)  # (z, y, x)
SPACING = (0.5, 0.8, 3.0)  # (x, y, z) mm: anisotropic on purpose
ORIGIN = (-10.0, 5.0, 2.0)
# ROI blocks (z, y, x slices): right orbit at low x, left orbit at high x (mirror images).
LEFT_BLOCK = (slice(1, 4), slice(6, 12), slice(27, 33))
RIGHT_BLOCK = (slice(1, 4), slice(6, 12), slice(7, 13))


def _physical_grid():
    z, y, x = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return ORIGIN[0] + x * SPACING[0], ORIGIN[1] + y * SPACING[1], ORIGIN[2] + z * SPACING[2]


def _write(array, path):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    sitk.WriteImage(image, str(path))
    return str(path)


def _case(folder, name, *, image=None, blocks=(LEFT_BLOCK, RIGHT_BLOCK), label=3):
    """Write one case; the default image is a linear ramp in physical space."""
    if image is None:
        px, py, pz = _physical_grid()
        image = (2.0 * px + 3.0 * py - 1.5 * pz).astype(np.float32)
    mask = np.zeros(SHAPE, np.uint8)
    for block in blocks:
        mask[block] = label
    return {
        "image": _write(image.astype(np.float32), folder / f"{name}_image.nrrd"),
        "mask": _write(mask, folder / f"{name}_mask.nrrd"),
    }


@pytest.fixture
def cases(tmp_path):
    clear_volume_cache()
    return pd.DataFrame([_case(tmp_path, "a")], index=["P1"])


def _box_size(block):
    return tuple(s.stop - s.start for s in block)


def test_joint_crop_at_native_size_is_the_zscored_box(cases):
    box = (slice(1, 4), slice(6, 12), slice(7, 33))  # both blocks, no margin
    cropper = VolumeCropper("MR", orbits="joint", margin=0.0, volume_size=_box_size(box))
    volume = cropper.fit_transform(cases)
    assert volume.shape == (1, 1, *_box_size(box)) and volume.dtype == np.float32
    image = sitk.GetArrayFromImage(sitk.ReadImage(cases.loc["P1", "image"]))[box]
    expected = (image - image.mean()) / image.std()
    np.testing.assert_allclose(volume[0, 0], expected, atol=1e-4)
    assert abs(volume.mean()) < 1e-5 and abs(volume.std() - 1) < 1e-4


def test_margin_is_in_millimetres_in_plane_only(cases):
    # 1 mm is 2 columns (0.5 mm) and 2 rows (0.8 mm, rounded up); slices are not padded.
    box = (slice(1, 4), slice(4, 14), slice(5, 35))
    cropper = VolumeCropper("MR", orbits="joint", margin=1.0, volume_size=_box_size(box))
    volume = cropper.fit_transform(cases)[0, 0]
    image = sitk.GetArrayFromImage(sitk.ReadImage(cases.loc["P1", "image"]))[box]
    np.testing.assert_allclose(volume, (image - image.mean()) / image.std(), atol=1e-4)


def test_split_mirrors_the_right_orbit(tmp_path):
    clear_volume_cache()
    px, _, pz = _physical_grid()
    centre = ORIGIN[0] + (SHAPE[2] - 1) / 2 * SPACING[0]
    asymmetric = np.sin(px - centre) * 5 + np.abs(px - centre) + pz  # odd part flips sign
    symmetric = np.abs(px - centre) + pz
    table = pd.DataFrame(
        [_case(tmp_path, "odd", image=asymmetric), _case(tmp_path, "even", image=symmetric)],
        index=["odd", "even"],
    )
    cropper = VolumeCropper("MR", margin=0.0, volume_size=_box_size(LEFT_BLOCK)).fit(table)
    volumes = cropper.transform(table)
    assert volumes.shape == (2, 2, *_box_size(LEFT_BLOCK)) and cropper.n_channels_ == 2
    # A mirror-symmetric head gives identical channels once the right orbit is mirrored.
    np.testing.assert_allclose(volumes[1, 0], volumes[1, 1], atol=1e-4)
    # Channel 1 is the right orbit (low x index with identity direction), flipped in x.
    right = asymmetric[RIGHT_BLOCK]
    np.testing.assert_allclose(
        volumes[0, 1], ((right - right.mean()) / right.std())[..., ::-1], atol=1e-4
    )
    assert not np.allclose(volumes[0, 0], volumes[0, 1], atol=1e-2)


def test_resampling_happens_in_physical_space(cases):
    """A linear ramp in mm stays the same ramp after resampling to an anisotropic grid."""
    box = (slice(1, 4), slice(6, 12), slice(7, 33))
    size = (5, 9, 13)
    volume = VolumeCropper("MR", orbits="joint", margin=0.0, volume_size=size).fit_transform(cases)
    image = sitk.GetArrayFromImage(sitk.ReadImage(cases.loc["P1", "image"]))[box]
    # Output voxel centres, as continuous indices of the input image (z, y, x).
    centres = [
        b.start - 0.5 + (np.arange(n) + 0.5) * (b.stop - b.start) / n
        for b, n in zip(box, size, strict=True)
    ]
    cz, cy, cx = np.meshgrid(*centres, indexing="ij")
    ramp = 2.0 * (ORIGIN[0] + cx * SPACING[0]) + 3.0 * (ORIGIN[1] + cy * SPACING[1])
    ramp -= 1.5 * (ORIGIN[2] + cz * SPACING[2])
    expected = (ramp - image.mean()) / image.std()
    # linear interpolation is exact for a ramp away from the box edges (clamped there)
    inside = np.ix_(
        *[(c >= b.start) & (c <= b.stop - 1) for c, b in zip(centres, box, strict=True)]
    )
    np.testing.assert_allclose(volume[0, 0][inside], expected[inside], atol=1e-3)


def test_second_call_preprocesses_nothing(cases, tmp_path):
    cropper = VolumeCropper("MR", volume_size=(4, 8, 8)).fit(cases)
    first = cropper.transform(cases)
    computed = volume_cache_info().computed
    assert computed == 1
    np.testing.assert_array_equal(clone(cropper).fit(cases).transform(cases), first)
    assert volume_cache_info().computed == computed
    # With a disk cache, a fresh process (simulated by clearing the in-process cache) reuses it.
    disk = VolumeCropper("MR", volume_size=(4, 8, 8), memory=str(tmp_path / "cache")).fit(cases)
    clear_volume_cache()
    disk.transform(cases)  # computed once more, now written to disk
    clear_volume_cache()
    np.testing.assert_array_equal(disk.transform(cases), first)
    assert volume_cache_info().computed == 0 and volume_cache_info().misses == 1


def test_parallel_preprocessing_matches_serial(tmp_path):
    clear_volume_cache()
    table = pd.DataFrame([_case(tmp_path, f"p{i}") for i in range(3)], index=["a", "b", "c"])
    serial = VolumeCropper("MR", volume_size=(4, 8, 8)).fit_transform(table)
    clear_volume_cache()
    parallel = VolumeCropper("MR", volume_size=(4, 8, 8), n_jobs=2).fit_transform(table)
    np.testing.assert_array_equal(parallel, serial)


def test_other_parameters_are_other_cache_entries(cases):
    small = VolumeCropper("MR", volume_size=(4, 8, 8)).fit_transform(cases)
    joint = VolumeCropper("MR", volume_size=(4, 8, 8), orbits="joint").fit_transform(cases)
    assert small.shape == (1, 2, 4, 8, 8) and joint.shape == (1, 1, 4, 8, 8)
    assert volume_cache_info().computed == 2


def _error_table(tmp_path, **case_kwargs):
    clear_volume_cache()
    return pd.DataFrame([_case(tmp_path, "bad", **case_kwargs)], index=["P7"])


def test_absent_roi_names_row_and_file(tmp_path):
    table = _error_table(tmp_path)
    with pytest.raises(CaseError, match=r"P7.*bad_mask.nrrd.*ROI labels \[4\] absent"):
        VolumeCropper("LR").fit_transform(table)


def test_non_finite_intensities_name_row_and_file(tmp_path):
    image = np.ones(SHAPE, np.float32)
    image[0, 0, 0] = np.nan
    table = _error_table(tmp_path, image=image)
    with pytest.raises(CaseError, match=r"P7.*bad_image.nrrd.*NaN or infinite"):
        VolumeCropper("MR").fit_transform(table)


def test_tiny_box_is_rejected(tmp_path):
    table = _error_table(tmp_path, blocks=[(slice(2, 3), slice(5, 6), slice(10, 11))])
    with pytest.raises(CaseError, match=r"P7.*too small to resample"):
        VolumeCropper("MR", orbits="joint", margin=0.0).fit_transform(table)


def test_one_sided_roi_takes_the_mirrored_box_and_warns_by_name(tmp_path):
    # Only the left orbit's block: the right box is its mirror image, which is RIGHT_BLOCK.
    one_sided = _error_table(tmp_path, blocks=[LEFT_BLOCK])
    both = pd.DataFrame([_case(tmp_path, "both")], index=["P8"])
    cropper = VolumeCropper("MR", margin=1.0, volume_size=(3, 6, 6)).fit(one_sided)
    message = r"1 case.*row 'P7' \(.*bad_mask.nrrd\): no ROI on the patient's right.*joint"
    for _ in range(2):  # computed, then from the cache: warned both times
        with pytest.warns(OneSidedROIWarning, match=message):
            volumes = cropper.transform(one_sided)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OneSidedROIWarning)
        expected = cropper.transform(both)
    np.testing.assert_array_equal(volumes, expected)
    assert VolumeCropper("MR", orbits="joint").fit_transform(one_sided).shape[1] == 1


def test_file_vanishing_between_fit_and_transform(cases):
    cropper = VolumeCropper("MR", volume_size=(4, 8, 8)).fit(cases)
    os.remove(cases.loc["P1", "mask"])
    with pytest.raises(CaseError, match=r"'P1'.*'mask'.*a_mask.nrrd.*file not found"):
        cropper.transform(cases)


def test_bad_parameters():
    with pytest.raises(ValueError, match="volume_size"):
        VolumeCropper(volume_size=(8, 8)).fit(None)
    with pytest.raises(ValueError, match="orbits"):
        VolumeCropper(orbits="both").fit(None)
    with pytest.raises(ValueError, match="not in labels"):
        VolumeCropper("XX").fit(None)


# -- augmentation ---------------------------------------------------------------------------


def _blob(n=4):
    grid = torch.stack(
        torch.meshgrid(*(torch.linspace(-1, 1, s) for s in (8, 24, 24)), indexing="ij")
    )
    blob = (grid[1] ** 2 / 0.3 + grid[2] ** 2 / 0.1 < 1).float()  # an ellipse, elongated in y
    return blob.expand(n, 2, 8, 24, 24).clone()


def test_augmentation_is_seeded_and_keeps_shape():
    batch = _blob()
    first = BatchAugmentation(study_augmentations(), seed=3)(batch)
    again = BatchAugmentation(study_augmentations(), seed=3)(batch)
    other = BatchAugmentation(study_augmentations(), seed=4)(batch)
    assert first.shape == batch.shape
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)


def test_probability_zero_is_identity():
    batch = _blob()
    transforms = [RandomRotation(prob=0), RandomScaling(prob=0), RandomGaussianNoise(prob=0)]
    torch.testing.assert_close(BatchAugmentation(transforms, seed=0)(batch), batch)


def test_rotation_rotates_in_plane_only():
    batch = _blob(n=8)
    rotated = BatchAugmentation([RandomRotation(max_degrees=60, prob=1)], seed=0)(batch)
    # slices are rotated independently: a blob constant along z stays constant along z
    torch.testing.assert_close(rotated[:, :, 0], rotated[:, :, -1])
    # the elongated ellipse turns: its second moments change, its area roughly does not
    assert not torch.allclose(rotated, batch, atol=0.1)
    area = rotated.sum(dim=(2, 3, 4)) / batch.sum(dim=(2, 3, 4))
    assert torch.all((area > 0.85) & (area < 1.15))
    matrix = RandomRotation(prob=1).sample_matrix(5, torch.Generator().manual_seed(0), "cpu")
    torch.testing.assert_close(matrix @ matrix.transpose(1, 2), torch.eye(2).expand(5, 2, 2))


def test_scaling_zooms():
    batch = _blob(n=2)
    zoom_in = BatchAugmentation([RandomScaling((1.3, 1.3), prob=1)], seed=0)(batch)
    zoom_out = BatchAugmentation([RandomScaling((0.7, 0.7), prob=1)], seed=0)(batch)
    # in-plane zoom: the area of each slice grows or shrinks by about the factor squared
    assert zoom_in.sum() > 1.5 * batch.sum() and zoom_out.sum() < 0.6 * batch.sum()
    torch.testing.assert_close(zoom_in[:, :, 0], zoom_in[:, :, -1])


def test_noise_has_the_requested_strength():
    batch = torch.zeros(64, 1, 4, 16, 16)
    noisy = BatchAugmentation([RandomGaussianNoise(std=0.2, prob=0.5)], seed=0)(batch)
    per_sample = noisy.flatten(1).std(dim=1)
    touched = per_sample > 0
    assert 20 < int(touched.sum()) < 44
    torch.testing.assert_close(
        per_sample[touched], torch.full_like(per_sample[touched], 0.2), atol=0.02, rtol=0
    )
