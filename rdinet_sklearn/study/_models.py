"""The study's candidate models as scikit-learn estimators with their tuning grids.

Radiomics models work on features extracted once per ROI strategy (extraction is per case
and learns nothing from the data, so doing it once is leakage-free); every fitted step
(ICC filter, t-test, LASSO, scaling, classifier) sits in the pipeline and is refitted inside
each cross-validation fold.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from ..harmonization import ComBatHarmonizer
from ..nn import RDINetClassifier, ResNet50Classifier
from ..selection import LassoSelector, TTestSelector
from ._config import parse_roi
from ._reproducibility import reproducibility_filter

CLASSIFIERS = {
    # SVC(probability=True) is deprecated since scikit-learn 1.9; this is its replacement.
    "svm": (
        lambda seed: CalibratedClassifierCV(SVC(random_state=seed), ensemble=False),
        {"clf__estimator__C": [0.1, 1.0, 10.0]},
    ),
    "logreg": (
        lambda seed: LogisticRegression(max_iter=5000),
        {"clf__C": [0.1, 1.0, 10.0]},
    ),
    "rf": (
        lambda seed: RandomForestClassifier(n_estimators=200, random_state=seed),
        {"clf__max_depth": [3, None]},
    ),
}


def selection_steps(config):
    """ComBat harmonization if configured, ICC filter, t-test and LASSO, then standardisation.

    The ICC filter is that of ``radiomics.reproducibility`` (two raters, or perturbations).

    ``radiomics.harmonization`` is None (off) or the :class:`ComBatHarmonizer` parameters,
    e.g. ``{"batch_column": "center", "unseen": "estimate"}``; the feature table must then
    carry that column (and any covariates), which the harmonizer drops. It comes first so
    that the ICC, the tests and LASSO all see harmonized features; it hands on a DataFrame
    because the ICC filter pairs each feature with its rater-2 column by name.
    """
    radiomics = config.radiomics
    harmonization = radiomics.harmonization
    harmonize = []
    if harmonization is not None:
        harmonizer = ComBatHarmonizer(**harmonization).set_output(transform="pandas")
        harmonize.append(("harmonize", harmonizer))
    return [
        *harmonize,
        ("reproducibility", reproducibility_filter(config)),
        ("ttest", TTestSelector(alpha=radiomics.ttest_alpha)),
        ("lasso", LassoSelector(random_state=config.seed)),
        ("scale", StandardScaler()),
    ]


def radiomics_model(classifier, config, *, memory=None):
    """A selection + classifier pipeline over one ROI strategy's feature columns, and its grid.

    With ``memory`` the fitted selection steps are cached, so a grid over the classifier's
    parameters fits the selectors once per fold instead of once per grid point.
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {classifier!r}; choose from {sorted(CLASSIFIERS)}")
    make, grid = CLASSIFIERS[classifier]
    steps = [*selection_steps(config), ("clf", make(config.seed))]
    return Pipeline(steps, memory=memory), dict(grid)


def _network_params(config, roi):
    deep = config.deep
    return {
        "roi": parse_roi(roi),
        "labels": config.labels,
        "depth": deep.depth,
        "volume_size": deep.volume_size,
        "max_epochs": deep.max_epochs,
        "batch_size": deep.batch_size,
        "lr": deep.lr,
        "device": deep.device,
        "image_column": config.image_column,
        "mask_column": config.mask_column,
        "random_state": config.seed,
        "module__widen_factor": deep.widen_factor,
    }


def resnet_model(config, roi, *, memory=None):
    """The 3D ResNet on ROI crops of ``roi``."""
    return ResNet50Classifier(**_network_params(config, roi), memory=memory)


def clinical_selection(config, numeric, categorical):
    """Encode the clinical columns, then keep those the t-test and LASSO select, standardised.

    The clinical columns pass the same fold-internal t-test and LASSO as the radiomics
    features (there is no second rater to filter them by ICC). Unselected, every clinical
    column reaches the model: on ~120 training patients the uninformative ones cost more in
    variance than the informative ones add (see ``benchmarks/bench_rdinet_accuracy.py``).
    """
    encoders = []
    if numeric:
        encoders.append(("numeric", StandardScaler(), list(numeric)))
    if categorical:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        encoders.append(("categorical", encoder, list(categorical)))
    return Pipeline(
        [
            ("encode", ColumnTransformer(encoders, verbose_feature_names_out=False)),
            # the radiomics selection's alpha applies here too
            ("ttest", TTestSelector(alpha=config.radiomics.ttest_alpha)),
            ("lasso", LassoSelector(random_state=config.seed)),
            ("scale", StandardScaler()),
        ]
    )


def rdinet_model(config, roi, radiomics_columns, *, clinical=None, memory=None):
    """RDINet over selected radiomics features (plus selected clinical columns when given).

    Parameters
    ----------
    clinical : tuple of (list of str, list of str), default=None
        Numeric and categorical clinical columns; categorical ones are one-hot encoded, and
        all of them are selected inside each fold (:func:`clinical_selection`).
    """
    deep = config.deep
    branches = [("radiomics", Pipeline(selection_steps(config)), list(radiomics_columns))]
    if clinical is not None and any(clinical):
        numeric, categorical = clinical
        selection = clinical_selection(config, numeric, categorical)
        branches.append(("clinical", selection, [*numeric, *categorical]))
    branches.append(("volumes", "passthrough", [config.image_column, config.mask_column]))
    features = ColumnTransformer(branches, verbose_feature_names_out=False)
    features.set_output(transform="pandas")
    network = RDINetClassifier(**_network_params(config, roi), k=deep.k, d=deep.d, memory=memory)
    return Pipeline([("features", features), ("clf", network)])
