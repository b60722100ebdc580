"""The in-process LRU cache and the case-file digest of ``rdinet_sklearn._cache``."""

import numpy as np
import pytest

from rdinet_sklearn import CaseError
from rdinet_sklearn._cache import LRUCache, case_file_digest


def test_byte_budget_evicts_least_recently_used_and_keeps_a_running_total():
    cache = LRUCache(max_bytes=24)
    for key in "abc":
        cache.put(key, np.zeros(1))  # 8 bytes each: exactly the budget
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("d", np.zeros(1))
    assert "b" not in cache and {"a", "c", "d"} == {k for k in "abcd" if k in cache}
    assert cache.nbytes == 24 == sum(cache.get(k).nbytes for k in "acd")
    cache.put("a", np.zeros(3))  # replacing an entry updates the total, then evicts
    assert cache.nbytes == 24 and len(cache) == 1 and cache.get("a").shape == (3,)
    cache.put("big", np.zeros(10))  # the newest entry stays, even alone over budget
    assert len(cache) == 1 and cache.nbytes == 80
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0 and cache.get("big", "gone") == "gone"


def test_entry_limit():
    cache = LRUCache(max_entries=2)
    for i in range(5):
        cache.put(i, (i,))
    assert [i for i in range(5) if i in cache] == [3, 4] and cache.nbytes == 0


def test_insertion_cost_does_not_grow_with_the_cache():
    """The byte total is kept, not recomputed: one ``nbytes`` read per insertion."""

    class Counted:
        reads = 0

        @property
        def nbytes(self):
            Counted.reads += 1
            return 1

    cache = LRUCache(max_bytes=10**9)
    for i in range(2000):
        cache.put(i, Counted())
    assert Counted.reads == 2000


@pytest.mark.parametrize(
    "path, problem", [("", "no path given"), (None, "no path given"), ("/no/file", "not found")]
)
def test_case_file_digest_names_the_cell(path, problem):
    with pytest.raises(CaseError, match=f"row 'P7', column 'mask'.*{problem}"):
        case_file_digest(path, row="P7", column="mask")


def test_case_file_digest_follows_the_content(tmp_path):
    first = tmp_path / "a.nii"
    first.write_bytes(b"one")
    digest = case_file_digest(first, row="P1", column="image")
    (tmp_path / "b.nii").write_bytes(b"one")
    assert case_file_digest(tmp_path / "b.nii", row="P2", column="image") == digest
    first.write_bytes(b"two!")
    assert case_file_digest(first, row="P1", column="image") != digest
