"""The ``rdinet`` command's exit codes and messages: usage 2, bad input 3, internal 1, --version."""

import subprocess
import sys
from importlib.metadata import entry_points

import pandas as pd
import pytest

from rdinet_sklearn import __version__
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_USAGE, main


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse exits for --help, --version and usage errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    code, out, _ = _run(["--version"], capsys)
    assert code == EXIT_OK and out.strip() == f"rdinet-sklearn {__version__}"


@pytest.mark.parametrize(
    "argv, says",
    [
        (
            ["extract", "--cases", "c.csv", "--roi", "MR", "--out", "o.csv", "--labels", "[1"],
            "--labels: '[1' is not a YAML mapping",
        ),
        (["validate", "--cases", "c.csv", "--labels", "{MR: 2.5}"], "is not a YAML mapping"),
        (
            ["study", "--cases", "c.csv", "--target", "y", "--out", "o", "--set", "deep.lr"],
            "'deep.lr' is not of the form key=value",
        ),
        (
            ["study", "--cases", "c.csv", "--target", "y", "--out", "o", "--set", "deep.lr=[1"],
            "the value is not valid YAML",
        ),
        (["study", "--cases", "c.csv"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, says, capsys):
    code, out, err = _run(argv, capsys)
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert err.startswith("rdinet") and "--help" in err


def test_bad_input_exits_3_naming_the_problem(tmp_path, capsys):
    table = pd.DataFrame({"image": ["nowhere.nii.gz"], "mask": ["gone.nii.gz"], "y": [1]})
    table.to_csv(tmp_path / "cases.csv", index=False)
    code, _, err = _run(["validate", "--cases", str(tmp_path / "cases.csv")], capsys)
    assert code == EXIT_BAD_INPUT and "nowhere.nii.gz): file not found" in err
    study = ["study", "--cases", str(tmp_path / "cases.csv"), "--out", str(tmp_path / "o")]
    code, _, err = _run([*study, "--target", "outcome"], capsys)  # no such column
    assert code == EXIT_BAD_INPUT and "target= naming a column" in err
    code, _, err = _run([*study, "--target", "y", "--set", "deep.nonsense=1"], capsys)
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1
    assert "unknown setting 'deep.nonsense'" in err
    code, _, err = _run([*study, "--target", "y", "--config", str(tmp_path / "no.yaml")], capsys)
    assert code == EXIT_BAD_INPUT and "no.yaml: cannot be read" in err
    code, _, err = _run(["validate", "--cases", str(tmp_path / "missing.csv")], capsys)
    assert code == EXIT_BAD_INPUT and "missing.csv not found" in err
    assert "Traceback" not in err


def test_internal_error_exits_1_with_the_traceback_in_a_log(
    small_cohort, tmp_path, capsys, monkeypatch
):
    cases, y = small_cohort
    cases.assign(y=y).to_csv(tmp_path / "cases.csv")
    out = tmp_path / "out"
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "y", "--out", str(out)]
    # A setting of the wrong type is bad input, refused before anything is written.
    code, _, err = _run([*argv, "--set", "test_size=not-a-number"], capsys)
    assert code == EXIT_BAD_INPUT and "'test_size'" in err and not out.exists()

    # Not bad input but a failure inside the run (a bug), once the folder exists.
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("rdinet_sklearn.study._run.extract_features", broken)
    code, _, err = _run(argv, capsys)
    assert code == EXIT_FAILED and err.count("\n") == 1
    assert err.startswith("rdinet: internal error (") and "traceback in" in err
    log = err.rsplit("traceback in ", 1)[1].strip()
    assert log == str(out / "study.log")
    text = open(log).read()
    assert "Traceback (most recent call last)" in text and "internal error" in text


def test_group_column_missing_from_the_case_table_exits_3_naming_it(small_cohort, tmp_path, capsys):
    cases, y = small_cohort
    cases.assign(y=y).to_csv(tmp_path / "cases.csv")
    out = tmp_path / "out"
    argv = ["study", "--cases", str(tmp_path / "cases.csv"), "--target", "y", "--out", str(out)]
    code, _, err = _run([*argv, "--group-column", "site", "--no-progress"], capsys)
    assert code == EXIT_BAD_INPUT and err.startswith("rdinet: error:")
    assert "group_column 'site'" in err and "Traceback" not in err
    assert not out.exists()  # refused before anything is written


def test_help_and_version_import_neither_torch_nor_pyradiomics():
    probe = (
        "import sys\n"
        "from rdinet_sklearn.cli import main\n"
        "for argv in (['--help'], ['--version'], ['study', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'torch', 'radiomics', 'SimpleITK', 'skorch', 'monai'} & set(sys.modules)\n"
        "print(sorted(heavy), file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stderr.strip().splitlines()[-1] == "[]"


def test_console_script_returns_main_code_with_a_faster_collector(tmp_path):
    (script,) = entry_points(group="console_scripts", name="rdinet")
    assert script.value == "rdinet_sklearn.cli:run"
    probe = (
        "import gc, sys\n"
        "from rdinet_sklearn.cli import run\n"
        f"sys.argv = ['rdinet', 'validate', '--cases', {str(tmp_path / 'absent.csv')!r}]\n"
        "code = run()\n"
        "print(code, gc.get_threshold()[0], gc.get_freeze_count() > 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == [str(EXIT_BAD_INPUT), "10000", "True"]
    assert "absent.csv" in done.stderr
