"""Grad-CAM heat maps of fitted CNNs and the overlay figure (CPU-sized networks)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from rdinet_sklearn.datasets import CLINICAL_COLUMNS
from rdinet_sklearn.explain import gradcam, plot_gradcam
from rdinet_sklearn.nn import RDINetClassifier, ResNet50Classifier

TINY = {
    "roi": ("MR", "LR"),
    "depth": 10,
    "volume_size": (8, 32, 32),
    "max_epochs": 2,
    "batch_size": 8,
    "module__widen_factor": 0.25,
    "random_state": 0,
}
# At 8x32x32 the last stage (layer4) is 1x1x1; layer2's 1x4x4 map gives spatial detail.
LAYER = "backbone.layer2"


@pytest.fixture(scope="module")
def fitted(small_cohort):
    cases, y = small_cohort
    clinical = [c for c in CLINICAL_COLUMNS if pd.api.types.is_numeric_dtype(cases[c])]
    X = cases[["image", "mask", *clinical]]
    return RDINetClassifier(fusion="film", **TINY).fit(X, y), X


def assert_valid_heatmaps(heatmaps, volume_size):
    assert heatmaps.shape[1:] == volume_size
    assert np.all(np.isfinite(heatmaps)) and heatmaps.min() >= 0
    peaks = heatmaps.reshape(len(heatmaps), -1).max(axis=1)
    assert np.all(np.isclose(peaks, 1) | (peaks == 0))  # scaled to 1, or nothing to show


def test_maps_align_with_the_preprocessed_volumes(fitted):
    model, X = fitted
    before = model.predict_proba(X)
    heatmaps, volumes = gradcam(model, X.iloc[:4], layer=LAYER, return_volumes=True)
    assert heatmaps.shape == (4, *model.volume_size)
    assert volumes.shape == (4, 2, *model.volume_size)
    np.testing.assert_array_equal(volumes, model.cropper_.transform(X.iloc[:4]))
    assert_valid_heatmaps(heatmaps, model.volume_size)
    assert any(np.ptp(h) > 0 for h in heatmaps)  # not all constant maps
    # the fitted network is untouched: no hooks left behind, same predictions
    assert not any(m._forward_hooks or m._backward_hooks for m in model.module_.modules())
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_the_explained_class_matters(fitted):
    model, X = fitted
    responder = gradcam(model, X.iloc[:3], layer=LAYER, class_index=1)
    non_responder = gradcam(model, X.iloc[:3], layer=LAYER, class_index=0)
    assert_valid_heatmaps(responder, model.volume_size)
    assert not np.allclose(responder, non_responder)


def test_default_layer_pipeline_and_resnet(small_cohort):
    cases, y = small_cohort
    keep = ColumnTransformer(
        [("paths", "passthrough", ["image", "mask"])], verbose_feature_names_out=False
    ).set_output(transform="pandas")
    pipeline = Pipeline([("keep", keep), ("cnn", ResNet50Classifier(**TINY))]).fit(cases, y)
    heatmaps = gradcam(pipeline, cases.iloc[:2])  # backbone.layer4 by default
    assert len(heatmaps) == 2
    assert_valid_heatmaps(heatmaps, TINY["volume_size"])


def test_errors(fitted, small_cohort):
    model, X = fitted
    with pytest.raises(ValueError, match="layer 'backbone.layer9' is not in the network"):
        gradcam(model, X.iloc[:1], layer="backbone.layer9")
    tabular_only = RDINetClassifier(**{**TINY, "fusion": "tabular"}).fit(X, small_cohort[1])
    with pytest.raises(ValueError, match="no image branch"):
        gradcam(tabular_only, X.iloc[:1])
    with pytest.raises(TypeError, match="needs a fitted RDINetClassifier"):
        gradcam(object(), X)


def test_figure_has_slices_on_top_and_overlays_below(tmp_path):
    rng = np.random.default_rng(0)
    volumes, heatmaps = rng.normal(size=(3, 2, 4, 8, 8)), np.zeros((3, 4, 8, 8))
    heatmaps[0, 1], heatmaps[1, 3], heatmaps[2, 0] = 1, 1, 1
    figure = plot_gradcam(volumes, heatmaps, titles=["A", "B", "C"], path=tmp_path / "cam")
    image_axes, colorbars = figure.axes[:6], figure.axes[6:]
    assert len(colorbars) == 1
    assert [len(ax.get_images()) for ax in image_axes] == [1, 1, 1, 2, 2, 2]
    assert [ax.get_title() for ax in image_axes[:3]] == [
        "A (slice 1)",
        "B (slice 3)",
        "C (slice 0)",
    ]
    np.testing.assert_array_equal(image_axes[0].get_images()[0].get_array(), volumes[0, 0, 1])
    np.testing.assert_array_equal(image_axes[3].get_images()[1].get_array(), heatmaps[0, 1])
    assert (tmp_path / "cam.png").stat().st_size > 0 and (tmp_path / "cam.svg").exists()
    with pytest.raises(ValueError, match="do not align"):
        plot_gradcam(volumes, heatmaps[:, :2])
