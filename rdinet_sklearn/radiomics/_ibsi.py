"""IBSI names of pyradiomics features, and which reproduce the IBSI digital-phantom values.

The Image Biomarker Standardisation Initiative (IBSI; Zwanenburg et al., Radiology 2020)
defines each radiomics feature once, gives it a permanent 4-character identifier (e.g.
``Q4LE`` for the mean intensity) and publishes consensus reference values for a small digital
phantom. :data:`IBSI_FEATURES` maps every pyradiomics feature that has an IBSI definition to
that definition; :func:`ibsi_compliance` runs pyradiomics on the phantom (shipped in
``ibsi_phantom/``, CC BY 4.0) and compares every such feature with its reference value, so the
verdict is always that of the installed pyradiomics; :func:`ibsi_feature_info` describes the
output columns of an extraction with their IBSI identifiers and verdicts.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from importlib import resources

import numpy as np
import pandas as pd

# (pyradiomics class, pyradiomics feature) -> (IBSI feature tag, IBSI identifier). The tag is
# the IBSI manual's short name, also used by its reference tables (texture tags get an
# aggregation suffix there, e.g. "cm_contrast_3D_avg"). Features absent here (shape
# Maximum2DDiameter*, firstorder TotalEnergy, glcm MCC) have no IBSI definition.
IBSI_FEATURES = {
    ("shape", "Elongation"): ("morph_pca_elongation", "Q3CK"),
    ("shape", "Flatness"): ("morph_pca_flatness", "N17B"),
    ("shape", "LeastAxisLength"): ("morph_pca_least_axis", "7J51"),
    ("shape", "MajorAxisLength"): ("morph_pca_maj_axis", "TDIC"),
    ("shape", "Maximum3DDiameter"): ("morph_diam", "L0JK"),
    ("shape", "MeshVolume"): ("morph_volume", "RNU0"),
    ("shape", "MinorAxisLength"): ("morph_pca_min_axis", "P9VJ"),
    ("shape", "Sphericity"): ("morph_sphericity", "QCFX"),
    ("shape", "SurfaceArea"): ("morph_area_mesh", "C0JK"),
    ("shape", "SurfaceVolumeRatio"): ("morph_av", "2PR5"),
    ("shape", "VoxelVolume"): ("morph_vol_approx", "YEKZ"),
    ("firstorder", "10Percentile"): ("stat_p10", "QG58"),
    ("firstorder", "90Percentile"): ("stat_p90", "8DWT"),
    ("firstorder", "Energy"): ("stat_energy", "N8CA"),
    ("firstorder", "Entropy"): ("ih_entropy", "TLU2"),
    ("firstorder", "InterquartileRange"): ("stat_iqr", "SALO"),
    ("firstorder", "Kurtosis"): ("stat_kurt", "IPH6"),
    ("firstorder", "Maximum"): ("stat_max", "84IY"),
    ("firstorder", "MeanAbsoluteDeviation"): ("stat_mad", "4FUA"),
    ("firstorder", "Mean"): ("stat_mean", "Q4LE"),
    ("firstorder", "Median"): ("stat_median", "Y12H"),
    ("firstorder", "Minimum"): ("stat_min", "1GSF"),
    ("firstorder", "Range"): ("stat_range", "2OJQ"),
    ("firstorder", "RobustMeanAbsoluteDeviation"): ("stat_rmad", "1128"),
    ("firstorder", "RootMeanSquared"): ("stat_rms", "5ZWQ"),
    ("firstorder", "Skewness"): ("stat_skew", "KE2A"),
    ("firstorder", "Uniformity"): ("ih_uniformity", "BJ5W"),
    ("firstorder", "Variance"): ("stat_var", "ECT3"),
    ("glcm", "Autocorrelation"): ("cm_auto_corr", "QWB0"),
    ("glcm", "ClusterProminence"): ("cm_clust_prom", "AE86"),
    ("glcm", "ClusterShade"): ("cm_clust_shade", "7NFM"),
    ("glcm", "ClusterTendency"): ("cm_clust_tend", "DG8W"),
    ("glcm", "Contrast"): ("cm_contrast", "ACUI"),
    ("glcm", "Correlation"): ("cm_corr", "NI2N"),
    ("glcm", "DifferenceAverage"): ("cm_diff_avg", "TF7R"),
    ("glcm", "DifferenceEntropy"): ("cm_diff_entr", "NTRS"),
    ("glcm", "DifferenceVariance"): ("cm_diff_var", "D3YU"),
    ("glcm", "Id"): ("cm_inv_diff", "IB1Z"),
    ("glcm", "Idm"): ("cm_inv_diff_mom", "WF0Z"),
    ("glcm", "Idmn"): ("cm_inv_diff_mom_norm", "1QCO"),
    ("glcm", "Idn"): ("cm_inv_diff_norm", "NDRX"),
    ("glcm", "Imc1"): ("cm_info_corr1", "R8DG"),
    ("glcm", "Imc2"): ("cm_info_corr2", "JN9H"),
    ("glcm", "InverseVariance"): ("cm_inv_var", "E8JP"),
    ("glcm", "JointAverage"): ("cm_joint_avg", "60VM"),
    ("glcm", "JointEnergy"): ("cm_energy", "8ZQL"),
    ("glcm", "JointEntropy"): ("cm_joint_entr", "TU9B"),
    ("glcm", "MaximumProbability"): ("cm_joint_max", "GYBY"),
    ("glcm", "SumAverage"): ("cm_sum_avg", "ZGXS"),
    ("glcm", "SumEntropy"): ("cm_sum_entr", "P6QZ"),
    ("glcm", "SumSquares"): ("cm_joint_var", "UR99"),
    ("glrlm", "GrayLevelNonUniformity"): ("rlm_glnu", "R5YN"),
    ("glrlm", "GrayLevelNonUniformityNormalized"): ("rlm_glnu_norm", "OVBL"),
    ("glrlm", "GrayLevelVariance"): ("rlm_gl_var", "8CE5"),
    ("glrlm", "HighGrayLevelRunEmphasis"): ("rlm_hgre", "G3QZ"),
    ("glrlm", "LongRunEmphasis"): ("rlm_lre", "W4KF"),
    ("glrlm", "LongRunHighGrayLevelEmphasis"): ("rlm_lrhge", "3KUM"),
    ("glrlm", "LongRunLowGrayLevelEmphasis"): ("rlm_lrlge", "IVPO"),
    ("glrlm", "LowGrayLevelRunEmphasis"): ("rlm_lgre", "V3SW"),
    ("glrlm", "RunEntropy"): ("rlm_rl_entr", "HJ9O"),
    ("glrlm", "RunLengthNonUniformity"): ("rlm_rlnu", "W92Y"),
    ("glrlm", "RunLengthNonUniformityNormalized"): ("rlm_rlnu_norm", "IC23"),
    ("glrlm", "RunPercentage"): ("rlm_r_perc", "9ZK5"),
    ("glrlm", "RunVariance"): ("rlm_rl_var", "SXLW"),
    ("glrlm", "ShortRunEmphasis"): ("rlm_sre", "22OV"),
    ("glrlm", "ShortRunHighGrayLevelEmphasis"): ("rlm_srhge", "GD3A"),
    ("glrlm", "ShortRunLowGrayLevelEmphasis"): ("rlm_srlge", "HTZT"),
    ("glszm", "GrayLevelNonUniformity"): ("szm_glnu", "JNSA"),
    ("glszm", "GrayLevelNonUniformityNormalized"): ("szm_glnu_norm", "Y1RO"),
    ("glszm", "GrayLevelVariance"): ("szm_gl_var", "BYLV"),
    ("glszm", "HighGrayLevelZoneEmphasis"): ("szm_hgze", "5GN9"),
    ("glszm", "LargeAreaEmphasis"): ("szm_lze", "48P8"),
    ("glszm", "LargeAreaHighGrayLevelEmphasis"): ("szm_lzhge", "J17V"),
    ("glszm", "LargeAreaLowGrayLevelEmphasis"): ("szm_lzlge", "YH51"),
    ("glszm", "LowGrayLevelZoneEmphasis"): ("szm_lgze", "XMSY"),
    ("glszm", "SizeZoneNonUniformity"): ("szm_zsnu", "4JP3"),
    ("glszm", "SizeZoneNonUniformityNormalized"): ("szm_zsnu_norm", "VB3A"),
    ("glszm", "SmallAreaEmphasis"): ("szm_sze", "5QRC"),
    ("glszm", "SmallAreaHighGrayLevelEmphasis"): ("szm_szhge", "HW1V"),
    ("glszm", "SmallAreaLowGrayLevelEmphasis"): ("szm_szlge", "5RAI"),
    ("glszm", "ZoneEntropy"): ("szm_zs_entr", "GU8N"),
    ("glszm", "ZonePercentage"): ("szm_z_perc", "P30P"),
    ("glszm", "ZoneVariance"): ("szm_zs_var", "3NSA"),
    # pyradiomics' GLDM with gldm_a = 0 is IBSI's neighbouring grey level dependence matrix.
    ("gldm", "DependenceEntropy"): ("ngl_dc_entr", "FCBV"),
    ("gldm", "DependenceNonUniformity"): ("ngl_dcnu", "Z87G"),
    ("gldm", "DependenceNonUniformityNormalized"): ("ngl_dcnu_norm", "OKJI"),
    ("gldm", "DependenceVariance"): ("ngl_dc_var", "DNX2"),
    ("gldm", "GrayLevelNonUniformity"): ("ngl_glnu", "FP8K"),
    ("gldm", "GrayLevelVariance"): ("ngl_gl_var", "1PFV"),
    ("gldm", "HighGrayLevelEmphasis"): ("ngl_hgce", "OAE7"),
    ("gldm", "LargeDependenceEmphasis"): ("ngl_hde", "IMOQ"),
    ("gldm", "LargeDependenceHighGrayLevelEmphasis"): ("ngl_hdhge", "9QMG"),
    ("gldm", "LargeDependenceLowGrayLevelEmphasis"): ("ngl_hdlge", "NBZI"),
    ("gldm", "LowGrayLevelEmphasis"): ("ngl_lgce", "TL9H"),
    ("gldm", "SmallDependenceEmphasis"): ("ngl_lde", "SODN"),
    ("gldm", "SmallDependenceHighGrayLevelEmphasis"): ("ngl_ldhge", "JA6D"),
    ("gldm", "SmallDependenceLowGrayLevelEmphasis"): ("ngl_ldlge", "EQ3F"),
    ("ngtdm", "Busyness"): ("ngt_busyness", "NQ30"),
    ("ngtdm", "Coarseness"): ("ngt_coarseness", "QCDE"),
    ("ngtdm", "Complexity"): ("ngt_complexity", "HDEZ"),
    ("ngtdm", "Contrast"): ("ngt_contrast", "65HE"),
    ("ngtdm", "Strength"): ("ngt_strength", "1X9X"),
}

KNOWN_DIFFERENCES = {
    ("firstorder", "Kurtosis"): (
        "pyradiomics reports the kurtosis m4 / m2^2; IBSI defines the excess kurtosis, 3 less"
    ),
    ("shape", "MinorAxisLength"): (
        "pyradiomics normalises the covariance of the voxel positions by N, IBSI by N - 1: "
        "every PCA axis length is sqrt((N - 1) / N) of IBSI's (0.7 % less on the phantom)"
    ),
    ("shape", "LeastAxisLength"): (
        "pyradiomics normalises the covariance of the voxel positions by N, IBSI by N - 1: "
        "every PCA axis length is sqrt((N - 1) / N) of IBSI's (0.7 % less on the phantom)"
    ),
}
"""Why the ``"ibsi"`` preset's features that miss their phantom reference value miss it.
MajorAxisLength has the same 0.7 % bias but its reference tolerance (0.1 mm) covers it."""

STATUSES = ("compliant", "differs", "not in IBSI", "not checked")
"""Verdicts: within the phantom's reference tolerance, outside it, no IBSI definition (nothing
to compare), and (:func:`ibsi_feature_info` only) a feature pyradiomics cannot compute on the
phantom with the given settings."""

# Aggregation suffix of the reference tags: directions averaged (pyradiomics' way) in 3D, or
# in 2.5D (force2D: in-plane directions, matrices of all slices merged per direction).
_AGGREGATION = {
    "glcm": ("3D_avg", "2_5D_avg"),
    "glrlm": ("3D_avg", "2_5D_avg"),
    "glszm": ("3D", "2_5D"),
    "gldm": ("3D", "2_5D"),
    "ngtdm": ("3D", "2_5D"),
}
# Settings of the feature computation itself (not of the image preprocessing: normalisation,
# resampling, discretisation) that change a feature's value on the phantom.
_COMPUTATION_SETTINGS = (
    "force2D",
    "voxelArrayShift",
    "distances",
    "gldm_a",
    "weightingNorm",
    "symmetricalGLCM",
)
_PHANTOM = "ibsi_phantom"
_COMPLIANCE_COLUMNS = [
    "feature_class",
    "feature",
    "ibsi_name",
    "ibsi_code",
    "aggregation",
    "reference_tag",
    "measured",
    "reference",
    "tolerance",
    "status",
    "reason",
]
_INFO_COLUMNS = [
    "image_filter",
    "feature_class",
    "feature",
    "ibsi_name",
    "ibsi_code",
    "aggregation",
    "ibsi_status",
    "ibsi_ct",
]


def _phantom_file(name):
    return resources.files(__package__) / _PHANTOM / name


@functools.lru_cache(maxsize=1)
def ibsi_ct_verdicts():
    """Configurations of the IBSI CT phantom each feature met, as measured and shipped.

    Returns
    -------
    verdicts : dict
        ``{(feature_class, feature): (checked, within)}``: the configurations ("A" to "E")
        with a reference value for it, and those whose reference it met, through
        :func:`rdinet_sklearn.preprocessing.ct_pipeline` (IBSI resampling in front of the
        extractor). Regenerated by ``python docs/generate_ibsi_page.py --measure-ct``.

    Examples
    --------
    >>> from rdinet_sklearn.radiomics import ibsi_ct_verdicts
    >>> ibsi_ct_verdicts()[("glcm", "JointAverage")]
    ('ABCDE', 'ABCDE')
    """
    with resources.as_file(resources.files(__package__) / "ibsi_ct_verdicts.csv") as path:
        table = pd.read_csv(path, keep_default_na=False)
    return {
        (row.feature_class, row.feature): (row.checked, row.within)
        for row in table.itertuples(index=False)
    }


def phantom_reference_values():
    """The IBSI 1 consensus reference values of the digital phantom.

    Returns
    -------
    reference : DataFrame
        Indexed by IBSI feature tag (e.g. ``"stat_mean"``, ``"cm_contrast_3D_avg"``), with
        columns ``reference`` and ``tolerance`` (NaN where IBSI reached no consensus).

    Examples
    --------
    >>> from rdinet_sklearn.radiomics import phantom_reference_values
    >>> phantom_reference_values().loc["morph_volume"].tolist()
    [556.0, 4.0]
    """
    with resources.as_file(_phantom_file("reference_values.csv")) as path:
        table = pd.read_csv(path, sep=";")
    table.columns = ["reference", "tolerance", "tag"]
    return table.set_index("tag").astype(float)


def reference_tag(feature_class, ibsi_name, *, force2d=False):
    """The phantom table's tag of an IBSI feature computed in 3D or (``force2d``) 2.5D."""
    if feature_class not in _AGGREGATION:
        return ibsi_name
    return f"{ibsi_name}_{_AGGREGATION[feature_class][bool(force2d)]}"


