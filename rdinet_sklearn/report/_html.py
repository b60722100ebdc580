"""One self-contained HTML report: the answer first, then sections of tables and figures.

The file needs no server and no network: CSS is inline, figures are base64 PNG or inline SVG,
long tables are CSV downloads embedded as ``data:`` links. Built with the standard library
(``html``, ``base64``) and ``DataFrame.to_html``, so no templating dependency is needed.
"""

import base64
import datetime
import html
import io
import json
import platform
import re
import sys
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes

from .._versions import TRACKED_MODULES, dependency_versions
from ..metrics import format_p_value
from ..plots import STYLE
from ._sections import arrange_sections

# Import names whose versions a reader needs to reproduce a run: those a saved model records,
# plus the plotting library.
REPORTED_MODULES = (*TRACKED_MODULES, "matplotlib")

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto 2em;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { border-bottom: 2px solid #0072B2; padding-bottom: .3em; margin-top: 1em; }
h2 { margin-top: 1.8em; color: #0b4f7a; }
h3 { margin: 1em 0 .2em; font-size: 1em; color: #333; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc;
      padding: .5em 0; z-index: 1; font-size: .9em; }
nav a { margin-right: 1.1em; color: #0072B2; text-decoration: none; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
section { scroll-margin-top: 3em; }
.summary { background: #f2f8fc; border: 1px solid #b9d7ea; border-radius: 6px;
           padding: .2em 1.2em 1em; }
.summary h2 { margin-top: .6em; }
.summary td { white-space: nowrap; }
.reading { font-size: 1.1em; }
.caption { color: #444; margin: .2em 0 .6em; max-width: 60em; }
table { border-collapse: collapse; margin: .4em 0 .8em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
thead th { background: #eef4f8; }
tbody tr:nth-child(even) { background: #fafafa; }
.table-wrap { overflow-x: auto; }
.figures { display: flex; flex-wrap: wrap; gap: .5em 1.5em; align-items: flex-start; }
figure { margin: .6em 0; }
figure img, figure svg { max-width: 520px; width: 100%; height: auto; }
figcaption { font-size: .9em; color: #555; text-align: center; }
.download { margin: .4em 0 .8em; }
.download a { font-weight: 600; }
details summary { cursor: pointer; color: #0072B2; margin: .3em 0; }
.meta { color: #666; font-size: .85em; }
td pre { margin: 0; white-space: pre-wrap; }
tbody th, tbody td:first-child { white-space: nowrap; }
"""


def package_versions(modules=REPORTED_MODULES):
    """Installed versions of the packages behind ``modules`` (import names).

    Versions come from package metadata, so nothing heavy (torch) is imported.

    Parameters
    ----------
    modules : sequence of str
        Import names, e.g. ``"sklearn"`` or ``"radiomics"``.

    Returns
    -------
    dict of str to str
        ``{import name: version}``, ``"not installed"`` where absent.

    Examples
    --------
    >>> from rdinet_sklearn.report import package_versions
    >>> sorted(package_versions(["numpy", "no_such_module"]).values())[-1]
    'not installed'
    """
    return {
        module: version or "not installed"
        for module, version in dependency_versions(modules).items()
    }


def _figure_html(name, figure, figure_format, dpi):
    if isinstance(figure, Axes):
        figure = figure.figure
    buffer = io.BytesIO()
    with mpl.rc_context(STYLE):
        figure.savefig(buffer, format=figure_format, dpi=dpi)
    if figure_format == "png":
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        body = f'<img alt="{html.escape(name)}" src="data:image/png;base64,{encoded}">'
    else:
        svg = buffer.getvalue().decode("utf-8")
        body = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE
    return f"<figure>{body}<figcaption>{html.escape(name)}</figcaption></figure>"


def _table_html(frame):
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"tables must be pandas DataFrames; got {type(frame).__name__}.")
    if "p_value" in frame.columns:
        formatted = [format_p_value(p) for p in frame["p_value"]]
        frame = frame.assign(p_value=formatted).rename(columns={"p_value": "p-value"})
    caption = frame.attrs.get("caption")  # e.g. the interval methods of Table 2
    rendered = frame.to_html(
        na_rep="",
        border=0,
        float_format=lambda v: f"{v:.3f}",
        index=not isinstance(frame.index, pd.RangeIndex),  # row numbers carry no meaning
    )
    return rendered + (f'\n<p class="meta">{html.escape(caption)}</p>' if caption else "")


def _key_value_html(mapping):
    rows = []
    for key, value in mapping.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        rows.append(
            f"<tr><th>{html.escape(str(key))}</th><td><pre>{html.escape(text)}</pre></td></tr>"
        )
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def _csv_link_html(name, frame, preview_rows):
    """A long table as a CSV download embedded in the page, with a folded preview."""
    keep_index = not isinstance(frame.index, pd.RangeIndex)
    encoded = base64.b64encode(frame.to_csv(index=keep_index).encode("utf-8")).decode("ascii")
    file_name = (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "table") + ".csv"
    rows, columns = frame.shape
    return (
        f'<p class="download"><a download="{html.escape(file_name)}" '
        f'href="data:text/csv;base64,{encoded}">Download {html.escape(name)} as CSV</a> '
        f"({rows} rows &times; {columns} columns; too long to show here)</p>\n"
        f"<details><summary>Preview the first {preview_rows} rows</summary>"
        f'<div class="table-wrap">{_table_html(frame.head(preview_rows))}</div></details>'
    )


def _section_html(section, anchor, figure_format, dpi, max_inline_rows):
    parts = [f'<section id="{anchor}">\n<h2>{html.escape(section.title)}</h2>']
    if section.caption:
        parts.append(f'<p class="caption">{html.escape(section.caption)}</p>')
    for name, frame in section.tables.items():
        if len(section.tables) > 1:
            parts.append(f"<h3>{html.escape(name)}</h3>")
        if max_inline_rows is not None and len(frame) > max_inline_rows:
            parts.append(_csv_link_html(name, frame, preview_rows=min(10, max_inline_rows)))
        else:
            parts.append(f'<div class="table-wrap">{_table_html(frame)}</div>')
    if section.figures:
        rendered = (_figure_html(str(n), f, figure_format, dpi) for n, f in section.figures.items())
        parts.append(f'<div class="figures">{"".join(rendered)}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _folded_html(title, anchor, mapping, what):
    return (
        f'<section id="{anchor}">\n<h2>{html.escape(title)}</h2>\n<details><summary>Show '
        f"{len(mapping)} {what}</summary>{_key_value_html(mapping)}</details>\n</section>"
    )


def _summary_html(summary, reading, caption):
    parts = ['<section id="summary" class="summary">\n<h2>Summary</h2>']
    if reading:
        parts.append(f'<p class="reading">{html.escape(reading)}</p>')
    if summary is not None:
        parts.append(f'<div class="table-wrap">{_table_html(summary)}</div>')
    if caption:
        parts.append(f'<p class="caption">{html.escape(caption)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _anchors(titles):
    """Unique ``id`` values for section headings (``summary`` is the summary's own)."""
    seen, anchors = {"summary"}, []
    for title in titles:
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
        anchor, count = base, 1
        while anchor in seen:
            count += 1
            anchor = f"{base}-{count}"
        seen.add(anchor)
        anchors.append(anchor)
    return anchors


def _check_options(figure_format, max_inline_rows):
    if figure_format not in ("png", "svg"):
        raise ValueError(f'figure_format must be "png" or "svg"; got {figure_format!r}.')
    if max_inline_rows is not None and (
        not isinstance(max_inline_rows, int) or max_inline_rows < 1
    ):
        raise ValueError(
            f"max_inline_rows must be a positive int or None; got {max_inline_rows!r}."
        )


def _environment():
    return {"python": sys.version.split()[0], "platform": platform.platform(), **package_versions()}


def write_html_report(path, report, *, figure_format="png", dpi=150, max_inline_rows=30):
    """Write a single self-contained HTML report of a study run.

    The page opens with a navigation bar and, when given, a summary block (the answer);
    then one section per ``layout`` entry (title, caption, its tables and the figures
    that illustrate them), one section per table the layout does not place, the remaining
    figures, and the folded settings and software versions.

    Parameters
    ----------
    path : str or path-like
        Output ``.html`` file (parent folders are created).
    report : :class:`~rdinet_sklearn.report.Report`
        What the page shows: title, tables, figures, settings, summary and layout.
    figure_format : {"png", "svg"}, default="png"
        Base64 PNG (small, renders everywhere) or inline SVG (vector).
    dpi : int, default=150
        Resolution of PNG figures.
    max_inline_rows : int or None, default=30
        Tables with more rows are offered as an embedded CSV download (with a folded
        preview) instead of inline; None shows every table inline.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    The report always ends with the Python version, platform and versions of
    :data:`REPORTED_MODULES`, so a reader can tell which software produced it.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from rdinet_sklearn.report import Report, write_html_report
    >>> layout = [{"title": "Scores", "caption": "One row per model.", "tables": ["AUC"]}]
    >>> report = Report(
    ...     "Demo", settings={"seed": 0},
    ...     tables={"AUC": pd.DataFrame({"model": ["A"], "auc": [0.8]})},
    ...     reading="Model A discriminates well.", layout=layout)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_html_report(f"{folder}/r.html", report)
    ...     text = written.read_text(encoding="utf-8")
    >>> text.index("Model A discriminates") < text.index('<h2>Scores')
    True
    """
    _check_options(figure_format, max_inline_rows)
    sections = arrange_sections(report.tables, report.figures, report.layout)
    folded = [("Settings", report.settings, "settings")] if report.settings else []
    folded.append(("Software versions", _environment(), "package versions"))
    titles = [s.title for s in sections] + [t for t, _, _ in folded]
    anchors = _anchors(titles)
    blocks, links = [], []
    if report.summary is not None or report.reading:
        blocks.append(_summary_html(report.summary, report.reading, report.summary_caption))
        links.append(("summary", "Summary"))
    for section, anchor in zip(sections, anchors[: len(sections)], strict=True):
        blocks.append(_section_html(section, anchor, figure_format, dpi, max_inline_rows))
    for (heading, mapping, what), anchor in zip(folded, anchors[len(sections) :], strict=True):
        blocks.append(_folded_html(heading, anchor, mapping, what))
    links += list(zip(anchors, titles, strict=True))
    nav = " ".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t in links)
    title = report.title

    created = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    body = "\n".join(blocks)
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{html.escape(title)}</h1>\n<p class="meta">Generated {created} by '
        f"rdinet_sklearn.</p>\n<nav>{nav}</nav>\n{body}\n</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
