"""What every transformer whose input is a case table shares: the type check and the tags.

A case table (:func:`~rdinet_sklearn.read_case_table`) is a DataFrame of file paths and
clinical columns, not a numeric array: the preprocessing steps, the negative controls and the
radiomics extractor read files from it, so they refuse anything else with one message and
tell scikit-learn's checks (through their tags) what input they take.
"""

from __future__ import annotations

import pandas as pd


class CaseTableStepMixin:
    """Mixin of the transformers that take a case table: its type check and input tags.

    Put it before ``TransformerMixin`` and ``BaseEstimator`` in the bases, as scikit-learn's
    mixins go, so that its ``__sklearn_tags__`` amends theirs.
    """

    def _require_case_table(self, X):
        """Raise a TypeError unless ``X`` is a DataFrame (the case table)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"{type(self).__name__} expects a case table (pandas DataFrame, e.g. from "
                f"rdinet_sklearn.read_case_table), got {type(X).__name__}"
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a case table of file paths and clinical columns, not a float array; its
        # optional cells (a second rater's mask, clinical values) may be empty.
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []
        return tags
