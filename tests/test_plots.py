"""Figures: artists and labels exist, hand-worked net benefit, PNG/SVG saving."""

import matplotlib

matplotlib.use("Agg")  # headless test runs; the plots themselves never touch pyplot

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate

from rdinet_sklearn.metrics import binary_report, delong_auc_ci, paper_scoring
from rdinet_sklearn.plots import (
    cv_scores_frame,
    net_benefit,
    plot_calibration,
    plot_cv_scores,
    plot_decision_curve,
    plot_radar,
    plot_roc,
    save_figure,
)


@pytest.fixture
def curves():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    good = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.2, 80), 0, 1)
    weak = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.25, 80), 0, 1)
    return {"RDINet": (y, good), "Radiomics": (y, weak)}


def _legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_plot_roc_legend_has_auc_with_delong_ci(curves):
    ax = plot_roc(curves, title="Test cohort")
    y, proba = curves["RDINet"]
    auc = delong_auc_ci(y, proba)
    expected = f"RDINet: AUC {auc.auc:.2f} ({auc.ci_low:.2f}-{auc.ci_high:.2f})"
    assert _legend_texts(ax) == [expected, _legend_texts(ax)[1], "Chance"]
    assert _legend_texts(ax)[1].startswith("Radiomics: AUC ")
    assert len(ax.get_lines()) == 3
    assert ax.get_title() == "Test cohort"
    assert isinstance(ax.figure, Figure)


def test_plots_draw_on_given_axes(curves):
    figure = Figure(figsize=(9, 3))
    axes = figure.subplots(1, 3)
    assert plot_roc(curves, ax=axes[0]) is axes[0]
    assert plot_calibration(curves, ax=axes[1]) is axes[1]
    assert plot_decision_curve(curves, ax=axes[2]) is axes[2]
    with pytest.raises(ValueError, match="polar"):
        plot_radar({"A": {"AUC": 0.8, "SEN": 0.7, "SPE": 0.6}}, ax=axes[0])


def test_plot_calibration_legend_has_brier(curves):
    ax = plot_calibration(curves, n_bins=5, strategy="quantile")
    texts = _legend_texts(ax)
    y, proba = curves["RDINet"]
    assert texts[0] == f"RDINet (Brier {np.mean((proba - y) ** 2):.3f})"
    assert texts[-1] == "Perfectly calibrated"
    assert len(ax.get_lines()) == 3
    assert len(ax.get_lines()[0].get_xdata()) <= 5


@pytest.mark.parametrize(
    ("plot", "labels"),
    [
        (plot_roc, ("1 - Specificity (false-positive rate)", "Sensitivity (true-positive rate)")),
        (plot_calibration, ("Mean predicted probability", "Observed fraction of positives")),
    ],
)
def test_roc_and_calibration_share_the_unit_square_with_its_diagonal(curves, plot, labels):
    ax = plot(curves)
    assert ax.get_xlim() == ax.get_ylim() == (-0.01, 1.01)
    assert ax.get_aspect() == 1.0
    assert (ax.get_xlabel(), ax.get_ylabel()) == labels
    diagonal = ax.get_lines()[-1]
    assert diagonal.get_linestyle() == "--"
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata()) == [0, 1]


def test_net_benefit_hand_worked():
    y = [1, 1, 0, 0, 1]
    proba = [0.9, 0.6, 0.7, 0.2, 0.3]
    # pt=0.25: calls 0.9, 0.6, 0.7, 0.3 -> TP=3, FP=1: 3/5 - 1/5 * (0.25/0.75) = 0.5333
    # pt=0.5: calls 0.9, 0.6, 0.7 -> TP=2, FP=1: 2/5 - 1/5 * 1 = 0.2
    # pt=0.6: calls 0.9, 0.6, 0.7 (>=) -> 2/5 - 1/5 * 1.5 = 0.1
    assert net_benefit(y, proba, [0.25, 0.5, 0.6]) == pytest.approx([8 / 15, 0.2, 0.1])
    # Treat all: prevalence 0.6 -> 0.6 - 0.4 * pt / (1 - pt)
    assert net_benefit(y, np.ones(5), [0.25, 0.5]) == pytest.approx([0.6 - 0.4 / 3, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        net_benefit(y, proba, [0.5, 1.0])


def test_plot_decision_curve_lines(curves):
    ax = plot_decision_curve(curves, thresholds=np.linspace(0.05, 0.8, 16))
    assert _legend_texts(ax) == ["RDINet", "Radiomics", "Treat all", "Treat none"]
    lines = ax.get_lines()
    assert len(lines) == 4
    y, proba = curves["RDINet"]
    assert lines[0].get_ydata() == pytest.approx(net_benefit(y, proba, np.linspace(0.05, 0.8, 16)))
    assert ax.get_xlabel() == "Threshold probability"


def test_plot_radar_from_reports_and_dicts(curves):
    reports = {name: binary_report(y, p, n_bootstraps=20) for name, (y, p) in curves.items()}
    reports["CNN"] = {"AUC": 0.7, "ACC": 0.6, "SEN": 0.5, "SPE": 0.8, "PPV": 0.7, "NPV": 0.6}
    ax = plot_radar(reports)
    assert ax.name == "polar"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "AUC",
        "ACC",
        "SEN",
        "SPE",
        "PPV",
        "NPV",
    ]
    assert _legend_texts(ax) == ["RDINet", "Radiomics", "CNN"]
    assert len(ax.get_lines()) == 3
    assert len(ax.get_lines()[0].get_xdata()) == 7  # closed polygon
    with pytest.raises(ValueError, match="no column"):
        plot_radar(reports, metrics=["AUC", "F1"])


def test_plot_cv_scores_boxes_and_points():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "strategy": np.repeat(["IR", "SR", "MR"], 10),
            "model": np.tile(np.repeat(["LR", "SVM"], 5), 3),
            "score": rng.uniform(0.6, 0.9, 30),
        }
    )
    ax = plot_cv_scores(data, x="strategy", y="score", hue="model")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["IR", "SR", "MR"]
    assert len(ax.patches) == 6  # one box per (strategy, model)
    assert len(ax.collections) == 6 and sum(len(c.get_offsets()) for c in ax.collections) == 30
    assert _legend_texts(ax) == ["LR", "SVM"]
    with pytest.raises(ValueError, match="no column"):
        plot_cv_scores(data, x="roi")


def test_cv_scores_frame_from_cross_validate():
    X, y = make_classification(n_samples=60, random_state=0)
    results = {
        name: cross_validate(LogisticRegression(C=c), X, y, cv=3, scoring=paper_scoring())
        for name, c in [("weak", 0.01), ("strong", 1.0)]
    }
    frame = cv_scores_frame(results)
    assert frame.shape == (2 * 6 * 3, 4)
    auc = frame[frame.metric == "roc_auc"]
    ax = plot_cv_scores(auc, x="model", y="score")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["weak", "strong"]


def test_save_figure_writes_png_and_svg(curves, tmp_path):
    written = save_figure(plot_roc(curves), tmp_path / "figures" / "roc.png")
    assert [p.name for p in written] == ["roc.png", "roc.svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in written[1].read_text()


def test_plots_reject_bad_curves(curves):
    with pytest.raises(ValueError, match="non-empty"):
        plot_roc({})
    with pytest.raises(ValueError, match=r"curves\['A'\]: y_true must contain exactly two"):
        plot_roc({"A": ([1, 1, 1], [0.2, 0.4, 0.6])})
    with pytest.raises(ValueError, match="pair"):
        plot_calibration({"A": curves["RDINet"][0]})
