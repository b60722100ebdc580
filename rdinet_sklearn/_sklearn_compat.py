"""scikit-learn's private helpers, imported in this one module.

Parameter validation (``Interval``, ``StrOptions``, ...), ``_fit_context`` and
``_check_feature_names_in`` are what every third-party estimator needs to read and fail like
scikit-learn's own, but scikit-learn keeps them private. imbalanced-learn gathers them in one
``sklearn_compat`` module so that a release that moves one breaks one file; so do we. Nothing
else in ``rdinet_sklearn`` imports from ``sklearn.utils._*`` or ``sklearn.base._*``.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.fixes import parse_version
from sklearn.utils.validation import _check_feature_names_in as check_feature_names_in

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "check_feature_names_in",
    "fit_context",
    "parse_version",
    "validate_parameter_constraints",
    "validate_params",
]
