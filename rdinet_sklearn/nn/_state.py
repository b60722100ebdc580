"""A fitted net as data, and back: what :mod:`rdinet_sklearn.io` and ``to_plain`` build on.

:func:`net_state` splits a skorch net into its class and constructor parameters, the
attributes ``fit`` learnt besides the weights (classes, the fitted cropper, tabular
statistics), the ``state_dict`` of each torch module and its training history;
:func:`restore_net` builds an equivalent net from them. Only public skorch names are used:
the torch parts are those skorch lists in ``cuda_dependent_attributes_``, and the state that
skorch's ``initialize()`` rebuilds is left out. :data:`TRUSTED_TYPES` is what a saved net's
parameters may name. ``io`` reads these; nothing here imports ``io``.

Optimizer state (e.g. Adam's moments) is not kept: a restored net predicts exactly like the
original, and ``partial_fit`` continues with a fresh optimizer.
"""

from __future__ import annotations

import warnings

import skorch.callbacks as cb
import skorch.dataset as ds
import torch
from skorch.exceptions import DeviceWarning
from skorch.history import History
from torch.optim import lr_scheduler as sched

from ._divergence import check_finite_weights
from ._rdinet import RDINetClassifier
from ._rdinet_module import RDINetModule
from ._resnet import ResNet3DModule, ResNet50Classifier

TRUSTED_TYPES = (
    ResNet50Classifier,
    RDINetClassifier,
    ResNet3DModule,
    RDINetModule,
    torch.nn.CrossEntropyLoss,
    torch.nn.NLLLoss,
    torch.nn.BCEWithLogitsLoss,
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.SGD,
    torch.optim.RMSprop,
    torch.optim.Adagrad,
    torch.optim.NAdam,
    torch.optim.RAdam,
    sched.StepLR,
    sched.MultiStepLR,
    sched.ExponentialLR,
    sched.CosineAnnealingLR,
    sched.CosineAnnealingWarmRestarts,
    sched.ReduceLROnPlateau,
    sched.OneCycleLR,
    torch.utils.data.DataLoader,
    ds.Dataset,
    ds.ValidSplit,
    # Callbacks that only observe or steer training; those that read or write files
    # (Checkpoint, LoadInitState, TrainEndCheckpoint) must be trusted explicitly.
    cb.EpochScoring,
    cb.BatchScoring,
    cb.PassthroughScoring,
    cb.EarlyStopping,
    cb.LRScheduler,
    cb.GradientNormClipping,
    cb.EpochTimer,
    cb.PrintLog,
    cb.ProgressBar,
    cb.Freezer,
    cb.Unfreezer,
    cb.Initializer,
)
"""Classes a saved net's parameters may name without being trusted explicitly."""

# skorch's own state, rebuilt by ``initialize()`` (the history is kept separately).
_SKORCH_STATE = frozenset(
    {
        "history_",
        "callbacks_",
        "initialized_",
        "virtual_params_",
        "init_context_",
        "prefixes_",
        "cuda_dependent_attributes_",
    }
)


def torch_parts(net):
    """``{attribute: module}`` of the net's torch modules (module, criterion, ...)."""
    parts = {}
    for name in getattr(net, "cuda_dependent_attributes_", ()):
        part = getattr(net, name, None)
        if isinstance(part, torch.nn.Module):
            parts[name] = part
    return parts


def net_state(net):
    """``(class, params, attributes, weights, history)`` of a fitted or unfitted net.

    Parameters
    ----------
    net : skorch.NeuralNet
        The net; an accelerated one is described as its plain class.

    Returns
    -------
    cls : type
        The class to rebuild.
    params : dict
        Constructor parameters.
    attributes : dict
        Fitted attributes other than the torch modules and skorch's own state.
    weights : dict of str to dict
        ``{attribute: state_dict}`` of each torch module (empty when not initialised).
    history : list or None
        The training history, as a list of epochs.

    Raises
    ------
    DivergedFitError
        If a weight or buffer of the network is not finite.
    """
    plain = getattr(net, "_plain_class_and_params", None)
    cls, params = plain() if plain else (type(net), net.get_params(deep=False))
    if not getattr(net, "initialized_", False):
        return cls, params, {}, {}, None
    check_finite_weights(net)  # a diverged model is never saved or exported
    parts = torch_parts(net)
    attributes = {
        name: value
        for name, value in vars(net).items()
        if name.endswith("_")
        and not name.startswith("_")
        and name not in _SKORCH_STATE
        and name not in parts
        and not isinstance(value, torch.nn.Module | torch.optim.Optimizer)
    }
    weights = {name: part.state_dict() for name, part in parts.items()}
    history = None if net.history_ is None else net.history_.to_list()
    return cls, params, attributes, weights, history


def restore_net(cls, params, attributes, weights, history):
    """Inverse of :func:`net_state`: a net that predicts exactly like the original.

    The torch modules are built without reading a ``pretrained`` file (the saved weights
    replace its values, and the file need not exist here); the parameter keeps its value, so
    a refit starts from the file as before. A net saved for CUDA loads on a CPU-only machine
    with a :class:`~skorch.exceptions.DeviceWarning`, as skorch's unpickling does.
    """
    params = dict(params)
    device = params.get("device")
    if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(
            f"the net was saved with device={device!r} but CUDA is not available here; "
            'loading it with device="cpu"',
            DeviceWarning,
            stacklevel=3,
        )
        params["device"] = "cpu"
    pretrained = params.get("pretrained")
    net = cls(**{**params, "pretrained": None} if pretrained is not None else params)
    if not weights and not attributes:
        return net
    for name, value in attributes.items():
        setattr(net, name, value)
    if hasattr(net, "initialize_for_inference"):
        net.initialize_for_inference()  # the optimizer is built when training resumes
    else:
        net.initialize()
    for name, part in torch_parts(net).items():
        part.load_state_dict(weights.get(name, {}), strict=True)  # {}: no tensors (a loss)
    if pretrained is not None:
        net.set_params(pretrained=pretrained)
    if history is not None:
        net.history_ = History(history)
    return net
