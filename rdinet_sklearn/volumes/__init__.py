"""Fixed-size ROI volumes for 3D CNNs and their online augmentation."""

from ._augment import (
    BatchAugmentation,
    RandomGaussianNoise,
    RandomRotation,
    RandomScaling,
    resolve_augmentations,
    study_augmentations,
)
from ._crop import VolumeCropper, clear_volume_cache, volume_cache_info

__all__ = [
    "BatchAugmentation",
    "RandomGaussianNoise",
    "RandomRotation",
    "RandomScaling",
    "VolumeCropper",
    "clear_volume_cache",
    "resolve_augmentations",
    "study_augmentations",
    "volume_cache_info",
]