def aggregation(feature_class, *, force2d=False):
    """IBSI texture aggregation (``"3D_avg"``, ``"2.5D"``...); ``"none"`` for non-texture."""
    if feature_class not in _AGGREGATION:
        return "none"
    return _AGGREGATION[feature_class][bool(force2d)].replace("2_5D", "2.5D")


def within_tolerance(measured, reference, tolerance):
    """IBSI's match rule: within the tolerance, or, where it is 0, equal to 3 significant digits.

    Reference values are published to 3 significant digits; a zero tolerance means the
    measured value must round to the reference.
    """
    if tolerance > 0:
        bound = tolerance
    elif reference == 0:
        bound = 0.0
    else:
        bound = 0.5 * 10.0 ** (math.floor(math.log10(abs(reference))) - 2)
    return abs(measured - reference) <= bound * (1 + 1e-9)


@functools.lru_cache(maxsize=1)
def _ibsi_preset_json():
    from rdinet_sklearn.radiomics._settings import load_settings

    return json.dumps(load_settings("ibsi"))


def _phantom_settings(settings):
    phantom = json.loads(_ibsi_preset_json())
    phantom["featureClass"] = copy.deepcopy(settings["featureClass"])
    for key in _COMPUTATION_SETTINGS:
        if key in settings["setting"]:
            phantom["setting"][key] = settings["setting"][key]
    phantom["setting"]["force2Ddimension"] = 0  # IBSI's 2.5D: the axial slices
    return phantom


