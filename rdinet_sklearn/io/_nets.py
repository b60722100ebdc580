"""skorch nets without pickle: constructor parameters as JSON, weights as safetensors.

A fitted net is split into

* its constructor parameters, encoded as JSON; classes and functions (``module``,
  ``optimizer``, ``criterion``, callbacks...) are written as dotted names and, on load,
  resolved **only** from an allow-list (:data:`DEFAULT_TRUSTED` plus what the caller
  trusts), so a tampered file cannot make the loader import or call anything else;
* the ``state_dict`` of every torch module and criterion, stored with safetensors (tensors
  only, no code);
* its other fitted attributes (``classes_inferred_``, the fitted ``cropper_``, tabular
  statistics), left to skops by the caller;
* its training history (JSON, for reference).

The net is rebuilt with its class's constructor, the fitted attributes set, ``initialize()``
and ``load_state_dict``. Optimizer state (e.g. Adam's moments) is not stored: a loaded net
predicts exactly like the saved one, and ``partial_fit`` continues with a fresh optimizer.
"""

from __future__ import annotations

import importlib
import os
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from skorch.exceptions import DeviceWarning
from skorch.history import History

_TORCH_ATTRIBUTES = ("_modules", "_criteria", "_optimizers")
_REBUILT_ATTRIBUTES = {
    "history_",
    "callbacks_",
    "initialized_",
    "virtual_params_",
    "init_context_",
    "prefixes_",
    "cuda_dependent_attributes_",
    "_params_to_validate",
    "_augmenter_",
    "_grad_scaler_",
}


def _default_trusted_objects():
    import skorch.callbacks as cb
    import skorch.dataset as ds
    from torch.optim import lr_scheduler as sched

    from ..nn import ResNet3DModule, ResNet50Classifier

    objects = [
        ResNet50Classifier,
        ResNet3DModule,
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
    ]
    for module_name, names in (
        ("rdinet_sklearn.nn._rdinet", ["RDINetClassifier"]),
        ("rdinet_sklearn.nn._rdinet_module", ["RDINetModule"]),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # the fusion network is optional in older trees
            continue
        objects += [getattr(module, name) for name in names if hasattr(module, name)]
    return objects


def dotted_name(obj):
    """``module.qualname`` of a class or function, as written in the manifest."""
    return f"{obj.__module__}.{obj.__qualname__}"


def trusted_objects(extra=()):
    """``{dotted name: object}`` of the default allow-list plus ``extra``.

    ``extra`` holds classes/functions, or dotted names (imported here: the caller vouches
    for them).
    """
    table = {dotted_name(obj): obj for obj in _default_trusted_objects()}
    for item in extra:
        if isinstance(item, str):
            module_name, _, attribute = item.rpartition(".")
            try:
                table[item] = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError, ValueError):
                continue  # a skops-only type name (not a class the net loader builds)
        else:
            table[dotted_name(item)] = item
    return table


# -- parameters <-> JSON ----------------------------------------------------------------------


