"""Small cohorts and imperfect clinical tables through ``rdinet study`` and ``rdinet predict``.

A 12-patient cohort: the study's CV either fits the class counts or is refused up front
(exit 3 naming the smallest class and the folds needed); the inner CVs (LASSO, the SVM's
calibration) adapt. A missing clinical value is imputed in-fold and counted; text in a
numeric column is read as missing with a warning naming the patient, and refused by predict.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn._cases import ClinicalValueWarning
from rdinet_sklearn._folds import ClassCountStratifiedKFold, TooFewCasesError, fold_count
from rdinet_sklearn.cli import EXIT_BAD_INPUT, EXIT_OK, main
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.selection import LassoSelector, SelectionFallbackWarning

pytestmark = pytest.mark.slow

SMALL = [
    "--no-progress",
    *("--set", "n_jobs=1", "--set", "comparison.repeats=0"),
    *("--set", "models=[radiomics,rdinet_clinical]", "--set", "radiomics.params=original"),
    *("--set", "radiomics.roi_strategies=[MR+LR]", "--set", "radiomics.classifiers=[svm,logreg]"),
    *("--set", "deep.rois=[MR+LR]", "--set", "deep.depth=10", "--set", "deep.d=8"),
    *("--set", "deep.volume_size=[4,16,16]", "--set", "deep.max_epochs=1"),
    *("--set", "deep.batch_size=8", "--set", "deep.cv_folds=3"),
]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """12 patients; P-ids of one with a missing age and one with age 'sixty'."""
    folder = tmp_path_factory.mktemp("small")
    cases, y = make_ted_cohort(12, folder / "cohort", random_state=3, shape=(8, 48, 96))
    table = cases.join(y)
    table["age"] = table["age"].astype(object)
    blank, text = table.index[1], table.index[4]
    table.loc[blank, "age"] = np.nan
    table.loc[text, "age"] = "sixty"
    path = folder / "cases.csv"
    table.to_csv(path, index=False)
    return folder, path, str(blank), str(text)


def test_a_cv_the_cohort_cannot_fill_is_refused_before_any_work(cohort, capsys):
    folder, path, _, _ = cohort
    out = folder / "refused"
    argv = ["study", "--cases", str(path), "--target", "response", "--out", str(out), *SMALL]
    assert main([*argv, "--set", "cv_folds=5"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "cv_folds=5 needs 5 cases of each class; class" in error
    assert "set cv_folds <=" in error
    assert not out.exists()  # refused with the cohort, before --out is made


@pytest.fixture(scope="module")
def study(cohort):
    folder, path, _, _ = cohort
    out = folder / "study"
    argv = ["study", "--cases", str(path), "--target", "response", "--out", str(out), *SMALL]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([*argv, "--set", "cv_folds=3"])
    return code, out, caught


def test_a_small_cohort_with_missing_and_text_clinical_values_runs(cohort, study):
    _, _, blank, text = cohort
    code, out, caught = study
    assert code == EXIT_OK
    slips = [str(w.message) for w in caught if issubclass(w.category, ClinicalValueWarning)]
    assert slips and f"{text!r} ('sixty')" in slips[0] and "'age'" in slips[0]
    results = json.loads((out / "results.json").read_text())
    missing = results["missing_clinical_values"]
    # the blank and the text value, each counted in its cohort
    assert sum(counts.get("age", 0) for counts in missing.values()) == 2
    assert set(results["models"]) == {
        "Radiomics MR+LR SVM",
        "Radiomics MR+LR LOGREG",
        "RDINet+clinical MR+LR",
    }
    card = json.loads((out / "models/RDINet+clinical MR+LR/model.json").read_text())
    assert "age" in card["numeric_columns"]


def _predict(capsys, out, cases, tmp_path):
    model = out / "models/RDINet+clinical MR+LR"
    code = main(["predict", "--model", str(model), "--cases", str(cases), "--out", str(tmp_path)])
    return code, capsys.readouterr()


def test_predict_imputes_a_missing_value_and_refuses_text_naming_patient(
    cohort, study, tmp_path, capsys
):
    folder, path, blank, _ = cohort
    _, out, _ = study
    table = pd.read_csv(path)
    table.loc[table["patient_id"] == blank, "age"] = np.nan
    table["age"] = pd.to_numeric(table["age"], errors="coerce").fillna(50)
    table.loc[0, "age"] = np.nan
    good = tmp_path / "good.csv"
    table.to_csv(good, index=False)
    code, output = _predict(capsys, out, good, tmp_path / "p.csv")
    assert code == EXIT_OK, output.err
    assert pd.read_csv(tmp_path / "p.csv")["probability"].notna().all()
    table["age"] = table["age"].astype(object)
    table.loc[2, "age"] = "seventy"
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    code, output = _predict(capsys, out, bad, tmp_path / "q.csv")
    assert code == EXIT_BAD_INPUT
    assert f"{table.loc[2, 'patient_id']!r} ('seventy')" in output.err
    assert "'age' was numeric in training" in output.err
    assert not (tmp_path / "q.csv").exists()


def test_lasso_inner_cv_adapts_to_the_smallest_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 4))
    y = np.array([0] * 6 + [1] * 3)
    X[:, 0] += 2 * y
    with pytest.warns(SelectionFallbackWarning, match="3 folds instead of cv=5"):
        selector = LassoSelector(random_state=0).fit(X, y)
    assert selector.cv_scores_.shape[1] == 3
    with pytest.raises(TooFewCasesError, match="class 1 has 1"):
        LassoSelector(random_state=0).fit(X[:7], y[:7])


def test_class_count_folds_keep_every_class_in_every_fold():
    y = np.array([0] * 7 + [1] * 3)
    assert fold_count(y, 5, what="cv") == 3
    folds = list(ClassCountStratifiedKFold(5, random_state=0).split(np.zeros((10, 1)), y))
    assert len(folds) == 3
    assert all(set(y[test]) == {0, 1} for _, test in folds)
