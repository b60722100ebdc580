"""The factory: settings in, the study's named candidate estimators out.

Each model family is one entry of :data:`FAMILIES`: a function ``(config, cohort, roi,
features) -> [Candidate, ...]`` listing that family's candidates for one ROI strategy.
Adding a family (or a pipeline step to one) is one entry here and nothing else; see
``docs/developer/adding_a_model_family.rst``. Nothing below this module sees the settings
mapping: the fit, the hand-over and the reports work on the candidates' estimators.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from ._config import ConfigError
from ._models import radiomics_model, rdinet_model, resnet_model


class Family(str, enum.Enum):
    """The built-in model families; the value is the name used in settings, cards and JSON.

    A family added through :data:`FAMILIES` may be a plain string instead.
    """

    RADIOMICS = "radiomics"
    RESNET = "resnet"
    RDINET = "rdinet"
    RDINET_CLINICAL = "rdinet_clinical"

    def __str__(self):
        return self.value


@dataclass(frozen=True)
class FamilyEntry:
    """One model family of the study (see ``docs/developer/adding_a_model_family.rst``).

    Parameters
    ----------
    rois : str
        The setting listing the ROI strategies it runs over (``"radiomics.roi_strategies"``
        or ``"deep.rois"``).
    candidates : callable
        ``(config, cohort, roi, cache, feature_columns) -> list of Candidate``: the
        family's unfitted candidates for one ROI strategy.
    image_branch : bool
        Whether its models see the images (Grad-CAM applies).

    Examples
    --------
    >>> from rdinet_sklearn.study import FAMILIES
    >>> FAMILIES["resnet"].rois, FAMILIES["resnet"].image_branch
    ('deep.rois', True)
    """

    rois: str
    candidates: Callable
    image_branch: bool


@dataclass(frozen=True)
class Candidate:
    """One model the study fits: its display name, what it is, the unfitted estimator.

    Parameters
    ----------
    name : str
        Display name, unique in the study (it names the model's folder and stage files).
    family : str
        The family's name (its key in :data:`FAMILIES`).
    roi : str
        The ROI strategy, e.g. ``"MR+LR"``.
    classifier : str
        A short label of the classifier.
    estimator : estimator
        Unfitted; takes the case table (any radiomics extraction is its first step).
    grid : dict, default={}
        The parameter grid tuned by cross-validation (empty: no tuning).

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from rdinet_sklearn.study import Candidate
    >>> Candidate("Prior all", "prior", "all", "prior", DummyClassifier()).info
    {'family': 'prior', 'roi': 'all', 'classifier': 'prior'}
    """

    name: str
    family: str
    roi: str
    classifier: str
    estimator: object
    grid: dict = field(default_factory=dict)

    @property
    def info(self):
        """What the model is, as written to results and model cards."""
        return {"family": str(self.family), "roi": self.roi, "classifier": self.classifier}


def _radiomics(config, cohort, roi, cache, feature_columns):
    candidates = []
    for classifier in config.radiomics.classifiers:
        estimator, grid = radiomics_model(
            classifier,
            config,
            roi=roi,
            cache=cache,
            batch_columns=cohort.batch_columns,
            memory=f"{cache}/pipelines",
        )
        name = f"Radiomics {roi} {classifier.upper()}"
        candidates.append(Candidate(name, Family.RADIOMICS, roi, classifier, estimator, grid))
    return candidates


def _resnet(config, cohort, roi, cache, feature_columns):
    estimator = resnet_model(config, roi, memory=cache)
    return [Candidate(f"ResNet {roi}", Family.RESNET, roi, "ResNet", estimator)]


def _rdinet(family, label, *, clinical):
    def candidates(config, cohort, roi, cache, feature_columns):
        tabular = cohort.clinical if clinical else None
        estimator = rdinet_model(config, roi, feature_columns, clinical=tabular, memory=cache)
        return [Candidate(f"{label} {roi}", family, roi, label, estimator)]

    return candidates


FAMILIES = {
    Family.RADIOMICS: FamilyEntry("radiomics.roi_strategies", _radiomics, image_branch=False),
    Family.RESNET: FamilyEntry("deep.rois", _resnet, image_branch=True),
    Family.RDINET: FamilyEntry(
        "deep.rois", _rdinet(Family.RDINET, "RDINet", clinical=False), image_branch=True
    ),
    Family.RDINET_CLINICAL: FamilyEntry(
        "deep.rois",
        _rdinet(Family.RDINET_CLINICAL, "RDINet+clinical", clinical=True),
        image_branch=True,
    ),
}
"""Every model family the study knows, in report order; ``models`` in the settings names them."""


def check_families(config):
    """Refuse a ``models`` entry that no factory entry defines, naming the setting."""
    unknown = [name for name in config.models if name not in FAMILIES]
    if unknown:
        known = [str(family) for family in FAMILIES]
        raise ConfigError(
            f"setting 'models' names {unknown}, which is not a model family; known: {known}"
        )


def _setting(config, dotted):
    section, name = dotted.split(".")
    return getattr(getattr(config, section), name)


def build_candidates(config, cohort, cache, feature_columns):
    """Every candidate the settings ask for, in report order, names unique.

    Families sharing a ROI setting run ROI by ROI (``ResNet MR+LR``, ``RDINet MR+LR``, ...
    then the next ROI), in :data:`FAMILIES` order within each ROI.

    Parameters
    ----------
    config : StudyConfig
    cohort : Cohort
    cache : str
        The study's cache folder (feature, volume and pipeline caches).
    feature_columns : dict of str to Index
        Each ROI strategy's radiomics feature names.
    """
    wanted = [FAMILIES[family] for family in FAMILIES if family in config.models]
    candidates = []
    for setting in dict.fromkeys(entry.rois for entry in wanted):
        for roi in _setting(config, setting):
            for entry in wanted:
                if entry.rois == setting:
                    columns = feature_columns.get(roi)
                    candidates += entry.candidates(config, cohort, roi, cache, columns)
    return candidates
