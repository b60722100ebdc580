"""
=================================
Tuning RDINet with GridSearchCV
=================================

:class:`~rdinet_sklearn.nn.RDINetClassifier` is a scikit-learn classifier, so
:class:`~sklearn.model_selection.GridSearchCV` tunes it like any other. The pipeline
selects the radiomics features (ICC, t-test and LASSO, refitted in every fold), passes the
image and label-map paths through, and hands both to RDINet, whose CNN reads the ROI
volumes and whose tabular branch reads the selected features.

The network is tiny (ResNet-10 at a quarter of its width, 8 x 24 x 24 crops, two epochs)
so that the whole search runs on a CPU in about a minute; the study's settings are the
defaults.
"""

# %%
import shutil
import tempfile

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.nn import RDINetClassifier
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import LassoSelector, ReproducibilityFilter, TTestSelector

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(40, folder, random_state=0, shape=(8, 48, 96))

# %%
# Radiomics features beside the paths
# -----------------------------------
# Extraction learns nothing from the data, so it runs once; the table RDINet's pipeline
# receives holds the features and the two path columns.
radiomics = RadiomicsExtractor(
    roi=("MR", "LR"), params="original", reference_mask_column="mask_rater2"
).fit_transform(cases)
table = radiomics.join(cases[["image", "mask"]])

features = ColumnTransformer(
    [
        (
            "radiomics",
            make_pipeline(
                ReproducibilityFilter(threshold=0.75),
                TTestSelector(alpha=0.05),
                LassoSelector(random_state=0),
            ),
            list(radiomics.columns),
        ),
        ("volumes", "passthrough", ["image", "mask"]),
    ],
    verbose_feature_names_out=False,
).set_output(transform="pandas")

rdinet = RDINetClassifier(
    roi=("MR", "LR"),
    depth=10,
    volume_size=(8, 24, 24),
    max_epochs=2,
    batch_size=16,
    module__widen_factor=0.25,  # a quarter of the channels: a CPU-sized network
    random_state=0,
    device="cpu",
)
model = Pipeline([("features", features), ("rdinet", rdinet)])

# %%
# The grid: RDINet's dynamic mapping against late fusion
# ------------------------------------------------------
# ``fusion="dynamic"`` is RDINet (``k=3`` iterations, the study's value);
# ``fusion="concat"`` is the late-fusion ablation. Any other parameter, such as
# ``rdinet__k`` or ``rdinet__lr``, can be added to the grid the same way.
grid = {"rdinet__fusion": ["dynamic", "concat"]}
search = GridSearchCV(
    model, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc"
)
search.fit(table, y)
results = pd.DataFrame(search.cv_results_)[
    ["param_rdinet__fusion", "mean_test_score", "std_test_score"]
]
print(results)
print("best:", search.best_params_)

# %%
labels = list(results["param_rdinet__fusion"])
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(labels, results["mean_test_score"], yerr=results["std_test_score"], color="C0")
ax.axhline(0.5, color="0.6", linestyle="--", linewidth=1)
ax.set(ylabel="3-fold CV AUC", ylim=(0, 1), title="GridSearchCV over RDINet")
fig.tight_layout()
plt.show()

shutil.rmtree(folder)
