"""The one reader of our versioned JSON documents: a model card, a model file's manifest."""

from __future__ import annotations

import json


def read_versioned(data, path, *, kind, format, version, error, remedy=""):
    """The JSON object in ``data``, refused unless it is a ``kind`` of ``format`` ``version``.

    Parameters
    ----------
    data : bytes or str
        The document's text.
    path : str or path-like
        Where it was read from, for the messages.
    kind : str
        What the document is, in words (``"study model card"``).
    format : str
        Its ``"format"`` field.
    version : int
        The ``"format_version"`` this rdinet-sklearn reads.
    error : type of Exception
        Raised, naming ``path``, for unreadable JSON, another format or another version.
    remedy : str, default=""
        Appended to the version message (what the user can do about it).

    Returns
    -------
    document : dict
    """
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise error(f"{path}: the {kind} cannot be read ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != format:
        raise error(f"{path}: not an rdinet-sklearn {kind}")
    found = document.get("format_version")
    if found != version:
        raise error(
            f"{path}: {kind} version {found!r}; this rdinet-sklearn reads version {version}"
            + remedy
        )
    return document
