"""Self-contained HTML reports of a study run (tables, figures, settings, versions)."""

from ._html import REPORTED_MODULES, package_versions, write_html_report

__all__ = ["REPORTED_MODULES", "package_versions", "write_html_report"]
