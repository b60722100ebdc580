"""Shared fixtures: small synthetic TED cohorts written once per test session."""

import os

import pytest

# One torch (OpenMP) thread per test process: pytest-xdist already runs one process per
# core, and torch's own pool on top oversubscribes the cores; its spinning threads made the
# tiny test networks up to ~80x slower on a loaded machine. Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from rdinet_sklearn.datasets import make_ted_cohort


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory):
    """24 patients at a CPU-friendly size: ``(cases, y)``, files under a session tmp dir."""
    out = tmp_path_factory.mktemp("small_cohort")
    return make_ted_cohort(24, out, random_state=0, shape=(8, 48, 96))


@pytest.fixture(scope="session")
def medium_cohort(tmp_path_factory):
    """60 patients at a CPU-friendly size, for learning-signal checks: ``(cases, y)``."""
    out = tmp_path_factory.mktemp("medium_cohort")
    return make_ted_cohort(60, out, random_state=1, shape=(8, 48, 96))
