"""
=========================
Running on a Dask cluster
=========================

Radiomics extraction and scikit-learn's cross-validation and grid searches parallelise
through joblib, so a joblib backend moves them to a cluster without changing the code.
This example starts a small local Dask cluster (two single-threaded workers, inside this
process so that the example runs anywhere) and runs extraction and a cross-validated grid
search on it; against a real cluster, pass the scheduler's address to
``dask.distributed.Client`` instead. The workers must see the
image files at the same paths.

Dask comes with the ``distributed`` extra: ``pip install -e ".[distributed]"``. Without it,
this example runs the same code with joblib's local processes and says so.
"""

# %%
import logging
import shutil
import tempfile
import time

import joblib
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.radiomics import RadiomicsExtractor, clear_process_cache
from rdinet_sklearn.selection import LassoSelector, TTestSelector

try:
    from dask.distributed import Client, LocalCluster
except ImportError:
    Client = None
    print(
        "Dask is not installed (pip install -e '.[distributed]'): running on joblib's local "
        "process backend instead. The code is the same apart from the backend name."
    )

# pyradiomics logs notes about its settings from the worker threads; keep errors only.
logging.getLogger("radiomics").setLevel(logging.ERROR)

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(40, folder, random_state=0, shape=(8, 48, 96))

# %%
# Start the cluster and make it joblib's backend
# ----------------------------------------------
# One thread per worker suits pyradiomics (each extraction already limits SimpleITK to one
# thread). Inside ``joblib.parallel_config(backend="dask")`` every ``n_jobs=-1`` runs on the
# cluster's workers.
if Client is not None:
    # processes=False keeps the workers in this process; a script run with worker processes
    # needs the usual ``if __name__ == "__main__":`` guard around this block.
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = Client(cluster)
    backend = "dask"
    print(f"{len(client.scheduler_info()['workers'])} Dask workers")
else:
    backend = "loky"

clear_process_cache()  # make this example's timings independent of earlier runs
with joblib.parallel_config(backend=backend):
    start = time.perf_counter()
    features = RadiomicsExtractor(roi=("MR", "LR"), params="original", n_jobs=-1).fit_transform(
        cases
    )
    extraction_seconds = time.perf_counter() - start

    model = make_pipeline(
        TTestSelector(alpha=0.05),
        LassoSelector(random_state=0),
        StandardScaler(),
        LogisticRegression(),
    )
    grid = {"ttestselector__alpha": [0.01, 0.05, 0.2], "logisticregression__C": [0.1, 1.0]}
    search = GridSearchCV(
        model,
        grid,
        cv=StratifiedKFold(4, shuffle=True, random_state=0),
        scoring="roc_auc",
        n_jobs=-1,
    )
    start = time.perf_counter()
    search.fit(features, y)
    search_seconds = time.perf_counter() - start

print(f"extraction: {extraction_seconds:.1f} s, grid search: {search_seconds:.1f} s")
print("best:", search.best_params_, f"AUC {search.best_score_:.3f}")

if Client is not None:
    client.close()
    cluster.close()

# %%
# The grid's cross-validated AUCs
# -------------------------------
results = search.cv_results_
labels = [
    f"alpha={p['ttestselector__alpha']}\nC={p['logisticregression__C']}" for p in results["params"]
]
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(range(len(labels)), results["mean_test_score"], yerr=results["std_test_score"])
ax.set_xticks(range(len(labels)), labels, fontsize=8)
ax.set(ylabel="4-fold CV AUC", ylim=(0, 1), title=f"GridSearchCV on the {backend} backend")
fig.tight_layout()
plt.show()

shutil.rmtree(folder)