def _compliance(settings):
    """:func:`ibsi_compliance` of checked settings (see :func:`load_settings`), cached."""
    from rdinet_sklearn.radiomics._settings import settings_key

    return _compliance_table(settings_key(_phantom_settings(settings)))


def _execute_per_class(settings, image, mask):
    """pyradiomics' features of the phantom, class by class; a class it cannot compute there
    (e.g. ``shape2D`` of a 3D mask) is left out, its features then read "not checked"."""
    from rdinet_sklearn.radiomics._settings import build_pyradiomics_extractor, quiet_pyradiomics

    features = {}
    for feature_class, names in settings["featureClass"].items():
        one_class = {**settings, "featureClass": {feature_class: names}}
        try:
            with quiet_pyradiomics(), np.errstate(all="ignore"):
                result = build_pyradiomics_extractor(one_class).execute(image, mask, label=1)
        except Exception:  # noqa: BLE001 - any failure on the phantom means "not checked"
            continue
        features.update({k: v for k, v in result.items() if not k.startswith("diagnostics_")})
    return features


@functools.lru_cache(maxsize=8)
def _compliance_table(phantom_json):
    import SimpleITK as sitk

    settings = json.loads(phantom_json)
    with (
        resources.as_file(_phantom_file("phantom.nii.gz")) as image_path,
        resources.as_file(_phantom_file("mask.nii.gz")) as mask_path,
    ):
        image, mask = sitk.ReadImage(str(image_path)), sitk.ReadImage(str(mask_path))
    force2d = bool(settings["setting"].get("force2D", False))
    reference = phantom_reference_values()
    rows = []
    for name, value in _execute_per_class(settings, image, mask).items():
        _, feature_class, feature = name.split("_", 2)
        ibsi_name, code = IBSI_FEATURES.get((feature_class, feature), ("", ""))
        tag = reference_tag(feature_class, ibsi_name, force2d=force2d) if ibsi_name else ""
        ref, tol = reference.loc[tag] if tag in reference.index else (np.nan, np.nan)
        if not ibsi_name or np.isnan(ref):
            status = "not in IBSI"
        else:
            status = "compliant" if within_tolerance(float(value), ref, tol) else "differs"
        rows.append(
            {
                "feature_class": feature_class,
                "feature": feature,
                "ibsi_name": ibsi_name,
                "ibsi_code": code,
                "aggregation": aggregation(feature_class, force2d=force2d),
                "reference_tag": tag,
                "measured": float(value),
                "reference": ref,
                "tolerance": tol,
                "status": status,
                "reason": KNOWN_DIFFERENCES.get((feature_class, feature), "")
                if status == "differs"
                else "",
            }
        )
    return pd.DataFrame(rows, columns=_COMPLIANCE_COLUMNS).set_index(["feature_class", "feature"])


