"""Study settings: one frozen :class:`StudyConfig`, built from a preset, a YAML file and
``key=value`` overrides and validated once, here.

The presets are data (``study/presets/<name>.yaml``). Every setting is checked before any
work starts: an unknown key (with the closest known one), a value of the wrong type or out
of range, a contradiction between settings; each message names the key. Settings that
depend on the cohort (the reproducibility filter when there is no second rater) are
resolved with the cohort (``_cohort.build_cohort``) before ``config.yaml`` is written, so
that file is exactly what ran.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ..exceptions import RdinetInputError

PRESET_NAMES = ("quick", "paper")
CLASSIFIER_NAMES = ("svm", "logreg", "rf")
REPRODUCIBILITY_MODES = ("auto", "raters", "perturbation", "auto_rater")
RESNET_DEPTHS = (10, 18, 34, 50, 101, 152, 200)
# The negative-control modes of rdinet_sklearn.explain.CONTROL_MODES, repeated here because
# settings sit below explain/ in the layers (test_study_config checks they match).
CONTROL_MODES = ("volume", "replaced", "shuffled", "elsewhere")


class ConfigError(RdinetInputError):
    """A study setting is unknown, malformed or of the wrong kind (a preset, YAML file or override).

    The command line reports it as bad input (exit code 3), with this message.

    Examples
    --------
    >>> from rdinet_sklearn.study import ConfigError, make_config
    >>> try:
    ...     make_config("quick", overrides=["deep.epochs=5"])
    ... except ConfigError as err:
    ...     print(err)
    unknown setting 'deep.epochs'; did you mean 'deep.max_epochs'?
    >>> issubclass(ConfigError, ValueError)
    True
    """


# -- value checks: each takes the dotted key and the value, returns the value to store -----


def _fail(key, expected, value):
    raise ConfigError(f"setting {key!r} must be {expected}; got {value!r}")


def _integer(minimum, *, choices=None):
    def check(key, value):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            _fail(key, f"an integer >= {minimum}", value)
        if choices is not None and value not in choices:
            _fail(key, f"one of {list(choices)}", value)
        return value

    return check


def _number(low, high=None, *, low_open=False, high_open=False):
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    expected = f"a number in {left}{low}, {'inf' if high is None else high}{right}"

    def check(key, value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(key, expected, value)
        too_low = value <= low if low_open else value < low
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high or value != value:  # value != value: NaN
            _fail(key, expected, value)
        return float(value)

    return check


def _text(key, value):
    if not isinstance(value, str) or not value:
        _fail(key, "a non-empty string", value)
    return value


def _optional_text(key, value):
    return None if value is None else _text(key, value)


def _boolean(key, value):
    if not isinstance(value, bool):
        _fail(key, "true or false", value)
    return value


def _choice(*choices):
    def check(key, value):
        if value not in choices:
            _fail(key, f"one of {list(choices)}", value)
        return value

    return check


def _sequence(item, *, min_length=0, length=None, unique=True):
    def check(key, value):
        if not isinstance(value, list | tuple) or len(value) < min_length:
            _fail(key, f"a list of at least {min_length} item(s)", value)
        if length is not None and len(value) != length:
            _fail(key, f"a list of {length} items", value)
        items = tuple(item(f"{key}[{index}]", v) for index, v in enumerate(value))
        if unique and len(set(items)) < len(items):
            _fail(key, "a list without repeats", value)
        return items

    return check


def _labels(key, value):
    if not isinstance(value, dict) or not value:
        _fail(key, "a mapping of structure name to label value, e.g. {tumor: 1}", value)
    for name, label in value.items():
        _integer(0)(f"{key}.{name}", label)
    return {str(name): label for name, label in value.items()}


def _threshold(key, value):
    if value == "youden":
        return value
    if isinstance(value, str):
        _fail(key, '"youden" or a probability in [0, 1]', value)
    return _number(0.0, 1.0)(key, value)


def _n_jobs(key, value):
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        _fail(key, "a non-zero integer (-1: every core) or null", value)
    return value


def _harmonization(key, value):
    """None, or the keyword arguments of :class:`~rdinet_sklearn.harmonization.ComBatHarmonizer`."""
    if value is None:
        return value
    if not isinstance(value, dict):
        _fail(key, "null or a mapping of ComBat settings, e.g. {batch_column: center}", value)
    known = ("batch_column", "covariates", "prior", "unseen")
    for name in value:
        if name not in known:
            _unknown(f"{key}.{name}", known)
    return dict(value)


def _spacing(key, value):
    if value == "median":
        return value
    positive = _number(0.0, low_open=True)
    if isinstance(value, list | tuple) and len(value) == 3:
        return tuple(None if v is None else positive(f"{key}[{i}]", v) for i, v in enumerate(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return positive(key, value)
    _fail(key, '"median", a spacing in mm > 0, or a list of 3 (a spacing, or null: keep)', value)


def _rounding(key, value):
    if value == "auto" or isinstance(value, bool):
        return value
    _fail(key, 'true, false or "auto"', value)


def _percentiles(key, value):
    values = _sequence(_number(0.0, 100.0), min_length=3)(key, value)
    if list(values) != sorted(values):
        _fail(key, "increasing percentiles in [0, 100], at least 3", value)
    return values


def _setting(check, doc="", *, default=None):
    return field(metadata={"check": check, "doc": doc, "default": default})


def _section(kind):
    return field(metadata={"section": kind})


def _optional_section(kind):
    """A section that may be null (off); switched on by setting any of its keys."""

    def check(key, value):
        if value is None:
            return None
        if not isinstance(value, dict):
            _fail(key, "null (off) or a mapping of settings", value)
        return _build(kind, value, f"{key}.")

    return field(metadata={"check": check, "optional_section": kind})


@dataclass(frozen=True)
class ComparisonSettings:
    """``comparison``: the repeated-CV comparison of the best radiomics model per ROI."""

    folds: int = _setting(_integer(2))
    deep: bool = _setting(_boolean)
    repeats: int = _setting(_integer(0))


@dataclass(frozen=True)
class RadiomicsSettings:
    """``radiomics``: features, ROI strategies, classifiers and feature selection."""

    params: str = _setting(_text)
    roi_strategies: tuple = _setting(_sequence(_text))
    classifiers: tuple = _setting(_sequence(_choice(*CLASSIFIER_NAMES)))
    icc_threshold: float = _setting(_number(0.0, 1.0))
    reproducibility: str = _setting(_choice(*REPRODUCIBILITY_MODES))
    perturbations: int = _setting(_integer(0))
    ttest_alpha: float = _setting(_number(0.0, 1.0, low_open=True))
    harmonization: dict | None = _setting(_harmonization)


@dataclass(frozen=True)
class DeepSettings:
    """``deep``: the 3D ResNet and RDINet networks."""

    rois: tuple = _setting(_sequence(_text))
    depth: int = _setting(_integer(1, choices=RESNET_DEPTHS))
    widen_factor: float = _setting(_number(0.0, low_open=True))
    volume_size: tuple = _setting(_sequence(_integer(1), length=3, unique=False))
    max_epochs: int = _setting(_integer(1))
    batch_size: int = _setting(_integer(1))
    lr: float = _setting(_number(0.0, low_open=True))
    k: int = _setting(_integer(1))
    d: int = _setting(_integer(1))
    cv_folds: int = _setting(_integer(2))
    device: str = _setting(_text)


@dataclass(frozen=True)
class ResampleSettings:
    """``preprocessing.resample``: :class:`~rdinet_sklearn.preprocessing.Resampler`."""

    spacing: Any = _setting(_spacing, default=(1.0, 1.0, 1.0))
    interpolation: str = _setting(_choice("linear", "cubic"), default="linear")
    round_intensities: Any = _setting(_rounding, default="auto")


@dataclass(frozen=True)
class BiasFieldSettings:
    """``preprocessing.bias_field``: N4 bias-field correction, see ``BiasFieldCorrector``."""

    weight: str = _setting(_choice("body", "roi"), default="body")
    shrink_factor: int = _setting(_integer(1), default=4)
    n_iterations: int = _setting(_integer(1), default=50)
    n_fitting_levels: int = _setting(_integer(1), default=4)


@dataclass(frozen=True)
class NormalizeSettings:
    """``preprocessing.normalize``: :class:`~rdinet_sklearn.preprocessing.IntensityNormalizer`."""

    method: str = _setting(_choice("zscore", "nyul"), default="zscore")
    region: str = _setting(_choice("image", "foreground", "roi"), default="foreground")
    percentiles: tuple = _setting(_percentiles, default=(1, 25, 50, 75, 99))


@dataclass(frozen=True)
class PreprocessingSettings:
    """``preprocessing``: image steps before every model's extractor and volume cropper.

    Each step is null (skipped) or its settings; they run in this order.
    """

    resample: ResampleSettings | None = _optional_section(ResampleSettings)
    bias_field: BiasFieldSettings | None = _optional_section(BiasFieldSettings)
    normalize: NormalizeSettings | None = _optional_section(NormalizeSettings)


@dataclass(frozen=True)
class ExplainSettings:
    """``explain``: feature contributions, uncertainty, negative controls, checklists.

    Each costs time on every study run; the quick preset keeps them within a minute of the
    demo on 2 cores (small fixed backgrounds, few perturbations, the volume control only).
    """

    contributions: bool = _setting(_boolean)
    background_rows: int = _setting(_integer(1))
    deep_background_rows: int = _setting(_integer(1))
    uncertainty: bool = _setting(_boolean)
    # 0 is accepted here and refused by the explainer, whose message the report shows
    tta_augmentations: int = _setting(_integer(0))
    bootstrap_resamples: int = _setting(_integer(0))
    negative_controls: tuple = _setting(_sequence(_choice(*CONTROL_MODES)))
    checklists: bool = _setting(_boolean)


@dataclass(frozen=True)
class SegmentationSettings:
    """``segmentation``: every model's ROIs, drawn by hand or by a ``ROISegmenter``.

    ``mode: auto`` puts a segmenter first in every candidate pipeline (before any image
    preprocessing: it segments the original image), trained in each fold on that fold's
    training cases; the other keys are its parameters, but ``noninferiority_margin``: the
    largest loss of CV AUC (automatic minus manual masks) still read as non-inferior.
    """

    mode: str = _setting(_choice("manual", "auto"), default="manual")
    max_epochs: int = _setting(_integer(1), default=40)
    grid_size: tuple = _setting(_sequence(_integer(1), length=3, unique=False))
    channels: tuple = _setting(_sequence(_integer(1), min_length=1, unique=False))
    margin: float = _setting(_number(0.0), default=5.0)
    keep_components: int = _setting(_integer(1), default=2)
    min_volume: float = _setting(_number(0.0), default=20.0)
    weights: str | None = _setting(_optional_text)
    noninferiority_margin: float = _setting(_number(0.0, 1.0), default=0.05)


@dataclass(frozen=True)
class StudyConfig:
    """The settings of one study run, validated and frozen.

    Build it with :func:`make_config`; :meth:`to_dict` gives the mapping written to
    ``config.yaml`` and ``results.json``, and :meth:`updated` a validated copy with changes.
    Every key is described in ``docs/user_guide/study.rst`` and the preset files.

    Parameters
    ----------
    seed : int
        Seed of the split, the folds and every estimator.
    test_size : float
        Fraction of the cohort held out as the test cohort, in (0, 1).
    cv_folds : int
        Stratified folds of the radiomics models' CV in training.
    labels : dict of str to int
        Structure name -> label value in the masks.
    image_column, mask_column : str
        Case-table columns of the image and mask paths.
    reference_mask_column : str or None
        The second rater's mask column (None: no second rater).
    id_column : str or None
        The patient id column.
    n_jobs : int or None
        Parallel fits of the radiomics models and extraction.
    models : tuple of str
        The model families to fit (keys of :data:`FAMILIES`, checked by :func:`run_study`
        before any work, since the factory sits above the settings).
    threshold : "youden" or float
        How each model's operating threshold is chosen.
    group_column : str or None
        Leave-one-group-out CV over this column instead of stratified k-fold.
    comparison : ComparisonSettings
        ``repeats``, ``folds`` and ``deep`` of the repeated-CV model comparison.
    radiomics : RadiomicsSettings
        Feature preset, ROI strategies, classifiers and feature selection.
    deep : DeepSettings
        ROI strategies, network size and training of the deep models.
    preprocessing : PreprocessingSettings or None
        Resampling, N4 and intensity normalisation in front of every model that reads
        images, fitted in each fold (None: the images as they are).
    explain : ExplainSettings
        Feature contributions, per-patient uncertainty, negative controls and the
        reporting checklists (``report.html``, ``methods.md``, ``tripod_ai.md``,
        ``clear.md``).
    segmentation : SegmentationSettings
        ``mode`` manual (the case table's masks) or auto (an in-fold ``ROISegmenter``).
    preset : str
        The preset the settings started from.

    Examples
    --------
    >>> from rdinet_sklearn.study import make_config
    >>> config = make_config("quick", overrides=["deep.max_epochs=3"])
    >>> config.deep.max_epochs, config.radiomics.params, config.preset
    (3, 'original', 'quick')
    >>> config.updated({"seed": 7}).seed
    7
    """

    seed: int = _setting(_integer(0))
    test_size: float = _setting(_number(0.0, 1.0, low_open=True, high_open=True))
    cv_folds: int = _setting(_integer(2))
    labels: dict = _setting(_labels)
    image_column: str = _setting(_text)
    mask_column: str = _setting(_text)
    reference_mask_column: str | None = _setting(_optional_text)
    id_column: str | None = _setting(_optional_text)
    n_jobs: int | None = _setting(_n_jobs)
    models: tuple = _setting(_sequence(_text, min_length=1))
    threshold: Any = _setting(_threshold)
    group_column: str | None = _setting(_optional_text)
    comparison: ComparisonSettings = _section(ComparisonSettings)
    radiomics: RadiomicsSettings = _section(RadiomicsSettings)
    deep: DeepSettings = _section(DeepSettings)
    preprocessing: PreprocessingSettings | None = _optional_section(PreprocessingSettings)
    explain: ExplainSettings = _section(ExplainSettings)
    segmentation: SegmentationSettings = _section(SegmentationSettings)
    preset: str = _setting(_choice(*PRESET_NAMES))

    def to_dict(self):
        """The settings as plain YAML/JSON data (lists, mappings, scalars)."""
        return _plain(dataclasses.asdict(self))

    def updated(self, changes):
        """A validated copy with ``changes`` (a nested mapping) applied."""
        merged = self.to_dict()
        _merge(merged, changes)
        return _build(StudyConfig, merged)

    @property
    def deep_models(self):
        """The deep model families asked for."""
        return tuple(m for m in self.models if m != "radiomics")

    @property
    def feature_rois(self):
        """The ROI strategies whose radiomics features some model reads, sorted."""
        rois = set(self.radiomics.roi_strategies if "radiomics" in self.models else ())
        if {"rdinet", "rdinet_clinical"} & set(self.models):
            rois |= set(self.deep.rois)
        return sorted(rois)

    @property
    def uses_features(self):
        """Whether any model reads radiomics features (and so the reproducibility filter)."""
        return bool(self.feature_rois)


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _unknown(key, known):
    prefix, _, name = key.rpartition(".")
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {'.'.join(filter(None, [prefix, close[0]]))!r}?" if close else ""
    raise ConfigError(f"unknown setting {key!r}{hint or f'; known: {sorted(known)}'}")


def _build(kind, values, path=""):
    """A ``kind`` instance from the mapping ``values``: every key known, present and valid."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    for key in values:
        if key not in fields:
            _unknown(f"{path}{key}", fields)
    built = {}
    for name, spec in fields.items():
        key = f"{path}{name}"
        if name not in values and "optional_section" in spec.metadata:
            built[name] = None  # absent: off
            continue
        if name not in values:
            raise ConfigError(f"setting {key!r} is missing")
        if "section" in spec.metadata:
            if not isinstance(values[name], dict):
                _fail(key, "a mapping of settings", values[name])
            built[name] = _build(spec.metadata["section"], values[name], f"{key}.")
        else:
            built[name] = spec.metadata["check"](key, values[name])
    config = kind(**built)
    if kind is StudyConfig:
        _check_consistent(config)
    return config


def _roi_structures(roi):
    return [] if roi == "all" else roi.split("+")


def _check_consistent(config):
    """Contradictions between settings, each named by its keys."""
    radiomics, deep = config.radiomics, config.deep
    if "radiomics" in config.models:
        for key in ("roi_strategies", "classifiers"):
            if not getattr(radiomics, key):
                raise ConfigError(
                    f"setting 'radiomics.{key}' is empty, but 'models' includes radiomics"
                )
    if config.deep_models and not deep.rois:
        raise ConfigError(
            f"setting 'deep.rois' is empty, but 'models' includes {list(config.deep_models)}"
        )
    if radiomics.reproducibility == "perturbation" and radiomics.perturbations < 1:
        raise ConfigError(
            "setting 'radiomics.perturbations' is 0, but 'radiomics.reproducibility' is "
            "perturbation: set perturbations >= 1"
        )
    if radiomics.reproducibility == "auto_rater" and config.segmentation.mode == "auto":
        raise ConfigError(
            "setting 'radiomics.reproducibility' is auto_rater (automatic masks as the second "
            "rater of the manual ones), but 'segmentation.mode' is auto: the models already "
            "read automatic masks; set radiomics.reproducibility=perturbation"
        )
    rois = {"radiomics.roi_strategies": radiomics.roi_strategies, "deep.rois": deep.rois}
    for key, strategies in rois.items():
        for roi in strategies:
            unknown = [s for s in _roi_structures(roi) if s not in config.labels]
            if unknown:
                raise ConfigError(
                    f"setting {key!r}: {roi!r} names {unknown}, which 'labels' lacks "
                    f"({sorted(config.labels)}); join structures with '+', or use 'all'"
                )
    if config.deep_models and deep.device.startswith("cuda"):
        import torch  # only here: the check needs it, the rest of the config does not

        if not torch.cuda.is_available():
            raise ConfigError(
                f"setting 'deep.device' is {deep.device!r}, but this machine has no CUDA "
                "device; use auto or cpu"
            )


def _optional_sections(kind=StudyConfig, path=""):
    """``{dotted key: settings class}`` of every section that may be null."""
    found = {}
    for spec in dataclasses.fields(kind):
        inner = spec.metadata.get("optional_section") or spec.metadata.get("section")
        if inner is not None:
            if "optional_section" in spec.metadata:
                found[path + spec.name] = inner
            found.update(_optional_sections(inner, f"{path}{spec.name}."))
    return found


def section_defaults(kind):
    """The settings an optional section starts from when one of its keys is set."""
    return {spec.name: spec.metadata.get("default") for spec in dataclasses.fields(kind)}


def _merge(base, update, path=""):
    """Apply ``update`` onto ``base`` in place; a key ``base`` lacks is an error.

    An optional section that is null starts from its defaults when a key of it is set
    (``preprocessing.normalize.method=nyul`` switches normalisation on), and null
    switches it off.
    """
    if not isinstance(update, dict):
        raise ConfigError(f"settings{f' of {path[:-1]!r}' if path else ''} must be a mapping")
    for key, value in update.items():
        where = f"{path}{key}"
        if key not in base and where in _optional_sections():
            base[key] = None  # a file written before the section existed
        if key not in base:
            _unknown(where, base)
        optional = _optional_sections().get(where)
        if optional is not None and value is None:
            base[key] = None
            continue
        if optional is not None and base[key] is None and isinstance(value, dict):
            base[key] = section_defaults(optional)
        if isinstance(base[key], dict) and key not in ("labels", "harmonization"):
            if not isinstance(value, dict):
                _fail(where, "a mapping of settings", value)
            _merge(base[key], value, where + ".")
        elif isinstance(value, dict) and key not in ("labels", "harmonization"):
            raise ConfigError(f"setting {where!r} is not a section; it takes a single value")
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


def preset_settings(name):
    """The settings of preset ``name`` as a fresh mapping (from ``presets/<name>.yaml``)."""
    if name not in PRESET_NAMES:
        raise ConfigError(f"unknown preset {name!r}; choose from {[*PRESET_NAMES, 'demo']}")
    text = resources.files(__package__).joinpath("presets", f"{name}.yaml").read_text()
    return yaml.safe_load(text)


def demo_preset():
    """``paper`` where a CUDA GPU is present, ``quick`` otherwise."""
    import torch

    return "paper" if torch.cuda.is_available() else "quick"


def _read_yaml(config_file):
    try:
        with open(os.fspath(config_file)) as handle:
            loaded = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) else "not valid YAML"
        raise ConfigError(f"{config_file}: cannot be read ({problem})") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{config_file}: expected a YAML mapping of settings")
    loaded.pop("preset", None)
    return loaded


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
    config : StudyConfig
        The merged settings, validated; ``config.preset`` names the preset used.

    Raises
    ------
    ConfigError
        Naming the first key that is unknown (with the closest known one), of the wrong
        type, out of range, or in contradiction with another.

    Examples
    --------
    >>> from rdinet_sklearn.study import ConfigError, make_config
    >>> config = make_config("quick", overrides=["deep.max_epochs=3"])
    >>> config.deep.max_epochs, config.radiomics.params
    (3, 'original')
    >>> try:
    ...     make_config("quick", overrides=["test_size=1.5"])
    ... except ConfigError as err:
    ...     print(err)
    setting 'test_size' must be a number in (0.0, 1.0); got 1.5
    """
    name = demo_preset() if preset == "demo" else preset
    settings = preset_settings(name)
    if config_file is not None:
        _merge(settings, _read_yaml(config_file))
    for override in overrides:
        _merge(settings, parse_override(override) if isinstance(override, str) else override)
    return _build(StudyConfig, {**settings, "preset": name})


def parse_roi(name):
    """``"MR+LR"`` -> ``("MR", "LR")``; a single name or ``"all"`` stays a string."""
    parts = tuple(name.split("+"))
    return parts if len(parts) > 1 else parts[0]


def fingerprint(*parts):
    """A short stable hash of JSON-able settings, used to tell finished work from stale."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
