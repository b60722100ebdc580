"""Faults: a killed extraction resumes from its cache, corrupt cache entries are recomputed,
concurrent runs share a cache safely, and a damaged study stage is recomputed."""

import glob
import os
import signal
import subprocess
import sys
import time
import warnings

import pandas as pd
import pytest

from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache, extraction_stats

N_KILL = 10
N_CONCURRENT = 6

_EXTRACT = """
import sys
import pandas as pd
from rdinet_sklearn.radiomics import RadiomicsExtractor

cases = pd.read_pickle(sys.argv[1])
extractor = RadiomicsExtractor(params="original", memory=sys.argv[2], n_jobs=1, progress=False)
extractor.fit_transform(cases).to_pickle(sys.argv[3])
"""


def _extractor(memory=None):
    return RadiomicsExtractor(params="original", memory=memory, n_jobs=1, progress=False)


def _extract(cases, memory=None):
    clear_process_cache()  # measure this run alone (no results kept from earlier runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # joblib's note on a corrupt entry
        features = _extractor(memory).fit_transform(cases)
    return features, extraction_stats()


def _entries(memory):
    return sorted(glob.glob(os.path.join(memory, "**", "output.pkl"), recursive=True))


def _start(cases_file, memory, out):
    return subprocess.Popen(
        [sys.executable, "-c", _EXTRACT, str(cases_file), str(memory), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def cohort(small_cohort, tmp_path_factory):
    cases, _ = small_cohort
    cases = cases.iloc[:N_KILL]
    cases_file = tmp_path_factory.mktemp("faults") / "cases.pkl"
    cases.to_pickle(cases_file)
    reference, _ = _extract(cases)  # uninterrupted, no disk cache
    return cases, cases_file, reference


def test_killed_extraction_resumes_from_cache(cohort, tmp_path):
    cases, cases_file, reference = cohort
    memory = str(tmp_path / "cache")
    process = _start(cases_file, memory, tmp_path / "never.pkl")
    deadline = time.monotonic() + 240
    while len(_entries(memory)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    cached = len(_entries(memory))
    assert 3 <= cached < N_KILL

    resumed, stats = _extract(cases, memory)
    pd.testing.assert_frame_equal(resumed, reference)
    assert stats["disk_hits"] == cached  # finished cases were not redone ...
    assert stats["extracted"] == N_KILL - cached  # ... and the others were
    assert len(_entries(memory)) == N_KILL


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_cache_entry_is_recomputed(cohort, tmp_path, damage):
    cases, _, reference = cohort
    few = cases.iloc[:3]
    memory = str(tmp_path / "cache")
    _extract(few, memory)
    entry = _entries(memory)[0]
    with open(entry, "rb") as handle:
        data = handle.read()
    with open(entry, "wb") as handle:
        handle.write(b"\x80\x04not a pickle at all" * 10 if damage == "garbage" else data[:50])

    features, _ = _extract(few, memory)
    pd.testing.assert_frame_equal(features, reference.iloc[:3])
    with open(entry, "rb") as handle:
        assert handle.read() == data  # the entry was rewritten with the recomputed result


def test_concurrent_runs_share_a_cache(cohort, tmp_path):
    cases, _, reference = cohort
    few_file = tmp_path / "few.pkl"
    cases.iloc[:N_CONCURRENT].to_pickle(few_file)
    memory = tmp_path / "shared_cache"
    outputs = [tmp_path / f"run{i}.pkl" for i in range(2)]
    processes = [_start(few_file, memory, out) for out in outputs]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
    expected = reference.iloc[:N_CONCURRENT]
    for out in outputs:
        pd.testing.assert_frame_equal(pd.read_pickle(out), expected)

    features, stats = _extract(cases.iloc[:N_CONCURRENT], str(memory))
    pd.testing.assert_frame_equal(features, expected)
    assert stats == {"extracted": 0, "disk_hits": N_CONCURRENT, "memory_hits": 0}


def test_damaged_study_stage_is_recomputed(tmp_path):
    # skipped while rdinet_sklearn.study cannot be imported (it needs nn.RDINetClassifier)
    store = pytest.importorskip("rdinet_sklearn.study._store", exc_type=ImportError).StageStore(
        tmp_path
    )
    calls = []

    def compute():
        calls.append(1)
        return {"estimator": {"weights": [1, 2, 3]}, "auc": 0.75}

    store.get_or_run("RDINet MR+LR", "fingerprint-1", compute)
    assert store.get_or_run("RDINet MR+LR", "fingerprint-1", compute)["auc"] == 0.75
    assert len(calls) == 1  # reused
    with open(store.path("RDINet MR+LR"), "wb") as handle:
        handle.write(b"truncated")
    stage = store.get_or_run("RDINet MR+LR", "fingerprint-1", compute)
    assert len(calls) == 2 and stage["estimator"] == {"weights": [1, 2, 3]}
