"""3D CNN classifiers on ROI volumes (skorch + MONAI)."""

from ._backbone import build_resnet, load_pretrained, resnet_feature_dim
from ._resnet import ResNet3DModule, ResNet50Classifier

__all__ = [
    "ResNet3DModule",
    "ResNet50Classifier",
    "build_resnet",
    "load_pretrained",
    "resnet_feature_dim",
]
