"""One self-contained HTML report: tables, embedded figures, settings, versions.

The file needs no server and no network: CSS is inline, figures are base64 PNG
or inline SVG. Built with the standard library (``html``, ``base64``) and
``DataFrame.to_html``, so no templating dependency is needed.
"""

import base64
import datetime
import html
import io
import json
import platform
import sys
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes

from .._versions import TRACKED_MODULES, dependency_versions
from ..metrics import format_p_value
from ..plots import STYLE

# Import names whose versions a reader needs to reproduce a run: those a saved model records,
# plus the plotting library.
REPORTED_MODULES = (*TRACKED_MODULES, "matplotlib")

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { border-bottom: 2px solid #0072B2; padding-bottom: .3em; }
h2 { margin-top: 2em; color: #0b4f7a; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
thead th { background: #eef4f8; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { display: inline-block; margin: .8em 1.2em .8em 0; vertical-align: top; }
figure img, figure svg { max-width: 520px; height: auto; }
figcaption { font-size: .9em; color: #555; text-align: center; }
.meta { color: #666; font-size: .85em; }
td pre { margin: 0; white-space: pre-wrap; }
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


def write_html_report(
    path,
    *,
    title,
    table1=None,
    table2=None,
    figures=None,
    tables=None,
    settings=None,
    figure_format="png",
    dpi=150,
):
    """Write a single self-contained HTML report of a study run.

    Parameters
    ----------
    path : str or path-like
        Output ``.html`` file (parent folders are created).
    title : str
        Report heading and page title.
    table1 : pandas.DataFrame, default=None
        Output of :func:`rdinet_sklearn.metrics.table1` (p-values formatted).
    table2 : pandas.DataFrame, default=None
        Output of :func:`rdinet_sklearn.metrics.table2`. Any table's
        ``attrs["caption"]`` (the interval methods, for ``table2`` and
        :func:`~rdinet_sklearn.metrics.calibration_table`) is printed under it.
    figures : dict of str to Figure or Axes, default=None
        Figures in display order, captioned with their keys.
    tables : dict of str to DataFrame, default=None
        Further tables (e.g. ``binary_report`` outputs, CV summaries).
    settings : dict, default=None
        Run settings (estimator parameters, CV scheme, seeds); nested values
        are shown as JSON.
    figure_format : {"png", "svg"}, default="png"
        Base64 PNG (small, renders everywhere) or inline SVG (vector).
    dpi : int, default=150
        Resolution of PNG figures.

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
    >>> from rdinet_sklearn.report import write_html_report
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_html_report(f"{folder}/r.html", title="Demo", settings={"seed": 0})
    ...     "Demo" in written.read_text(encoding="utf-8")
    True
    """
    if figure_format not in ("png", "svg"):
        raise ValueError(f'figure_format must be "png" or "svg"; got {figure_format!r}.')
    sections = []
    if table1 is not None:
        sections.append(("Table 1. Clinical characteristics", _table_html(table1)))
    if table2 is not None:
        sections.append(("Table 2. Model performance", _table_html(table2)))
    for name, frame in (tables or {}).items():
        sections.append((str(name), _table_html(frame)))
    if figures:
        rendered = [_figure_html(str(n), f, figure_format, dpi) for n, f in figures.items()]
        sections.append(("Figures", "\n".join(rendered)))
    if settings:
        sections.append(("Settings", _key_value_html(settings)))
    environment = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **package_versions(),
    }
    sections.append(("Software versions", _key_value_html(environment)))

    created = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{content}" for h, content in sections)
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{html.escape(title)}</h1>\n<p class="meta">Generated {created} by '
        f"rdinet_sklearn.</p>\n{body}\n</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
