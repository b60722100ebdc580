"""The study's reproducibility filter (two raters, or perturbations when there is one), and
what the report says about the features of the headline radiomics model.

``radiomics.reproducibility`` is ``"auto"`` (default), ``"raters"``, ``"perturbation"`` or
``"auto_rater"``. ``"auto"`` uses the second rater's masks when the case table has any
(column ``reference_mask_column``), else perturbs each case ``radiomics.perturbations`` times
(:class:`~rdinet_sklearn.selection.PerturbationReproducibilityFilter`). ``"auto_rater"``
takes an automatic segmenter as the second rater (``_automatic_rater``): the ICC of each
feature between the manual masks and a ``ROISegmenter``'s. The report and ``results.json``
say which was used and why.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .._cases import CaseTableError, resolve_roi
from .._imaging import is_missing_path
from ..selection import PerturbationReproducibilityFilter, ReproducibilityFilter
from ._automatic_rater import AUTOMATIC_RATER_COLUMN
from ._config import ConfigError, parse_roi
from ._segmentation import STEP as SEGMENTATION_STEP


def resolve_reproducibility(config, cases):
    """``config`` with ``radiomics.reproducibility`` decided for ``cases``, and why.

    Where the case table lacks the second rater's column altogether,
    ``reference_mask_column`` becomes None so that the table validates.
    """
    requested = config.radiomics.reproducibility
    if requested == "auto_rater":
        return _automatic_rater(config)
    column = config.reference_mask_column
    present = bool(column) and column in cases.columns
    has_rater2 = present and (~cases[column].map(is_missing_path)).any()
    if requested == "raters" and not has_rater2:
        raise CaseTableError(
            [f"radiomics.reproducibility='raters' needs second-rater masks in column {column!r}"]
        )
    mode = requested if requested != "auto" else ("raters" if has_rater2 else "perturbation")
    if mode == "perturbation" and config.radiomics.perturbations < 1 and config.uses_features:
        raise ConfigError(
            f"setting 'radiomics.perturbations' is 0 and the case table has no second rater's "
            f"masks (column {column!r}): 'radiomics.reproducibility' has nothing to filter by"
        )
    preprocessing = config.preprocessing
    if mode == "raters" and config.uses_features and preprocessing and preprocessing.resample:
        raise ConfigError(
            f"setting 'preprocessing.resample' resamples each image and its mask but not the "
            f"second rater's masks (column {column!r}) that 'radiomics.reproducibility' "
            f"({requested}: raters) compares with: set radiomics.reproducibility=perturbation"
        )
    radiomics = dataclasses.replace(config.radiomics, reproducibility=mode)
    resolved = dataclasses.replace(
        config, radiomics=radiomics, reference_mask_column=column if present else None
    )
    return resolved, _reason(requested, mode, column, config.radiomics.perturbations)


def _automatic_rater(config):
    """``config`` whose second rater is the automatic masks' column (added by
    :func:`~._automatic_rater.with_automatic_rater` once the study folder exists)."""
    preprocessing = config.preprocessing
    if config.uses_features and preprocessing and preprocessing.resample:
        raise ConfigError(
            "setting 'preprocessing.resample' resamples each image and its mask but not the "
            "automatic masks that 'radiomics.reproducibility' (auto_rater) compares with: set "
            "radiomics.reproducibility=perturbation"
        )
    resolved = dataclasses.replace(config, reference_mask_column=AUTOMATIC_RATER_COLUMN)
    return resolved, (
        f"automatic second rater (as configured): ICC of each feature between the masks of "
        f"column {config.mask_column!r} and a ROISegmenter's (column "
        f"{AUTOMATIC_RATER_COLUMN!r}); each training patient's automatic mask comes from a "
        "segmenter trained in another CV fold, never on that patient, each test patient's "
        "from the segmenter trained on the whole training cohort"
    )


def _reason(requested, mode, column, perturbations):
    how = "chosen automatically" if requested == "auto" else "as configured"
    if mode == "raters":
        return (
            f"two raters ({how}): ICC of each feature between the masks of column "
            f"{column!r} and the second rater's"
        )
    why = f"; the case table has no second rater's masks (column {column!r})"
    return (
        f"perturbations ({how}{why if requested == 'auto' else ''}): ICC(1,1) of each "
        f"feature across the original extraction and {perturbations} perturbed ones (noise, "
        "in-plane rotation and translation, one-voxel dilation or erosion; Zwanenburg et "
        "al., Sci Rep 2019)"
    )


def extractor_options(config):
    """The ``RadiomicsExtractor`` arguments of the resolved mode."""
    if config.radiomics.reproducibility == "perturbation":
        return {"reference_mask_column": None, "perturbations": config.radiomics.perturbations}
    return {"reference_mask_column": config.reference_mask_column, "perturbations": 0}


def reproducibility_filter(config):
    """The filter step of the resolved mode (two raters unless ``"perturbation"``)."""
    threshold = config.radiomics.icc_threshold
    if config.radiomics.reproducibility == "perturbation":
        return PerturbationReproducibilityFilter(threshold=threshold)
    return ReproducibilityFilter(threshold=threshold)


def headline_features(model, config):
    """One row per feature the fitted radiomics model uses: IBSI tag and status, ICC."""
    from ..radiomics import ibsi_feature_info

    pipeline = model.estimator
    first = int(pipeline.steps[0][0] == SEGMENTATION_STEP)  # it adds paths, not features
    names = list(pipeline[first:-1].get_feature_names_out())
    roi_name, _ = resolve_roi(parse_roi(model.roi), config.labels)
    radiomics_names = [name.removeprefix(f"{roi_name}_") for name in names]
    info = ibsi_feature_info(radiomics_names, params=config.radiomics.params)
    icc = pipeline.named_steps["reproducibility"].icc_table_["icc"]
    return pd.DataFrame(
        {
            "feature": names,
            "image_filter": info["image_filter"].to_numpy(),
            "ibsi_name": info["ibsi_name"].to_numpy(),
            "ibsi_code": info["ibsi_code"].to_numpy(),
            "ibsi_status": info["ibsi_status"].to_numpy(),
            "icc": icc.reindex(names).to_numpy(),
        }
    )


def reproducibility_report(models, headline, config, reason):
    """Report tables and ``results.json`` entries: the filter used and the headline features."""
    radiomics = [n for n in headline if models[n].is_radiomics]
    summary = pd.DataFrame(
        [
            {
                "method": config.radiomics.reproducibility,
                "icc_threshold": config.radiomics.icc_threshold,
                "why": reason,
            }
        ]
    )
    tables = {"Feature reproducibility": summary}
    entries = {"reproducibility": summary.iloc[0].to_dict()}
    if radiomics:
        features = headline_features(models[radiomics[0]], config)
        tables[f"Features of {radiomics[0]} (IBSI, reproducibility ICC)"] = features
        entries["headline_radiomics_features"] = {
            "model": radiomics[0],
            "features": features.to_dict(orient="records"),
        }
    return tables, entries
