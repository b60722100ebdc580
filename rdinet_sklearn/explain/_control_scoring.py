"""Scoring negative controls: the features each control is scored on, the control pipeline
and the paired comparison with the real model (see :mod:`._negative_controls`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._negative_controls import CONTROL_MODES, NegativeControl, NegativeControlError

# pyradiomics features that are sums over the ROI's voxels, zones or runs rather than means,
# so that they grow with the ROI's size whatever its content (each has a "Normalized" twin
# or a per-voxel counterpart that does not): on a control they still echo the ROI volume.
VOXEL_COUNT_FEATURES = (
    "firstorder_Energy",
    "firstorder_TotalEnergy",
    "glrlm_GrayLevelNonUniformity",
    "glrlm_RunLengthNonUniformity",
    "glszm_GrayLevelNonUniformity",
    "glszm_SizeZoneNonUniformity",
    "gldm_GrayLevelNonUniformity",
    "gldm_DependenceNonUniformity",
    "ngtdm_Coarseness",
    "ngtdm_Busyness",
    "ngtdm_Complexity",
    "ngtdm_Strength",
)
_SIZE_FREE = r"^(?!.*(?:_shape_|_(?:" + "|".join(VOXEL_COUNT_FEATURES) + r")(?:__|$)))"

_VOLUME = r"_shape_VoxelVolume$"


class _SizeAdjustedFeatures(TransformerMixin, BaseEstimator):
    """Intensity and texture features with the linear effect of log ROI volume removed.

    Every control but ``"volume"`` keeps the ROI's voxel count, and histogram and texture
    estimates depend on it whatever the voxels hold (the plug-in entropy of a histogram
    grows with the number of samples; runs and zones are cut by the ROI's border). On the
    synthetic cohort, joint entropy of iid intensities drawn into the real ROI still reaches
    AUC 0.9 through the volume alone. So the control's non-shape features are regressed on
    the log shape volume(s), fitted on the training rows, and their residuals scored: what
    the control holds beyond size, which is what it is meant to test. The ``keep`` columns
    (a later step's batch column, say) pass through unchanged, after the residuals.
    """

    def __init__(self, keep=()):
        self.keep = keep

    def fit(self, X, y=None):
        names = pd.Index(X.columns.astype(str))
        self.volume_columns_ = names[names.str.contains(_VOLUME, regex=True)].tolist()
        self.feature_names_in_ = np.asarray(names, dtype=object)
        features = names.difference(list(self.keep), sort=False)
        self.kept_ = features[features.str.contains(_SIZE_FREE, regex=True)].tolist()
        design = self._design(X)
        self.coef_ = np.linalg.lstsq(design, X[self.kept_].to_numpy(float), rcond=None)[0]
        return self

    def _design(self, X):
        volumes = X[self.volume_columns_].to_numpy(float)
        return np.column_stack([np.ones(len(X)), np.log(np.clip(volumes, 1e-12, None))])

    def transform(self, X):
        check_is_fitted(self, "coef_")
        residual = X[self.kept_].to_numpy(float) - self._design(X) @ self.coef_
        residual = pd.DataFrame(residual, index=X.index, columns=self.kept_)
        return pd.concat([residual, X[list(self.keep)]], axis=1)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "coef_")
        return np.asarray([*self.kept_, *self.keep], dtype=object)


def control_feature_selector(mode, keep=()):
    """A transformer giving the extracted features a ``mode`` control is scored on.

    ``"volume"`` keeps the shape volume feature (``*_shape_VoxelVolume``) of every ROI.
    The others keep every feature that is neither a shape feature nor a sum over the ROI's
    voxels (:data:`VOXEL_COUNT_FEATURES`, e.g. first-order ``Energy``), and remove from each
    the linear effect of the log shape volume (fitted on the training rows): every control
    keeps the ROI's voxel count, and histogram and texture estimates depend on it (the
    entropy of iid intensities grows with their number), so without the adjustment a
    control would score the volume again.

    Parameters
    ----------
    mode : {"volume", "replaced", "shuffled", "elsewhere"}
    keep : sequence of str, default=()
        Columns that are not features but read by a later step (a ComBat step's batch
        column and covariates): passed through unchanged, after the features.

    Returns
    -------
    selector : transformer
        Selects by column name (and adjusts for size); outputs a DataFrame whose columns
        keep their names.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.explain import control_feature_selector
    >>> features = pd.DataFrame(
    ...     [[1.0, 2.0, 3.0, 4.0]],
    ...     columns=["MR_original_shape_VoxelVolume", "MR_original_shape_Sphericity",
    ...              "MR_original_firstorder_Mean", "MR_original_firstorder_Energy"],
    ... )
    >>> control_feature_selector("volume").fit_transform(features).columns.tolist()
    ['MR_original_shape_VoxelVolume']
    >>> control_feature_selector("shuffled").fit_transform(features).columns.tolist()
    ['MR_original_firstorder_Mean']
    """
    if mode not in CONTROL_MODES:
        raise ValueError(f"mode must be one of {list(CONTROL_MODES)}, got {mode!r}")
    if mode != "volume":
        return _SizeAdjustedFeatures(keep=tuple(keep))
    volume = make_column_selector(pattern=r"_shape_VoxelVolume(?:__|$)")
    columns = [("control", "passthrough", volume), ("keep", "passthrough", list(keep))]
    return ColumnTransformer(
        [column for column in columns if column[2] != []], verbose_feature_names_out=False
    ).set_output(transform="pandas")


def _image_steps():
    from ..preprocessing import BiasFieldCorrector, IntensityNormalizer, Resampler, Resegmenter
    from ..segmentation import ROISegmenter

    return (BiasFieldCorrector, IntensityNormalizer, Resampler, Resegmenter, ROISegmenter)


def negative_control_pipeline(pipeline, mode, *, keep_columns=(), **control_params):
    """The same pipeline on control inputs: the control first, its feature selector second.

    Parameters
    ----------
    pipeline : Pipeline
        The real model, unfitted: optional image steps (preprocessing, a segmenter), then the
        extractor (a :class:`~rdinet_sklearn.radiomics.RadiomicsExtractor` or a FeatureUnion
        of them), then selection and the classifier.
    mode : {"volume", "replaced", "shuffled", "elsewhere"}
        The control.
    keep_columns : sequence of str, default=()
        Columns the extractor step hands on beside the features that a later step reads,
        e.g. a :class:`~rdinet_sklearn.harmonization.ComBatHarmonizer`'s batch column and
        covariates: the control's feature selector passes them through.
    **control_params
        Parameters of :class:`NegativeControl` (``roi``, ``out_dir``, ...).

    Returns
    -------
    control_pipeline : Pipeline
        ``[<image steps>, ("control", NegativeControl), <extractor>,
        ("control_features", selector), <the rest>]``, the steps cloned: the control
        replaces voxels of the images the extractor would read.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from rdinet_sklearn.explain import negative_control_pipeline
    >>> from rdinet_sklearn.radiomics import RadiomicsExtractor
    >>> real = Pipeline([("extract", RadiomicsExtractor()), ("clf", LogisticRegression())])
    >>> [name for name, _ in negative_control_pipeline(real, "shuffled").steps]
    ['control', 'extract', 'control_features', 'clf']
    """
    steps = clone(pipeline).steps
    first = next(i for i, (_, step) in enumerate(steps) if not isinstance(step, _image_steps()))
    control = NegativeControl(mode, **control_params)
    return Pipeline(
        [
            *steps[:first],
            ("control", control),
            steps[first],
            ("control_features", control_feature_selector(mode, keep=keep_columns)),
            *steps[first + 1 :],
        ],
        memory=pipeline.memory,
    )


def _cv_auc(estimator, X, y, cv, which):
    from sklearn.model_selection import cross_val_score

    try:
        return cross_val_score(estimator, X, y, cv=cv, scoring="roc_auc")
    except ValueError as error:  # scikit-learn raises this when every fit failed
        cause = [line.strip() for line in str(error).splitlines() if line.strip()][-1]
        raise NegativeControlError(
            f"every cross-validation fit of the {which} model failed ({cause})"
        ) from error


def compare_with_control(real, control, X, y, *, cv):
    """Cross-validated AUC of the real model and a control on the same splits, compared.

    Parameters
    ----------
    real, control : estimator
        The real pipeline and its control (e.g. from :func:`negative_control_pipeline`).
    X : DataFrame
        The case table.
    y : array-like of shape (n_cases,)
        Binary outcome.
    cv : cross-validation splitter
        Splits with a fixed seed (both models see identical folds), e.g.
        ``RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)``.

    Raises
    ------
    NegativeControlError
        When either model cannot be scored on every split (e.g. a control leaves no feature).

    Returns
    -------
    comparison : dict
        ``real_auc`` and ``control_auc`` (mean over splits), ``difference`` (real minus
        control) with ``ci_low``, ``ci_high`` (the corrected resampled t interval,
        95 %), ``p_value``, and the per-split ``real_scores`` and ``control_scores``.

    See Also
    --------
    rdinet_sklearn.metrics.corrected_resampled_ttest : The test.

    Notes
    -----
    The interval inverts Nadeau and Bengio's corrected resampled t statistic:
    :math:`\\bar d \\pm t_{J-1}\\,\\hat\\sigma\\sqrt{1/J + n_{test}/n_{train}}`.

    Examples
    --------
    Any two estimators compare the same way; with a case table, pass the real pipeline and
    :func:`negative_control_pipeline`'s control:

    >>> import numpy as np, pandas as pd
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import StratifiedKFold
    >>> from rdinet_sklearn.explain import compare_with_control
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=100)})
    >>> y = (2 * X["x"] + rng.normal(size=100) > 0).astype(int)
    >>> result = compare_with_control(
    ...     LogisticRegression(), DummyClassifier(), X, y,
    ...     cv=StratifiedKFold(5, shuffle=True, random_state=0),
    ... )
    >>> result["control_auc"], bool(result["ci_low"] > 0)
    (0.5, True)
    """
    from ..metrics import corrected_resampled_interval, corrected_resampled_ttest

    splits = list(cv.split(X, y))
    real_scores = _cv_auc(real, X, y, splits, "real")
    control_scores = _cv_auc(control, X, y, splits, "control")
    for which, scores in (("real", real_scores), ("control", control_scores)):
        failed = int(np.sum(~np.isfinite(scores)))
        if failed:  # a paired comparison needs every split (the fit errors were warned)
            raise NegativeControlError(
                f"the {which} model's fit failed in {failed} of {len(splits)} "
                "cross-validation splits; the comparison needs every split"
            )
    n_train = float(np.mean([len(train) for train, _ in splits]))
    n_test = float(np.mean([len(test) for _, test in splits]))
    test = corrected_resampled_ttest(real_scores, control_scores, n_train, n_test)
    low, high = corrected_resampled_interval(real_scores, control_scores, n_train, n_test)
    return {
        "real_auc": float(np.mean(real_scores)),
        "control_auc": float(np.mean(control_scores)),
        "difference": test.mean_difference,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": test.p_value,
        "real_scores": real_scores,
        "control_scores": control_scores,
    }
