"""Harmonization of radiomics features across centers and scanners (ComBat), as pipeline steps.

A harmonizer is an ordinary scikit-learn transformer: in a
:class:`~sklearn.pipeline.Pipeline` it is fitted on the training folds only, and a fitted one
maps new data (including a center never seen in training, with ``unseen="estimate"``) onto
the training reference.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._combat": ["ComBatHarmonizer"],
        "._design": ["HarmonizationWarning"],
    },
)
