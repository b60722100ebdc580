"""IBSI 1's CT phantom configurations A-E as pipelines, and their features against the references.

The IBSI 1 CT phantom (a real lung-cancer CT with its GTV; CC BY-NC 3.0, so read from where
the user keeps it, never shipped) has consensus reference values for five configurations
that differ in interpolation, re-segmentation and discretisation. Each configuration here is
a Pipeline: :class:`Resampler` (IBSI's grid rules; CT rounded), :class:`Resegmenter` where
pyradiomics cannot express the re-segmentation (E: a range, then mean ± 3 SD), then
:class:`~rdinet_sklearn.radiomics.RadiomicsExtractor` with the configuration's
re-segmentation and discretisation as pyradiomics settings.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from ..radiomics._ibsi import IBSI_FEATURES, ibsi_compliance, reference_tag, within_tolerance
from ..radiomics._settings import load_settings
from ._resampler import Resampler
from ._resegmenter import Resegmenter

CT_CONFIGURATIONS = {
    "A": {"spacing": None, "interpolation": "linear", "force2D": True,
          "setting": {"resegmentRange": [-500, 400], "binWidth": 25}},
    "B": {"spacing": (2.0, 2.0, None), "interpolation": "linear", "force2D": True,
          "setting": {"resegmentRange": [-500, 400], "binCount": 32}},
    "C": {"spacing": (2.0, 2.0, 2.0), "interpolation": "linear", "force2D": False,
          "setting": {"resegmentRange": [-1000, 400], "binWidth": 25}},
    "D": {"spacing": (2.0, 2.0, 2.0), "interpolation": "linear", "force2D": False,
          "setting": {"resegmentRange": [-3, 3], "resegmentMode": "sigma", "binCount": 32}},
    "E": {"spacing": (2.0, 2.0, 2.0), "interpolation": "cubic", "force2D": False,
          "resegment": {"range": (-1000, 400), "n_sigma": 3},
          "setting": {"resegmentRange": [-1000, 400], "binCount": 32}},
}  # fmt: skip
"""IBSI 1 chest CT configurations (reference manual; the phantom's README)."""


def ct_settings(config):
    """pyradiomics settings of a configuration: the ``"ibsi"`` preset plus its own."""
    spec = CT_CONFIGURATIONS[config]
    settings = copy.deepcopy(load_settings("ibsi"))
    settings["setting"].update(spec["setting"], force2D=spec["force2D"], force2Ddimension=0)
    return settings


def ct_pipeline(config, *, cache_dir=None):
    """The Pipeline that extracts configuration ``config`` ("A" to "E") from a case table.

    Parameters
    ----------
    config : {"A", "B", "C", "D", "E"}
        The IBSI 1 chest CT configuration (:data:`CT_CONFIGURATIONS`).
    cache_dir : str or path-like, default=None
        Where the preprocessing steps write their images.

    Returns
    -------
    pipeline : Pipeline
        Preprocessing steps, then a ``RadiomicsExtractor`` of the ROI labelled 1 ("GTV").

    Examples
    --------
    >>> from rdinet_sklearn.preprocessing import ct_pipeline
    >>> [name for name, _ in ct_pipeline("E").steps]
    ['resampler', 'resegmenter', 'radiomicsextractor']
    >>> ct_pipeline("C")[-1].params["setting"]["resegmentRange"]
    [-1000, 400]
    """
    from ..radiomics import RadiomicsExtractor

    spec = CT_CONFIGURATIONS[config]
    steps = []
    if spec["spacing"] is not None:
        steps.append(
            Resampler(
                spec["spacing"],
                interpolation=spec["interpolation"],
                round_intensities=True,  # CT: HU are whole numbers (the NIfTI stores floats)
                cache_dir=cache_dir,
            )
        )
    if "resegment" in spec:
        steps.append(Resegmenter(**spec["resegment"], cache_dir=cache_dir))
    extractor = RadiomicsExtractor("GTV", labels={"GTV": 1}, params=ct_settings(config))
    return make_pipeline(*steps, extractor)


def ct_reference_values(folder, config):
    """Reference value and tolerance by IBSI tag of one configuration (the phantom's CSV)."""
    path = Path(folder) / "reference_values" / f"ibsi_1_chest_config_{config.lower()}.csv"
    table = pd.read_csv(path, sep=";")
    table.columns = ["reference", "tolerance", "tag"]
    return table.set_index("tag").astype(float)


def ibsi_ct_compliance(folder, configurations="ABCDE", *, cache_dir=None):
    """Each feature of each configuration on the IBSI CT phantom against its reference.

    Parameters
    ----------
    folder : str or path-like
        The phantom's folder (``nifti/image/phantom.nii.gz``, ``nifti/mask/mask.nii.gz``,
        ``reference_values/``).
    configurations : str, default="ABCDE"
        Which configurations.
    cache_dir : str or path-like, default=None
        Where the preprocessing steps write their images.

    Returns
    -------
    table : DataFrame
        One row per (configuration, pyradiomics feature with an IBSI reference), with the
        columns ``configuration``, ``feature_class``, ``feature``, ``reference_tag``,
        ``measured``, ``reference``, ``tolerance``, ``within`` (bool) and
        ``phantom_status`` (the digital-phantom verdict of the same settings).

    Examples
    --------
    >>> from rdinet_sklearn.preprocessing import ibsi_ct_compliance
    >>> table = ibsi_ct_compliance("../shared/data/ibsi-1-ct-phantom", "C")  # doctest: +SKIP
    >>> table.groupby("phantom_status")["within"].mean()["compliant"]  # doctest: +SKIP
    1.0
    """
    folder = Path(folder)
    cases = pd.DataFrame(
        {
            "image": [str(folder / "nifti" / "image" / "phantom.nii.gz")],
            "mask": [str(folder / "nifti" / "mask" / "mask.nii.gz")],
        },
        index=["ibsi-ct-phantom"],
    )
    rows = []
    for config in configurations:
        features = ct_pipeline(config, cache_dir=cache_dir).fit_transform(cases).iloc[0]
        reference = ct_reference_values(folder, config)
        force2d = CT_CONFIGURATIONS[config]["force2D"]
        verdicts = ibsi_compliance(ct_settings(config))["status"]
        for column, value in features.items():
            _, feature_class, feature = column.removeprefix("GTV_").split("_", 2)
            if (feature_class, feature) not in IBSI_FEATURES:
                continue
            tag = reference_tag(feature_class, IBSI_FEATURES[feature_class, feature][0],
                                force2d=force2d)  # fmt: skip
            if tag not in reference.index or np.isnan(reference.loc[tag, "reference"]):
                continue
            ref, tol = reference.loc[tag]
            rows.append(
                {
                    "configuration": config,
                    "feature_class": feature_class,
                    "feature": feature,
                    "reference_tag": tag,
                    "measured": float(value),
                    "reference": ref,
                    "tolerance": tol,
                    "within": within_tolerance(float(value), ref, tol),
                    "phantom_status": verdicts.get((feature_class, feature), "not checked"),
                }
            )
    return pd.DataFrame(rows)


def ct_verdicts(compliance):
    """Per feature, the configurations whose reference it met, e.g. ``"ABCDE"`` (shipped as
    ``rdinet_sklearn/radiomics/ibsi_ct_verdicts.csv``: verdicts only, no phantom data)."""
    within = compliance[compliance["within"]]
    verdicts = within.groupby(["feature_class", "feature"])["configuration"].agg("".join)
    every = compliance.groupby(["feature_class", "feature"]).size().index
    checked = compliance.groupby(["feature_class", "feature"])["configuration"].agg("".join)
    return pd.DataFrame(
        {"checked": checked, "within": verdicts.reindex(every, fill_value="")}
    ).reset_index()
