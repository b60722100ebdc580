"""IBSI: the "ibsi" preset on the digital phantom, the IBSI tag of every column, the docs page."""

import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rdinet_sklearn.cli import RADIOMICS_PRESETS
from rdinet_sklearn.radiomics import (
    IBSI_FEATURES,
    PRESETS,
    RadiomicsExtractor,
    clear_process_cache,
    ibsi_compliance,
    ibsi_feature_info,
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


def test_feature_info_tags_every_column_with_its_ibsi_code_filter_and_roi(small_cohort):
    cases, _ = small_cohort
    extractor = RadiomicsExtractor(
        roi=("MR", "LR"), params="study", reference_mask_column="mask_rater2"
    ).fit(cases.iloc[:1])
    names = extractor.get_feature_names_out()
    info = extractor.feature_info_
    assert list(info.index) == list(names) and len(names) == 2 * 572
    assert (info["roi"] == "MR+LR").all()
    assert info["rater"].tolist() == [1] * 572 + [2] * 572
    row = info.loc["MR+LR_wavelet-HL_glrlm_RunPercentage__rater2"]
    assert row[["image_filter", "feature_class", "feature"]].tolist() == [
        "wavelet-HL",
        "glrlm",
        "RunPercentage",
    ]
    assert row[["ibsi_name", "ibsi_code", "aggregation"]].tolist() == [
        "rlm_r_perc",
        "9ZK5",
        "2.5D_avg",
    ]
    assert set(info["image_filter"]) == {"none", "wavelet-LL", "wavelet-LH", "wavelet-HL"} | {
        "wavelet-HH",
        "square",
    }
    # Every IBSI-defined pyradiomics feature carries its identifier; the others carry "".
    first = info[info["rater"] == 1]
    pairs = zip(first["feature_class"], first["feature"], strict=True)
    defined = [pair in IBSI_FEATURES for pair in pairs]
    assert ((first["ibsi_code"] != "") == defined).all()
    assert set(first.loc[~np.array(defined), "ibsi_status"]) == {"not in IBSI"}
    # The verdicts are those of the phantom with the study's computation settings (2.5D).
    study = ibsi_compliance("study")["status"]
    for name in ["original_firstorder_Energy", "original_glcm_Idmn", "square_ngtdm_Busyness"]:
        _, feature_class, feature = name.split("_", 2)
        assert info.loc[f"MR+LR_{name}", "ibsi_status"] == study[feature_class, feature]
    assert info.loc["MR+LR_original_firstorder_Energy", "ibsi_status"] == "differs"


def test_feature_info_function_and_settings_pyradiomics_cannot_run_on_the_phantom():
    names = ["original_firstorder_Kurtosis", "log-sigma-1-0-mm-3D_glcm_MCC"]
    info = ibsi_feature_info(names, params="ibsi")
    assert info.loc[names, "ibsi_status"].tolist() == ["differs", "not in IBSI"]
    assert info.loc[names[1], "image_filter"] == "log-sigma-1-0-mm-3D"
    # shape2D needs a single-slice mask: on the 3D phantom its features are "not checked".
    params = {"featureClass": {"shape2D": [], "firstorder": ["Mean"]}, "setting": {"force2D": True}}
    info = ibsi_feature_info(["original_shape2D_Perimeter", "original_firstorder_Mean"], params)
    assert info["ibsi_status"].tolist() == ["not checked", "compliant"]


def test_generated_docs_page_is_current():
    script = Path(__file__).parents[1] / "docs" / "generate_ibsi_page.py"
    spec = importlib.util.spec_from_file_location("generate_ibsi_page", script)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    page = generator.render()
    assert generator.PAGE.read_text(encoding="utf-8") == page, (
        "docs/user_guide/ibsi.rst is stale: run python docs/generate_ibsi_page.py"
    )
    assert "``firstorder_Kurtosis``" in page and "IPH6" in page
    assert "\n     - differs: pyradiomics reports the kurtosis" in page
    assert "``dzm_sde_3D``" in page  # an IBSI feature pyradiomics lacks


def test_fixed_width_bins_start_at_the_range_lower_bound_only_while_extracting():
    from radiomics import imageoperations

    from rdinet_sklearn.radiomics import load_settings
    from rdinet_sklearn.radiomics._binning import range_start_bins

    values = np.array([-940.0, -600.0, -10.0])
    ranged = load_settings({"setting": {"resegmentRange": [-1000, 400], "binWidth": 25}})
    with range_start_bins(ranged):
        edges = imageoperations.getBinEdges(values, binWidth=25)
    assert edges[0] == -1000 and np.all(np.diff(edges) == 25) and edges[-1] > values.max()
    # pyradiomics' own edges outside the context: from the multiple of 25 below the minimum
    assert imageoperations.getBinEdges(values, binWidth=25)[0] == -950
    counted = load_settings({"setting": {"resegmentRange": [-1000, 400], "binCount": 32}})
    with range_start_bins(counted):  # a bin count keeps pyradiomics' (IBSI's) edges
        assert imageoperations.getBinEdges(values, binCount=32)[0] == -940
