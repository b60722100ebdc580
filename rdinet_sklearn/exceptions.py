"""The one base class of every "this input cannot be used" error.

Every error that means the user's input (a case table, an image, a setting, a model folder)
is unusable derives from :class:`RdinetInputError`, so that callers catch one class and the
``rdinet`` command maps it to exit code 3 without a table of names. It derives from
:class:`ValueError`, as scikit-learn's own input errors do.
"""


class RdinetInputError(ValueError):
    """The input cannot be used; the message says which row, file, key or structure, and why.

    Examples
    --------
    >>> from rdinet_sklearn import CaseTableError
    >>> from rdinet_sklearn.exceptions import RdinetInputError
    >>> issubclass(CaseTableError, RdinetInputError)
    True
    """
