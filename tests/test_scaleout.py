"""Scale-out: extraction and grid search on Dask (and Ray) clusters, training with Accelerate.

The cluster runs are compared with local runs on the same tiny cohort: a joblib backend may
change where work runs, never the results.
"""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn import io
from rdinet_sklearn.nn import ResNet50Classifier
from rdinet_sklearn.nn._accelerate import (
    AcceleratedRDINetClassifier,
    AcceleratedResNet50Classifier,
)
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache
from rdinet_sklearn.selection import TTestSelector

N_CASES = 12
TINY_NET = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (8, 24, 24),
    "max_epochs": 2,
    "batch_size": 8,
    "module__widen_factor": 0.25,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def cohort(small_cohort):
    cases, y = small_cohort
    return cases.iloc[:N_CASES], y.iloc[:N_CASES]


def _extract(cases, **params):
    clear_process_cache()  # so that the run cannot reuse results of an earlier one
    extractor = RadiomicsExtractor(roi=("MR", "LR"), params="original", progress=False, **params)
    return extractor.fit_transform(cases)


@pytest.fixture(scope="module")
def local_features(cohort):
    cases, _ = cohort
    return _extract(cases, n_jobs=1)


def _search():
    model = make_pipeline(TTestSelector(alpha=0.5), StandardScaler(), LogisticRegression())
    grid = {"logisticregression__C": [0.1, 1.0]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return GridSearchCV(model, grid, cv=cv, scoring="roc_auc", n_jobs=-1)


# -- Dask ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_extraction_on_dask_equals_local(dask_client, cohort, local_features):
    from dask.distributed import get_task_stream

    cases, _ = cohort
    with get_task_stream(dask_client) as stream, joblib.parallel_config(backend="dask"):
        features = _extract(cases, n_jobs=-1)
    pd.testing.assert_frame_equal(features, local_features)
    assert stream.data, "nothing ran on the Dask workers"


def test_grid_search_on_dask_equals_local(dask_client, cohort, local_features):
    _, y = cohort
    local = _search().fit(local_features, y)
    with joblib.parallel_config(backend="dask"):
        distributed = _search().fit(local_features, y)
    np.testing.assert_array_equal(
        distributed.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert distributed.best_params_ == local.best_params_


# -- Ray (only where installed) --------------------------------------------------------------


def test_extraction_on_ray_equals_local(cohort, local_features):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    cases, _ = cohort
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray"):
            features = _extract(cases, n_jobs=-1)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(features, local_features)


# -- Accelerate (CPU path) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def accelerator():
    accelerate = pytest.importorskip("accelerate")
    return accelerate.Accelerator(cpu=True)


@pytest.fixture(scope="module")
def accelerated(accelerator, cohort):
    cases, y = cohort
    return AcceleratedResNet50Classifier(accelerator=accelerator, **TINY_NET).fit(cases, y)


def test_accelerated_training_matches_plain_training(accelerated, cohort):
    """On one CPU process, Accelerate changes nothing: same losses, same probabilities."""
    cases, y = cohort
    plain = ResNet50Classifier(**TINY_NET).fit(cases, y)
    np.testing.assert_allclose(
        accelerated.history[:, "train_loss"], plain.history[:, "train_loss"], rtol=1e-6
    )
    np.testing.assert_allclose(accelerated.predict_proba(cases), plain.predict_proba(cases))
    assert accelerated.device is None  # the parameter is untouched by fit


def test_accelerated_net_is_a_clean_estimator(accelerated, accelerator, capsys):
    params = accelerated.get_params(deep=False)
    assert params["accelerator"] is accelerator and params["device"] is None
    assert params["callbacks__print_log__sink"] == "auto"
    assert clone(accelerated).get_params()["depth"] == 10
    assert capsys.readouterr().out == ""  # verbose=0 is honoured under Accelerate
    with pytest.raises(ValueError, match="device=None"):
        AcceleratedResNet50Classifier(
            accelerator=accelerator, device="cpu", **TINY_NET
        ).initialize()


def test_accelerated_net_saves_as_plain_classifier(accelerated, cohort, tmp_path):
    cases, _ = cohort
    expected = accelerated.predict_proba(cases)
    plain = accelerated.to_plain()
    assert type(plain) is ResNet50Classifier and plain.device == "auto"
    np.testing.assert_array_equal(plain.predict_proba(cases), expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(plain)).predict_proba(cases), expected)
    loaded = io.load(io.save(accelerated, tmp_path / "accelerated.rdinet"))
    assert type(loaded) is ResNet50Classifier
    np.testing.assert_array_equal(loaded.predict_proba(cases), expected)


def test_accelerated_rdinet_trains(accelerator, cohort):
    cases, y = cohort
    table = cases[["image", "mask", "age", "cas", "trab"]]
    net = AcceleratedRDINetClassifier(accelerator=accelerator, **{**TINY_NET, "max_epochs": 1})
    proba = net.fit(table, y).predict_proba(table)
    assert proba.shape == (N_CASES, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
