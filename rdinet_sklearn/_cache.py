"""Content-keyed, crash-safe caching of per-case work (features, preprocessed volumes).

We build on :class:`joblib.Memory` (the cache scikit-learn's ``memory=`` parameters use):
its store writes each result to a temporary file and renames it into place, so a killed run
never leaves a half-written entry that looks finished, and concurrent runs sharing a folder
do not corrupt each other. Entries that fail to load are recomputed by joblib.

joblib keys a call on its arguments. A file *path* is not a safe key (the file may be
replaced), so callers pass :func:`file_digest` of each input file as an argument and the
path itself as an ignored one.
"""

from __future__ import annotations

import hashlib
import os

from sklearn.utils.validation import check_memory

_DIGESTS: dict[tuple, str] = {}


def file_digest(path) -> str:
    """BLAKE2b digest of a file's bytes (of every file, for a DICOM folder).

    Digests are remembered per process by (path, size, modification time), so a file is read
    once however many estimators and folds ask.
    """
    path = os.path.abspath(os.fspath(path))
    files = (
        sorted(os.path.join(path, name) for name in os.listdir(path))
        if os.path.isdir(path)
        else [path]
    )
    stamp = tuple((f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files)
    if stamp not in _DIGESTS:
        digest = hashlib.blake2b(digest_size=16)
        for name in files:
            with open(name, "rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
        _DIGESTS[stamp] = digest.hexdigest()
    return _DIGESTS[stamp]


def resolve_memory(memory):
    """A :class:`joblib.Memory` from ``None`` (no caching), a folder path or a Memory."""
    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    return check_memory(memory)
