"""Which tables and figures each report section shows, from a declarative layout.

A layout is a sequence of mappings ``{"title", "caption", "tables", "figures"}`` naming tables
and figures by their keys. Names the run did not produce are skipped (a study without
radiomics has no radiomics CV figure); everything the run produced but the layout does not
place still gets a section, so nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Headings of the two tables every study report has, when no layout places them.
DEFAULT_TABLE_TITLES = {
    "Table 1": "Table 1. Clinical characteristics",
    "Table 2": "Table 2. Model performance",
}

_LAYOUT_KEYS = {"title", "caption", "tables", "figures"}


@dataclass
class Section:
    """One report section: heading, caption, then its tables and the figures beside them."""

    title: str
    caption: str = ""
    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)


def _check_entry(entry, index):
    if not isinstance(entry, dict) or "title" not in entry:
        raise ValueError(f"layout[{index}] must be a dict with a 'title'; got {entry!r}.")
    unknown = set(entry) - _LAYOUT_KEYS
    if unknown:
        raise ValueError(
            f"layout[{index}] ({entry['title']!r}) has unknown keys {sorted(unknown)}; "
            f"use {sorted(_LAYOUT_KEYS)}."
        )
    for key in ("tables", "figures"):
        if isinstance(entry.get(key, ()), str):
            raise ValueError(f"layout[{index}][{key!r}] must be a list of names, not a string.")


def arrange_sections(tables, figures, layout):
    """Sections in display order: the layout's, then one per unplaced table, then figures.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Every table of the run, in order.
    figures : dict of str to Figure
        Every figure of the run, in order.
    layout : sequence of dict or None
        ``{"title": str, "caption": str, "tables": [names], "figures": [names]}`` entries;
        None places nothing (each table its own section, all figures in one).

    Returns
    -------
    list of Section
        Sections with at least one table or figure.
    """
    sections, placed_tables, placed_figures = [], set(), set()
    for index, entry in enumerate(layout or ()):
        _check_entry(entry, index)
        section = Section(
            title=str(entry["title"]),
            caption=str(entry.get("caption", "")),
            tables={n: tables[n] for n in entry.get("tables", ()) if n in tables},
            figures={n: figures[n] for n in entry.get("figures", ()) if n in figures},
        )
        placed_tables |= set(section.tables)
        placed_figures |= set(section.figures)
        if section.tables or section.figures:
            sections.append(section)
    for name, frame in tables.items():
        if name not in placed_tables:
            sections.append(
                Section(title=DEFAULT_TABLE_TITLES.get(name, name), tables={name: frame})
            )
    rest = {n: f for n, f in figures.items() if n not in placed_figures}
    if rest:
        title = "Further figures" if placed_figures else "Figures"
        sections.append(Section(title=title, figures=rest))
    return sections
