"""Publication figures: ROC, calibration, decision curves, radar and CV score plots.

Every function takes an optional ``ax`` and returns the Axes it drew on (the
figure is ``ax.figure``); :func:`save_figure` writes PNG and SVG.
"""

from ._calibration import plot_calibration
from ._cv_scores import cv_scores_frame, plot_cv_scores
from ._decision_curve import net_benefit, plot_decision_curve
from ._radar import plot_radar
from ._roc import plot_roc
from ._style import PALETTE, STYLE, save_figure

__all__ = [
    "PALETTE",
    "STYLE",
    "cv_scores_frame",
    "net_benefit",
    "plot_calibration",
    "plot_cv_scores",
    "plot_decision_curve",
    "plot_radar",
    "plot_roc",
    "save_figure",
]
