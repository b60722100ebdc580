"""
=================================================
Class imbalance: SMOTE, class weights, or nothing
=================================================

Responders were 42 % of the study's cohort, but other outcomes are rarer. This example
makes the synthetic cohort imbalanced (about one responder in five) and compares three
ways of handling it in the MR+LR radiomics pipeline, each cross-validated on the same
folds:

* nothing: the classifier sees the imbalanced training folds as they are;
* ``class_weight="balanced"``: the classifier weights each class by its inverse frequency;
* SMOTE (imbalanced-learn): synthetic minority cases are added to the training folds only.

The SMOTE pipeline is an :class:`imblearn.pipeline.Pipeline`. The sampler sits after
feature selection and before the classifier, so resampling never touches a test fold. The
selectors work unchanged inside it. AUC does not depend on the operating threshold, so it
should barely move. Sensitivity at the default 0.5 threshold is where the imbalance shows.
"""

# %%
import shutil
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.metrics import paper_scoring
from rdinet_sklearn.plots import plot_cv_scores
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import (
    LassoSelector,
    ReproducibilityFilter,
    SelectionFallbackWarning,
    TTestSelector,
)

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(90, folder, random_state=1, shape=(8, 48, 96))

# Keep every non-responder and one responder in three: about 20 % responders.
responders = y.index[y == 1]
keep = y.index[y == 0].union(responders[::3])
cases, y = cases.loc[keep], y.loc[keep]
print(f"{len(y)} patients, {int(y.sum())} responders ({y.mean():.0%})")

# %%
# Features once, then three pipelines
# -----------------------------------
# Extraction does not depend on the imbalance strategy, so it runs once, outside the
# comparison. Every step that learns from the labels (ICC, t-test, LASSO, SMOTE, the
# classifier) stays inside the cross-validated pipelines.
features = RadiomicsExtractor(
    roi=("MR", "LR"), params="original", reference_mask_column="mask_rater2"
).fit_transform(cases)


def selection():
    return [
        ReproducibilityFilter(threshold=0.75),
        TTestSelector(alpha=0.05),
        LassoSelector(random_state=0),
        StandardScaler(),
    ]


strategies = {
    "nothing": make_pipeline(*selection(), LogisticRegression()),
    "class_weight": make_pipeline(*selection(), LogisticRegression(class_weight="balanced")),
    "SMOTE": make_imblearn_pipeline(
        *selection(), SMOTE(k_neighbors=3, random_state=0), LogisticRegression()
    ),
}

# %%
# Cross-validation
# ----------------
scoring = paper_scoring()
cv = StratifiedKFold(5, shuffle=True, random_state=0)
rows, summary = [], {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SelectionFallbackWarning)
    for name, model in strategies.items():
        result = cross_validate(model, features, y, cv=cv, scoring=scoring)
        summary[name] = {
            metric: np.mean(result[f"test_{metric}"]) for metric in ("roc_auc", "sensitivity")
        }
        rows += [
            {"strategy": name, "metric": metric, "score": score}
            for metric in ("roc_auc", "sensitivity")
            for score in result[f"test_{metric}"]
        ]
print(pd.DataFrame(summary).T.round(3))

# %%
# Fold scores
# -----------
ax = plot_cv_scores(
    pd.DataFrame(rows),
    x="metric",
    hue="strategy",
    title="5-fold CV, about 20 % responders",
)
ax.set_ylabel("score")
plt.show()

shutil.rmtree(folder)
