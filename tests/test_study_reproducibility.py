"""The study with one rater: perturbation filter chosen automatically, said in the report."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn import CaseTableError
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.radiomics import ibsi_feature_info
from rdinet_sklearn.selection import PerturbationReproducibilityFilter, ReproducibilityFilter
from rdinet_sklearn.study import ConfigError, make_config, run_study
from rdinet_sklearn.study._reproducibility import (
    extractor_options,
    reproducibility_filter,
    resolve_reproducibility,
)

ONE_ROI = {
    "cv_folds": 3,
    "n_jobs": 1,
    "models": ["radiomics"],
    "radiomics": {
        "params": "original",
        "roi_strategies": ["MR+LR"],
        "classifiers": ["logreg"],
        "perturbations": 2,
    },
}


def test_mode_follows_the_case_table():
    config = make_config("quick", overrides=[ONE_ROI])
    two = pd.DataFrame({"image": ["a"], "mask": ["m"], "mask_rater2": ["m2"]})
    resolved, why = resolve_reproducibility(config, two)
    assert resolved.radiomics.reproducibility == "raters" and "two raters" in why
    assert isinstance(reproducibility_filter(resolved), ReproducibilityFilter)
    assert extractor_options(resolved) == {
        "reference_mask_column": "mask_rater2",
        "perturbations": 0,
    }
    for one in (two.assign(mask_rater2=np.nan), two.drop(columns="mask_rater2")):
        resolved, why = resolve_reproducibility(config, one)
        assert resolved.radiomics.reproducibility == "perturbation"
        assert "chosen automatically" in why and "no second rater" in why
        assert isinstance(reproducibility_filter(resolved), PerturbationReproducibilityFilter)
        assert extractor_options(resolved) == {"reference_mask_column": None, "perturbations": 2}
    assert resolve_reproducibility(config, one)[0].reference_mask_column is None
    assert config.radiomics.reproducibility == "auto"  # the input is not modified
    forced = make_config("quick", overrides=[ONE_ROI, "radiomics.reproducibility=perturbation"])
    assert resolve_reproducibility(forced, two)[0].radiomics.reproducibility == "perturbation"
    with pytest.raises(CaseTableError, match="needs second-rater masks"):
        resolve_reproducibility(
            make_config("quick", overrides=["radiomics.reproducibility=raters"]), one
        )
    with pytest.raises(ConfigError, match="'radiomics.reproducibility' must be one of"):
        make_config("quick", overrides=["radiomics.reproducibility=x"])
    # No second rater and no perturbations: nothing to filter by, refused naming both keys.
    no_perturbations = make_config("quick", overrides=["radiomics.perturbations=0"])
    with pytest.raises(ConfigError, match="'radiomics.perturbations' is 0.*second rater"):
        resolve_reproducibility(no_perturbations, one)
    assert resolve_reproducibility(no_perturbations, two)[0].radiomics.reproducibility == "raters"


@pytest.mark.slow
def test_one_rater_study_uses_perturbations_and_reports_ibsi_and_icc(tmp_path):
    cases, y = make_ted_cohort(20, tmp_path / "cohort", random_state=0, shape=(6, 80, 160))
    cases = cases.drop(columns="mask_rater2")
    config = make_config("quick", overrides=[ONE_ROI])
    results = run_study(cases, y, config=config, out=tmp_path / "out", progress=False)
    assert results["reproducibility"]["method"] == "perturbation"
    assert "chosen automatically" in results["reproducibility"]["why"]
    report = (tmp_path / "out" / "report.html").read_text()
    assert "Feature reproducibility" in report and "no second rater" in report
    headline = results["headline_radiomics_features"]
    assert headline["model"] == "Radiomics MR+LR LOGREG"
    model = joblib.load(results["models"][headline["model"]]["model_file"])
    step = model.named_steps["reproducibility"]
    assert isinstance(step, PerturbationReproducibilityFilter) and step.n_perturbations_ == 2
    features = pd.DataFrame(headline["features"])
    assert list(features["feature"]) == list(model[:-1].get_feature_names_out())
    assert len(features) >= 1
    np.testing.assert_allclose(features["icc"], step.icc_table_.loc[features["feature"], "icc"])
    assert (features["icc"] >= 0.75).all()
    expected = ibsi_feature_info(features["feature"].str.removeprefix("MR+LR_"), "original")
    assert features["ibsi_code"].tolist() == expected["ibsi_code"].tolist()
    assert features["ibsi_status"].tolist() == expected["ibsi_status"].tolist()
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["headline_radiomics_features"] == headline
    assert on_disk["config"]["radiomics"]["reproducibility"] == "perturbation"