def ibsi_compliance(params="ibsi"):
    """Compare pyradiomics' features on the IBSI digital phantom with the reference values.

    The phantom is extracted with the ``"ibsi"`` preset, except for the settings of
    ``params`` that change how a feature is computed (rather than how the image is
    prepared): ``force2D`` (texture in 2.5D instead of 3D, compared with IBSI's 2.5D
    references), ``voxelArrayShift``, ``distances``, ``gldm_a``, ``weightingNorm`` and
    ``symmetricalGLCM``; and with the feature classes of ``params``. Normalisation,
    resampling, discretisation and image filters are preprocessing: IBSI asks that they be
    reported (see :func:`ibsi_feature_info`), its phantom does not test them.

    Parameters
    ----------
    params : str, path-like or dict, default="ibsi"
        pyradiomics settings, as for :class:`RadiomicsExtractor`.

    Returns
    -------
    compliance : DataFrame
        One row per pyradiomics feature, indexed by (``feature_class``, ``feature``), with
        the columns ``ibsi_name`` (IBSI tag, e.g. ``"stat_mean"``), ``ibsi_code`` (the
        4-character IBSI identifier; both ``""`` without IBSI definition), ``aggregation``
        (texture: ``"3D_avg"``, ``"2.5D"``...; else ``"none"``),
        ``reference_tag``, ``measured``, ``reference``, ``tolerance``, ``status`` (one of
        :data:`STATUSES`) and ``reason`` (why a feature differs, where known). Computed once
        per process and settings.

    See Also
    --------
    ibsi_feature_info : The verdicts for the columns of an extraction.

    Examples
    --------
    >>> from rdinet_sklearn.radiomics import ibsi_compliance
    >>> table = ibsi_compliance("ibsi")
    >>> table["status"].value_counts().to_dict()
    {'compliant': 99, 'not in IBSI': 5, 'differs': 3}
    >>> table.loc[("firstorder", "Kurtosis"), ["measured", "reference"]].round(3).tolist()
    [2.645, -0.355]
    """
    from rdinet_sklearn.radiomics._settings import load_settings

    return _compliance(load_settings(params)).copy()


