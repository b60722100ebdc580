"""The report as a reader sees it: rendered by headless Chromium, every figure drawn.

Two checks on one rendering: the DOM after load (every ``<img>`` decoded, every inline
``<svg>`` laid out with a size), and the screenshot (each figure's region holds drawn
pixels, not a blank or a broken-image icon). Skipped when no Chromium is installed.
"""

import re
import shutil
import subprocess

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn.plots import plot_calibration, plot_roc
from rdinet_sklearn.report import Report, write_html_report
from rdinet_sklearn.study._outputs import REPORT_LAYOUT

CHROMIUM = next(
    (
        path
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (path := shutil.which(name))
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (apt-get install chromium); "
    "the rendered report cannot be checked",
)

# Run once the page and its images have loaded: mark each figure with what the browser drew
# and where, so the DOM dump and the screenshot can both be checked.
PROBE = """<script>
window.addEventListener("load", () => {
  const figures = [...document.querySelectorAll("figure img, figure svg")];
  figures.forEach((element, index) => {
    const box = element.getBoundingClientRect();
    const decoded = element.tagName.toLowerCase() === "svg"
      || (element.complete && element.naturalWidth > 0);
    element.parentElement.setAttribute("data-probe", [index, decoded ? 1 : 0,
      Math.round(box.left + scrollX), Math.round(box.top + scrollY),
      Math.round(box.width), Math.round(box.height)].join(","));
  });
  document.body.setAttribute("data-height", document.documentElement.scrollHeight);
});
</script>"""

WIDTH = 1280


def _chromium(*arguments, profile):
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # the test may run as root in a container
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",  # run the page until it has loaded and settled
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def render_problems(report, folder):
    """What a reader would see wrong in ``report``: one line per figure not drawn.

    Parameters
    ----------
    report : pathlib.Path
        The HTML file.
    folder : pathlib.Path
        Scratch folder (probed copy, browser profile, screenshot).

    Returns
    -------
    problems : list of str
        Empty when the page rendered and every figure was drawn.
    screenshot : pathlib.Path
        The full-page screenshot.
    """
    probed = folder / f"probed_{report.name}"
    probed.write_text(
        report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    profile = folder / "profile"
    # The same width for both runs, so the figures' measured places are where the screenshot
    # shows them.
    dom = _chromium(
        "--dump-dom", f"--window-size={WIDTH},1000", probed.as_uri(), profile=profile
    ).stdout
    height = re.search(r'data-height="(\d+)"', dom)
    if height is None:
        return ["the page did not finish loading (no probe result)"], None
    probes = [tuple(map(int, p.split(","))) for p in re.findall(r'data-probe="([^"]+)"', dom)]
    problems = [f"figure {i}: image not decoded" for i, decoded, *_ in probes if not decoded]
    screenshot = folder / "screenshot.png"
    height = min(int(height.group(1)), 16000)
    _chromium(
        f"--screenshot={screenshot}",
        f"--window-size={WIDTH},{height}",
        probed.as_uri(),
        profile=profile,
    )
    pixels = matplotlib.image.imread(screenshot)[..., :3]
    if pixels.std() < 0.01:
        problems.append("the screenshot is blank")
    for index, _, left, top, width, height in probes:
        region = pixels[top : top + height, left : left + width]
        # A drawn plot has axes, lines and text: well over 1% of its pixels are not white.
        # A broken-image icon, or an empty box, leaves the region (nearly) white or empty.
        inked = (region < 0.9).any(axis=-1).mean() if region.size else 0.0
        if width < 100 or height < 100 or inked < 0.01:
            problems.append(f"figure {index}: nothing drawn ({width}x{height} px, {inked:.1%} ink)")
    return problems, screenshot


@pytest.fixture(scope="module")
def report_parts():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    proba = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.2, 40), 0, 1)
    curves = {"RDINet": (y, proba), "Radiomics": (y, 1 - proba / 2)}
    # Named as the study names them, laid out by the study's own layout: two figures side by
    # side at the screenshot's width (stacked in a narrower window), one figure alone.
    figures = {
        "ROC, training cohort": plot_roc(curves),
        "ROC, test cohort": plot_roc(curves),
        "Calibration, test cohort": plot_calibration(curves),
    }
    tables = {
        "Table 2": pd.DataFrame({"model": ["RDINet", "Radiomics"], "AUC": ["0.90", "0.60"]}),
        "Table 2 (numeric)": pd.DataFrame({"row": range(40), "value": proba}),
    }
    summary = pd.DataFrame({"Family": ["RDINet"], "Test AUC (95% CI)": ["0.90 (0.80-0.99)"]})
    return {
        "figures": figures,
        "tables": tables,
        "layout": REPORT_LAYOUT,
        "summary": summary,
        "reading": "RDINet did best.",
        "settings": {"seed": 0},
    }


@pytest.mark.parametrize("figure_format", ["png", "svg"])
def test_report_renders_every_figure(report_parts, tmp_path, figure_format):
    report = write_html_report(
        tmp_path / "report.html", Report("Render", **report_parts), figure_format=figure_format
    )
    problems, screenshot = render_problems(report, tmp_path)
    assert problems == []
    assert matplotlib.image.imread(screenshot).shape[1] == WIDTH


def test_a_figure_that_does_not_load_fails_the_check(report_parts, tmp_path):
    report = write_html_report(tmp_path / "report.html", Report("Render", **report_parts))
    text = report.read_text(encoding="utf-8")
    first = re.search(r'src="data:image/png;base64,[^"]+"', text)
    broken = text[: first.start()] + 'src="figures/missing.png"' + text[first.end() :]
    report.write_text(broken, encoding="utf-8")
    problems, _ = render_problems(report, tmp_path)
    assert "figure 0: image not decoded" in problems
    assert any(p.startswith("figure 0: nothing drawn") for p in problems)
    assert not any(p.startswith(("figure 1", "figure 2")) for p in problems)  # intact ones pass


def test_a_figure_drawn_blank_fails_the_check(report_parts, tmp_path):
    # A decodable image with nothing on it: only the screenshot can tell.
    import matplotlib.pyplot as plt

    blank = plt.figure(figsize=(4, 3))
    parts = {**report_parts, "figures": {"ROC, training cohort": blank}}
    report = write_html_report(tmp_path / "report.html", Report("Render", **parts))
    problems, _ = render_problems(report, tmp_path)
    plt.close(blank)
    assert len(problems) == 1
    assert problems[0].startswith("figure 0: nothing drawn (520x")
    assert problems[0].endswith(" px, 0.0% ink)")
