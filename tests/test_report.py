"""HTML report: one self-contained file with tables, figures, settings, versions."""

import base64
import re

import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn.metrics import table1, table2
from rdinet_sklearn.plots import plot_decision_curve, plot_roc
from rdinet_sklearn.report import package_versions, write_html_report


@pytest.fixture
def study_outputs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    proba = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.2, 60), 0, 1)
    clinical = pd.DataFrame({"age": rng.normal(50, 9, 60), "sex": rng.choice(["F", "M"], 60)})
    cohort = np.where(np.arange(60) < 40, "train", "test")
    t1 = table1(clinical, cohort, group_order=["train", "test"])
    t2 = table2(
        {"RDINet": {"train": (y[:40], proba[:40], 0.5), "test": (y[40:], proba[40:], 0.5)}},
        n_bootstraps=50,
    )
    curves = {"RDINet": (y[40:], proba[40:])}
    figures = {"ROC": plot_roc(curves), "Decision curve": plot_decision_curve(curves).figure}
    return t1, t2, figures


def test_report_is_self_contained_with_all_sections(study_outputs, tmp_path):
    t1, t2, figures = study_outputs
    path = write_html_report(
        tmp_path / "out" / "report.html",
        title="TED <response> study",
        table1=t1,
        table2=t2,
        figures=figures,
        tables={"Extra": pd.DataFrame({"a": [1.23456]})},
        settings={"cv": "StratifiedKFold(5)", "grid": {"C": [0.1, 1]}},
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>TED &lt;response&gt; study</title>" in text
    for heading in ("Table 1", "Table 2", "Extra", "Figures", "Settings", "Software versions"):
        assert f"<h2>{heading}" in text
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 2
    assert base64.b64decode(images[0])[:4] == b"\x89PNG"
    # No external resources: nothing to fetch from a server or the network.
    assert not re.search(r"<link|<script|src=\"(?!data:)|url\(", text)
    assert t2.loc[("RDINet", "test"), "AUC"] in text
    assert "Interval methods: AUC: logit-transformed DeLong" in text  # Table 2's caption
    assert "Welch t-test" in text or "Mann-Whitney U" in text
    assert "&quot;C&quot;: [0.1, 1]" in text
    assert "<th>sklearn</th>" in text


def test_report_inline_svg(study_outputs, tmp_path):
    _, _, figures = study_outputs
    text = write_html_report(
        tmp_path / "r.html", title="svg", figures=figures, figure_format="svg"
    ).read_text(encoding="utf-8")
    assert text.count("<svg") == 2
    assert "<?xml" not in text and "data:image/png" not in text


def test_package_versions_reads_metadata():
    versions = package_versions()
    assert versions["sklearn"] == __import__("sklearn").__version__
    assert versions["numpy"] == np.__version__
    assert {"rdinet_sklearn", "torch", "SimpleITK", "radiomics", "pandas"} <= set(versions)
    assert package_versions(["surely_not_a_module"]) == {"surely_not_a_module": "not installed"}


def test_report_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="figure_format"):
        write_html_report(tmp_path / "r.html", title="x", figure_format="jpg")
    with pytest.raises(ValueError, match="DataFrames"):
        write_html_report(tmp_path / "r.html", title="x", tables={"bad": [1, 2]})
