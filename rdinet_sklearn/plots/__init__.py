"""Publication figures: ROC, calibration, decision curves, radar and CV score plots.

Every function takes an optional ``ax`` and returns the Axes it drew on (the
figure is ``ax.figure``); :func:`save_figure` writes PNG and SVG.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._calibration": ["plot_calibration"],
        "._contributions": ["plot_contributions"],
        "._cv_scores": ["cv_scores_frame", "plot_cv_scores"],
        "._decision_curve": ["net_benefit", "plot_decision_curve"],
        "._radar": ["plot_radar"],
        "._roc": ["plot_roc"],
        "._style": ["PALETTE", "STYLE", "save_figure"],
    },
)
