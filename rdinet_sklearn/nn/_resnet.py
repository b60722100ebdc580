"""ResNet50Classifier: the study's 3D ResNet-50 on ROI volumes, as a scikit-learn classifier."""

from __future__ import annotations

from torch import nn

from ._backbone import build_resnet, load_pretrained, resnet_feature_dim
from ._base import VolumeNetClassifier
from ._params import FITTED_ATTRIBUTES, NET_PARAMETERS, TRAINING_PARAMETERS


class ResNet3DModule(nn.Module):
    """3D ResNet backbone + linear head with two logits.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input volume (2 for split orbits).
    depth : {10, 18, 34, 50, 101, 152, 200}, default=50
        ResNet depth.
    pretrained : str or path-like, default=None
        Local state-dict file for the backbone (e.g. MedicalNet); loaded with strict=False.
    n_classes : int, default=2
        Number of logits.
    conv1_stride : int, default=2
        Stride of the first convolution (see :func:`build_resnet`).
    widen_factor : float, default=1.0
        Width multiplier of every layer (see :func:`build_resnet`).

    Attributes
    ----------
    feature_dim : int
        Width of :meth:`features` (512 for depths 10-34, 2048 from 50).
    pretrained_report : dict or None
        Missing / unexpected / mismatched keys from loading ``pretrained``.

    See Also
    --------
    ResNet50Classifier : Trains this module on case tables.

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn import ResNet3DModule
    >>> module = ResNet3DModule(in_channels=2, depth=10, widen_factor=0.125)
    >>> module.feature_dim, module.pretrained_report
    (64, None)
    >>> volumes = torch.zeros(3, 2, 4, 16, 16)  # (n, channels, D, H, W)
    >>> with torch.no_grad():
    ...     print(module(volumes).shape, module.features(volumes).shape)
    torch.Size([3, 2]) torch.Size([3, 64])
    """

    def __init__(
        self,
        in_channels=1,
        depth=50,
        pretrained=None,
        n_classes=2,
        conv1_stride=2,
        widen_factor=1.0,
    ):
        super().__init__()
        self.backbone = build_resnet(
            depth, in_channels=in_channels, conv1_stride=conv1_stride, widen_factor=widen_factor
        )
        self.feature_dim = resnet_feature_dim(depth, widen_factor)
        self.pretrained_report = (
            None if pretrained is None else load_pretrained(self.backbone, pretrained)
        )
        self.head = nn.Linear(self.feature_dim, n_classes)

    def features(self, volume):
        """Globally pooled backbone features, shape (n, feature_dim)."""
        return self.backbone(volume)

    def forward(self, volume):
        return self.head(self.features(volume))


class ResNet50Classifier(VolumeNetClassifier):
    __doc__ = f"""3D ResNet (50 layers by default) on cropped ROI volumes, trained with skorch.

    ``fit`` takes the case table: each case's ROI is cropped, z-scored and resampled by
    :class:`~rdinet_sklearn.volumes.VolumeCropper` (cached, once per case), and a MONAI 3D
    ResNet with a two-logit head is trained with cross-entropy, Adam and online augmentation
    (rotation, scaling, Gaussian noise), as in the study.

    Parameters
    ----------
{NET_PARAMETERS}\
    module : type, default=ResNet3DModule
        Torch module class; built with ``in_channels``, ``depth``, ``pretrained`` and any
        ``module__<name>`` parameter (which take precedence).
{TRAINING_PARAMETERS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}\
    module_ : ResNet3DModule
        The trained network.

    See Also
    --------
    rdinet_sklearn.volumes.VolumeCropper : The preprocessing alone.
    RDINetClassifier : The same network fused with tabular features.

    Notes
    -----
    The training loss is the cross-entropy of the two logits :math:`z`,
    :math:`-\\log \\mathrm{{softmax}}(z)_y`, and ``predict_proba`` returns
    :math:`\\mathrm{{softmax}}(z)`. Reference: He et al. (2016), *Deep residual learning for
    image recognition*; Chen et al. (2019), *Med3D: Transfer learning for 3D medical image
    analysis* (the MedicalNet weights). ``transform`` returns the pooled backbone features
    (2048 for ResNet-50, 512 for ResNet-10/18/34).

    Examples
    --------
    >>> from rdinet_sklearn.nn import ResNet50Classifier
    >>> cnn = ResNet50Classifier(roi=("MR", "LR"), depth=10, volume_size=(8, 24, 24),
    ...                          max_epochs=1, random_state=0)
    >>> cnn.get_params()["depth"], cnn.device
    (10, 'auto')
    """

    def __init__(self, *args, module=ResNet3DModule, **kwargs):
        super().__init__(*args, module=module, **kwargs)
