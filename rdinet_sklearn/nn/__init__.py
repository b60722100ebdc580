"""3D CNN classifiers on ROI volumes (skorch + MONAI)."""

from ._accelerate import (
    AcceleratedRDINetClassifier,
    AcceleratedResNet50Classifier,
    VolumeNetAccelerateMixin,
)
from ._backbone import build_resnet, load_pretrained, resnet_feature_dim
from ._rdinet import RDINetClassifier
from ._rdinet_module import RDINetModule
from ._resnet import ResNet3DModule, ResNet50Classifier

__all__ = [
    "AcceleratedRDINetClassifier",
    "AcceleratedResNet50Classifier",
    "VolumeNetAccelerateMixin",
    "RDINetClassifier",
    "RDINetModule",
    "ResNet3DModule",
    "ResNet50Classifier",
    "build_resnet",
    "load_pretrained",
    "resnet_feature_dim",
]
