"""Checks for the ``{name: (y_true, proba)}`` mappings the curve plots take."""

from collections.abc import Mapping

from ..metrics import check_binary_proba


def check_curves(curves, *, pos_label=None):
    """Validate ``{name: (y_true, proba)}``; return ``[(name, y_bin, proba), ...]``."""
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty {name: (y_true, proba)} dict.")
    checked = []
    for name, entry in curves.items():
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise ValueError(f"curves[{name!r}] must be a (y_true, proba) pair.")
        try:
            y_bin, proba = check_binary_proba(*entry, pos_label=pos_label)
        except ValueError as exc:
            raise ValueError(f"curves[{name!r}]: {exc}") from exc
        checked.append((str(name), y_bin, proba))
    return checked
