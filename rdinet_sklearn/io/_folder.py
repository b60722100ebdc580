"""The model folder: a card (``model.json``), the pickle-free model file and a joblib copy.

=================  ==========================================================================
``model.rdinet``   the model as a :func:`rdinet_sklearn.io.save` file (never unpickled)
``model.joblib``   the same model as a joblib pickle (load only from a trusted source)
``model.json``     the card: what the model is and needs, and the SHA-256 digest of each
                   file above (and of each member of ``model.rdinet``)
=================  ==========================================================================

Loading verifies before it reads: the card's file names must stay inside the folder, and
the file to load must have the digest the card records (a flipped byte or an edited member
is named, exit code 3 on the command line). A digest in the card cannot stop someone who
edits the card too, so the folder has a **fingerprint**, the SHA-256 of ``model.json``:
the card records every file's digest, so the fingerprint stands for the whole folder. The
study prints it when it exports a model and ``rdinet predict`` when it loads one;
``--expect-fingerprint`` refuses any other folder. (Check it by hand with
``sha256sum model.json``.)

A model keeps no cache location of the machine it was trained on: every ``memory``
parameter, inside networks and their fitted croppers too, is set to ``None`` when the
folder is written and again when it is loaded, so inference neither creates a cache
folder nor reads (unpickles) anything from one.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import namedtuple
from pathlib import Path

import joblib

from .._atomic import atomic_folder
from .._paths import UnsafePathError, path_inside
from ..exceptions import RdinetInputError
from ._tree import find_nodes
from ._versioned import read_versioned

CARD_FORMAT = "rdinet-sklearn-study-model"
CARD_VERSION = 2
"""Version 2 added the digests (``files``, ``digests``) the fingerprint stands for."""
SAFE_FILE, JOBLIB_FILE, CARD_FILE = "model.rdinet", "model.joblib", "model.json"
BACKGROUND_FILE = "background.csv"
"""Seeded training rows of a model's explained features, for ``rdinet predict --explain``."""

LoadedModel = namedtuple("LoadedModel", ["model", "card", "fingerprint"])
LoadedModel.__doc__ = """A verified model folder: the fitted model, its card and fingerprint."""


class ModelFolderError(RdinetInputError):
    """A model folder is missing, incomplete, altered, or from another rdinet-sklearn version.

    The command line reports it as bad input (exit code 3), with this message, which names
    the folder or file (and the member of ``model.rdinet`` that changed).

    Examples
    --------
    >>> from rdinet_sklearn.study import ModelFolderError, load_study_model
    >>> try:
    ...     load_study_model("no/such/model")
    ... except ModelFolderError as err:
    ...     print(err)
    no/such/model: not a study model folder (no model.json)
    """


