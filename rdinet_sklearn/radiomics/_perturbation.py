"""Image and mask perturbations for reproducibility without a second rater.

Zwanenburg et al. (Sci Rep 2019, "Assessing robustness of radiomic features by image
perturbation") showed that the features which survive small perturbations of the image and
its segmentation are those a second rater would reproduce. Each perturbation of the chain
here applies, in their order: Gaussian noise at the image's own noise level, a small in-plane
rotation and translation of image and mask together, and a one-voxel dilation or erosion of
the mask (alternately). The parameters of perturbation ``k`` are the same for every case (so
each perturbation acts like one more rater); the noise realisation is drawn per case from the
image's content digest, so results do not depend on row order and can be cached.

SimpleITK resamples (linear for the image, linear then a 0.5 threshold for the mask) and does
the morphology; the chain itself is a few lines, which no field library packages this way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import SimpleITK as sitk

from ..exceptions import RdinetInputError

MAX_ROTATION_DEGREES = 5.0
"""Rotations are drawn uniformly in +-5 degrees about the slice normal."""

MAX_TRANSLATION_VOXELS = 0.5
"""In-plane translations are drawn uniformly in +-0.5 voxel along each in-plane axis."""


class PerturbationError(RdinetInputError):
    """A perturbation cannot be applied to a case (its message says why)."""


@dataclass(frozen=True)
class Perturbation:
    """One link of the perturbation chain (see the module docstring).

    Parameters
    ----------
    index : int
        1-based number of the perturbation (the ``k`` of ``__perturbed<k>`` columns).
    rotation : float
        In-plane rotation in degrees about the ROI centroid.
    translation : tuple of float
        In-plane translation in voxels (columns, rows).
    volume : {1, -1}
        Dilate (1) or erode (-1) the mask by one voxel.
    noise_seed : int
        Seed of the noise, combined with each image's digest.
    """

    index: int
    rotation: float
    translation: tuple
    volume: int
    noise_seed: int

    def describe(self):
        """A short human-readable summary, for error messages."""
        shift = ", ".join(f"{t:+.2f}" for t in self.translation)
        change = "dilation" if self.volume > 0 else "erosion"
        return (
            f"perturbation {self.index} (noise, rotation {self.rotation:+.1f} deg, "
            f"translation ({shift}) voxel, {change} by one voxel)"
        )

    def to_json(self):
        """Canonical JSON (for cache keys)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """The perturbation :meth:`to_json` wrote."""
        fields = json.loads(text)
        return cls(**{**fields, "translation": tuple(fields["translation"])})

    def apply(self, image, roi, image_digest):
        """The perturbed ``(image, roi)``; raises :class:`PerturbationError` if impossible."""
        image = sitk.Cast(image, sitk.sitkFloat64)
        image = _add_noise(image, np.random.default_rng([self.noise_seed, int(image_digest, 16)]))
        transform = self._transform(roi)
        _check_roi_stays_inside(roi, transform)
        image = sitk.Resample(image, image, transform, sitk.sitkLinear, 0.0)
        moved = sitk.Resample(sitk.Cast(roi, sitk.sitkFloat32), roi, transform, sitk.sitkLinear)
        roi = sitk.Cast(moved >= 0.5, sitk.sitkUInt8)
        roi = _adapt_volume(roi, self.volume)
        if not sitk.GetArrayViewFromImage(roi).any():
            raise PerturbationError(
                "leaves an empty ROI (the structure is thinner than the one-voxel erosion)"
            )
        return image, roi

    def _transform(self, roi):
        direction = np.asarray(roi.GetDirection()).reshape(3, 3)
        spacing = np.asarray(roi.GetSpacing())
        transform = sitk.VersorRigid3DTransform()
        transform.SetCenter(_centroid(roi))
        normal = tuple(direction[:, 2])  # the slice normal (numpy axis 0)
        transform.SetRotation(normal, np.deg2rad(self.rotation))
        shift_voxels = np.array([*self.translation, 0.0])
        transform.SetTranslation(tuple(direction @ (shift_voxels * spacing)))
        return transform


def perturbation_chain(n_perturbations, random_state=0):
    """The first ``n_perturbations`` perturbations of the chain seeded by ``random_state``.

    Parameters
    ----------
    n_perturbations : int
        Number of perturbations.
    random_state : int, default=0
        Seed of the rotations, translations and noise.

    Returns
    -------
    chain : list of Perturbation
        Odd-numbered ones dilate the mask, even-numbered ones erode it.
    """
    rng = np.random.default_rng(random_state)
    chain = []
    for index in range(1, n_perturbations + 1):
        rotation = float(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
        translation = tuple(
            float(t) for t in rng.uniform(-MAX_TRANSLATION_VOXELS, MAX_TRANSLATION_VOXELS, 2)
        )
        volume = 1 if index % 2 else -1
        chain.append(Perturbation(index, rotation, translation, volume, int(rng.integers(2**31))))
    return chain


def _centroid(roi):
    indices = np.argwhere(sitk.GetArrayViewFromImage(roi) > 0)[:, ::-1].mean(axis=0)
    return roi.TransformContinuousIndexToPhysicalPoint(tuple(float(i) for i in indices))


def _noise_level(array):
    """Robust white-noise SD: the MAD of neighbouring differences along rows, / sqrt(2)."""
    differences = np.diff(array, axis=-1).ravel()
    mad = np.median(np.abs(differences - np.median(differences)))
    return 1.4826 * mad / np.sqrt(2.0)


def _add_noise(image, rng):
    array = sitk.GetArrayFromImage(image)
    noisy = array + rng.normal(0.0, _noise_level(array), array.shape)
    result = sitk.GetImageFromArray(noisy)
    result.CopyInformation(image)
    return result


def _check_roi_stays_inside(roi, transform):
    """Raise if the rigid motion carries ROI voxels out of the image (they would be lost)."""
    array = sitk.GetArrayViewFromImage(roi)
    indices = np.argwhere(array > 0)[:, ::-1].astype(float)  # (x, y, z) voxel indices
    direction = np.asarray(roi.GetDirection()).reshape(3, 3)
    spacing, origin = np.asarray(roi.GetSpacing()), np.asarray(roi.GetOrigin())
    points = origin + (indices * spacing) @ direction.T
    # Resample takes each output voxel p from the input at T(p) = R (p - c) + c + t, so an
    # input ROI voxel q moves to T^-1(q) = R^T (q - c - t) + c.
    rotation = np.asarray(transform.GetMatrix()).reshape(3, 3)
    center, shift = np.asarray(transform.GetCenter()), np.asarray(transform.GetTranslation())
    moved = (points - center - shift) @ rotation + center
    moved_indices = ((moved - origin) @ direction) / spacing
    size = np.asarray(roi.GetSize())
    outside = ((moved_indices < -0.5) | (moved_indices > size - 0.5)).any(axis=1)
    if outside.any():
        raise PerturbationError(
            f"moves {int(outside.sum())} of {len(indices)} ROI voxels out of the image "
            f"(the ROI reaches the image border)"
        )


def _adapt_volume(roi, volume):
    spacing = roi.GetSpacing()
    # Thick slices (more than twice the in-plane spacing): grow or shrink in-plane only.
    through_plane = 0 if spacing[2] > 2 * max(spacing[:2]) else 1
    radius = (1, 1, through_plane)
    if volume > 0:
        return sitk.BinaryDilate(roi, radius, sitk.sitkBall, 0, 1)
    return sitk.BinaryErode(roi, radius, sitk.sitkBall, 0, 1, False)
