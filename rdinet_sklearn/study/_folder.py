"""The study's output folder: locked while a run writes it, describing one run only.

:func:`study_folder` is entered once the settings and the cohort are checked, so bad input
writes nothing. It then

* refuses a folder it cannot write (read-only, or on a read-only filesystem), in one line;
* takes ``<out>/.lock`` (the holder's pid inside): a second run on the same folder stops
  naming that pid, and a lock left by a process that no longer exists is taken over;
* writes ``config.yaml`` (the resolved settings, as in ``results.json``);
* when the previous run there had other settings, removes its report, tables, figures and
  JSON before anything new is written, and, once this run's models are known, every model
  folder and stage this run does not produce (see :meth:`StudyFolder.keep_only`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from .._atomic import atomic_path
from ..exceptions import RdinetInputError
from ._handover import model_folder
from ._store import StageStore

logger = logging.getLogger("rdinet_sklearn.study")

LOCK = ".lock"
RUN_OUTPUTS = ("report.html", "results.json", "tables", "figures")


class StudyFolderError(RdinetInputError):
    """The study's output folder cannot be used: not writable, or in use by another run.

    The command line reports it as bad input (exit code 3), in one line.

    Examples
    --------
    >>> from rdinet_sklearn.study._folder import StudyFolderError
    >>> issubclass(StudyFolderError, ValueError)
    True
    """


@dataclass(frozen=True)
class StudyFolder:
    """Where a running study writes: the folder, its feature cache and its stages."""

    path: Path
    store: StageStore

    @property
    def cache(self):
        return str(self.path / "cache")

    def keep_only(self, names):
        """Remove every model folder and stage but those of this run's models ``names``."""
        self.store.keep_only([*names, *(f"comparison {name}" for name in names)])
        models = self.path / "models"
        if models.is_dir():
            kept = {model_folder(self.path, name).name for name in names}
            for folder in models.iterdir():
                if folder.name not in kept:
                    logger.info("removing %s: not a model of this run's settings", folder)
                    shutil.rmtree(folder) if folder.is_dir() else folder.unlink()


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _unwritable(out, exc):
    return StudyFolderError(
        f"{out}: cannot write the study's output folder ({exc.strerror}); choose a writable --out"
    )


def check_writable(out):
    """Create ``out`` if needed; :class:`StudyFolderError` in one line when it cannot be."""
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out, exc) from None


def _create(out):
    check_writable(out)
    try:
        return os.open(out / LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    except OSError as exc:
        raise _unwritable(out, exc) from None


def _lock(out):
    """Take ``out``'s lock (a stale one of a dead process is taken over)."""
    handle = _create(out)
    if handle is None:
        try:
            holder = int((out / LOCK).read_text().strip() or 0)
        except (OSError, ValueError):
            holder = 0
        if holder and _process_exists(holder):
            raise StudyFolderError(
                f"{out}: another study (pid {holder}) is writing this folder; wait for it "
                f"or choose another --out (remove {out / LOCK} if that process is not a study)"
            )
        logger.info("taking over the lock of pid %s, which has ended", holder)
        (out / LOCK).unlink(missing_ok=True)
        handle = _create(out)
        if handle is None:  # another run took it over in between
            raise StudyFolderError(f"{out}: another study is writing this folder")
    with os.fdopen(handle, "w") as lock:
        lock.write(str(os.getpid()))


def _changed_settings(out, settings):
    """The settings that differ from the previous run's ``config.yaml`` (dotted keys)."""
    try:
        previous = yaml.safe_load((out / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(previous, dict):
        return ["config.yaml"]
    return _differences(previous, settings)


def _differences(old, new, path=""):
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and key != "labels":
            changed += _differences(a, b, f"{path}{key}.")
        elif a != b:
            changed.append(f"{path}{key}")
    return changed


def _start_log(out):
    handler = logging.FileHandler(out / "study.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the console shows progress bars; details go to the log file
    return handler


@contextlib.contextmanager
def study_folder(out, config):
    """Lock ``out``, prepare it for a run of ``config`` and yield a :class:`StudyFolder`."""
    out = Path(out)
    _lock(out)
    handler = None
    try:
        handler = _start_log(out)
        settings = config.to_dict()
        changed = _changed_settings(out, settings)
        if changed:
            logger.info("settings changed since the last run (%s): old outputs removed", changed)
            for name in RUN_OUTPUTS:
                path = out / name
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        with atomic_path(out / "config.yaml") as partial:
            partial.write_text(yaml.safe_dump(settings, sort_keys=False))
        for name in ("tables", "figures", "cache"):
            (out / name).mkdir(exist_ok=True)
        yield StudyFolder(out, StageStore(out))
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
        (out / LOCK).unlink(missing_ok=True)
