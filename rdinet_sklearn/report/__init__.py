"""Self-contained HTML reports of a study run (tables, figures, settings, versions)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._content": ["Report"],
        "._html": ["REPORTED_MODULES", "package_versions", "write_html_report"],
    },
)
