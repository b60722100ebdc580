"""HTML report: one self-contained file with tables, figures, settings, versions."""

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn.metrics import table1, table2
from rdinet_sklearn.plots import plot_decision_curve, plot_roc
from rdinet_sklearn.report import Report, package_versions, write_html_report


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
    report = Report(
        "TED <response> study",
        tables={"Table 1": t1, "Table 2": t2, "Extra": pd.DataFrame({"a": [1.23456]})},
        figures=figures,
        settings={"cv": "StratifiedKFold(5)", "grid": {"C": [0.1, 1]}},
    )
    path = write_html_report(tmp_path / "out" / "report.html", report)
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
        tmp_path / "r.html", Report("svg", figures=figures), figure_format="svg"
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
        write_html_report(tmp_path / "r.html", Report("x"), figure_format="jpg")
    with pytest.raises(ValueError, match="DataFrames"):
        Report("x", tables={"bad": [1, 2]})


def _section(text, anchor):
    """The HTML of the ``<section id=anchor>`` element."""
    start = text.index(f'<section id="{anchor}"')
    return text[start : text.index("</section>", start)]


def test_report_leads_with_summary_and_navigates_to_every_section(study_outputs, tmp_path):
    t1, t2, figures = study_outputs
    summary = pd.DataFrame({"Best model": ["RDINet"], "Test AUC (95% CI)": ["0.81 (0.6-0.9)"]})
    layout = [
        {"title": "Discrimination", "caption": "Table 2 & its ROC.", "tables": ["Table 2"]},
        {"title": "Discrimination", "figures": ["ROC", "not made by this run"]},
        {"title": "Empty", "tables": ["absent"]},
    ]
    report = Report(
        "t",
        tables={"Table 1": t1, "Table 2": t2, "Unplaced": pd.DataFrame({"a": [1]})},
        figures=figures,
        settings={"seed": 0},
        summary=summary,
        reading="RDINet did best.",
        layout=layout,
    )
    text = write_html_report(tmp_path / "r.html", report).read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([^"]+)"', text)
    assert sections == [
        "summary",
        "discrimination",
        "discrimination-2",  # same title, distinct anchors
        "table-1-clinical-characteristics",  # placed by no layout entry: its own section
        "unplaced",
        "further-figures",
        "settings",
        "software-versions",
    ]
    nav = text[text.index("<nav>") : text.index("</nav>")]
    assert re.findall(r'href="#([^"]+)"', nav) == sections
    assert text.index("RDINet did best.") < text.index('<section id="discrimination"')
    assert "0.81 (0.6-0.9)" in _section(text, "summary")
    assert "Table 2 &amp; its ROC." in _section(text, "discrimination")
    assert t2.loc[("RDINet", "test"), "AUC"] in _section(text, "discrimination")
    assert _section(text, "discrimination-2").count("<img") == 1  # the ROC, not the absent one
    assert _section(text, "further-figures").count("<img") == 1  # the unplaced decision curve
    assert "Empty" not in text
    for folded in ("settings", "software-versions"):
        assert "<details><summary>Show" in _section(text, folded)


def test_long_tables_become_embedded_csv_downloads(tmp_path):
    long = pd.DataFrame({"model": [f"m{i}" for i in range(31)], "auc": np.linspace(0, 1, 31)})
    short = long.head(30)
    text = write_html_report(
        tmp_path / "r.html", Report("t", tables={"Long scores": long, "Short": short})
    ).read_text(encoding="utf-8")
    link = re.search(r'<a download="long_scores.csv" href="data:text/csv;base64,([^"]+)"', text)
    assert link is not None
    downloaded = pd.read_csv(io.BytesIO(base64.b64decode(link.group(1))))
    pd.testing.assert_frame_equal(downloaded, long)
    assert "31 rows &times; 2 columns" in _section(text, "long-scores")
    assert _section(text, "long-scores").count("</tr>") == 11  # header + a 10-row preview
    assert "download=" not in _section(text, "short")
    assert _section(text, "short").count("</tr>") == 31
    inline = write_html_report(
        tmp_path / "all.html", Report("t", tables={"Long scores": long}), max_inline_rows=None
    ).read_text(encoding="utf-8")
    assert "download=" not in inline and inline.count("</tr>") >= 32


def test_report_rejects_bad_layouts(tmp_path):
    for layout, message in (
        ([{"caption": "no title"}], "title"),
        ([{"title": "x", "table": ["Table 1"]}], "unknown keys"),
        ([{"title": "x", "tables": "Table 1"}], "list of names"),
    ):
        with pytest.raises(ValueError, match=message):
            write_html_report(tmp_path / "r.html", Report("x", layout=layout))
    with pytest.raises(ValueError, match="max_inline_rows"):
        write_html_report(tmp_path / "r.html", Report("x"), max_inline_rows=0)
