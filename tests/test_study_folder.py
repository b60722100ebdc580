"""The study's output folder through the CLI: verified stages, a lock, one run, read-only.

Issue 25, items 2, 14, 15 and 16: a pickle dropped into ``stages/`` never runs; a second
study on the same ``--out`` is refused naming the first one's pid (a dead one's lock is
taken over); a rerun with other settings leaves ``models/`` and the report describing that
run alone; an unwritable ``--out`` gives exit 3 in one line.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
import yaml

from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main

RADIOMICS_ONLY = [
    "--no-progress",
    *("--set", "models=[radiomics]", "--set", "radiomics.classifiers=[logreg]"),
    *("--set", "radiomics.params=original", "--set", "cv_folds=3", "--set", "n_jobs=1"),
    *("--set", "comparison.repeats=0"),
]
TWO_ROIS = ["--set", "radiomics.roi_strategies=[IR+SR, MR+LR]"]
ONE_ROI = ["--set", "radiomics.roi_strategies=[MR+LR]"]


def _study(cases, out, *settings):
    argv = ["study", "--cases", str(cases), "--target", "y", "--out", str(out)]
    return main([*argv, *RADIOMICS_ONLY, *settings])


@pytest.fixture(scope="module")
def first_run(small_cohort, tmp_path_factory):
    cases, y = small_cohort
    folder = tmp_path_factory.mktemp("folder")
    cases.assign(y=y).to_csv(folder / "cases.csv", index=False)
    assert _study(folder / "cases.csv", folder / "out", *TWO_ROIS) == EXIT_OK
    return folder


@pytest.fixture
def study(first_run, tmp_path):
    """A copy of the first run's folder, for one test to change."""
    shutil.copytree(first_run / "out", tmp_path / "out")
    return first_run / "cases.csv", tmp_path / "out"


class _Poison:
    """Unpickling it creates ``marker``: what a dropped pickle could do, harmlessly."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_pickle_dropped_into_stages_is_never_loaded(study, tmp_path):
    cases, out = study
    marker = tmp_path / "code-ran"
    listed = out / "stages" / "radiomics_mr_lr_logreg.joblib"
    joblib.dump(_Poison(marker), listed)  # a listed stage whose digest no longer matches
    joblib.dump(_Poison(marker), out / "stages" / "evil.joblib")  # a file nobody listed
    manifest = json.loads((out / "stages" / "manifest.json").read_text())
    assert "evil.joblib" not in str(manifest)
    assert _study(cases, out, *TWO_ROIS) == EXIT_OK
    assert not marker.exists()
    assert not (out / "stages" / "evil.joblib").exists()  # not part of this run: removed
    log = (out / "study.log").read_text()
    assert "radiomics_mr_lr_logreg.joblib does not match the manifest; recomputing" in log
    assert "stage Radiomics IR+SR LOGREG: reused" in log  # the intact stage is still reused
    assert joblib.load(listed)["threshold"] == pytest.approx(
        json.loads((out / "results.json").read_text())["models"]["Radiomics MR+LR LOGREG"][
            "threshold"
        ]
    )


def test_a_second_study_on_the_same_out_exits_3_naming_the_first_ones_pid(study, capsys):
    cases, out = study
    before = (out / "results.json").read_text()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (out / ".lock").write_text(str(holder.pid))
        code = _study(cases, out, *ONE_ROI)
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1
    assert f"another study (pid {holder.pid}) is writing this folder" in err
    assert (out / "results.json").read_text() == before  # nothing of the second run written
    assert (out / ".lock").read_text() == str(holder.pid)  # the holder's lock is kept


def test_a_rerun_with_other_settings_describes_that_run_only(study):
    cases, out = study
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    (out / ".lock").write_text(str(ended.pid))  # left by a study that was killed
    assert sorted(p.name for p in (out / "models").iterdir()) == [
        "Radiomics IR+SR LOGREG",
        "Radiomics MR+LR LOGREG",
    ]
    assert _study(cases, out, *ONE_ROI) == EXIT_OK
    assert not (out / ".lock").exists()
    assert [p.name for p in (out / "models").iterdir()] == ["Radiomics MR+LR LOGREG"]
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["Radiomics MR+LR LOGREG"]
    assert results["config"] == yaml.safe_load((out / "config.yaml").read_text())
    assert results["config"]["radiomics"]["roi_strategies"] == ["MR+LR"]
    assert "IR+SR" not in (out / "report.html").read_text()
    assert not any("ir_sr" in p.name for p in (out / "stages").iterdir())
    assert (
        "settings changed since the last run (['radiomics.roi_strategies'])"
        in (out / "study.log").read_text()
    )


def test_an_unwritable_out_exits_3_in_one_line(first_run, tmp_path, capsys):
    cases = first_run / "cases.csv"
    # /sys takes no new folders, even for root: a new --out on a filesystem that refuses it
    for out in (Path("/sys/rdinet-study-out"), Path("/sys/rdinet/nested/out")):
        code = _study(cases, out, *ONE_ROI)
        err = capsys.readouterr().err
        assert code == EXIT_BAD_INPUT and err.count("\n") == 1
        assert err.startswith(f"rdinet: error: {out}: cannot write the study's output folder")
    demo = Path("/sys/rdinet-demo-out")  # rdinet demo writes its cohort there first
    code = main(["demo", "--out", str(demo), "--patients", "4", "--no-progress"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1 and "cannot write" in err
    if os.geteuid() != 0:  # root writes into read-only folders anyway
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        try:
            code = _study(cases, folder, *ONE_ROI)
        finally:
            folder.chmod(0o755)
        err = capsys.readouterr().err
        assert code == EXIT_BAD_INPUT and err.count("\n") == 1 and "cannot write" in err
        assert not any(folder.iterdir())
