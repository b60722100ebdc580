"""Latent disease state, treatment response and the 16 clinical features of the TED cohort."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

from rdinet_sklearn._sklearn_compat import Interval, validate_params

RESPONSE_COEF = {"activity": 1.8, "fibrosis": -1.2, "smoking": -0.5}
"""Coefficients of the true response logit (the intercept is solved to hit ``response_rate``)."""

ACTIVITY_FIBROSIS_CORR = -0.3
"""Long-standing disease is more fibrotic and less active."""

CLINICAL_COLUMNS = (
    "age",
    "sex",
    "smoking",
    "disease_duration_months",
    "trab",
    "cas",
    "exophthalmos_mm",
    "iop_mmHg",
    "bcva",
    "diplopia_grade",
    "ft3",
    "ft4",
    "tsh",
    "thyroid_treatment",
    "bmi",
    "eyelid_retraction_mm",
)
"""The 16 clinical columns, in table order."""

RESPONSE_LINKED_COLUMNS = (
    "cas",
    "disease_duration_months",
    "trab",
    "exophthalmos_mm",
    "iop_mmHg",
    "diplopia_grade",
    "eyelid_retraction_mm",
    "smoking",
)
"""The clinical columns drawn from the latent disease state, and smoking (in the response
logit); the other eight are drawn independently of the response."""

THYROID_TREATMENTS = ("antithyroid_drug", "radioiodine", "thyroidectomy")


def patient_ids(n_patients):
    """``TED001``, ``TED002``, ... (wider when there are 1000 patients or more)."""
    width = max(3, len(str(n_patients)))
    return [f"TED{i:0{width}d}" for i in range(1, n_patients + 1)]


def seed_sequences(random_state, n_patients):
    """Independent seeds: the table, the rater-2 subset, then one per patient.

    Per-patient seeds make the volumes independent of ``n_jobs`` and of the other options.
    """
    entropy = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return np.random.SeedSequence(entropy).spawn(n_patients + 2)


def simulate_latents(n_patients, rng):
    """Latent state per patient: activity, fibrosis, IR/SR nuisance swelling (each ~N(0, 1))."""
    activity = rng.standard_normal(n_patients)
    independent = rng.standard_normal(n_patients)
    fibrosis = ACTIVITY_FIBROSIS_CORR * activity + np.sqrt(1 - ACTIVITY_FIBROSIS_CORR**2) * (
        independent
    )
    return pd.DataFrame(
        {
            "activity": activity,
            "fibrosis": fibrosis,
            "nuisance_ir": rng.standard_normal(n_patients),
            "nuisance_sr": rng.standard_normal(n_patients),
        }
    )


def simulate_clinical(latents, rng):
    """Draw the 16 clinical features; CAS and duration echo activity and fibrosis with noise."""
    n = len(latents)
    a = latents["activity"].to_numpy()
    f = latents["fibrosis"].to_numpy()
    swelling = 0.5 * (latents["nuisance_ir"] + latents["nuisance_sr"]).to_numpy()

    def noise():
        return rng.standard_normal(n)

    diplopia_score = 0.6 * a + 0.7 * f + noise()
    return pd.DataFrame(
        {
            "age": np.clip(np.round(47 + 12 * noise()), 18, 85).astype(int),
            "sex": np.where(rng.random(n) < 0.68, "F", "M"),
            "smoking": (rng.random(n) < 0.3).astype(int),
            "disease_duration_months": np.round(
                np.exp(2.2 + 0.5 * f - 0.2 * a + 0.45 * noise()), 1
            ),
            "trab": np.round(np.exp(np.log(8.0) + 0.35 * a + 0.8 * noise()), 2),
            "cas": np.clip(np.round(3.2 + 1.1 * a + 0.9 * noise()), 0, 7).astype(int),
            "exophthalmos_mm": np.round(19.5 + 1.0 * a + 0.6 * swelling + 2.2 * noise(), 1),
            "iop_mmHg": np.round(17 + 1.2 * a + 0.8 * f + 2.5 * noise(), 1),
            "bcva": np.round(np.clip(0.1 + 0.12 * noise() + 0.03 * np.maximum(a, 0), -0.1, 1), 2),
            "diplopia_grade": np.digitize(diplopia_score, [-0.8, 0.3, 1.3]),
            "ft3": np.round(np.clip(5.2 + 1.6 * noise(), 2.0, None), 2),
            "ft4": np.round(np.clip(16.5 + 4.5 * noise(), 5.0, None), 2),
            "tsh": np.round(np.exp(0.9 * noise()), 3),
            "thyroid_treatment": rng.choice(THYROID_TREATMENTS, size=n, p=[0.6, 0.25, 0.15]),
            "bmi": np.round(np.clip(24.5 + 3.8 * noise(), 16, 45), 1),
            "eyelid_retraction_mm": np.round(np.clip(2.0 + 0.5 * a + 1.2 * noise(), 0, None), 1),
        },
        columns=list(CLINICAL_COLUMNS),
    )


def simulate_response(latents, smoking, response_rate, rng):
    """True response probability and realised response.

    The intercept is solved on the drawn latents so that the expected number of responders is
    exactly ``response_rate * n`` (the realised number still varies binomially).
    """
    linear = (
        RESPONSE_COEF["activity"] * latents["activity"].to_numpy()
        + RESPONSE_COEF["fibrosis"] * latents["fibrosis"].to_numpy()
        + RESPONSE_COEF["smoking"] * np.asarray(smoking)
    )
    intercept = brentq(lambda b: expit(b + linear).mean() - response_rate, -50, 50)
    probability = expit(intercept + linear)
    response = (rng.random(len(linear)) < probability).astype(int)
    return intercept + linear, probability, response


def oracle_auc(y, probability):
    """AUC of the true response probability: the best any model can reach on this cohort."""
    y = np.asarray(y)
    if np.unique(y).size < 2:
        return float("nan")
    return float(roc_auc_score(y, probability))


def simulate_table(n_patients, seed, response_rate):
    """Clinical table, response and oracle frame for one seed (shared by both public makers)."""
    rng = np.random.default_rng(seed)
    ids = pd.Index(patient_ids(n_patients), name="patient_id")
    latents = simulate_latents(n_patients, rng)
    clinical = simulate_clinical(latents, rng)
    logit, probability, response = simulate_response(
        latents, clinical["smoking"], response_rate, rng
    )
    oracle = latents.assign(logit=logit, probability=probability).set_index(ids)
    oracle.attrs["oracle_auc"] = oracle_auc(response, probability)
    y = pd.Series(response, index=ids, name="response")
    return clinical.set_index(ids), y, oracle


@validate_params(
    {
        "n_patients": [Interval(Integral, 4, None, closed="left")],
        "random_state": ["random_state"],
        "response_rate": [Interval(Real, 0, 1, closed="neither")],
        "return_oracle": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_ted_clinical(
    n_patients=147, *, random_state=0, response_rate=61 / 147, return_oracle=False
):
    """Generate only the clinical table and response of the synthetic TED cohort (no images).

    The table, response and latent state are identical to those of
    :func:`make_ted_cohort` with the same ``n_patients``, ``random_state`` and
    ``response_rate``, but nothing is written to disk, so this is instant.

    Parameters
    ----------
    n_patients : int, default=147
        Number of patients (at least 4).
    random_state : int, RandomState instance or None, default=0
        Seed of the generator; pass an int for reproducible output.
    response_rate : float, default=61/147
        Expected fraction of responders, in (0, 1).
    return_oracle : bool, default=False
        Also return the latent state and true response probability.

    Returns
    -------
    clinical : pandas.DataFrame of shape (n_patients, 16)
        The clinical features, indexed by patient id (see :func:`make_ted_cohort`).
    y : pandas.Series of shape (n_patients,)
        Binary response (0/1), named ``"response"``.
    oracle : pandas.DataFrame of shape (n_patients, 6)
        Only if ``return_oracle``: ``activity``, ``fibrosis``, ``nuisance_ir``,
        ``nuisance_sr``, ``logit`` and ``probability``; ``oracle.attrs["oracle_auc"]``
        holds the AUC of ``probability`` against ``y``.

    See Also
    --------
    make_ted_cohort : The same cohort with MRI volumes and two raters' label maps on disk.

    Examples
    --------
    >>> from rdinet_sklearn.datasets import make_ted_clinical
    >>> clinical, y = make_ted_clinical(20, random_state=0)
    >>> clinical.shape, y.name
    ((20, 16), 'response')
    >>> clinical.index[:2].tolist()
    ['TED001', 'TED002']
    """
    seeds = seed_sequences(random_state, n_patients)
    clinical, y, oracle = simulate_table(n_patients, seeds[0], response_rate)
    return (clinical, y, oracle) if return_oracle else (clinical, y)
