"""
========================
Grad-CAM of the 3D CNN
========================

Where in the muscles does the CNN look? Grad-CAM weights the last convolutional stage's
feature maps by the gradient of the class score and upsamples the result to the input
volume. Here a small 3D ResNet is trained on MR+LR crops of a synthetic cohort, then
:func:`~rdinet_sklearn.explain.gradcam` computes the maps of a few test patients and
:func:`~rdinet_sklearn.explain.plot_gradcam` draws them over the cropped slices, as in the
study's Grad-CAM figure.

The network is deliberately tiny (ResNet-10 at a quarter of its width, 8 x 24 x 24 crops,
three epochs) so that the example runs in seconds on a CPU; its maps are only
illustrative.
"""

# %%
import shutil
import tempfile

from rdinet_sklearn.datasets import make_ted_cohort
from rdinet_sklearn.explain import gradcam, plot_gradcam
from rdinet_sklearn.nn import ResNet50Classifier

folder = tempfile.mkdtemp()
cases, y = make_ted_cohort(40, folder, random_state=0, shape=(8, 48, 96))
train, test = cases.iloc[:32], cases.iloc[32:36]

cnn = ResNet50Classifier(
    roi=("MR", "LR"),
    depth=10,
    volume_size=(8, 24, 24),
    max_epochs=3,
    batch_size=16,
    module__widen_factor=0.25,  # a quarter of the channels: a CPU-sized network
    random_state=0,
    device="cpu",
)
cnn.fit(train, y.iloc[:32])
print("responder probability:", cnn.predict_proba(test)[:, 1].round(2))

# %%
# Heat maps of the responder class
# --------------------------------
# ``class_index=1`` explains the responder logit for every patient (``None`` would explain
# each patient's predicted class). The maps lie on the grid of the cropped volume; with
# ``orbits="split"`` channel 0 is the left orbit.
heatmaps, volumes = gradcam(cnn, test, class_index=1, return_volumes=True)
print("maps:", heatmaps.shape, "volumes:", volumes.shape)

figure = plot_gradcam(volumes, heatmaps, titles=list(test.index))

# %%
shutil.rmtree(folder)
