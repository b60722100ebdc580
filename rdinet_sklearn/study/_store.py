"""Finished study stages on disk, so an interrupted study resumes where it stopped.

Each stage (one model: tuned, refitted, its predictions) is two joblib files, each written
to a temporary name and renamed into place: the fitted estimator in
``stages/<name>.estimator.joblib`` (loadable on its own with :func:`joblib.load`), then the
stage's record (scores, predictions, fingerprint) in ``stages/<name>.joblib``. (The models
handed over to users, which take a case table, are in ``models/``: see ``_handover``.)
A stage without an estimator (the repeated-CV scores of the model comparison) is its record
alone. The record is written last, so a killed run never leaves a stage that looks done.
A stage is reused only when its fingerprint (settings, data and split) matches; a file that
fails to load is recomputed.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import joblib

logger = logging.getLogger("rdinet_sklearn.study")


def slug(name):
    """A file-name-safe form of a model name: ``"RDINet MR+LR"`` -> ``"rdinet_mr_lr"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _dump_atomic(value, path):
    partial = path.with_suffix(f".{os.getpid()}.partial")
    joblib.dump(value, partial)
    os.replace(partial, path)


class StageStore:
    """Load or compute-and-save named stages under ``folder/stages``."""

    def __init__(self, folder):
        self.records = Path(folder) / "stages"
        self.records.mkdir(parents=True, exist_ok=True)

    def path(self, name):
        """Where the fitted estimator of stage ``name`` lives."""
        return self.records / f"{slug(name)}.estimator.joblib"

    def load(self, name, fingerprint):
        """The stored stage, or None when absent, stale or unreadable."""
        record = self.records / f"{slug(name)}.joblib"
        if not record.exists():
            return None
        try:
            stage = joblib.load(record)
            if not isinstance(stage, dict) or stage.get("fingerprint") != fingerprint:
                logger.info("stage %s is stale; recomputing", name)
                return None
            if stage.pop("has_estimator", True):
                stage["estimator"] = joblib.load(self.path(name))
        except Exception as exc:  # a truncated or foreign file: recompute, never trust it
            logger.warning("stage %s is unreadable (%s); recomputing", name, exc)
            return None
        return stage

    def save(self, name, fingerprint, stage):
        """Store ``stage``; its ``estimator``, if it has one, goes to :meth:`path`."""
        has_estimator = "estimator" in stage
        if has_estimator:
            _dump_atomic(stage["estimator"], self.path(name))
        record = {k: v for k, v in stage.items() if k != "estimator"}
        record.update(has_estimator=has_estimator, fingerprint=fingerprint)
        _dump_atomic(record, self.records / f"{slug(name)}.joblib")
        return {**stage, "fingerprint": fingerprint}

    def get_or_run(self, name, fingerprint, compute):
        """Return the stored stage if current, else ``compute()`` saved under ``name``."""
        stage = self.load(name, fingerprint)
        if stage is not None:
            logger.info("stage %s: reused from %s", name, self.path(name))
            return stage
        return self.save(name, fingerprint, compute())