def strip_caches(model):
    """Set every ``memory`` and ``cache_dir`` parameter in ``model`` to ``None``; ``model``.

    A network's fitted cropper (``cropper_``) keeps its own ``memory``: every estimator in
    the object tree is visited, not only those ``get_params`` lists. Preprocessing steps'
    ``cache_dir`` falls back to the user's temp folder, never the training machine's cache.
    """
    for node in find_nodes(model, lambda n: hasattr(n, "get_params"), inside_wanted=True):
        try:
            params = node.get_params(deep=False)
        except (AttributeError, TypeError):  # a class, not an instance
            continue
        for cache in ("memory", "cache_dir"):
            if params.get(cache) is not None:
                node.set_params(**{cache: None})
    return model


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_digest(path):
    """The SHA-256 (hex) of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _member_digests(path):
    with zipfile.ZipFile(path) as archive:
        return {name: _sha256(archive.read(name)) for name in sorted(archive.namelist())}


def write_model_folder(folder, model, card, background=None):
    """Write ``model`` (caches stripped) and ``card`` plus digests as ``folder``, never half.

    Parameters
    ----------
    folder : str or path-like
        The model folder; an existing one is replaced once the new one is complete.
    model : estimator
        The fitted model; its ``memory`` parameters are set to ``None`` (on a copy's
        behalf: pass a copy when the caller keeps using its caches).
    card : dict
        What the model is and needs; ``files`` and ``digests`` are added.
    background : pandas.DataFrame, default=None
        Training rows of the model's explained features, written as ``background.csv``
        (``files.background``, with its digest) for ``rdinet predict --explain``.

    Returns
    -------
    fingerprint : str
        The folder's fingerprint (SHA-256 of the ``model.json`` written).
    """
    from ._safe import save

    strip_caches(model)
    with atomic_folder(folder) as partial:
        save(model, partial / SAFE_FILE)
        joblib.dump(model, partial / JOBLIB_FILE)
        files = {"safe": SAFE_FILE, "joblib": JOBLIB_FILE}
        digests = {
            SAFE_FILE: {
                "sha256": file_digest(partial / SAFE_FILE),
                "members": _member_digests(partial / SAFE_FILE),
            },
            JOBLIB_FILE: {"sha256": file_digest(partial / JOBLIB_FILE)},
        }
        if background is not None:
            background.to_csv(partial / BACKGROUND_FILE)
            files["background"] = BACKGROUND_FILE
            digests[BACKGROUND_FILE] = {"sha256": file_digest(partial / BACKGROUND_FILE)}
        card = {**card, "files": files, "digests": digests}
        text = json.dumps(card, indent=2).encode()
        (partial / CARD_FILE).write_bytes(text)
    return _sha256(text)


def folder_fingerprint(folder):
    """The fingerprint of a model folder: the SHA-256 (hex) of its ``model.json``.

    The card records the digest of every file of the folder, so the fingerprint stands for
    all of them; publish it, and ``rdinet predict --expect-fingerprint`` refuses any other.

    Parameters
    ----------
    folder : str or path-like
        The model folder.

    Returns
    -------
    fingerprint : str
        64 hexadecimal digits, as ``sha256sum model.json`` prints them.

    Raises
    ------
    ModelFolderError
        When the folder has no card.

    Examples
    --------
    >>> import hashlib, os, tempfile
    >>> from rdinet_sklearn.io import folder_fingerprint
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "model.json"), "w") as handle:
    ...     _ = handle.write("{}")
    >>> folder_fingerprint(folder) == hashlib.sha256(b"{}").hexdigest()
    True
    """
    return _sha256(_card_bytes(folder))


def _card_bytes(folder):
    path = Path(folder) / CARD_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFolderError(f"{folder}: not a study model folder (no {CARD_FILE})") from None
    except OSError as exc:
        raise ModelFolderError(f"{path}: cannot be read ({exc})") from exc


def _parse_card(data, path):
    card = read_versioned(
        data,
        path,
        kind="study model card",
        format=CARD_FORMAT,
        version=CARD_VERSION,
        error=ModelFolderError,
        remedy=" (export the model again with this version)",
    )
    if not isinstance(card.get("files"), dict) or not isinstance(card.get("digests"), dict):
        raise ModelFolderError(f"{path}: the card lists no files and digests")
    return card


def read_card(folder):
    """The card of the model folder ``folder`` (format and version checked)."""
    return _parse_card(_card_bytes(folder), Path(folder) / CARD_FILE)


def model_file(folder, card, kind):
    """The path of the card's ``kind`` file (``"safe"``, ``"joblib"``, ``"background"``),
    inside ``folder``."""
    name = card["files"].get(kind)
    if not isinstance(name, str) or not name:
        raise ModelFolderError(f"{Path(folder) / CARD_FILE}: names no {kind!r} file")
    try:
        return path_inside(folder, name)
    except UnsafePathError as exc:
        raise ModelFolderError(f"{Path(folder) / CARD_FILE}: files.{kind}: {exc}") from exc


def _changed_members(path, recorded):
    """Names of ``model.rdinet`` members that differ from ``recorded`` (or are extra/lost)."""
    try:
        found = _member_digests(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        return [f"the archive itself ({exc})"]
    names = sorted(set(found) | set(recorded))
    return [name for name in names if found.get(name) != recorded.get(name)]


def verify_file(folder, card, kind):
    """``kind``'s file, checked against the digest the card records; its path.

    Raises
    ------
    ModelFolderError
        When the file is missing or its digest differs from the card's, naming the file and,
        for ``model.rdinet``, the members that changed.
    """
    path = model_file(folder, card, kind)
    if not path.is_file():
        raise ModelFolderError(f"{path}: missing from the model folder")
    recorded = card["digests"].get(path.name)
    if not isinstance(recorded, dict) or "sha256" not in recorded:
        raise ModelFolderError(f"{Path(folder) / CARD_FILE}: records no digest of {path.name}")
    if file_digest(path) == recorded["sha256"]:
        return path
    detail = ""
    if "members" in recorded:
        changed = _changed_members(path, recorded["members"])
        detail = f" (changed: {', '.join(changed)})" if changed else " (zip layout changed)"
    raise ModelFolderError(
        f"{path}: does not match the digest in {CARD_FILE}{detail}; the file is damaged or "
        "was edited. Nothing was loaded."
    )


def _check_fingerprint(folder, fingerprint, expected):
    wanted = {expected} if isinstance(expected, str) else set(expected)
    wanted = {str(value).strip().lower() for value in wanted}
    if fingerprint not in wanted:
        raise ModelFolderError(
            f"{folder}: fingerprint {fingerprint} is not the expected "
            f"{' or '.join(sorted(wanted))}; refusing this model folder"
        )


def load_model_folder(
    folder, *, use_joblib=False, allow_other_version=False, expect_fingerprint=None
):
    """Verify a model folder, then load its model (caches stripped).

    Parameters
    ----------
    folder : str or path-like
        The model folder.
    use_joblib : bool, default=False
        Load ``model.joblib`` (a pickle: only from a trusted source) instead of the
        pickle-free ``model.rdinet``. Its digest is checked first either way.
    allow_other_version : bool, default=False
        Load a model saved by another rdinet-sklearn version.
    expect_fingerprint : str or collection of str, default=None
        Refuse the folder unless its fingerprint is (one of) these.

    Returns
    -------
    loaded : LoadedModel
        ``(model, card, fingerprint)``.

    Raises
    ------
    ModelFolderError
        If the folder is incomplete, altered, from another version, or not the one expected.
    rdinet_sklearn.io.UntrustedModelError
        If ``model.rdinet`` names types that are not trusted.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from rdinet_sklearn import __version__
    >>> from rdinet_sklearn.io import ModelFolderError, folder_fingerprint, load_model_folder
    >>> from rdinet_sklearn.io._folder import CARD_FORMAT, CARD_VERSION, write_model_folder
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> folder = os.path.join(tempfile.mkdtemp(), "model")
    >>> card = {"format": CARD_FORMAT, "format_version": CARD_VERSION,
    ...         "rdinet_sklearn_version": __version__}
    >>> fingerprint = write_model_folder(folder, model, card)
    >>> fingerprint == folder_fingerprint(folder)
    True
    >>> load_model_folder(folder, expect_fingerprint=fingerprint).model.predict([[2.5]])
    array([1])
    >>> try:
    ...     load_model_folder(folder, expect_fingerprint="0" * 64)
    ... except ModelFolderError as err:
    ...     print("refused:", "is not the expected" in str(err))
    refused: True
    """
    from .. import __version__
    from ._safe import load

    data = _card_bytes(folder)
    fingerprint = _sha256(data)
    if expect_fingerprint is not None:
        _check_fingerprint(folder, fingerprint, expect_fingerprint)
    card = _parse_card(data, Path(folder) / CARD_FILE)
    saved = card.get("rdinet_sklearn_version")
    if saved != __version__ and not allow_other_version:
        raise ModelFolderError(
            f"{Path(folder) / CARD_FILE}: saved by rdinet-sklearn {saved}, this is "
            f"{__version__}; predictions could differ. Refit the study with this version, "
            f"install rdinet-sklearn {saved}, or pass allow_other_version=True "
            "(--allow-other-version)"
        )
    for kind in card["files"]:  # a card naming any path outside the folder is refused
        model_file(folder, card, kind)
    path = verify_file(folder, card, "joblib" if use_joblib else "safe")
    model = joblib.load(path) if use_joblib else load(path)
    return LoadedModel(strip_caches(model), card, fingerprint)


def is_current(folder, stage_fingerprint):
    """Whether ``folder`` holds a complete, intact model written for ``stage_fingerprint``."""
    try:
        card = read_card(folder)
        if card.get("stage_fingerprint") != stage_fingerprint:
            return False
        for kind in card["files"]:
            verify_file(folder, card, kind)
    except ModelFolderError:
        return False
    return True
