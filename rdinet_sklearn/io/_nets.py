"""skorch nets without pickle: constructor parameters as JSON, weights as safetensors.

A fitted net is split by :func:`rdinet_sklearn.nn._state.net_state` into

* its constructor parameters, encoded as JSON; classes and functions (``module``,
  ``optimizer``, ``criterion``, callbacks...) are written as dotted names and, on load,
  resolved **only** from an allow-list (the networks' ``TRUSTED_TYPES`` plus what the
  caller trusts), so a tampered file cannot make the loader import or call anything else;
* the ``state_dict`` of every torch module and criterion, stored with safetensors (tensors
  only, no code);
* its other fitted attributes (``classes_inferred_``, the fitted ``cropper_``, tabular
  statistics), left to skops by the caller;
* its training history (JSON, for reference).

The net is rebuilt by :func:`rdinet_sklearn.nn._state.restore_net`. This module depends on
:mod:`rdinet_sklearn.nn`, never the other way round.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import torch

from ..exceptions import RdinetInputError
from ..nn._state import TRUSTED_TYPES, net_state, restore_net


def dotted_name(obj):
    """``module.qualname`` of a class or function, as written in the manifest."""
    return f"{obj.__module__}.{obj.__qualname__}"


def trusted_objects(extra=()):
    """``{dotted name: object}`` of the default allow-list plus ``extra``.

    ``extra`` holds classes/functions, or dotted names (imported here: the caller vouches
    for them).
    """
    table = {dotted_name(obj): obj for obj in TRUSTED_TYPES}
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


class UntrustedError(RdinetInputError):
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


def split_net(net, trusted):
    """``(config, tensors, attributes)`` of a fitted (or unfitted) net.

    An accelerated net is saved as its plain class (the weights are the same, and an
    Accelerator is a property of the machine, not of the model).
    """
    cls, params, attributes, weights, history = net_state(net)
    name = dotted_name(cls)
    if name not in trusted:
        raise TypeError(f"net class {name} is not on the allow-list; pass trusted=[{name}]")
    config = {
        "class": name,
        "params": {k: encode(v, trusted, f"{cls.__name__}.{k}") for k, v in params.items()},
        "initialized": bool(weights),
        "history": _plain_json(history),
    }
    tensors = {
        # clone: safetensors refuses tensors that share memory (tied weights)
        f"{part}.{key}": tensor.detach().to("cpu").contiguous().clone()
        for part, state in weights.items()
        for key, tensor in state.items()
    }
    return config, tensors, attributes


def _plain_json(value):
    """The history's values as JSON types (tensors and numpy scalars become numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v) for v in value]
    if isinstance(value, np.generic | torch.Tensor):
        return value.item() if value.size == 1 or np.ndim(value) == 0 else value.tolist()
    return value if isinstance(value, bool | int | float | str | type(None)) else repr(value)


def rebuild_net(config, tensors, attributes, trusted):
    """Inverse of :func:`split_net`: a net that predicts exactly like the saved one."""
    from skorch import NeuralNet

    cls = trusted.get(config.get("class"))
    if not (isinstance(cls, type) and issubclass(cls, NeuralNet)):
        raise UntrustedError(f"net class {config.get('class')!r} is not on the allow-list")
    params = {k: decode(v, trusted, f"{cls.__name__}.{k}") for k, v in config["params"].items()}
    weights = {}
    for key, tensor in tensors.items():
        part, _, name = key.partition(".")
        weights.setdefault(part, {})[name] = tensor
    if not config.get("initialized"):
        weights, attributes = {}, {}
    return restore_net(cls, params, attributes, weights, config.get("history"))
