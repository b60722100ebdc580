"""scikit-learn's estimator checks on the three selectors, with no expected failures."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector


@parametrize_with_checks(
    [
        ReproducibilityFilter(),
        TTestSelector(),
        # A short grid and 3 folds keep the ~40 checks fast; the logic is the same.
        LassoSelector(Cs=4, cv=3, random_state=0),
    ]
)
# The checks' random data trigger the documented fallbacks (no rater-2 columns, nothing
# significant, empty L1 model); those warnings are the policy, not a failure.
@pytest.mark.filterwarnings("ignore::rdinet_sklearn.selection.SelectionFallbackWarning")
def test_sklearn_compatible_selector(estimator, check):
    check(estimator)
