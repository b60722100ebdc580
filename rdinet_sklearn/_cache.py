"""Caching of per-case work: content digests, crash-safe disk caches, an in-process LRU.

We build on :class:`joblib.Memory` (the cache scikit-learn's ``memory=`` parameters use):
its store writes each result to a temporary file and renames it into place, so a killed run
never leaves a half-written entry that looks finished, and concurrent runs sharing a folder
do not corrupt each other. Entries that fail to load are recomputed by joblib.

joblib keys a call on its arguments. A file *path* is not a safe key (the file may be
replaced), so callers pass :func:`case_file_digest` of each input file as an argument and the
path itself as an ignored one.

Within one process, :class:`LRUCache` keeps recent results (radiomics features, cropped
volumes) so that the folds of a grid search reuse them without touching the disk.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict

from sklearn.utils.validation import check_memory

from ._imaging import CaseError, is_missing_path

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


def case_file_digest(path, *, row, column) -> str:
    """:func:`file_digest` of one case-table cell, or a :class:`CaseError` naming the cell.

    Parameters
    ----------
    path : str or path-like
        The cell's file (or DICOM folder).
    row : hashable
        The case-table row, for the error message.
    column : str
        The case-table column, for the error message.

    Returns
    -------
    digest : str
        The content digest (hexadecimal).
    """
    if is_missing_path(path):
        raise CaseError(row, column, path, "no path given")
    if not os.path.exists(path):
        raise CaseError(row, column, path, "file not found")
    try:
        return file_digest(path)
    except OSError as exc:
        raise CaseError(row, column, path, f"cannot be read ({exc.strerror or exc})") from exc


def resolve_memory(memory):
    """A :class:`joblib.Memory` from ``None`` (no caching), a folder path or a Memory."""
    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    return check_memory(memory)


class LRUCache:
    """Least-recently-used in-process cache bounded by entry count and/or total bytes.

    Values that have an ``nbytes`` attribute (numpy arrays) count that many bytes towards
    ``max_bytes``, a tuple the sum of its items'; others count nothing. The running total is
    kept on insertion and eviction, so every operation is O(1). The newest entry is always
    kept, even alone over budget.

    Parameters
    ----------
    max_entries : int, default=None
        Most entries kept; ``None`` for no limit.
    max_bytes : int, default=None
        Most bytes kept; ``None`` for no limit.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn._cache import LRUCache
    >>> cache = LRUCache(max_bytes=16)
    >>> cache.put("a", np.zeros(2))  # 16 bytes
    >>> "a" in cache, cache.nbytes
    (True, 16)
    >>> cache.put("b", np.zeros(1))  # over budget: the least recently used goes
    >>> "a" in cache, cache.get("b").shape, cache.nbytes
    (False, (1,), 8)
    """

    def __init__(self, *, max_entries=None, max_bytes=None):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries = OrderedDict()
        self.nbytes = 0

    def __contains__(self, key):
        return key in self._entries

    def __len__(self):
        return len(self._entries)

    def get(self, key, default=None):
        """The value of ``key`` (marked most recently used), or ``default``."""
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key, value):
        """Store ``value`` under ``key``, then evict the least recently used over the limits."""
        if key in self._entries:
            self.nbytes -= _size(self._entries.pop(key))
        self._entries[key] = value
        self.nbytes += _size(value)
        while len(self._entries) > 1 and self._over_limits():
            _, evicted = self._entries.popitem(last=False)
            self.nbytes -= _size(evicted)

    def clear(self):
        """Forget every entry."""
        self._entries.clear()
        self.nbytes = 0

    def _over_limits(self):
        too_many = self.max_entries is not None and len(self._entries) > self.max_entries
        return too_many or (self.max_bytes is not None and self.nbytes > self.max_bytes)


def _size(value):
    if isinstance(value, tuple):  # e.g. a volume and a note about it
        return sum(_size(item) for item in value)
    return int(getattr(value, "nbytes", 0))
