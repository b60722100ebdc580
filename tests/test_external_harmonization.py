"""ComBat harmonization recovers the AUC a scanner shift costs on an external cohort.

The public path: ``rdinet study`` trained on one center, with and without
``radiomics.harmonization``, tested (``--test-cases``) on external patients
(``make_ted_cohort(..., random_state=1)``) imaged on the training scanner; then
``rdinet evaluate`` of both studies on the same patients imaged on a shifted scanner. The
cohorts are small images (12 x 64 x 112) so that the test runs on CPU; at that size the
default :class:`~rdinet_sklearn.datasets.ScannerShift` moves the features too little to
cost the RBF-SVM AUC, so the test uses a stronger shift (more coil field, noise and voxel
size). At the default image size the default shift has the same effect (see
``benchmarks/bench_harmonization.py``).
"""

import pandas as pd
import pytest

from rdinet_sklearn.cli import EXIT_OK, main
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.metrics import delong_auc_ci, delong_test

pytestmark = pytest.mark.slow

SHAPE = (12, 64, 112)
SHIFT = {"bias_field": 0.6, "noise_scale": 2.0, "spacing": (1.5, 1.5)}
STUDY = [
    "--no-progress",
    *("--set", "models=[radiomics]", "--set", "n_jobs=2", "--set", "comparison.repeats=0"),
    *("--set", "radiomics.roi_strategies=[MR+LR]", "--set", "radiomics.classifiers=[svm]"),
]
COMBAT = ["--set", "radiomics.harmonization={batch_column: center, unseen: estimate}"]
MODEL = "Radiomics MR+LR SVM"


def _evaluate(study, cases, out):
    """The study's radiomics model on ``cases`` (rdinet evaluate): its predictions.csv rows."""
    argv = ["evaluate", "--study", str(study), "--cases", str(cases), "--target", "response"]
    assert main([*argv, "--out", str(out)]) == EXIT_OK
    rows = pd.read_csv(out / "predictions.csv")
    return rows[rows["model"] == MODEL]


def test_combat_recovers_the_auc_lost_to_a_scanner_shift(tmp_path):
    train = tmp_path / "train"
    make_ted_cohort(147, train, random_state=0, shape=SHAPE, center="A", n_jobs=2)
    for name, shift in (("ext", None), ("ext_shifted", SHIFT)):
        make_ted_cohort(
            60, tmp_path / name, random_state=1, shape=SHAPE, center="ext",
            scanner_shift=shift, n_jobs=2,
        )  # fmt: skip
    studies = {}
    for name, extra in (("plain", []), ("combat", COMBAT)):
        studies[name] = tmp_path / name
        argv = ["study", "--cases", str(train / "cases.csv"), "--target", "response"]
        argv += ["--test-cases", str(tmp_path / "ext" / "cases.csv")]
        assert main([*argv, "--out", str(studies[name]), *STUDY, *extra]) == EXIT_OK

    # the external patients on the training scanner: the plain study's test cohort
    rows = pd.read_csv(studies["plain"] / "tables" / "predictions.csv")
    same = rows[(rows["model"] == MODEL) & (rows["cohort"] == "test")]
    shifted_cases = tmp_path / "ext_shifted/cases.csv"
    plain = _evaluate(studies["plain"], shifted_cases, tmp_path / "plain_ext")
    combat = _evaluate(studies["combat"], shifted_cases, tmp_path / "combat_ext")
    ids = same["case"].tolist()  # the same patients, in the same order
    assert plain["patient_id"].tolist() == ids and combat["patient_id"].tolist() == ids
    y = plain["observed"].to_numpy()

    auc_same = delong_auc_ci(same["y_true"], same["proba"]).auc
    test = delong_test(y, combat["probability"], plain["probability"])
    lost = auc_same - test.auc_b
    assert lost > 0.05, (auc_same, test)  # the shift costs the unharmonized model AUC
    assert test.difference > 0 and test.p_value < 0.05, test  # ComBat measurably better
    assert test.difference > 0.5 * lost, (auc_same, test)  # and recovers most of the loss
