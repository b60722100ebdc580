"""Feature contributions (SHAP values) of fitted radiomics, clinical and RDINet models.

Radiomics and clinical models are Pipelines: the earlier steps (extraction, selection,
scaling) are fixed functions of the input, so the *final estimator* is explained on the
pipeline's transformed features, named by ``get_feature_names_out`` (the features the
selectors keep). RDINet's tabular inputs are explained with the image input held at each
patient's own volume: the prediction function of patient ``i`` maps a tabular row to the
network's probability on ``(volume_i, row)``, so the values say how the radiomics and
clinical columns move *this* patient's prediction given their image.

Both use :mod:`shap` with an independent masker on a small, seeded background sample of the
training data: shap's ``"auto"`` algorithm is exact for up to 10 features and the
permutation explainer beyond (model-agnostic, so it fits torch and scikit-learn models
alike).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..exceptions import RdinetInputError
from ..nn._base import VolumeNetClassifier

DEFAULT_BACKGROUND = 20
"""Background rows: SHAP's cost grows linearly with them; 20 keeps the demo under a minute."""


EXACT_MAX_FEATURES = 10
"""Up to this many features shap's ``"auto"`` algorithm is exact (all coalitions)."""


class ExplanationError(RdinetInputError):
    """A model cannot be explained as asked; the message names the model and the reason.

    Examples
    --------
    >>> from rdinet_sklearn.explain import ExplanationError
    >>> print(ExplanationError("model 'SVM': it has no named features"))
    model 'SVM': it has no named features
    """


def model_label(model, model_name):
    """How errors name the model: ``model 'name'``, else its class."""
    return f"model {model_name!r}" if model_name else f"model {type(model).__name__}"


