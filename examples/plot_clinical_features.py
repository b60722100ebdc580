"""
========================
Adding clinical features
========================

The study added 16 clinical features (age, clinical activity score, TRAb, exophthalmos, ...)
to the image features. Radiomics extraction learns nothing from the data, so the features
can be extracted once for the whole cohort and joined to the clinical columns; a
:class:`~sklearn.compose.ColumnTransformer` then applies the fitted steps (radiomics
selection, clinical scaling and encoding) inside each fold. Three models are compared:
clinical only, radiomics only, and both.
"""

# %%
import shutil
import tempfile

import matplotlib.pyplot as plt
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.plots import cv_scores_frame, plot_cv_scores
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(60, folder, random_state=0, shape=(8, 48, 96))
categorical = ["sex", "thyroid_treatment"]
numeric = [
    c for c in cases.columns[4:] if c not in categorical
]  # after patient_id and the three path columns
print("clinical columns:", numeric + categorical)

# %%
# Extract once, join the clinical table
# -------------------------------------
extractor = RadiomicsExtractor(
    roi=("MR", "LR"), params="original", reference_mask_column="mask_rater2"
)
radiomics = extractor.fit_transform(cases)
table = radiomics.join(cases[numeric + categorical])
radiomics_columns = list(radiomics.columns)

selection = make_pipeline(
    ReproducibilityFilter(threshold=0.75),
    TTestSelector(alpha=0.05),
    LassoSelector(random_state=0),
    StandardScaler(),
)
clinical = [
    ("numeric", StandardScaler(), numeric),
    ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
]


def model(branches):
    return make_pipeline(ColumnTransformer(branches), LogisticRegression(max_iter=1000))


models = {
    "clinical": model(clinical),
    "radiomics": model([("radiomics", selection, radiomics_columns)]),
    "radiomics + clinical": model([("radiomics", selection, radiomics_columns), *clinical]),
}

# %%
# Cross-validate on the same folds
# --------------------------------
cv = StratifiedKFold(5, shuffle=True, random_state=0)
results = {
    name: cross_validate(estimator, table, y, cv=cv, scoring="roc_auc")
    for name, estimator in models.items()
}
for name, result in results.items():
    print(f"{name:>22}: AUC {result['test_score'].mean():.3f}")

scores = cv_scores_frame(results)
ax = plot_cv_scores(scores, title="5-fold CV AUC")
ax.set_ylabel("ROC AUC")
plt.show()

shutil.rmtree(folder)
