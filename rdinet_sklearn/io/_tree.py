"""Find and swap the parts of a fitted model that skops cannot store (nets, DataFrames).

A fitted model is a tree of objects (a Pipeline's steps, a ColumnTransformer's
transformers, a search's ``best_estimator_``...). Two kinds of node need another format:
skorch nets (torch modules and optimizers: stored as JSON config + safetensors) and pandas
objects (stored as Parquet). :func:`find_nodes` collects them, and :func:`substitute` returns
a copy of the tree with each one replaced by a small placeholder that skops can store; on
load the same function puts the rebuilt objects back in place of the placeholders.

The swap uses :func:`copy.deepcopy` with a pre-filled memo (``{id(node): replacement}``):
deepcopy already handles every container type, shared references and cycles, so every
reference to a node, wherever it sits, becomes the same replacement.
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_OPAQUE = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    np.ndarray,
    np.generic,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)


@dataclass
class SavedNet:
    """Placeholder for a skorch net: its index in the manifest and its non-torch attributes.

    ``attributes`` holds the fitted attributes that skops stores well (``classes_inferred_``,
    the fitted ``cropper_``, tabular statistics...); the constructor parameters and the
    module weights live in the manifest and the safetensors file.
    """

    index: int
    attributes: dict = field(default_factory=dict)


@dataclass
class SavedFrame:
    """Placeholder for a pandas DataFrame or Series stored as ``frames/<index>.parquet``."""

    index: int
    series_name: object = None
    is_series: bool = False


def _children(node):
    if isinstance(node, dict):
        return list(node.keys()) + list(node.values())
    if isinstance(node, list | tuple | set | frozenset):
        return list(node)
    state = getattr(node, "__dict__", None)
    return list(state.values()) if isinstance(state, dict) else []


def find_nodes(tree, is_wanted, *, inside_wanted=False):
    """Objects in ``tree`` (depth first, each once) for which ``is_wanted`` is true.

    Wanted objects are searched inside only with ``inside_wanted``; numpy arrays, scalars,
    classes and functions are leaves.
    """
    found, seen, stack = [], set(), [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, _OPAQUE):
            continue
        seen.add(id(node))
        if is_wanted(node):
            found.append(node)
            if not inside_wanted:
                continue
        stack.extend(reversed(_children(node)))
    return found


def substitute(tree, replacements):
    """A deep copy of ``tree`` in which each object ``o`` with ``id(o)`` in ``replacements``
    is replaced by ``replacements[id(o)]`` (which is not copied).

    Parameters
    ----------
    tree : object
    replacements : dict of int to object
        ``{id(original): replacement}``; the originals must stay alive during the call.
    """
    return copy.deepcopy(tree, memo=dict(replacements))


def is_frame(node):
    return isinstance(node, pd.DataFrame | pd.Series)


def frame_to_table(frame):
    """A DataFrame storable as Parquet (string column names) and how to undo the change."""
    if isinstance(frame, pd.Series):
        table = frame.to_frame(name="values")
        return table, {"is_series": True, "series_name": frame.name}
    table = frame.copy()
    table.columns = [str(c) for c in frame.columns]
    if list(table.columns) != list(frame.columns):
        raise TypeError(
            "rdinet_sklearn.io.save stores DataFrames with string column names only; "
            f"got columns {list(frame.columns)[:5]}"
        )
    return table, {"is_series": False, "series_name": None}


def table_to_frame(table, placeholder):
    """Undo :func:`frame_to_table`."""
    if placeholder.is_series:
        return table["values"].rename(placeholder.series_name)
    return table
