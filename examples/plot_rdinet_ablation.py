"""
=====================================================
RDINet ablation: dynamic-mapping depth and fusion
=====================================================

How much do RDINet's parts matter? We cross-validate, on one small synthetic cohort and the
same folds:

* **radiomics alone**: the selected radiomics features and a logistic regression;
* **image alone**: the 3D CNN (``fusion="image"``);
* **tabular alone**: RDINet's tabular MLP on radiomics + clinical features
  (``fusion="tabular"``, no CNN);
* **RDINet** with ``k = 1 ... 5`` dynamic-mapping iterations (``fusion="dynamic"``);
* the fusion ablations **late concatenation** (``fusion="concat"``) and **FiLM**
  (``fusion="film"``, per-channel modulation of the last CNN feature map).

Radiomics features are extracted once (extraction learns nothing from the labels); their
selection (ICC, t-test, LASSO) is refitted inside every fold, and a ``memory`` cache lets all
models share each fold's selection. The CNN is tiny (ResNet-10 at a quarter of its width,
8 x 24 x 24 crops, 20 epochs) so the whole study runs in a few minutes on a CPU: read the
numbers as a demonstration of the protocol, not as the study's results. With 40 training
patients per fold every neural model trails the logistic regression on radiomics, which
suits this synthetic outcome (a linear function of latent states that the radiomics features
measure); ``benchmarks/bench_rdinet_accuracy.py`` repeats the comparison at the study's size
(147 patients) with paired confidence intervals.
"""

# %%
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from joblib import Memory
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import CLINICAL_COLUMNS, make_ted_cohort
from rdinet_sklearn.nn import RDINetClassifier
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(60, folder, random_state=1, shape=(8, 48, 96))
clinical = [c for c in CLINICAL_COLUMNS if pd.api.types.is_numeric_dtype(cases[c])]

radiomics = RadiomicsExtractor(
    roi=("MR", "LR"), params="original", reference_mask_column="mask_rater2", progress=False
).fit_transform(cases)
table = radiomics.join(cases[["image", "mask", *clinical]])
print(f"{len(table)} patients, {radiomics.shape[1]} radiomics and {len(clinical)} clinical")

# %%
# The models
# ----------
# Every RDINet variant receives the same table: the selected, standardised radiomics
# and clinical features, and the two path columns for the CNN.


def selected_radiomics():
    return make_pipeline(
        ReproducibilityFilter(), TTestSelector(), LassoSelector(random_state=0), StandardScaler()
    )


def selected_clinical():
    # The clinical columns pass their own t-test and LASSO, as in the study: unselected,
    # the uninformative ones add more variance than the informative ones add signal.
    return make_pipeline(
        StandardScaler(), TTestSelector(), LassoSelector(random_state=0), StandardScaler()
    )


features = ColumnTransformer(
    [
        ("radiomics", selected_radiomics(), list(radiomics.columns)),
        ("clinical", selected_clinical(), clinical),
        ("volumes", "passthrough", ["image", "mask"]),
    ],
    verbose_feature_names_out=False,
).set_output(transform="pandas")

cache = Memory(tempfile.mkdtemp(), verbose=0)
tiny_rdinet = RDINetClassifier(
    roi=("MR", "LR"),
    depth=10,
    volume_size=(8, 24, 24),
    max_epochs=20,
    batch_size=8,
    module__widen_factor=0.25,  # a quarter of the channels: a CPU-sized network
    random_state=0,
    device="cpu",
)


def rdinet(**params):
    return Pipeline(
        [("features", features), ("clf", clone(tiny_rdinet).set_params(**params))], memory=cache
    )


models = {
    "radiomics alone": Pipeline(
        [
            (
                "features",
                ColumnTransformer([("radiomics", selected_radiomics(), list(radiomics.columns))]),
            ),
            ("clf", LogisticRegression()),
        ],
        memory=cache,
    ),
    "image alone": rdinet(fusion="image"),
    "tabular alone": rdinet(fusion="tabular"),
    **{f"RDINet k={k}": rdinet(fusion="dynamic", k=k) for k in range(1, 6)},
    "concat": rdinet(fusion="concat"),
    "FiLM": rdinet(fusion="film"),
}

# %%
# Cross-validation
# ----------------
# Three folds repeated twice, identical for every model, so the differences between models
# are paired; the spread (standard deviation over the six folds) shows the noise.
cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0)
scores = {
    name: cross_val_score(model, table, y, cv=cv, scoring="roc_auc")
    for name, model in models.items()
}
summary = pd.DataFrame(
    {
        "mean AUC": {name: s.mean() for name, s in scores.items()},
        "sd": {name: s.std(ddof=1) for name, s in scores.items()},
        "min": {name: s.min() for name, s in scores.items()},
        "max": {name: s.max() for name, s in scores.items()},
    }
).round(3)
print(summary)

# %%
# The plot: one dot per fold, mean and standard deviation per model.
fig, ax = plt.subplots(figsize=(6.5, 4))
positions = np.arange(len(scores))
for position, fold_scores in enumerate(scores.values()):
    ax.scatter(np.full(len(fold_scores), position), fold_scores, color="0.6", s=12, zorder=2)
    ax.errorbar(
        position,
        fold_scores.mean(),
        yerr=fold_scores.std(ddof=1),
        fmt="o",
        color="C0",
        capsize=4,
        zorder=3,
    )
ax.axhline(0.5, color="0.6", linestyle="--", linewidth=1)
ax.set_xticks(positions, list(scores), rotation=45, ha="right")
ax.set(ylabel="AUC (3-fold CV, 2 repeats)", ylim=(0.3, 1.02), title="RDINet ablation")
fig.tight_layout()
plt.show()

# %%
shutil.rmtree(folder)
shutil.rmtree(cache.location)
