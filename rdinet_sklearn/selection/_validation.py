"""The warning the selectors give when they apply their documented fallback."""


class SelectionFallbackWarning(UserWarning):
    """A selector applied its documented fallback because its criterion kept too few features.

    Issued by :class:`TTestSelector` (fewer than ``min_features`` features pass),
    :class:`LassoSelector` (every L1 coefficient is zero) and
    :class:`ReproducibilityFilter` (no feature could be assessed), so that a pipeline never
    gets an empty feature set. Filter it like any warning, e.g. with
    :func:`warnings.simplefilter` or ``pytest.warns``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from rdinet_sklearn.selection import SelectionFallbackWarning, TTestSelector
    >>> X = np.array([[0.0, 1.0], [1.0, 0.5], [0.0, 1.0], [1.0, 0.5]])  # no group effect
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     selector = TTestSelector(alpha=0.05).fit(X, [0, 0, 1, 1])
    >>> [w.category is SelectionFallbackWarning for w in caught]
    [True]
    >>> reason, fallback = str(caught[0].message).split("; ")
    >>> reason
    '0 feature(s) have a p-value below alpha=0.05'
    >>> fallback
    'keeping the 1 with the smallest p-values (min_features=1).'
    >>> selector.get_support()
    array([ True, False])
    """
