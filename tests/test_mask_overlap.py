"""metrics.mask_overlap: Dice and HD95 of one structure, on a real label map."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from rdinet_sklearn.metrics import mask_overlap

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BRAIN = SHARED / "pyradiomics-testcases" / "brain1_label.nrrd"

pytestmark = pytest.mark.skipif(not BRAIN.is_file(), reason="shared/data not beside the repo")


def _shifted(path, out, voxels):
    """``path``'s label map moved ``voxels`` along x, on the same grid."""
    labels = sitk.ReadImage(str(path))
    array = np.roll(sitk.GetArrayFromImage(labels), voxels, axis=2)
    moved = sitk.GetImageFromArray(array)
    moved.CopyInformation(labels)
    sitk.WriteImage(moved, str(out))
    return out, labels.GetSpacing()[0]


def test_a_map_agrees_with_itself():
    assert mask_overlap(BRAIN, BRAIN, 1) == (1.0, 0.0)


def test_a_one_voxel_shift_lowers_dice_and_costs_at_most_one_voxel(tmp_path):
    moved, spacing_x = _shifted(BRAIN, tmp_path / "moved.nrrd", 1)
    dice, hd95 = mask_overlap(moved, BRAIN, 1)
    manual = sitk.GetArrayFromImage(sitk.ReadImage(str(BRAIN))) == 1
    shifted = np.roll(manual, 1, axis=2)
    assert dice == pytest.approx(2 * np.sum(manual & shifted) / (2 * manual.sum()))
    assert 0.5 < dice < 1.0
    assert 0.0 < hd95 <= spacing_x + 1e-6


def test_an_absent_structure_scores_dice_0_and_no_distance():
    dice, hd95 = mask_overlap(BRAIN, BRAIN, 99)
    assert dice == 0.0 and np.isnan(hd95)
