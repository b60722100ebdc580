"""3D ResNet feature extractor (MONAI) with optional local pretrained weights.

We use :class:`monai.networks.nets.ResNet` with ``feed_forward=False``, so the network ends
at global average pooling and returns one feature vector per volume. Weights are only ever
read from a local file (for example a MedicalNet checkpoint downloaded beforehand); nothing is
fetched from the internet.
"""

from __future__ import annotations

import os
import warnings

import torch
from monai.networks.nets.resnet import (
    ResNet,
    ResNetBlock,
    ResNetBottleneck,
    get_inplanes,
    get_medicalnet_pretrained_resnet_args,
)

RESNET_LAYERS = {
    10: (ResNetBlock, [1, 1, 1, 1]),
    18: (ResNetBlock, [2, 2, 2, 2]),
    34: (ResNetBlock, [3, 4, 6, 3]),
    50: (ResNetBottleneck, [3, 4, 6, 3]),
    101: (ResNetBottleneck, [3, 4, 23, 3]),
    152: (ResNetBottleneck, [3, 8, 36, 3]),
    200: (ResNetBottleneck, [3, 24, 36, 3]),
}
"""Block type and blocks per stage of each supported depth (as in MONAI and MedicalNet)."""


def resnet_feature_dim(depth, widen_factor=1.0):
    """Width of the pooled features: 512 for depths 10/18/34, 2048 from 50 up (at width 1).

    Parameters
    ----------
    depth : {10, 18, 34, 50, 101, 152, 200}
        ResNet depth.
    widen_factor : float, default=1.0
        Width multiplier of the network (see :func:`build_resnet`).

    Returns
    -------
    feature_dim : int
        Length of the feature vector that :func:`build_resnet`'s network returns per volume.

    Examples
    --------
    >>> from rdinet_sklearn.nn import resnet_feature_dim
    >>> resnet_feature_dim(10), resnet_feature_dim(50), resnet_feature_dim(10, 0.125)
    (512, 2048, 64)
    """
    block, _ = RESNET_LAYERS[depth]
    return int(get_inplanes()[-1] * widen_factor) * block.expansion


def build_resnet(depth=50, *, in_channels=1, conv1_stride=2, widen_factor=1.0):
    """A MONAI 3D ResNet returning pooled features, shaped like MedicalNet's.

    Parameters
    ----------
    depth : {10, 18, 34, 50, 101, 152, 200}, default=50
        Number of layers.
    in_channels : int, default=1
        Channels of the input volume.
    conv1_stride : int, default=2
        Stride of the first 7x7x7 convolution. 2 as in MedicalNet and the 2D ResNets (MONAI's
        default is 1, which quadruples the cost of every later layer at 128x128 in-plane).
    widen_factor : float, default=1.0
        Multiplies every layer's width; below 1 gives small, fast networks (tests, quick CPU
        runs) that pretrained weights no longer fit.

    Returns
    -------
    net : monai.networks.nets.ResNet
        ``net(x)`` maps (n, in_channels, D, H, W) to (n, feature_dim).

    See Also
    --------
    resnet_feature_dim : The width of the features.
    load_pretrained : Load local weights into the network.

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn import build_resnet
    >>> net = build_resnet(10, in_channels=2, widen_factor=0.125)  # small and fast
    >>> with torch.no_grad():
    ...     features = net(torch.zeros(3, 2, 4, 16, 16))
    >>> features.shape
    torch.Size([3, 64])
    """
    if depth not in RESNET_LAYERS:
        raise ValueError(f"depth must be one of {sorted(RESNET_LAYERS)}, got {depth!r}")
    block, layers = RESNET_LAYERS[depth]
    # MedicalNet's checkpoints use these shortcut settings; matching them lets them load.
    bias_downsample, shortcut_type = get_medicalnet_pretrained_resnet_args(depth)
    return ResNet(
        block,
        layers,
        get_inplanes(),
        spatial_dims=3,
        n_input_channels=in_channels,
        conv1_t_size=7,
        conv1_t_stride=conv1_stride,
        widen_factor=widen_factor,
        shortcut_type=shortcut_type,
        bias_downsample=bias_downsample,
        feed_forward=False,
    )


def _read_state_dict(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"pretrained weights {path} not found (nothing is downloaded)")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds no state dict (got {type(checkpoint).__name__})")
    # checkpoints saved from nn.DataParallel prefix every key with "module."
    return {key.removeprefix("module."): value for key, value in state.items()}


def load_pretrained(net, path):
    """Load a local state dict into ``net`` (strict=False) and report what did not match.

    A first convolution trained on one channel is repeated over ``net``'s input channels
    (divided by their number, so a channel-replicated input gives the same activations).
    Tensors whose shape still differs are skipped and reported.

    Parameters
    ----------
    net : torch.nn.Module
        The network from :func:`build_resnet`.
    path : str or path-like
        A ``.pt``/``.pth`` file holding a state dict (or ``{"state_dict": ...}``).

    Returns
    -------
    report : dict
        ``{"missing": [...], "unexpected": [...], "mismatched": [...]}`` key names; a warning
        is also emitted when any list is non-empty.

    Examples
    --------
    Weights of a one-channel network, loaded into a two-channel one:

    >>> import os, shutil, tempfile, torch
    >>> from rdinet_sklearn.nn import build_resnet, load_pretrained
    >>> source = build_resnet(10, in_channels=1, widen_factor=0.125)
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "resnet10.pt")
    >>> torch.save(source.state_dict(), path)
    >>> net = build_resnet(10, in_channels=2, widen_factor=0.125)
    >>> load_pretrained(net, path)
    {'missing': [], 'unexpected': [], 'mismatched': []}
    >>> torch.allclose(net.conv1.weight, source.conv1.weight.repeat(1, 2, 1, 1, 1) / 2)
    True
    >>> shutil.rmtree(folder)
    """
    state = _read_state_dict(os.fspath(path))
    own = net.state_dict()
    conv1 = state.get("conv1.weight")
    if conv1 is not None and conv1.shape[1] == 1 and own["conv1.weight"].shape[1] > 1:
        channels = own["conv1.weight"].shape[1]
        state["conv1.weight"] = conv1.repeat(1, channels, 1, 1, 1) / channels
    mismatched = sorted(
        key for key, value in state.items() if key in own and own[key].shape != value.shape
    )
    result = net.load_state_dict(
        {k: v for k, v in state.items() if k not in mismatched}, strict=False
    )
    report = {
        "missing": sorted(set(result.missing_keys) - set(mismatched)),
        "unexpected": sorted(result.unexpected_keys),
        "mismatched": mismatched,
    }
    if any(report.values()):
        summary = ", ".join(f"{len(v)} {k}" for k, v in report.items() if v)
        warnings.warn(
            f"pretrained weights {path}: {summary} key(s) ({report})", UserWarning, stacklevel=2
        )
    return report
