"""IBSI: the "ibsi" preset on the digital phantom, the IBSI tag of every column, the docs page."""

from importlib import resources

import pandas as pd
import pytest

from rdinet_sklearn.cli import RADIOMICS_PRESETS
from rdinet_sklearn.radiomics import (
    IBSI_FEATURES,
    PRESETS,
    RadiomicsExtractor,
    clear_process_cache,
    ibsi_compliance,
    phantom_reference_values,
)
from rdinet_sklearn.radiomics._ibsi import KNOWN_DIFFERENCES, reference_tag, within_tolerance

PHANTOM = resources.files("rdinet_sklearn.radiomics") / "ibsi_phantom"


@pytest.fixture(scope="module")
def phantom_features():
    """The phantom through RadiomicsExtractor(params="ibsi"), one row, pyradiomics names."""
    clear_process_cache()
    table = pd.DataFrame(
        {"image": [str(PHANTOM / "phantom.nii.gz")], "mask": [str(PHANTOM / "mask.nii.gz")]},
        index=["phantom"],
    )
    extractor = RadiomicsExtractor(roi="phantom", labels={"phantom": 1}, params="ibsi")
    features = extractor.fit_transform(table).iloc[0]
    features.index = features.index.str.removeprefix("phantom_original_")
    clear_process_cache()
    return features


def test_ibsi_preset_reproduces_every_feature_claimed_compliant(phantom_features):
    reference = phantom_reference_values()
    claims = ibsi_compliance("ibsi")
    compliant = claims.index[claims["status"] == "compliant"]
    assert len(phantom_features) == len(claims) == 107
    for feature_class, feature in compliant:
        ibsi_name, _ = IBSI_FEATURES[feature_class, feature]
        ref, tol = reference.loc[reference_tag(feature_class, ibsi_name)]
        measured = phantom_features[f"{feature_class}_{feature}"]
        assert within_tolerance(measured, ref, tol), (feature, measured, ref, tol)
    # Everything with an IBSI definition is compliant but the documented differences.
    mapped = claims.index[claims["ibsi_name"] != ""]
    assert set(mapped) - set(compliant) == set(KNOWN_DIFFERENCES)
    assert len(compliant) == len(IBSI_FEATURES) - len(KNOWN_DIFFERENCES) == 99
    differs = claims[claims["status"] == "differs"]
    assert (differs["reason"] != "").all()
    kurtosis = differs.loc[("firstorder", "Kurtosis")]
    assert kurtosis["measured"] - 3 == pytest.approx(kurtosis["reference"], abs=5e-4)


def test_match_rule_uses_the_tolerance_or_three_significant_digits():
    assert within_tolerance(2.1486, 2.15, 0)
    assert not within_tolerance(2.156, 2.15, 0)
    assert within_tolerance(0.029604, 0.0296, 0)
    assert within_tolerance(11.325, 11.4, 0.1)
    assert not within_tolerance(9.2449, 9.31, 0.06)
    assert within_tolerance(0.0, 0.0, 0) and not within_tolerance(1e-6, 0.0, 0)


def test_study_settings_compare_texture_with_the_2_5d_references():
    study = ibsi_compliance("study")
    contrast = study.loc[("glcm", "Contrast")]
    assert contrast["reference_tag"] == "cm_contrast_2_5D_avg"
    assert contrast["aggregation"] == "2.5D_avg"
    assert study.loc[("glszm", "ZoneEntropy"), "reference_tag"] == "szm_zs_entr_2_5D"
    assert (study.xs("glcm")["status"] != "differs").all()
    # The study's voxelArrayShift (300) moves energy and RMS off IBSI's definition.
    assert study.loc[("firstorder", "Energy"), "status"] == "differs"
    assert ibsi_compliance("ibsi").loc[("firstorder", "Energy"), "status"] == "compliant"


def test_cli_lists_every_preset():
    assert RADIOMICS_PRESETS == PRESETS
    assert "ibsi" in PRESETS
