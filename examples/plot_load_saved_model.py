"""
========================================
Loading a saved model in another project
========================================

A fitted pipeline, with its feature extraction settings, selected features and
classifier, is one picklable object: save it with :mod:`joblib` and load it wherever
rdinet-sklearn (same versions) is installed. Here the model is loaded in a separate Python
process, as another project would, and its predictions are compared with the original's.

Only load files you trust: unpickling runs code from the file.
"""

# %%
import os
import shutil
import subprocess
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rdinet_sklearn import io
from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.radiomics import RadiomicsExtractor
from rdinet_sklearn.selection import LassoSelector, TTestSelector

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(48, os.path.join(folder, "cohort"), random_state=0, shape=(8, 48, 96))
train, new = cases.iloc[:36], cases.iloc[36:]

model = make_pipeline(
    RadiomicsExtractor(roi=("MR", "LR"), params="original"),
    TTestSelector(alpha=0.05),
    LassoSelector(random_state=0),
    StandardScaler(),
    LogisticRegression(),
).fit(train, y.iloc[:36])

# %%
# Save the model
# --------------
# The file records the package versions; loading with other versions warns.
model_path = io.save(model, os.path.join(folder, "response_model.rdinet"))
new_table = os.path.join(folder, "new_cases.csv")
new.to_csv(new_table, index=False)  # the same columns as the training table
print(f"saved {os.path.getsize(model_path) / 1e3:.0f} kB")

# %%
# Load it in another process
# --------------------------
# The "other project" needs only rdinet-sklearn installed, and a case table with the
# columns the model was trained on.
other_project = f"""
from rdinet_sklearn import io, read_case_table
model = io.load({model_path!r})
cases = read_case_table({new_table!r}).set_index("patient_id", drop=False)
print(",".join(repr(float(p)) for p in model.predict_proba(cases)[:, 1]))
"""
output = subprocess.run(
    [sys.executable, "-c", other_project], capture_output=True, text=True, check=True
).stdout
loaded_proba = np.array(output.strip().split(","), dtype=float)
original_proba = model.predict_proba(new)[:, 1]
print("largest difference:", np.abs(loaded_proba - original_proba).max())

# %%
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.plot([0, 1], [0, 1], color="0.7", linewidth=1)
ax.scatter(original_proba, loaded_proba)
ax.set(
    xlabel="probability, fitted model",
    ylabel="probability, model loaded elsewhere",
    title="Same predictions after io.load",
    xlim=(0, 1),
    ylim=(0, 1),
)
plt.show()

shutil.rmtree(folder)