def _final_step(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def _head_transform(model, table):
    """The input of the final step: the pipeline's earlier steps applied to ``table``."""
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model[:-1].transform(table)
    return table


def _feature_names(model, label):
    """Names of the final estimator's input features, or an ExplanationError saying why not."""
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        try:
            return np.asarray(model[:-1].get_feature_names_out(), dtype=object)
        except (AttributeError, ValueError, TypeError) as err:
            raise ExplanationError(
                f"{label}: its steps before the final estimator do not name their output "
                f"features ({err}); every step needs get_feature_names_out"
            ) from err
    names = getattr(_final_step(model), "feature_names_in_", None)
    if names is None:
        raise ExplanationError(
            f"{label}: it has no named features (fit it on a DataFrame, or explain a "
            "Pipeline whose steps implement get_feature_names_out)"
        )
    return np.asarray(names, dtype=object)


def _as_frame(values, names, index):
    if isinstance(values, pd.DataFrame):
        return values.set_axis(names, axis=1)
    return pd.DataFrame(np.asarray(values, dtype=float), columns=names, index=index)


def _sample_background(frame, max_background, random_state):
    if len(frame) <= max_background:
        return frame
    rng = np.random.default_rng(random_state)
    return frame.iloc[np.sort(rng.choice(len(frame), max_background, replace=False))]


def positive_column(estimator):
    """The column of ``predict_proba`` holding the positive (last) class."""
    classes = list(getattr(estimator, "classes_", [0, 1]))
    return len(classes) - 1


def _shap_values(predict, explained, background, random_state, max_evals):
    """SHAP values of ``predict`` (array in, positive-class probability out) for each row."""
    import shap  # deferred: importing shap costs about a second

    masker = shap.maskers.Independent(background, max_samples=len(background))
    # "auto" is exact up to 10 features, which needs all 2**n coalitions; where max_evals
    # allows fewer (RDINet, whose every evaluation runs the CNN), permute instead
    n_features = explained.shape[1]
    exact = n_features <= EXACT_MAX_FEATURES and max_evals >= 2**n_features
    algorithm = "auto" if exact or n_features > EXACT_MAX_FEATURES else "permutation"
    explainer = shap.Explainer(predict, masker, algorithm=algorithm, seed=random_state)
    # the permutation explainer needs one forward and one backward pass over the features
    max_evals = max(max_evals, 2 * n_features + 1)
    explanation = explainer(explained, max_evals=max_evals, silent=True)
    return np.asarray(explanation.values, dtype=float), float(np.ravel(explanation.base_values)[0])


def _tabular_names(classifier, label):
    classifier._check_fitted()
    names = np.asarray(getattr(classifier, "tabular_features_in_", []), dtype=object)
    if names.size == 0:
        raise ExplanationError(
            f"{label}: fusion={getattr(classifier, 'fusion', None)!r} has no tabular input "
            "to explain (see explain.gradcam for the image branch)"
        )
    return names


def _tabular_contributions(model, X, reference, *, label, random_state, max_evals):
    """RDINet: each tabular input's contribution, the image held at the patient's volume."""
    classifier = _final_step(model)
    names = _tabular_names(classifier, label)
    cases = _head_transform(model, X)
    net_input = classifier._prediction_input(classifier._check_cases(cases))
    positive = positive_column(classifier)
    rows, base_values = [], []
    for i in range(len(cases)):
        fixed = {key: value[i : i + 1] for key, value in net_input.items() if key != "tabular"}

        def predict(tabular, fixed=fixed):
            tabular = np.asarray(tabular, dtype=np.float64)
            standardised = (tabular - classifier.tabular_mean_) / classifier.tabular_scale_
            batch = {key: np.repeat(value, len(tabular), axis=0) for key, value in fixed.items()}
            batch["tabular"] = standardised.astype(np.float32)
            return classifier.predict_proba(batch)[:, positive]

        explained = cases[list(names)].iloc[i : i + 1].to_numpy(dtype=np.float64)
        values, base = _shap_values(
            predict, explained, reference.to_numpy(np.float64), random_state, max_evals
        )
        rows.append(values[0])
        base_values.append(base)
    frame = pd.DataFrame(np.asarray(rows), columns=names, index=cases.index)
    frame.attrs["base_value"] = float(np.mean(base_values))
    frame.attrs["background"] = reference.index.tolist()
    return frame


def feature_contributions(
    model,
    X,
    *,
    background=None,
    max_background=DEFAULT_BACKGROUND,
    max_evals=500,
    random_state=0,
    model_name=None,
    background_is_transformed=False,
):
    """SHAP values of each patient's features for a fitted model (patients x features).

    Parameters
    ----------
    model : Pipeline, estimator or RDINetClassifier
        A fitted classifier: a Pipeline (its final estimator is explained on the features
        its earlier steps output, named by ``get_feature_names_out``), an estimator fitted
        on a DataFrame, or an :class:`~rdinet_sklearn.nn.RDINetClassifier` (or a Pipeline
        ending in one), whose tabular inputs are explained with the image held at each
        patient's own volume.
    X : DataFrame
        The rows to explain, as passed to ``predict_proba`` (a case table or feature
        table): test or out-of-fold patients, never the training fit's own rows.
    background : DataFrame, default=None
        Rows representing the training data (same kind as ``X``); absent features are
        replaced by values drawn from them. ``None`` uses ``X``.
    max_background : int, default=20
        At most this many background rows, drawn without replacement with
        ``random_state``.
    max_evals : int, default=500
        Model evaluations per explained row and background row for the permutation
        explainer (used beyond 10 features); raised to ``2 * n_features + 1``, one
        forward-and-back permutation, the least it accepts. Lower it for RDINet, whose
        every evaluation runs the CNN.
    random_state : int, default=0
        Seed of the background sample and of shap's permutations.
    model_name : str, default=None
        Name used in error messages.
    background_is_transformed : bool, default=False
        Whether ``background`` already holds the explained features
        (:func:`explained_features` of training rows, e.g. saved with a model so that
        explaining it later needs no training images).

    Returns
    -------
    contributions : DataFrame of shape (n_patients, n_features)
        SHAP value of each feature for the positive class's probability, indexed like
        ``X``; ``attrs["base_value"]`` is the mean prediction over the background, so each
        row sums to the patient's probability minus it (for RDINet the base value is
        per patient, with their own volume; the attribute is its mean), and
        ``attrs["background"]`` lists the background rows' index labels.

    Raises
    ------
    ExplanationError
        If the model's features have no names, or an RDINet has no tabular input.

    See Also
    --------
    top_contributions : Each patient's strongest features with sign.
    rdinet_sklearn.plots.plot_contributions : Bar or beeswarm figure.

    Notes
    -----
    SHAP values (Lundberg and Lee, NeurIPS 2017) are the Shapley values of the prediction
    function with absent features marginalised over the background (interventional SHAP).
    They explain the model, not the disease: correlated features share credit.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from rdinet_sklearn.explain import feature_contributions
    >>> X = pd.DataFrame({"signal": [0, 1, 2, 3, 4, 5], "noise": [1, 0, 1, 0, 1, 0]})
    >>> y = [0, 0, 0, 1, 1, 1]
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    >>> shap_values = feature_contributions(model, X)
    >>> shap_values.columns.tolist()
    ['signal', 'noise']
    >>> bool(shap_values["signal"].abs().mean() > shap_values["noise"].abs().mean())
    True
    """
    label = model_label(model, model_name)
    if not isinstance(X, pd.DataFrame):
        raise ExplanationError(f"{label}: X must be a DataFrame, got {type(X).__name__}")
    background = X if background is None else background
    if not background_is_transformed:
        background = explained_features(model, background, model_name=model_name)
    reference = _sample_background(
        _named_background(background, explained_names(model, label), label),
        max_background,
        random_state,
    )
    if isinstance(_final_step(model), VolumeNetClassifier):
        return _tabular_contributions(
            model, X, reference, label=label, random_state=random_state, max_evals=max_evals
        )
    names = reference.columns.to_numpy(dtype=object)
    final = _final_step(model)
    explained = _as_frame(_head_transform(model, X), names, X.index)
    positive = positive_column(final)

    named = hasattr(final, "feature_names_in_")  # else it was fitted on an array

    def predict(values):
        values = pd.DataFrame(values, columns=names) if named else values
        return final.predict_proba(values)[:, positive]

    values, base = _shap_values(
        predict,
        explained.to_numpy(np.float64),
        reference.to_numpy(np.float64),
        random_state,
        max_evals,
    )
    frame = pd.DataFrame(values, columns=names, index=X.index)
    frame.attrs["base_value"] = base
    frame.attrs["background"] = reference.index.tolist()
    return frame


def explained_names(model, label):
    """The names of the features :func:`feature_contributions` explains for ``model``."""
    final = _final_step(model)
    if isinstance(final, VolumeNetClassifier):
        return _tabular_names(final, label)
    check_is_fitted(model)
    return _feature_names(model, label)


def _named_background(background, names, label):
    missing = [n for n in names if n not in background.columns]
    if missing:
        raise ExplanationError(
            f"{label}: the background lacks the explained feature(s) {missing[:5]}"
        )
    return background[list(names)]


def explained_features(model, X, *, model_name=None):
    """The features :func:`feature_contributions` explains, for the rows ``X``.

    The final estimator's input (the pipeline's earlier steps applied to ``X``), named;
    for an RDINet its tabular columns only (no image paths). Saved with a model for a few
    training rows, it is a background that needs no training data later.

    Parameters
    ----------
    model : Pipeline, estimator or RDINetClassifier
        A fitted classifier, as for :func:`feature_contributions`.
    X : DataFrame
        Rows as passed to ``predict_proba``.
    model_name : str, default=None
        Name used in error messages.

    Returns
    -------
    features : DataFrame
        Indexed like ``X``, one named column per explained feature.

    Raises
    ------
    ExplanationError
        As :func:`feature_contributions`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from rdinet_sklearn.explain import explained_features
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, [0, 0, 1, 1])
    >>> explained_features(model, X).round(2)["a"].tolist()
    [-1.34, -0.45, 0.45, 1.34]
    """
    label = model_label(model, model_name)
    names = explained_names(model, label)
    head = _head_transform(model, X)
    if isinstance(_final_step(model), VolumeNetClassifier):
        return head[list(names)]
    return _as_frame(head, names, X.index)


def top_contributions(contributions, k=3, *, digits=3):
    """Each patient's ``k`` strongest features with the sign of their contribution.

    Parameters
    ----------
    contributions : DataFrame of shape (n_patients, n_features)
        From :func:`feature_contributions`.
    k : int, default=3
        Features per patient (fewer if the model has fewer).
    digits : int, default=3
        Decimals of the SHAP values.

    Returns
    -------
    top : Series of str
        ``"cas +0.120; trab -0.031"``, strongest first, indexed like ``contributions``;
        named ``"top_contributions"`` (the column ``rdinet predict --explain`` adds).

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.explain import top_contributions
    >>> values = pd.DataFrame({"cas": [0.2, -0.01], "age": [-0.05, 0.03]}, index=["P1", "P2"])
    >>> top_contributions(values, k=1).tolist()
    ['cas +0.200', 'age +0.030']
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    names = np.asarray(contributions.columns, dtype=object)
    values = contributions.to_numpy(dtype=float)
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    text = [
        "; ".join(f"{names[j]} {values[i, j]:+.{digits}f}" for j in order[i])
        for i in range(len(values))
    ]
    return pd.Series(text, index=contributions.index, name="top_contributions")


def mean_abs_contributions(contributions):
    """Global importance: mean absolute SHAP value per feature, largest first.

    Parameters
    ----------
    contributions : DataFrame of shape (n_patients, n_features)
        From :func:`feature_contributions`.

    Returns
    -------
    importance : Series
        Indexed by feature, sorted in decreasing order.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.explain import mean_abs_contributions
    >>> mean_abs_contributions(pd.DataFrame({"a": [0.1, -0.3], "b": [0.5, 0.5]})).tolist()
    [0.5, 0.2]
    """
    return contributions.abs().mean().sort_values(ascending=False, kind="stable")


def rank_separation(importance, features):
    """Probability that one of ``features`` outranks one of the others (ties count half).

    The Mann-Whitney statistic of the importances, divided by the number of pairs: 1 when
    every named feature is more important than every other one, 0.5 at random.

    Parameters
    ----------
    importance : Series
        Importance per feature (e.g. :func:`mean_abs_contributions`).
    features : iterable of str
        The features expected on top; those absent from ``importance`` are ignored.

    Returns
    -------
    float

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.explain import rank_separation
    >>> importance = pd.Series({"cas": 0.3, "trab": 0.1, "age": 0.2, "bmi": 0.0})
    >>> rank_separation(importance, ["cas", "trab"])
    0.75
    """
    chosen = importance.index.isin(list(features))
    top, rest = importance[chosen].to_numpy(float), importance[~chosen].to_numpy(float)
    if top.size == 0 or rest.size == 0:
        raise ValueError("need features both inside and outside `features` to compare")
    greater = (top[:, None] > rest[None, :]).sum() + 0.5 * (top[:, None] == rest[None, :]).sum()
    return float(greater / (top.size * rest.size))
