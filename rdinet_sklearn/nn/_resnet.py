"""ResNet50Classifier: the study's 3D ResNet-50 on ROI volumes, as a scikit-learn classifier."""

from __future__ import annotations

import os
from numbers import Integral

import torch
from sklearn.utils._param_validation import Options
from torch import nn

from ._backbone import RESNET_LAYERS, build_resnet, load_pretrained, resnet_feature_dim
from ._base import _VolumeNetClassifier


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


class ResNet50Classifier(_VolumeNetClassifier):
    """3D ResNet (50 layers by default) on cropped ROI volumes, trained with skorch.

    ``fit`` takes the case table: each case's ROI is cropped, z-scored and resampled by
    :class:`~rdinet_sklearn.volumes.VolumeCropper` (cached, once per case), and a MONAI 3D
    ResNet with a two-logit head is trained with cross-entropy, Adam and online augmentation
    (rotation, scaling, Gaussian noise), as in the study.

    Parameters
    ----------
    roi : str or tuple of str, default="all"
        Structures whose union is the ROI, e.g. ``("MR", "LR")``.
    module : type, default=ResNet3DModule
        Torch module class; built with ``in_channels``, ``depth``, ``pretrained`` and any
        ``module__<name>`` parameter (which take precedence).
    depth : {10, 18, 34, 50, 101, 152, 200}, default=50
        ResNet depth; 10 is a quick CPU-sized variant.
    pretrained : str or path-like, default=None
        Local backbone state dict (e.g. MedicalNet's); never downloaded.
    labels : dict, default=None
        Structure names to label values (``None``: IR=1, SR=2, MR=3, LR=4).
    volume_size : tuple of 3 int, default=(32, 128, 128)
        Network input size (slices, rows, columns).
    margin : float, default=5.0
        In-plane margin around the ROI box, in millimetres.
    orbits : {"split", "joint"}, default="split"
        Two channels (one per orbit, right mirrored) or one box around the whole ROI.
    image_column, mask_column : str, default="image", "mask"
        Case-table columns of the image and label-map paths.
    memory : None, str or joblib.Memory, default=None
        Disk cache of the preprocessed volumes.
    n_jobs : int, default=None
        Cases preprocessed in parallel.
    augmentation : "study", "none", None or list, default="study"
        Online augmentation of training batches; see :mod:`rdinet_sklearn.volumes`.
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
        Mixed precision on CUDA; the CPU always trains in fp32.
    random_state : int, RandomState or None, default=None
        Makes CPU fits repeatable (initialisation, batch order, augmentation).
    criterion, optimizer : default=CrossEntropyLoss, Adam
        Loss and optimizer classes (``optimizer__weight_decay=...`` etc. reach them).
    lr : float, default=1e-3
    max_epochs : int, default=100
    batch_size : int, default=16
    train_split : callable or None, default=None
        skorch's internal validation split; ``None`` trains on everything.
    device : "auto" or a torch device, default="auto"
        ``"auto"``: CUDA when available.
    verbose : int, default=0
        skorch's per-epoch log when > 0.
    **kwargs
        Any other skorch parameter: ``callbacks``, ``iterator_train__num_workers``,
        ``module__conv1_stride``, ``warm_start``, ...

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Labels as given in ``y``.
    cropper_ : VolumeCropper
        The fitted cropper.
    module_ : ResNet3DModule
        The trained network.
    history_ : skorch.History
        Per-epoch losses and timings.

    See Also
    --------
    rdinet_sklearn.volumes.VolumeCropper : The preprocessing alone.

    Notes
    -----
    The training loss is the cross-entropy of the two logits :math:`z`,
    :math:`-\\log \\mathrm{softmax}(z)_y`, and ``predict_proba`` returns
    :math:`\\mathrm{softmax}(z)`. Reference: He et al. (2016), *Deep residual learning for
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

    _parameter_constraints: dict = {
        **_VolumeNetClassifier._parameter_constraints,
        "depth": [Options(Integral, set(RESNET_LAYERS))],
        "pretrained": [None, str, os.PathLike],
    }

    def __init__(
        self,
        roi="all",
        *,
        module=ResNet3DModule,
        depth=50,
        pretrained=None,
        labels=None,
        volume_size=(32, 128, 128),
        margin=5.0,
        orbits="split",
        image_column="image",
        mask_column="mask",
        memory=None,
        n_jobs=None,
        augmentation="study",
        precision="auto",
        random_state=None,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=100,
        batch_size=16,
        train_split=None,
        device="auto",
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            roi=roi,
            labels=labels,
            volume_size=volume_size,
            margin=margin,
            orbits=orbits,
            image_column=image_column,
            mask_column=mask_column,
            memory=memory,
            n_jobs=n_jobs,
            augmentation=augmentation,
            precision=precision,
            random_state=random_state,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.depth = depth
        self.pretrained = pretrained

    def _module_kwargs(self):
        return {**super()._module_kwargs(), "depth": self.depth, "pretrained": self.pretrained}
