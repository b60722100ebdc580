"""Finished study stages on disk, so an interrupted study resumes where it stopped.

Each stage (one model: tuned, refitted, its predictions) is two joblib files, each written
atomically: the fitted estimator in ``stages/<name>.estimator.joblib`` (loadable on its own
with :func:`joblib.load`), then the stage's record (scores, predictions) in
``stages/<name>.joblib``. (The models handed over to users, which take a case table, are in
``models/``: see ``_handover``.) A stage without an estimator (the repeated-CV scores of
the model comparison) is its record alone.

Joblib files are pickles, and unpickling runs code: a file dropped into ``stages/`` must
never be loaded. So after a stage's files are written, their SHA-256 digests and the
stage's fingerprint go into ``stages/manifest.json`` (plain JSON, never unpickled). A stage
is loaded only when the manifest lists it with the current fingerprint and every file's
digest matches; anything else is recomputed, and a file the manifest does not list is
never opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import joblib

from .._atomic import atomic_path
from .._paths import path_inside, slug

logger = logging.getLogger("rdinet_sklearn.study")

MANIFEST = "manifest.json"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class StageStore:
    """Load or compute-and-save named stages under ``folder/stages``, verified by a manifest."""

    def __init__(self, folder):
        self.records = Path(folder) / "stages"
        self.records.mkdir(parents=True, exist_ok=True)
        self.manifest = self._read_manifest()

    def _read_manifest(self):
        try:
            manifest = json.loads((self.records / MANIFEST).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("stages/%s is unreadable (%s); every stage is recomputed", MANIFEST, exc)
            return {}
        return manifest if isinstance(manifest, dict) else {}

    def _write_manifest(self):
        with atomic_path(self.records / MANIFEST) as partial:
            partial.write_text(json.dumps(self.manifest, indent=2, sort_keys=True))

    def path(self, name):
        """Where the fitted estimator of stage ``name`` lives."""
        return path_inside(self.records, f"{slug(name)}.estimator.joblib")

    def _record(self, name):
        return path_inside(self.records, f"{slug(name)}.joblib")

    def _verified(self, name, fingerprint):
        """The stage's listed files when all match the manifest, else None (never unpickled)."""
        entry = self.manifest.get(slug(name))
        if not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint:
            return None
        files = entry.get("files")
        if not isinstance(files, dict) or self._record(name).name not in files:
            return None
        for file_name, digest in files.items():
            path = path_inside(self.records, file_name)
            if not path.is_file() or _sha256(path) != digest:
                logger.warning("stage %s: %s does not match the manifest; recomputing", name, path)
                return None
        return files

    def load(self, name, fingerprint):
        """The stored stage, or None when absent, stale, unverified or unreadable."""
        files = self._verified(name, fingerprint)
        if files is None:
            return None
        try:
            stage = joblib.load(self._record(name))
            if self.path(name).name in files:
                stage["estimator"] = joblib.load(self.path(name))
        except Exception as exc:  # verified yet unreadable (another joblib): recompute
            logger.warning("stage %s is unreadable (%s); recomputing", name, exc)
            return None
        return stage

    def save(self, name, fingerprint, stage):
        """Store ``stage``; its ``estimator``, if it has one, goes to :meth:`path`."""
        self.manifest.pop(slug(name), None)  # never listed while its files change
        self._write_manifest()
        written = []
        if "estimator" in stage:
            with atomic_path(self.path(name)) as partial:
                joblib.dump(stage["estimator"], partial)
            written.append(self.path(name))
        with atomic_path(self._record(name)) as partial:
            joblib.dump({k: v for k, v in stage.items() if k != "estimator"}, partial)
        written.append(self._record(name))
        self.manifest[slug(name)] = {
            "fingerprint": fingerprint,
            "files": {path.name: _sha256(path) for path in written},
        }
        self._write_manifest()
        return stage

    def get_or_run(self, name, fingerprint, compute):
        """Return the stored stage if current, else ``compute()`` saved under ``name``."""
        stage = self.load(name, fingerprint)
        if stage is not None:
            logger.info("stage %s: reused from %s", name, self.path(name))
            return stage
        return self.save(name, fingerprint, compute())

    def keep_only(self, names):
        """Remove every stage file but those of ``names`` (a run's own stages)."""
        kept = {slug(name) for name in names}
        self.manifest = {k: v for k, v in self.manifest.items() if k in kept}
        self._write_manifest()
        listed = {MANIFEST} | {f for entry in self.manifest.values() for f in entry["files"]}
        for path in self.records.iterdir():
            if path.name not in listed and path.is_file():
                path.unlink()
