"""File names derived from data (patient ids, model and structure names), kept in their folder.

A patient id of ``../../x`` or ``/etc/passwd`` must never become a path outside the output
folder. :func:`safe_filename` turns any text into one harmless path component, and
:func:`path_inside` joins it to a folder and checks that the result resolves inside it; every
place where data becomes a file name goes through them (Grad-CAM figures, predicted masks,
prediction tables, cached images, study stages, model folders).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .exceptions import RdinetInputError

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_MAX_LENGTH = 120


class UnsafePathError(RdinetInputError):
    """A path taken from data or from a file would lead outside the folder it belongs in."""


def slug(name):
    """A lower-case, file-name-safe form of a display name.

    Parameters
    ----------
    name : str
        A model, table or section name.

    Returns
    -------
    slug : str
        Runs of other characters become one ``_``; ``"item"`` when nothing is left.

    Examples
    --------
    >>> from rdinet_sklearn._paths import slug
    >>> slug("RDINet MR+LR")
    'rdinet_mr_lr'
    """
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "item"


def safe_filename(text):
    """One harmless path component for ``text`` (a patient id, a structure name).

    Letters, digits and ``._+-`` are kept; any other run of characters becomes ``_`` and
    leading dots are dropped, so no result is ``..``, hidden, absolute or contains a
    separator. When anything was changed (or the text is long), a short digest of the
    original is appended, so that two different ids never share a file.

    Parameters
    ----------
    text : object
        Converted with :class:`str`.

    Returns
    -------
    name : str

    Examples
    --------
    >>> from rdinet_sklearn._paths import safe_filename
    >>> safe_filename("STS_001")
    'STS_001'
    >>> safe_filename("../../x")
    'x-9cdf6a50'
    """
    text = str(text)
    cleaned = _UNSAFE.sub("_", text).lstrip("._")[:_MAX_LENGTH]
    if cleaned and cleaned == text:
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{cleaned}-{digest}" if cleaned else digest


def path_inside(folder, *parts):
    """``folder / parts...``, checked to resolve inside ``folder``.

    Parameters
    ----------
    folder : str or path-like
        The folder the path must stay in.
    *parts : str
        Path components; those from data should first go through :func:`safe_filename`.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    UnsafePathError
        When the joined path (links resolved) is not inside ``folder``.

    Examples
    --------
    >>> from rdinet_sklearn._paths import path_inside
    >>> path_inside("/models/a", "model.rdinet").as_posix()
    '/models/a/model.rdinet'
    >>> path_inside("/models/a", "../b/model.rdinet")
    Traceback (most recent call last):
    ...
    rdinet_sklearn._paths.UnsafePathError: '../b/model.rdinet' leads outside /models/a
    """
    root = Path(folder).resolve()
    path = root.joinpath(*map(str, parts)).resolve()
    if path != root and root not in path.parents:
        shown = "/".join(map(str, parts))
        raise UnsafePathError(f"{shown!r} leads outside {Path(folder)}")
    return Path(folder).joinpath(*map(str, parts))