def encode(value, trusted, where):
    """JSON-able form of a constructor parameter; raises TypeError if it cannot be stored."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, trusted, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, trusted, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, trusted, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        name = dotted_name(value)
        if name not in trusted:
            raise TypeError(f"{where} = {name} is not on the allow-list; pass trusted=[{name}]")
        return {"__type__": name}
    if hasattr(value, "get_params") and dotted_name(type(value)) in trusted:
        params = value.get_params(deep=False) if _takes_deep(value) else value.get_params()
        return {"__object__": dotted_name(type(value)), "params": encode(params, trusted, where)}
    raise TypeError(
        f"{where} = {value!r} ({type(value).__name__}) cannot be stored without pickle; use "
        "JSON-like values, allow-listed classes, or save with joblib instead"
    )


def _takes_deep(obj):
    try:
        obj.get_params(deep=False)
    except TypeError:
        return False
    return True


def decode(value, trusted, where):
    """Inverse of :func:`encode`; names resolve only through ``trusted``."""
    if isinstance(value, list):
        return [decode(v, trusted, where) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(decode(v, trusted, where) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: decode(v, trusted, f"{where}[{k!r}]") for k, v in value["__dict__"].items()}
    name = value.get("__type__", value.get("__object__"))
    if not isinstance(name, str) or name not in trusted:
        raise UntrustedError(f"{where} names {name!r}, which is not on the allow-list")
    if "__type__" in value:
        return trusted[name]
    return trusted[name](**decode(value.get("params", {}), trusted, where))


class UntrustedError(ValueError):
    """A saved model names a type or function that the loader was not told to trust.

    The base class of :class:`~rdinet_sklearn.io.UntrustedModelError`, which
    :func:`~rdinet_sklearn.io.load` raises; catch this class to handle every refusal.

    Examples
    --------
    >>> import math, os, shutil, tempfile
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from rdinet_sklearn import io
    >>> folder = tempfile.mkdtemp()
    >>> path = io.save(FunctionTransformer(math.sqrt), os.path.join(folder, "sqrt.model"))
    >>> try:
    ...     io.load(path)
    ... except io.UntrustedError as err:
    ...     print(type(err).__name__, "math.sqrt" in str(err))
    UntrustedModelError True
    >>> issubclass(io.UntrustedError, ValueError)
    True
    >>> shutil.rmtree(folder)
    """


# -- nets ------------------------------------------------------------------------------------


def is_net(node):
    from skorch import NeuralNet

    return isinstance(node, NeuralNet)


def _torch_parts(net):
    names = [name for attr in _TORCH_ATTRIBUTES for name in getattr(net, attr, [])]
    return {name + "_" for name in names}


def split_net(net, trusted):
    """``(config, tensors, attributes)`` of a fitted (or unfitted) net."""
    # An accelerated net is saved as its plain class (hook ``_saved_as``): the weights are
    # the same, and an Accelerator is a property of the machine, not of the model.
    saved_as = getattr(net, "_saved_as", None)
    cls, params = saved_as() if saved_as else (type(net), net.get_params(deep=False))
    name = dotted_name(cls)
    if name not in trusted:
        raise TypeError(f"net class {name} is not on the allow-list; pass trusted=[{name}]")
    config = {
        "class": name,
        "params": {k: encode(v, trusted, f"{cls.__name__}.{k}") for k, v in params.items()},
        "initialized": bool(getattr(net, "initialized_", False)),
        "history": _history_json(getattr(net, "history_", None)),
    }
    tensors, attributes = {}, {}
    if config["initialized"]:
        for attr in sorted(_torch_parts(net)):
            part = getattr(net, attr)
            if isinstance(part, torch.nn.Module):
                for key, tensor in part.state_dict().items():
                    # clone: safetensors refuses tensors that share memory (tied weights)
                    tensors[f"{attr}.{key}"] = tensor.detach().to("cpu").contiguous().clone()
        skip = _torch_parts(net) | _REBUILT_ATTRIBUTES | set(params)
        attributes = {
            k: v
            for k, v in vars(net).items()
            if k.endswith("_") and k not in skip and not isinstance(v, torch.nn.Module)
        }
    return config, tensors, attributes


def _history_json(history):
    if history is None:
        return None

    def plain(value):
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, np.generic | torch.Tensor):
            return value.item() if value.size == 1 or np.ndim(value) == 0 else value.tolist()
        return value if isinstance(value, bool | int | float | str | type(None)) else repr(value)

    return plain(history.to_list())


@contextmanager
def _without_pretrained_file(net):
    """Build the module without reading ``pretrained`` (the saved weights replace it anyway,
    and the file need not exist where the model is loaded)."""
    if getattr(net, "pretrained", None) is None:
        yield
        return
    pretrained = net.pretrained
    net.pretrained = None
    try:
        yield
    finally:
        net.pretrained = pretrained


def rebuild_net(config, tensors, attributes, trusted):
    """Inverse of :func:`split_net`: a net that predicts exactly like the saved one."""
    from skorch import NeuralNet

    cls = trusted.get(config.get("class"))
    if not (isinstance(cls, type) and issubclass(cls, NeuralNet)):
        raise UntrustedError(f"net class {config.get('class')!r} is not on the allow-list")
    params = {k: decode(v, trusted, f"{cls.__name__}.{k}") for k, v in config["params"].items()}
    device = params.get("device")
    if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
        # as skorch does when unpickling: weights are stored on the CPU, so nothing is lost
        warnings.warn(
            f"the net was saved with device={device!r} but CUDA is not available here; "
            'loading it with device="cpu"',
            DeviceWarning,
            stacklevel=4,
        )
        params["device"] = "cpu"
    net = cls(**params)
    if not config.get("initialized"):
        return net
    vars(net).update(attributes)
    with _without_pretrained_file(net):
        net.initialize()
    for attr in sorted(_torch_parts(net)):
        part = getattr(net, attr)
        if not isinstance(part, torch.nn.Module):
            continue
        prefix = f"{attr}."
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        part.load_state_dict(state, strict=True)
    if config.get("history") is not None:
        net.history_ = History(config["history"])
    return net
