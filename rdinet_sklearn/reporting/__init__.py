"""Reporting standards: a generated methods paragraph and the TRIPOD+AI and CLEAR checklists.

Independent of the HTML report: everything is built from a plain :class:`StudyDescription`
of what the study did, so a study, a notebook or a user's own pipeline can fill one and
write ``methods.md``, ``tripod_ai.md`` and ``clear.md``.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._checklists": [
            "CHECKLISTS",
            "checklist",
            "checklist_markdown",
            "write_reporting_files",
        ],
        "._description": ["DEFAULT_SECTIONS", "StudyDescription"],
        "._methods": ["methods_paragraph"],
    },
)
