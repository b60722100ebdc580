"""Per-patient uncertainty: test-time augmentation for the CNNs, bootstrap refits otherwise.

A single probability hides how fragile it is. For the deep models we predict each patient
on ``n_augmentations`` randomly augmented copies of their volume (the training
augmentations: in-plane rotation, scaling, noise), in the spirit of MONAI's
``TestTimeAugmentation``, but batched with the same torch transforms the network was
trained with, so the copies are exactly the perturbations it learnt to ignore. For
radiomics models the perturbation is of the training set: the pipeline is refitted on
bootstrap resamples and each patient is predicted by every refit.

Either way each patient gets a mean probability and a spread (standard deviation), and the
flag rule of :func:`uncertain_flag`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone

from ..volumes._augment import BatchAugmentation, resolve_augmentations, study_augmentations
from ._contributions import ExplanationError, model_label, positive_column
from ._gradcam import network_and_cases

UNCERTAIN_Z = 1.96
"""Half-width of the band, in spreads, that must not contain the threshold (see uncertain_flag)."""


def uncertain_flag(proba_mean, spread, *, threshold=0.5, z=UNCERTAIN_Z):
    """Whether the decision threshold lies within ``z`` spreads of the mean probability.

    A patient is *uncertain* when ``|proba_mean - threshold| < z * spread``: a perturbation
    as plausible as those sampled (an augmented scan, a resampled training set) could put
    them on the other side of the threshold, so the predicted class is not to be trusted.

    Parameters
    ----------
    proba_mean, spread : array-like of shape (n_patients,)
        Mean and standard deviation of the perturbed predictions.
    threshold : float, default=0.5
        Decision threshold of the model.
    z : float, default=1.96
        Band half-width in spreads (1.96: a 95 % normal band).

    Returns
    -------
    flag : ndarray of bool

    Examples
    --------
    >>> from rdinet_sklearn.explain import uncertain_flag
    >>> uncertain_flag([0.9, 0.55, 0.2], [0.05, 0.1, 0.2]).tolist()
    [False, True, True]
    """
    proba_mean, spread = np.asarray(proba_mean, float), np.asarray(spread, float)
    return np.abs(proba_mean - threshold) < z * spread


def _summary(predictions, index, threshold, proba):
    mean, spread = predictions.mean(axis=0), predictions.std(axis=0, ddof=1)
    return pd.DataFrame(
        {
            "proba": proba,
            "proba_mean": mean,
            "proba_spread": spread,
            "uncertain": uncertain_flag(mean, spread, threshold=threshold),
        },
        index=index,
    )


def _check_count(count, name, label):
    if not isinstance(count, int | np.integer) or count < 2:
        raise ExplanationError(
            f"{label}: {name} must be an integer of at least 2 (a spread needs two "
            f"predictions), got {count!r}"
        )


def tta_predict_proba(
    model,
    X,
    *,
    n_augmentations=10,
    augmentation=None,
    threshold=0.5,
    random_state=0,
    model_name=None,
):
    """Test-time augmentation: each patient's mean probability, spread and uncertain flag.

    Parameters
    ----------
    model : RDINetClassifier, ResNet50Classifier or Pipeline
        A fitted CNN classifier, or a fitted pipeline ending in one.
    X : DataFrame
        The case table.
    n_augmentations : int, default=10
        Augmented predictions per patient (at least 2).
    augmentation : "study", list of transforms or None, default=None
        The perturbations (see :func:`~rdinet_sklearn.volumes.resolve_augmentations`);
        ``None`` uses the model's training augmentations, or the study's three if it was
        trained without.
    threshold : float, default=0.5
        Decision threshold, for the flag.
    random_state : int, default=0
        Seed of the augmentations.
    model_name : str, default=None
        Name used in error messages.

    Returns
    -------
    uncertainty : DataFrame
        Indexed like ``X``: ``proba`` (the plain prediction), ``proba_mean`` and
        ``proba_spread`` (mean and standard deviation over the augmented copies) and
        ``uncertain`` (:func:`uncertain_flag`).

    Raises
    ------
    ExplanationError
        If ``n_augmentations`` is below 2, or the model has no image input.

    See Also
    --------
    bootstrap_predict_proba : The same for models without an image input.
    spread_misclassification : Do errors concentrate among uncertain patients?

    Examples
    --------
    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.explain import tta_predict_proba
    >>> from rdinet_sklearn.nn import ResNet50Classifier
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(6, folder, shape=(4, 32, 64))
    >>> X = cases[["image", "mask"]]
    >>> cnn = ResNet50Classifier(
    ...     ("MR", "LR"), depth=10, volume_size=(4, 16, 16), module__widen_factor=0.125,
    ...     max_epochs=1, random_state=0,
    ... ).fit(X, y)
    >>> result = tta_predict_proba(cnn, X.iloc[:2], n_augmentations=4)
    >>> result.columns.tolist()
    ['proba', 'proba_mean', 'proba_spread', 'uncertain']
    >>> shutil.rmtree(folder)
    """
    label = model_label(model, model_name)
    _check_count(n_augmentations, "n_augmentations", label)
    classifier, cases = network_and_cases(model, X)
    net_input = classifier._prediction_input(classifier._check_cases(cases))
    if isinstance(net_input, dict) and "volume" not in net_input:
        raise ExplanationError(f"{label}: it has no image input to augment")
    transforms = resolve_augmentations(
        classifier.augmentation if augmentation is None else augmentation
    )
    transforms = transforms or study_augmentations()
    volume = net_input["volume"] if isinstance(net_input, dict) else net_input
    positive = positive_column(classifier)
    augmenter = BatchAugmentation(transforms, seed=random_state)
    predictions = []
    for _ in range(n_augmentations):
        augmented = augmenter(torch.as_tensor(np.asarray(volume))).numpy()
        batch = {**net_input, "volume": augmented} if isinstance(net_input, dict) else augmented
        predictions.append(classifier.predict_proba(batch)[:, positive])
    plain = classifier.predict_proba(net_input)[:, positive]
    return _summary(np.asarray(predictions), cases.index, threshold, plain)


def _bootstrap_rows(y, rng):
    """A bootstrap sample drawn within each class, so that every refit sees both classes."""
    rows = [rng.choice(np.flatnonzero(y == c), (y == c).sum()) for c in np.unique(y)]
    return np.sort(np.concatenate(rows))


def _resample(X, rows):
    """``X.iloc[rows]`` with each repeated patient's copies relabelled ``<id>~<k>``.

    Case tables refuse duplicate patients (a copy-paste error in real data), so the copies a
    bootstrap draws get distinct labels (in the index, and in a ``patient_id`` column).
    """
    sample = X.iloc[rows].copy()
    if isinstance(sample, pd.DataFrame):
        copy = pd.Series(sample.index).groupby(pd.Series(sample.index)).cumcount().to_numpy()
        labels = [
            f"{label}~{k}" if k else label for label, k in zip(sample.index, copy, strict=True)
        ]
        if "patient_id" in sample.columns:
            sample["patient_id"] = labels
        sample.index = pd.Index(labels, name=sample.index.name)
    return sample


def bootstrap_predict_proba(
    estimator,
    X_train,
    y_train,
    X,
    *,
    n_resamples=20,
    threshold=0.5,
    random_state=0,
    model_name=None,
):
    """Spread of each patient's probability over refits on bootstrap resamples.

    Parameters
    ----------
    estimator : estimator
        The model, unfitted (it is cloned for every refit); a Pipeline refits its
        selection too, so the spread includes the selection's instability.
    X_train, y_train : DataFrame and array-like
        The training data the model was (or would be) fitted on.
    X : DataFrame
        The patients to predict.
    n_resamples : int, default=20
        Refits (at least 2), each on a bootstrap resample drawn within each class.
    threshold : float, default=0.5
        Decision threshold, for the flag.
    random_state : int, default=0
        Seed of the resamples.
    model_name : str, default=None
        Name used in error messages.

    Returns
    -------
    uncertainty : DataFrame
        As :func:`tta_predict_proba`; ``proba`` is the prediction of the model refitted on
        the whole of ``X_train``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from rdinet_sklearn.explain import bootstrap_predict_proba
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=40)})
    >>> y = (X["x"] + rng.normal(size=40) > 0).astype(int)
    >>> result = bootstrap_predict_proba(LogisticRegression(), X, y, X.iloc[:3])
    >>> result.columns.tolist()
    ['proba', 'proba_mean', 'proba_spread', 'uncertain']
    >>> bool((result["proba_spread"] > 0).all())
    True
    """
    label = model_label(estimator, model_name)
    _check_count(n_resamples, "n_resamples", label)
    y_train = np.asarray(y_train)
    rng = np.random.default_rng(random_state)
    predictions = []
    for _ in range(n_resamples):
        rows = _bootstrap_rows(y_train, rng)
        refit = clone(estimator).fit(_resample(X_train, rows), y_train[rows])
        predictions.append(refit.predict_proba(X)[:, positive_column(refit)])
    full = clone(estimator).fit(X_train, y_train)
    plain = full.predict_proba(X)[:, positive_column(full)]
    return _summary(np.asarray(predictions), X.index, threshold, plain)


class SpreadMisclassification(NamedTuple):
    """How well the spread points at the misclassified patients.

    Parameters
    ----------
    auc, ci_low, ci_high : float
        AUC of the spread for misclassification (0.5: errors are not more uncertain) and
        its DeLong logit interval; NaN when every patient, or none, is misclassified.
    spread_wrong, spread_right : float
        Mean spread of the misclassified and of the correctly classified patients.
    difference_low, difference_high : float
        Welch interval of ``spread_wrong - spread_right``.
    n_wrong, n_right : int
        Patients in each group.

    Examples
    --------
    >>> from rdinet_sklearn.explain import spread_misclassification
    >>> result = spread_misclassification([0, 1, 1, 0], [0.2, 0.3, 0.9, 0.6], [0.0, 0.2, 0.1, 0.3])
    >>> result._fields[:3], result.n_wrong
    (('auc', 'ci_low', 'ci_high'), 2)
    """

    auc: float
    ci_low: float
    ci_high: float
    spread_wrong: float
    spread_right: float
    difference_low: float
    difference_high: float
    n_wrong: int
    n_right: int


def spread_misclassification(y_true, proba, spread, *, threshold=0.5, confidence=0.95):
    """Do errors concentrate among uncertain patients? AUC of the spread for misclassification.

    Parameters
    ----------
    y_true : array-like of shape (n_patients,)
        Binary outcome (0/1).
    proba : array-like of shape (n_patients,)
        Predicted probability of the positive class (e.g. ``proba_mean``).
    spread : array-like of shape (n_patients,)
        Per-patient spread (``proba_spread``).
    threshold : float, default=0.5
        Decision threshold: a patient is misclassified when ``(proba >= threshold) != y``.
    confidence : float, default=0.95
        Coverage of the intervals.

    Returns
    -------
    SpreadMisclassification

    Examples
    --------
    >>> from rdinet_sklearn.explain import spread_misclassification
    >>> y = [0, 0, 0, 1, 1, 1, 0, 1]
    >>> proba = [0.1, 0.2, 0.6, 0.8, 0.9, 0.4, 0.3, 0.7]
    >>> spread = [0.02, 0.05, 0.2, 0.03, 0.01, 0.15, 0.04, 0.06]
    >>> result = spread_misclassification(y, proba, spread)
    >>> result.auc, result.n_wrong
    (1.0, 2)
    """
    from scipy import stats

    from ..metrics import delong_auc_ci

    y = np.asarray(y_true).astype(int)
    proba, spread = np.asarray(proba, float), np.asarray(spread, float)
    wrong = ((proba >= threshold).astype(int) != y).astype(int)
    n_wrong, n_right = int(wrong.sum()), int((1 - wrong).sum())
    auc = ci_low = ci_high = low = high = np.nan
    if n_wrong and n_right:
        auc, _, ci_low, ci_high = delong_auc_ci(wrong, spread, confidence=confidence)
    if n_wrong >= 2 and n_right >= 2:
        welch = stats.ttest_ind(spread[wrong == 1], spread[wrong == 0], equal_var=False)
        interval = welch.confidence_interval(confidence)
        low, high = float(interval.low), float(interval.high)
    return SpreadMisclassification(
        float(auc),
        float(ci_low),
        float(ci_high),
        float(spread[wrong == 1].mean()) if n_wrong else np.nan,
        float(spread[wrong == 0].mean()) if n_right else np.nan,
        low,
        high,
        n_wrong,
        n_right,
    )
