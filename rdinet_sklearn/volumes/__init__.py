"""Fixed-size ROI volumes for 3D CNNs and their online augmentation."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._augment": [
            "BatchAugmentation",
            "RandomGaussianNoise",
            "RandomRotation",
            "RandomScaling",
            "resolve_augmentations",
            "study_augmentations",
        ],
        "._crop": [
            "OneSidedROIWarning",
            "VolumeCropper",
            "clear_volume_cache",
            "volume_cache_info",
        ],
    },
)
