"""Write a file or a folder so that readers see the old one or the whole new one, never half.

Every output (tables, model files, model folders, cached images and masks, study stages) is
written under a temporary name in the destination's own folder, then renamed into place:
``os.replace`` is atomic within one filesystem, so a killed run leaves no file that looks
finished. The temporary is removed on failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    Parameters
    ----------
    path : str or path-like
        The final file. Its folder is created if missing.

    Yields
    ------
    partial : pathlib.Path
        Where to write; it does not exist yet.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from rdinet_sklearn._atomic import atomic_path
    >>> target = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as partial:
    ...     _ = partial.write_text("a,b\\n1,2\\n")
    >>> target.read_text()
    'a,b\\n1,2\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    partial.unlink()
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


@contextmanager
def atomic_folder(folder):
    """Yield a temporary folder beside ``folder``; on success it replaces ``folder`` whole.

    Parameters
    ----------
    folder : str or path-like
        The final folder; an existing one is replaced only once the new one is complete.

    Yields
    ------
    partial : pathlib.Path
        An empty folder to fill.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from rdinet_sklearn._atomic import atomic_folder
    >>> target = Path(tempfile.mkdtemp()) / "model"
    >>> with atomic_folder(target) as partial:
    ...     _ = (partial / "card.json").write_text("{}")
    >>> sorted(p.name for p in target.iterdir())
    ['card.json']
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.partial-"))
    try:
        yield partial
        if folder.exists():
            # Rename the old folder aside first: os.replace cannot replace a non-empty folder.
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
            os.replace(folder, old / folder.name)
            os.replace(partial, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, folder)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
