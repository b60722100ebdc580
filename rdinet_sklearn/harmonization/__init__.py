"""Harmonization of radiomics features across centers and scanners (ComBat), as pipeline steps.

A harmonizer is an ordinary scikit-learn transformer: in a
:class:`~sklearn.pipeline.Pipeline` it is fitted on the training folds only, and a fitted one
maps new data (including a center never seen in training, with ``unseen="estimate"``) onto
the training reference.
"""

from rdinet_sklearn.harmonization._combat import ComBatHarmonizer
from rdinet_sklearn.harmonization._design import HarmonizationWarning

__all__ = ["ComBatHarmonizer", "HarmonizationWarning"]
