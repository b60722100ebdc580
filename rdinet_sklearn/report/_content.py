"""What a report shows, as one object: :class:`Report`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Report:
    """The content of an HTML report (see :func:`write_html_report`), checked on creation.

    Parameters
    ----------
    title : str
        Report heading and page title.
    tables : dict of str to DataFrame, default={}
        Tables by name, e.g. ``"Table 1"`` (:func:`~rdinet_sklearn.metrics.table1`) and
        ``"Table 2"`` (:func:`~rdinet_sklearn.metrics.table2`). Any table's
        ``attrs["caption"]`` (e.g. the interval methods) is printed under it.
    figures : dict of str to Figure or Axes, default={}
        Figures in display order, captioned with their keys.
    settings : dict, default=None
        Run settings; nested values are shown as JSON, folded.
    summary : DataFrame, default=None
        The answer, shown first in a highlighted block.
    reading : str, default=None
        A plain-language sentence shown above ``summary``.
    summary_caption : str, default=None
        A note shown below ``summary`` (e.g. how its rows were chosen).
    layout : sequence of dict, default=None
        Sections in order, each ``{"title": str, "caption": str, "tables": [names],
        "figures": [names]}``; names absent from the run are skipped. Tables the layout
        does not place get one section each, figures one section together.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.report import Report
    >>> Report("Demo", tables={"AUC": pd.DataFrame({"auc": [0.8]})}).title
    'Demo'
    """

    title: str
    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    settings: dict | None = None
    summary: pd.DataFrame | None = None
    reading: str | None = None
    summary_caption: str | None = None
    layout: tuple | list | None = None

    def __post_init__(self):
        for name, frame in self.tables.items():
            if not isinstance(frame, pd.DataFrame):
                raise ValueError(
                    f"tables must be pandas DataFrames; got {type(frame).__name__} for {name!r}."
                )
        if self.summary is not None and not isinstance(self.summary, pd.DataFrame):
            raise ValueError(
                f"summary must be a pandas DataFrame; got {type(self.summary).__name__}."
            )
        object.__setattr__(self, "figures", {str(n): f for n, f in self.figures.items()})
