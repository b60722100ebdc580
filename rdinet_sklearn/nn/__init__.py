"""3D CNN classifiers on ROI volumes (skorch + MONAI)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._accelerate": [
            "AcceleratedRDINetClassifier",
            "AcceleratedResNet50Classifier",
            "VolumeNetAccelerateMixin",
        ],
        "._base": ["VolumeNetClassifier"],
        "._backbone": ["build_resnet", "load_pretrained", "resnet_feature_dim"],
        "._divergence": ["DivergedFitError", "DivergenceGuardMixin", "check_finite_weights"],
        "._rdinet": ["RDINetClassifier"],
        "._rdinet_module": ["RDINetModule"],
        "._resnet": ["ResNet3DModule", "ResNet50Classifier"],
    },
)
