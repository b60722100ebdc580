"""Radiomics feature selectors: inter-rater reproducibility, univariate tests and L1 models.

All selectors are scikit-learn :class:`~sklearn.feature_selection.SelectorMixin` estimators
that can be chained in a :class:`sklearn.pipeline.Pipeline` (or an imbalanced-learn one, with
a resampler after them) so that each is fitted on the training rows only.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._icc": ["ICCMeanSquares", "icc_mean_squares", "intraclass_correlation"],
        "._lasso": ["LassoSelector", "first_feature_on_l1_path"],
        "._reproducibility": ["PerturbationReproducibilityFilter", "ReproducibilityFilter"],
        "._ttest": ["TTestSelector", "two_sample_test"],
        "._validation": ["SelectionFallbackWarning"],
    },
)
