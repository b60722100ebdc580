"""Typed results: each fitted model, and a study's (or an external evaluation's) outcome.

Every output (tables, figures, ``results.json``, the HTML report, the command line's
lines) is rendered from these objects; ``rdinet evaluate`` builds the same ones for an
external cohort from the hand-over folders.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

TRAINING = "training (out-of-fold)"
"""The cohort name of the out-of-fold training predictions."""
TEST = "test"
"""The cohort name of the study's test cohort."""


@dataclass(frozen=True)
class FittedModel:
    """One model of a study, fitted, with its predictions in each cohort.

    Parameters
    ----------
    name : str
        Display name, e.g. ``"RDINet MR+LR"``.
    family : str
        Its model family (:class:`~rdinet_sklearn.study._candidates.Family` for the
        built-in ones).
    roi : str
        The ROI strategy, e.g. ``"MR+LR"`` or ``"all"``.
    classifier : str
        The classifier's short name.
    estimator : estimator or None
        The refitted estimator (None for a model known from its predictions only).
    threshold : float
        The operating threshold chosen on the out-of-fold training predictions (NaN when
        it could not be chosen).
    probabilities : dict of str to ndarray
        Positive-class probabilities keyed by cohort (:data:`TRAINING`, :data:`TEST`, or an
        external cohort's name).
    best_params : dict
        The tuned parameters.
    cv : dict or None
        ``{"test_<metric>": one score per fold}`` in the training cohort.
    folds : ndarray or None
        The CV fold that scored each training row.
    fit_seconds : float
        Tuning and refitting time.
    model_file : str or None
        Where the refitted estimator is stored (``stages/``).

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.study import FittedModel
    >>> model = FittedModel("A", "radiomics", "all", "svm", None, 0.4,
    ...                     probabilities={"test": np.array([0.2, 0.7])},
    ...                     cv={"test_roc_auc": [0.7, 0.8]})
    >>> model.cv_auc, model.proba("test").tolist()
    (0.75, [0.2, 0.7])
    >>> model.replace(probabilities={"external": np.array([0.5])}).probabilities.keys()
    dict_keys(['test', 'external'])
    """

    name: str
    family: str
    roi: str
    classifier: str
    estimator: object
    threshold: float
    probabilities: dict = field(default_factory=dict)
    best_params: dict = field(default_factory=dict)
    cv: dict | None = None
    folds: np.ndarray | None = None
    fit_seconds: float = float("nan")
    model_file: str | None = None

    @classmethod
    def from_stage(cls, candidate, stage):
        """The model of ``candidate`` from its stage record (:func:`~._fit.fit_and_predict`)."""
        return cls(
            name=candidate.name,
            family=str(candidate.family),
            roi=candidate.roi,
            classifier=candidate.classifier,
            estimator=stage["estimator"],
            threshold=stage["threshold"],
            probabilities={TRAINING: stage["proba_oof"], TEST: stage["proba_test"]},
            best_params=stage["best_params"],
            cv=stage["cv"],
            folds=stage["fold"],
            fit_seconds=stage["fit_seconds"],
        )

    @property
    def info(self):
        """What the model is, as written to results and model cards."""
        return {"family": self.family, "roi": self.roi, "classifier": self.classifier}

    @property
    def is_radiomics(self):
        return self.family == "radiomics"

    @property
    def cv_auc(self):
        """Mean CV AUC in training (NaN without CV scores)."""
        scores = (self.cv or {}).get("test_roc_auc")
        return float(np.mean(scores)) if scores else float("nan")

    def proba(self, cohort):
        """Positive-class probabilities in ``cohort``."""
        return self.probabilities[cohort]

    def replace(self, **changes):
        """A copy with ``changes``; ``probabilities`` entries are added, not replaced."""
        if "probabilities" in changes:
            changes["probabilities"] = {**self.probabilities, **changes["probabilities"]}
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class StudyResult:
    """The fitted models of a study (or an evaluation) and the cohorts they were scored on.

    Parameters
    ----------
    models : dict of str to FittedModel
        In fitting order.
    outcomes : dict of str to ndarray
        Each cohort's 0/1 outcome, in the row order of the models' probabilities.
    ids : dict of str to list of str
        Each cohort's patient ids, in that order.
    config : dict
        The settings that ran (as in ``config.yaml``).
    comparison : DataFrame or None
        The repeated-CV comparison table.
    extra : dict
        Further ``results.json`` entries (feature reproducibility, CV design).
    missing_values : DataFrame or None
        Missing clinical values per column (rows) and cohort (columns), imputed in each
        fold; None where no cohort was built (an evaluation).

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.study import StudyResult
    >>> result = StudyResult(models={}, outcomes={"test": np.array([0, 1])},
    ...                      ids={"test": ["P1", "P2"]}, config={"seed": 0})
    >>> result.y("test").tolist()
    [0, 1]
    """

    models: dict
    outcomes: dict
    ids: dict
    config: dict
    comparison: object = None
    extra: dict = field(default_factory=dict)
    missing_values: object = None

    def y(self, cohort):
        return self.outcomes[cohort]
