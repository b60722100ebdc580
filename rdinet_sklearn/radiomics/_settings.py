"""pyradiomics settings: named presets, YAML files and dicts, made canonical for cache keys.

A settings document has pyradiomics' own structure (``imageType``, ``featureClass``,
``setting``), so any pyradiomics parameter file works unchanged. Two settings are forced
because the extractor hands pyradiomics a binary ROI mask and drops diagnostics: ``label: 1``
and ``additionalInfo: false``.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import logging
import os
import threading
from collections.abc import Mapping
from importlib import resources

import yaml
from radiomics import featureextractor

PRESETS = ("study", "original", "baseline", "ibsi")
"""Names of the settings shipped as ``rdinet_sklearn/radiomics/<name>.yaml``."""

DEFAULT_GEOMETRY_TOLERANCE = 1e-3
"""Image/mask grid tolerance (mm and direction cosines) unless ``geometryTolerance`` is set."""

_SECTIONS = ("imageType", "featureClass", "setting", "voxelSetting")


def _read_yaml(path):
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, Mapping):
        raise ValueError(f"pyradiomics settings file {path} does not hold a mapping")
    return document


def _preset(name):
    with resources.as_file(resources.files(__package__) / f"{name}.yaml") as path:
        return _read_yaml(path)


def _document(params):
    if isinstance(params, Mapping):
        return copy.deepcopy(dict(params))
    if isinstance(params, str) and params in PRESETS:
        return _preset(params)
    if isinstance(params, str | os.PathLike) and os.path.isfile(params):
        return _read_yaml(params)
    close = difflib.get_close_matches(str(params), PRESETS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"params={params!r} is neither a preset {list(PRESETS)}{hint}, an existing YAML file "
        "nor a pyradiomics settings dict"
    )


def load_settings(params):
    """Read pyradiomics settings from a preset name, a YAML path or a dict, and check them.

    Parameters
    ----------
    params : {"study", "original", "baseline", "ibsi"}, str, path-like or dict
        A preset, the path of a pyradiomics YAML parameter file, or a dict of the same
        structure (``imageType``, ``featureClass``, ``setting``).

    Returns
    -------
    settings : dict
        The settings with every section present, ``None`` feature lists as ``[]``, and
        ``setting.label = 1``, ``setting.additionalInfo = False``.

    Raises
    ------
    ValueError
        For an unknown preset or missing file, or settings pyradiomics' schema rejects.

    Examples
    --------
    >>> from rdinet_sklearn.radiomics import load_settings
    >>> settings = load_settings("original")
    >>> sorted(settings["featureClass"])
    ['firstorder', 'glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm', 'shape']
    >>> settings["setting"]["binWidth"], settings["setting"]["force2D"]
    (5, True)
    """
    document = _document(params)
    unknown = sorted(set(document) - set(_SECTIONS))
    if unknown:
        raise ValueError(f"unknown pyradiomics settings sections {unknown}; expected {_SECTIONS}")
    settings = {
        "imageType": dict(document.get("imageType") or {"Original": {}}),
        "featureClass": {k: list(v or []) for k, v in (document.get("featureClass") or {}).items()},
        "setting": dict(document.get("setting") or {}),
    }
    if document.get("voxelSetting"):
        settings["voxelSetting"] = dict(document["voxelSetting"])
    settings["imageType"] = {k: dict(v or {}) for k, v in settings["imageType"].items()}
    settings["setting"].update(label=1, additionalInfo=False)
    build_pyradiomics_extractor(settings)  # validates against pyradiomics' schema
    return settings


def settings_key(settings) -> str:
    """Canonical JSON of ``settings`` (for cache keys; ``json.loads`` gives them back).

    Option mappings are sorted, since their order means nothing; the order of image types
    and feature classes is kept, since pyradiomics returns features in that order.
    """

    def sort(mapping):
        return {key: mapping[key] for key in sorted(mapping)}

    canonical = {
        "imageType": {name: sort(args) for name, args in settings["imageType"].items()},
        "featureClass": dict(settings["featureClass"]),
    }
    canonical.update({k: sort(settings[k]) for k in ("setting", "voxelSetting") if k in settings})
    return json.dumps(canonical, separators=(",", ":"), default=str)


def geometry_tolerance(settings) -> float:
    """The image/mask grid tolerance: pyradiomics' ``geometryTolerance`` or 1e-3."""
    value = settings["setting"].get("geometryTolerance")
    return DEFAULT_GEOMETRY_TOLERANCE if value is None else float(value)


_SCHEMA_LOCK = threading.Lock()
"""pyradiomics validates settings with pykwalify, whose one module-level ruamel ``YAML``
instance is not thread-safe: concurrent builds (threads of a nested joblib call) corrupt
each other's schema parsing ("'NoneType' object has no attribute 'anchor'")."""


def build_pyradiomics_extractor(settings):
    """A pyradiomics ``RadiomicsFeatureExtractor`` for ``settings``, validated by its schema.

    Thread-safe: builds are serialised (see ``_SCHEMA_LOCK``).
    """
    with _SCHEMA_LOCK, quiet_pyradiomics():
        try:
            return featureextractor.RadiomicsFeatureExtractor(copy.deepcopy(settings))
        except Exception as exc:  # pykwalify raises its own SchemaError; report them all alike
            message = getattr(exc, "msg", None) or str(exc)
            raise ValueError(f"pyradiomics rejects these settings: {message}") from exc


_QUIET = {"depth": 0, "levels": []}
_QUIET_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_pyradiomics():
    """Raise the ``radiomics`` and ``pykwalify`` loggers to ERROR for the duration.

    pyradiomics logs every extraction step at INFO and warns about e.g. ``binCount``; we
    silence its own loggers only (never the root logger) and restore their levels after.
    Logger levels are process-wide, so the blocks of concurrent threads are counted: the
    first to enter saves the levels, the last to leave restores them (each thread saving
    and restoring its own let one thread's exit unsilence the others').
    """
    loggers = [logging.getLogger(name) for name in ("radiomics", "pykwalify")]
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            _QUIET["levels"] = [logger.level for logger in loggers]
            for logger in loggers:
                logger.setLevel(logging.ERROR)
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0:
                for logger, level in zip(loggers, _QUIET["levels"], strict=True):
                    logger.setLevel(level)
