"""Study settings: the ``paper`` and ``quick`` presets, YAML files and ``key=value`` overrides."""

from __future__ import annotations

import copy
import hashlib
import json
import os

import yaml

from ..exceptions import RdinetInputError


class ConfigError(RdinetInputError):
    """A study setting is unknown, malformed or of the wrong kind (a preset, YAML file or override).

    The command line reports it as bad input (exit code 3), with this message.

    Examples
    --------
    >>> from rdinet_sklearn.study import ConfigError, make_config
    >>> try:
    ...     make_config("quick", overrides=["deep.epochs=5"])
    ... except ConfigError as err:
    ...     print(str(err).split(";")[0])
    unknown setting 'deep.epochs'
    >>> issubclass(ConfigError, ValueError)
    True
    """


_COMMON = {
    "seed": 0,
    "test_size": 0.2,
    "cv_folds": 5,
    "labels": {"IR": 1, "SR": 2, "MR": 3, "LR": 4},
    "image_column": "image",
    "mask_column": "mask",
    "reference_mask_column": "mask_rater2",
    "id_column": "patient_id",
    "n_jobs": 2,
    "models": ["radiomics", "resnet", "rdinet", "rdinet_clinical"],
    # Operating threshold: "youden" (Youden's J) or a fixed probability, chosen on each
    # model's out-of-fold training predictions and applied unchanged to the test cohort.
    "threshold": "youden",
    # A case-table column (e.g. "center"): the CV in the training cohort (tuning,
    # out-of-fold predictions, comparison) is then leave-one-group-out over it instead of
    # stratified k-fold; None: stratified k-fold.
    "group_column": None,
}
# Model comparison in training: repeats x folds stratified CV of the best radiomics model of
# each ROI strategy, compared pairwise by the corrected resampled t-test (repeats 0: none).
# The first repeat is the study's own CV folds, so its fitted selection steps are reused.
# With deep=True the deep models join; each then trains repeats x folds more networks
# (~5 s each on 2 CPU cores at the quick preset, 100 epochs of ResNet-50 at the paper
# preset), so it is off by default.
_COMPARISON = {"folds": 5, "deep": False}

PRESETS = {
    # The study's settings: pyradiomics with filtered images, ResNet-50 at 32x128x128, 100
    # epochs, batch 16, Adam 1e-3, k=3; deep models cross-validated in training too.
    "paper": {
        **_COMMON,
        "comparison": {**_COMPARISON, "repeats": 5},
        "radiomics": {
            "params": "study",
            "roi_strategies": ["IR", "SR", "MR", "LR", "IR+SR", "MR+LR", "all"],
            "classifiers": ["svm", "logreg", "rf"],
            "icc_threshold": 0.75,
            # "auto": the second rater's masks where the case table has them, else
            # perturbations of the image and mask (see study/_reproducibility.py).
            "reproducibility": "auto",
            "perturbations": 4,
            "ttest_alpha": 0.05,
            "harmonization": None,
        },
        "deep": {
            "rois": ["MR+LR", "all"],
            "depth": 50,
            "widen_factor": 1.0,
            "volume_size": [32, 128, 128],
            "max_epochs": 100,
            "batch_size": 16,
            "lr": 1e-3,
            "k": 3,
            "d": 64,
            "cv_folds": 5,
            "device": "auto",
        },
    },
    # Sized so the whole design runs on 2 CPU cores in minutes: original-image radiomics,
    # ResNet-10 on small crops, few epochs, deep models cross-validated with 3 folds (the
    # single 30-patient test cohort alone is too noisy to compare fusion with its inputs).
    "quick": {
        **_COMMON,
        # 3 x 5 rather than 5 x 5: 10 new fits per model instead of 20 keep it to seconds.
        "comparison": {**_COMPARISON, "repeats": 3},
        "radiomics": {
            "params": "original",
            "roi_strategies": ["IR", "SR", "MR", "LR", "IR+SR", "MR+LR", "all"],
            "classifiers": ["svm", "logreg", "rf"],
            "icc_threshold": 0.75,
            # "auto": the second rater's masks where the case table has them, else
            # perturbations of the image and mask (see study/_reproducibility.py).
            "reproducibility": "auto",
            "perturbations": 4,
            "ttest_alpha": 0.05,
            "harmonization": None,
        },
        "deep": {
            "rois": ["MR+LR", "all"],
            "depth": 10,
            "widen_factor": 0.5,
            "volume_size": [8, 32, 32],
            "max_epochs": 12,
            "batch_size": 16,
            "lr": 1e-3,
            "k": 3,
            "d": 32,
            "cv_folds": 3,
            "device": "auto",
        },
    },
}


def demo_preset():
    """``paper`` where a CUDA GPU is present, ``quick`` otherwise."""
    import torch

    return "paper" if torch.cuda.is_available() else "quick"


def _merge(base, update, path=""):
    for key, value in update.items():
        where = f"{path}{key}"
        if key not in base:
            raise ConfigError(f"unknown setting {where!r}; known: {sorted(base)}")
        if isinstance(base[key], dict) and key != "labels":
            if not isinstance(value, dict):
                raise ConfigError(f"setting {where!r} must be a mapping, got {value!r}")
            _merge(base[key], value, where + ".")
        else:
            base[key] = value


def parse_override(text):
    """Turn ``"deep.max_epochs=5"`` into ``{"deep": {"max_epochs": 5}}`` (values parsed as YAML)."""
    key, equals, raw = text.partition("=")
    if not equals or not key.strip() or "" in key.strip().split("."):
        raise ConfigError(f"override {text!r} is not of the form key=value")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: the value is not valid YAML") from exc
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def make_config(preset="quick", *, config_file=None, overrides=()):
    """The settings of a study run: a preset, then a YAML file, then overrides, in that order.

    Parameters
    ----------
    preset : {"quick", "paper", "demo"}, default="quick"
        Starting values; ``"demo"`` picks ``paper`` on a CUDA machine, ``quick`` otherwise.
    config_file : str or path-like, default=None
        A YAML mapping with any subset of the preset's keys.
    overrides : iterable of dict or str
        Further updates: mappings, or ``"section.key=value"`` strings as on the command line.

    Returns
    -------
    config : dict
        The merged settings, with ``config["preset"]`` naming the preset used.

    Examples
    --------
    >>> from rdinet_sklearn.study import make_config
    >>> config = make_config("quick", overrides=["deep.max_epochs=3"])
    >>> config["deep"]["max_epochs"], config["radiomics"]["params"]
    (3, 'original')
    """
    if preset == "demo":
        preset = demo_preset()
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose from {sorted(PRESETS) + ['demo']}")
    config = copy.deepcopy(PRESETS[preset])
    if config_file is not None:
        try:
            with open(os.fspath(config_file)) as handle:
                loaded = yaml.safe_load(handle) or {}
        except (OSError, yaml.YAMLError) as exc:
            problem = exc.strerror if isinstance(exc, OSError) else "not valid YAML"
            raise ConfigError(f"{config_file}: cannot be read ({problem})") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: expected a YAML mapping of settings")
        loaded.pop("preset", None)
        _merge(config, loaded)
    for override in overrides:
        _merge(config, parse_override(override) if isinstance(override, str) else override)
    config["preset"] = preset
    return config


def parse_roi(name):
    """``"MR+LR"`` -> ``("MR", "LR")``; a single name or ``"all"`` stays a string."""
    parts = tuple(name.split("+"))
    return parts if len(parts) > 1 else parts[0]


def fingerprint(*parts):
    """A short stable hash of JSON-able settings, used to tell finished work from stale."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
