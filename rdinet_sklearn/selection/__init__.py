"""Radiomics feature selectors: inter-rater reproducibility, univariate tests and L1 models.

All selectors are scikit-learn :class:`~sklearn.feature_selection.SelectorMixin` estimators
that can be chained in a :class:`sklearn.pipeline.Pipeline` (or an imbalanced-learn one, with
a resampler after them) so that each is fitted on the training rows only.
"""

from rdinet_sklearn.selection._icc import ICCMeanSquares, icc_mean_squares, intraclass_correlation
from rdinet_sklearn.selection._lasso import LassoSelector, first_feature_on_l1_path
from rdinet_sklearn.selection._reproducibility import ReproducibilityFilter
from rdinet_sklearn.selection._ttest import TTestSelector, two_sample_test
from rdinet_sklearn.selection._validation import SelectionFallbackWarning

__all__ = [
    "ICCMeanSquares",
    "LassoSelector",
    "ReproducibilityFilter",
    "SelectionFallbackWarning",
    "TTestSelector",
    "first_feature_on_l1_path",
    "icc_mean_squares",
    "intraclass_correlation",
    "two_sample_test",
]
