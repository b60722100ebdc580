"""The study's candidate models as scikit-learn estimators with their tuning grids.

Every model takes the case table: after any image preprocessing (the ``preprocessing``
settings, :func:`~._preprocessing.preprocessing_steps`, fitted in each fold), its first
step (:func:`with_extraction`) adds the ROI's
radiomics features, read from the study's feature cache (extraction is per case and learns
nothing from the data, so it is leakage-free and each case is extracted once); every fitted
step after it (ICC filter, t-test, LASSO, scaling, classifier) is refitted inside each
cross-validation fold. The model scored in cross-validation is the model handed over.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from .._folds import ClassCountStratifiedKFold
from ..harmonization import ComBatHarmonizer
from ..nn import RDINetClassifier, ResNet50Classifier
from ..radiomics import RadiomicsExtractor
from ..selection import LassoSelector, TTestSelector
from ._config import parse_roi
from ._preprocessing import preprocessing_steps
from ._reproducibility import extractor_options, reproducibility_filter
from ._segmentation import segmentation_steps

CLASSIFIERS = {
    # SVC(probability=True) is deprecated since scikit-learn 1.9; this is its replacement.
    "svm": (
        # Its calibration CV has as many folds (at most 5) as small training folds allow.
        lambda seed: CalibratedClassifierCV(
            SVC(random_state=seed),
            ensemble=False,
            cv=ClassCountStratifiedKFold(5, random_state=seed),
        ),
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


def study_extractor(config, roi, cache):
    """The study's radiomics extractor of one ROI strategy, reading and filling ``cache``."""
    return RadiomicsExtractor(
        roi=parse_roi(roi),
        labels=config.labels,
        params=config.radiomics.params,
        **extractor_options(config),
        image_column=config.image_column,
        mask_column=config.mask_column,
        memory=cache,
        n_jobs=config.n_jobs,
        progress=False,
    )


def with_extraction(config, roi, cache, passthrough, *, features_first):
    """The step that turns a case table into the ROI's radiomics features and ``passthrough``.

    Its output columns are the features then ``passthrough`` (``features_first``), or
    ``passthrough`` then the features.
    """
    reference = extractor_options(config)["reference_mask_column"]
    paths = [c for c in (config.image_column, config.mask_column, reference) if c]
    extract = ("extract", study_extractor(config, roi, cache), paths)
    keep = ("cases", "passthrough", list(passthrough))
    steps = [extract, keep] if features_first else [keep, extract]
    front = ColumnTransformer([s for s in steps if s[2]], verbose_feature_names_out=False)
    return front.set_output(transform="pandas")


def image_steps(config, cache):
    """The steps before a model's extractor: any automatic segmentation, then preprocessing."""
    return [*segmentation_steps(config, cache), *preprocessing_steps(config, cache)]


def radiomics_model(classifier, config, *, roi=None, cache=None, batch_columns=(), memory=None):
    """A selection + classifier pipeline and its grid; with ``roi``, on the case table.

    With ``roi`` the pipeline starts with any image preprocessing, then
    :func:`with_extraction` (the ROI's features, then the ComBat ``batch_columns``);
    without, it takes that feature table. With ``memory`` the fitted steps are cached, so a
    grid over the classifier's parameters fits the extraction and the selectors once per
    fold instead of once per grid point.
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {classifier!r}; choose from {sorted(CLASSIFIERS)}")
    make, grid = CLASSIFIERS[classifier]
    steps = [*selection_steps(config), ("clf", make(config.seed))]
    if roi is not None:
        front = with_extraction(config, roi, cache, batch_columns, features_first=True)
        steps = [*image_steps(config, cache), ("radiomics", front), *steps]
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
    """The 3D ResNet on ROI crops of ``roi``, after any image preprocessing."""
    network = ResNet50Classifier(**_network_params(config, roi), memory=memory)
    before = image_steps(config, memory)
    return Pipeline([*before, ("clf", network)]) if before else network


def clinical_selection(config, numeric, categorical):
    """Encode the clinical columns, then keep those the t-test and LASSO select, standardised.

    The clinical columns pass the same fold-internal t-test and LASSO as the radiomics
    features (there is no second rater to filter them by ICC). Unselected, every clinical
    column reaches the model: on ~120 training patients the uninformative ones cost more in
    variance than the informative ones add (see ``benchmarks/bench_rdinet_accuracy.py``).

    Missing values are imputed inside each fold, from that fold's training rows only: the
    median of a numeric column, the most frequent category of a categorical one (robust to
    the skewed clinical distributions, and a missing value then moves no prediction far).
    """
    encoders = []
    if numeric:
        numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        encoders.append(("numeric", numbers, list(numeric)))
    if categorical:
        encoder = make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
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
    """RDINet on the case table, over selected radiomics features (and clinical columns).

    After any image preprocessing, the pipeline extracts the ROI's features
    (:func:`with_extraction`), then selects them (and the clinical columns) in each fold,
    then the network.

    Parameters
    ----------
    radiomics_columns : sequence of str
        The ROI's radiomics feature names (with their rater-2 twins).
    clinical : tuple of (list of str, list of str), default=None
        Numeric and categorical clinical columns; categorical ones are one-hot encoded, and
        all of them are selected inside each fold (:func:`clinical_selection`).
    memory : str, default=None
        The study's cache folder: features and volumes are read from it.
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
    tabular = [*clinical[0], *clinical[1]] if clinical is not None else []
    passthrough = [*tabular, config.image_column, config.mask_column]
    front = with_extraction(config, roi, memory, passthrough, features_first=False)
    steps = [("radiomics", front), ("features", features), ("clf", network)]
    return Pipeline([*image_steps(config, memory), *steps])
