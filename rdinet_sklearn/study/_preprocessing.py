"""The study's image preprocessing: ``preprocessing`` settings in, pipeline steps out, and
what the fitted steps applied and learned, for ``results.json`` and the report.

The steps go first in every candidate that reads images (before the radiomics extractor
and the volume cropper), so whatever they learn (Nyúl's landmarks, the cohort's median
spacing) is learned in each fold from its training part, and the handed-over model carries
the state learned on the whole training cohort, which the test or external cohort reuses.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ..preprocessing import BiasFieldCorrector, IntensityNormalizer, Resampler

STEPS = (
    ("resample", Resampler),
    ("bias_field", BiasFieldCorrector),
    ("normalize", IntensityNormalizer),
)
"""Setting name and estimator of each step, in the order they run (IBSI: resample first;
N4 before normalising, since the bias field distorts the intensity statistics)."""

_NOT_LEARNED = {"n_features_in_", "feature_names_in_"}


def preprocessing_steps(config, cache):
    """``[(name, unfitted step), ...]`` of ``config.preprocessing`` (empty when off).

    Parameters
    ----------
    config : StudyConfig
    cache : str
        The study's cache folder: preprocessed images are content-keyed there, so each case
        is preprocessed once per fitted state however many folds and models ask.
    """
    settings = config.preprocessing
    if settings is None:
        return []
    columns = {"image_column": config.image_column, "mask_column": config.mask_column}
    steps = []
    for name, kind in STEPS:
        chosen = getattr(settings, name)
        if chosen is not None:
            params = dataclasses.asdict(chosen)
            steps.append((name, kind(**params, **columns, cache_dir=cache, n_jobs=config.n_jobs)))
    return steps


def _fitted_steps(estimator):
    names = {name for name, _ in STEPS}
    if not isinstance(estimator, Pipeline):
        return []
    return [(name, step) for name, step in estimator.steps if name in names]


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def learned_state(step):
    """What a fitted step learned from its training cases (``{attribute: value}``)."""
    return {
        name: _plain(value)
        for name, value in vars(step).items()
        if name.endswith("_") and not name.startswith("_") and name not in _NOT_LEARNED
    }


def applied_preprocessing(models, config):
    """The ``results.json`` entry: the steps run, their settings and each model's learned state.

    Returns None when ``preprocessing`` is off. ``learned`` holds, per handed-over model, what
    each step learned on the whole training cohort (the state its predictions used).
    """
    if config.preprocessing is None:
        return None
    settings = config.to_dict()["preprocessing"]
    steps = [
        {"step": name, "estimator": kind.__name__, "params": settings[name]}
        for name, kind in STEPS
        if settings[name] is not None
    ]
    learned = {
        name: {step: learned_state(fitted) for step, fitted in _fitted_steps(model.estimator)}
        for name, model in models.items()
    }
    return {"steps": steps, "learned": learned}


def preprocessing_table(entry):
    """The report's table of the steps run: step, estimator, settings, what was learned."""
    rows = []
    for step in entry["steps"]:
        states = {
            repr(per_model[step["step"]])
            for per_model in entry["learned"].values()
            if step["step"] in per_model
        }
        rows.append(
            {
                "step": step["step"],
                "estimator": step["estimator"],
                "settings": ", ".join(f"{k}={v}" for k, v in step["params"].items()),
                "learned on the training cohort": "; ".join(sorted(states)) or "-",
            }
        )
    return pd.DataFrame(rows)
