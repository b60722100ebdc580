"""
==========
Quickstart
==========

Predict treatment response from the muscles' radiomics features on a small synthetic
cohort: write the cohort, cross-validate the study's radiomics pipeline (extraction,
reproducibility, t-test and LASSO selection, a linear classifier), then fit it on a
training split and draw the test cohort's ROC curve and performance with confidence
intervals.
"""

# %%
# A synthetic cohort
# ------------------
# :func:`~rdinet_sklearn.datasets.make_ted_cohort` writes one coronal T2-like volume and
# two raters' label maps per patient, and returns the case table and the response. A small
# ``shape`` keeps everything fast; the default is the study's resolution.
import shutil
import tempfile

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.metrics import binary_report, select_threshold
from rdinet_sklearn.plots import plot_radar, plot_roc
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(60, folder, random_state=0, shape=(8, 48, 96))
cases[["image", "mask", "mask_rater2", "age", "cas"]].head(3)

# %%
# The model is one pipeline
# -------------------------
# Every fitted step sits in the pipeline, so cross-validation refits the ICC filter, the
# t-tests and LASSO on the training folds only. ``params="original"`` (107 features per
# ROI) keeps the extraction fast; the study's default is ``"study"``.
model = make_pipeline(
    RadiomicsExtractor(
        roi=("MR", "LR"),
        params="original",
        reference_mask_column="mask_rater2",
        memory=folder,  # each case is extracted once, however often CV refits the pipeline
    ),
    ReproducibilityFilter(threshold=0.75),
    TTestSelector(alpha=0.05),
    LassoSelector(random_state=0),
    StandardScaler(),
    LogisticRegression(),
)
cv = StratifiedKFold(5, shuffle=True, random_state=0)
auc = cross_val_score(model, cases, y, cv=cv, scoring="roc_auc")
print(f"5-fold CV AUC: {auc.mean():.3f} +- {auc.std():.3f}")

# %%
# Train, then test
# ----------------
# As in the study: a stratified 4:1 split, the operating threshold chosen on the training
# cohort's **out-of-fold** predictions (Youden's J) and applied unchanged to the test cohort.
# The model's predictions on its own training rows would be optimistic, and so would a
# threshold or a training ROC taken from them.
train_cases, test_cases, y_train, y_test = train_test_split(
    cases, y, test_size=0.2, stratify=y, random_state=0
)
proba_train = cross_val_predict(model, train_cases, y_train, cv=cv, method="predict_proba")[:, 1]
threshold = select_threshold(y_train, proba_train)
model.fit(train_cases, y_train)
kept = model[:-2].get_feature_names_out()
print(f"{len(kept)} features selected, e.g. {list(kept[:3])}")

proba_test = model.predict_proba(test_cases)[:, 1]
report = binary_report(y_test, proba_test, threshold=threshold)
report.round(3)

# %%
# Figures
# -------
fig = plt.figure(figsize=(10, 4.5))
ax_roc = fig.add_subplot(1, 2, 1)
ax_radar = fig.add_subplot(1, 2, 2, projection="polar")
curves = {"training (out-of-fold)": (y_train, proba_train), "test": (y_test, proba_test)}
plot_roc(curves, ax=ax_roc)
plot_radar({"MR+LR radiomics (test)": report}, ax=ax_radar)
fig.tight_layout()
plt.show()

shutil.rmtree(folder)