def ibsi_feature_info(radiomics_feature_names, params="study"):
    """IBSI identifier, image filter and phantom verdict of each pyradiomics feature name.

    Parameters
    ----------
    radiomics_feature_names : iterable of str
        pyradiomics feature names, ``<image type>_<class>_<feature>`` (e.g.
        ``"wavelet-LH_glcm_Contrast"``), as in
        :attr:`RadiomicsExtractor.radiomics_feature_names_`.
    params : str, path-like or dict, default="study"
        The settings they were extracted with.

    Returns
    -------
    info : DataFrame
        Indexed by the names, with the columns ``image_filter`` (``"none"`` for the original
        image, else pyradiomics' image type, e.g. ``"wavelet-LH"``: IBSI 1 has no reference
        for filtered images), ``feature_class``, ``feature``, ``ibsi_name``, ``ibsi_code``,
        ``aggregation``, ``ibsi_status`` (:func:`ibsi_compliance`'s verdict for the
        feature computed with these settings; "not checked" where pyradiomics cannot
        compute it on the phantom) and ``ibsi_ct``: the configurations of the IBSI CT
        phantom (a real CT, "A" to "E") whose reference value the feature met with IBSI's
        preprocessing in front of the extractor, e.g. ``"ABCDE"`` (:func:`ibsi_ct_verdicts`;
        ``""`` for filtered images and features without a CT reference).

    Examples
    --------
    >>> from rdinet_sklearn.radiomics import ibsi_feature_info
    >>> info = ibsi_feature_info(["original_firstorder_Mean", "wavelet-LH_glcm_Contrast"])
    >>> info[["image_filter", "ibsi_code", "aggregation", "ibsi_status"]]
                             image_filter ibsi_code aggregation ibsi_status
    original_firstorder_Mean         none      Q4LE        none   compliant
    wavelet-LH_glcm_Contrast   wavelet-LH      ACUI    2.5D_avg   compliant
    >>> info["ibsi_ct"].tolist()  # met on the real CT in every configuration; no filters there
    ['ABCDE', '']
    """
    from rdinet_sklearn.radiomics._settings import load_settings

    return feature_info_for_settings(radiomics_feature_names, load_settings(params))


def feature_info_for_settings(radiomics_feature_names, settings):
    """:func:`ibsi_feature_info` for settings already checked by :func:`load_settings`."""
    verdicts = _compliance(settings).to_dict(orient="index")
    on_ct = ibsi_ct_verdicts()
    rows = {}
    for name in radiomics_feature_names:
        image_type, feature_class, feature = name.split("_", 2)
        verdict = verdicts.get((feature_class, feature))
        if verdict is None:
            ibsi_name, code = IBSI_FEATURES.get((feature_class, feature), ("", ""))
            verdict = {"ibsi_name": ibsi_name, "ibsi_code": code, "aggregation": ""}
            verdict["status"] = "not checked"
        rows[name] = {
            "image_filter": "none" if image_type == "original" else image_type,
            "feature_class": feature_class,
            "feature": feature,
            "ibsi_name": verdict["ibsi_name"],
            "ibsi_code": verdict["ibsi_code"],
            "aggregation": verdict["aggregation"],
            "ibsi_status": verdict["status"],
            # the CT phantom was extracted without image filters
            "ibsi_ct": on_ct.get((feature_class, feature), ("", ""))[1]
            if image_type == "original"
            else "",
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=_INFO_COLUMNS)
