"""Data-derived file names stay in their folder; outputs appear whole or not at all."""

import pytest

from rdinet_sklearn._atomic import atomic_folder, atomic_path
from rdinet_sklearn._paths import UnsafePathError, path_inside, safe_filename, slug
from rdinet_sklearn.exceptions import RdinetInputError


@pytest.mark.parametrize(
    "patient", ["../../x", "/etc/passwd", "..", ".", "", "a/b", "a\\b", "~root", "x" * 500]
)
def test_safe_filename_stays_inside_its_folder(tmp_path, patient):
    name = safe_filename(patient)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    path = path_inside(tmp_path, name + ".png")
    assert path.resolve().parent == tmp_path.resolve()


def test_safe_filename_keeps_plain_ids_and_separates_changed_ones():
    assert safe_filename("STS_001") == "STS_001"
    assert safe_filename(17) == "17"
    # "a/b" and "a_b" must not share a file.
    assert safe_filename("a/b") != safe_filename("a_b")


def test_path_inside_refuses_escapes_and_links(tmp_path):
    with pytest.raises(UnsafePathError, match="leads outside"):
        path_inside(tmp_path / "models", "../other/model.rdinet")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "link").symlink_to(tmp_path)
    with pytest.raises(RdinetInputError):
        path_inside(tmp_path / "models", "link", "secret")


def test_slug():
    assert slug("RDINet+clinical MR+LR") == "rdinet_clinical_mr_lr"
    assert slug("+++") == "item"


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "table.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        partial.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list((tmp_path / "out").iterdir()) == []


def test_atomic_folder_replaces_whole_or_keeps_old(tmp_path):
    target = tmp_path / "model"
    with atomic_folder(target) as partial:
        (partial / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as partial:
        (partial / "new.txt").write_text("new")
        raise RuntimeError("killed")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with atomic_folder(target) as partial:
        (partial / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
