"""The lowest-versions CI job (.ci/lowest) pins exactly the floors pyproject.toml declares."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# torch: only its 2.13.0 CPU wheel is on this project's machines (see the constraints file).
NOT_PINNED = {"torch"}


def _release(version):
    """``"1.25"`` and ``"1.25.0"`` are the same release."""
    parts = [int(p) for p in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _core_floors():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, flags=re.S | re.M).group(1)
    return {
        name.lower(): version
        for name, version in re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9.]+)', block)
    }


def _pins():
    lines = (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {name.strip().lower(): version.strip() for name, version in pairs}


def test_every_core_floor_is_pinned_in_the_lowest_versions_job():
    floors, pins = _core_floors(), _pins()
    assert len(floors) >= 15  # the parse found the dependency list
    assert set(pins) == set(floors) - NOT_PINNED
    differ = {n: (floors[n], pins[n]) for n in pins if _release(floors[n]) != _release(pins[n])}
    assert differ == {}


def test_ci_runs_the_lowest_versions_job():
    assert "bash .ci/lowest" in (ROOT / ".ci" / "run").read_text()
