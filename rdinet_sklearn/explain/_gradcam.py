"""Grad-CAM heat maps of a fitted 3D CNN (image branch) and the study's overlay figure.

The maps are computed by :class:`monai.visualize.GradCAM` on the network's last
convolutional stage (``backbone.layer4``) and upsampled to the preprocessed volume, so they
align voxel for voxel with what the network saw (the cropped, resampled ROI box).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from matplotlib.figure import Figure
from monai.visualize import GradCAM
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..nn import VolumeNetClassifier
from ..nn._skorch_adapter import resolve_device
from ..plots._style import save_figure, styled

DEFAULT_LAYER = "backbone.layer4"


def network_and_cases(model, cases):
    """The final CNN classifier and the case table it receives (after a pipeline's steps)."""
    if isinstance(model, Pipeline):
        check_is_fitted(model)
        classifier = model.steps[-1][1]
        cases = model[:-1].transform(cases) if len(model.steps) > 1 else cases
    else:
        classifier = model
    if not isinstance(classifier, VolumeNetClassifier):
        raise TypeError(
            "gradcam needs a fitted RDINetClassifier or ResNet50Classifier (or a Pipeline "
            f"ending in one), got {type(classifier).__name__}"
        )
    return classifier, cases


def _normalise(heat):
    """Scale each case's map to [0, 1] by its maximum; an all-zero map stays zero.

    MONAI's default normaliser maps (min, max) to (1, 0), inverting the map; dividing by the
    maximum keeps zero meaning "no positive evidence".
    """
    heat = heat.detach().cpu().numpy().astype(np.float64)
    peak = heat.reshape(len(heat), -1).max(axis=1).reshape(-1, *([1] * (heat.ndim - 1)))
    return np.divide(heat, peak, out=np.zeros_like(heat), where=peak > 0)


def gradcam(model, cases, *, layer=None, class_index=None, return_volumes=False):
    """Grad-CAM heat maps of each case, aligned with its preprocessed volume.

    Parameters
    ----------
    model : RDINetClassifier, ResNet50Classifier or Pipeline
        A fitted classifier with an image branch, or a fitted pipeline ending in one (the
        pipeline's earlier steps transform ``cases`` first).
    cases : DataFrame
        The case table (as passed to ``predict``).
    layer : str, default=None
        Name of the module whose output is explained (as in ``module_.named_modules()``);
        ``None`` means ``"backbone.layer4"``, the last convolutional stage.
    class_index : int, default=None
        Class (column of ``predict_proba``) whose score is explained; ``None`` uses each
        case's predicted class.
    return_volumes : bool, default=False
        Also return the preprocessed volumes the maps align with.

    Returns
    -------
    heatmaps : ndarray of shape (n_cases, D, H, W)
        Non-negative maps, each scaled to a maximum of 1 (all zeros where the class score
        does not depend on the layer), on the grid of the preprocessed volume
        (``volume_size``).
    volumes : ndarray of shape (n_cases, channels, D, H, W)
        Only if ``return_volumes``: the network's image input.

    See Also
    --------
    plot_gradcam : Slices of the volumes with the maps overlaid.
    monai.visualize.GradCAM : The implementation used.

    Notes
    -----
    Grad-CAM (Selvaraju et al., ICCV 2017) weights the layer's activation maps :math:`A^c`
    by the spatial mean of the gradient of the class score :math:`y`,
    :math:`L = \\mathrm{ReLU}(\\sum_c \\bar{\\partial y / \\partial A^c}\\, A^c)`, then
    upsamples :math:`L` trilinearly to the input. For RDINet the score depends on the
    tabular inputs too; they are passed unchanged, so the map shows where in the volume
    the network looks *given* the patient's tabular data. The network is copied so that
    the hooks MONAI registers never stay on the fitted model.

    Examples
    --------
    A CPU-sized network on a tiny synthetic cohort; on an input this small the last stage
    is a single voxel, so an earlier one is explained:

    >>> import shutil, tempfile
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.explain import gradcam
    >>> from rdinet_sklearn.nn import ResNet50Classifier
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(6, folder, shape=(4, 32, 64))
    >>> X = cases[["image", "mask"]]
    >>> cnn = ResNet50Classifier(
    ...     ("MR", "LR"), depth=10, volume_size=(4, 16, 16), module__widen_factor=0.125,
    ...     max_epochs=1, random_state=0,
    ... ).fit(X, y)
    >>> heatmaps, volumes = gradcam(cnn, X.iloc[:2], layer="backbone.layer1", return_volumes=True)
    >>> heatmaps.shape, volumes.shape  # (cases, D, H, W) and (cases, orbits, D, H, W)
    ((2, 4, 16, 16), (2, 2, 4, 16, 16))
    >>> bool(heatmaps.min() >= 0 and heatmaps.max() <= 1)
    True
    >>> shutil.rmtree(folder)
    """
    classifier, cases = network_and_cases(model, cases)
    net_input = classifier.net_input(cases)  # checks that the classifier is fitted
    if not isinstance(net_input, dict):
        net_input = {"volume": net_input}
    if "volume" not in net_input:
        raise ValueError(
            f"{type(classifier).__name__} with fusion={getattr(classifier, 'fusion', None)!r} "
            "has no image branch to explain"
        )
    layer = DEFAULT_LAYER if layer is None else layer
    network = copy.deepcopy(classifier.module_).float()
    names = dict(network.named_modules())
    if layer not in names:
        raise ValueError(f"layer {layer!r} is not in the network; e.g. {DEFAULT_LAYER!r}")
    device = torch.device(resolve_device(classifier.device))
    network.to(device)
    cam = GradCAM(nn_module=network, target_layers=layer, postprocessing=lambda x: x)
    maps = []
    for i in range(len(net_input["volume"])):
        # One case per call: with class_index=None MONAI picks the arg-max class of the
        # batch as a whole, which mixes the cases' scores.
        inputs = {
            key: torch.as_tensor(value[i : i + 1], device=device)
            for key, value in net_input.items()
        }
        volume = inputs.pop("volume")
        maps.append(cam(volume, class_idx=class_index, **inputs)[:, 0])
    heatmaps = _normalise(torch.cat(maps))
    return (heatmaps, np.asarray(net_input["volume"])) if return_volumes else heatmaps


def _peak_slices(heatmaps):
    """Per case, the slice (first axis) holding the most heat."""
    return heatmaps.reshape(len(heatmaps), heatmaps.shape[1], -1).sum(axis=2).argmax(axis=1)


@styled
def plot_gradcam(
    volumes,
    heatmaps,
    *,
    slices=None,
    channel=0,
    titles=None,
    alpha=0.45,
    cmap="jet",
    path=None,
):
    """The study's Grad-CAM figure: original slices on top, heat-map overlays below.

    Parameters
    ----------
    volumes : array-like of shape (n_cases, channels, D, H, W) or (n_cases, D, H, W)
        Preprocessed volumes, e.g. from ``gradcam(..., return_volumes=True)``.
    heatmaps : array-like of shape (n_cases, D, H, W)
        Heat maps from :func:`gradcam`.
    slices : sequence of int, default=None
        Slice (first spatial axis) shown per case; ``None`` picks each case's hottest slice.
    channel : int, default=0
        Volume channel shown (with split orbits, 0 is the left orbit, 1 the mirrored right).
    titles : sequence of str, default=None
        Column titles, e.g. patient ids; the slice index is appended.
    alpha : float, default=0.45
        Opacity of the heat map.
    cmap : str, default="jet"
        Colour map of the heat map.
    path : str or path-like, default=None
        If given, the figure is also saved there as PNG and SVG.

    Returns
    -------
    figure : matplotlib.figure.Figure
        ``2 x n_cases`` image axes and a colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from rdinet_sklearn.explain import plot_gradcam
    >>> volumes, heat = np.zeros((2, 1, 4, 8, 8)), np.zeros((2, 4, 8, 8))
    >>> heat[:, 2, 3, 3] = 1.0
    >>> figure = plot_gradcam(volumes, heat, titles=["P1", "P2"])
    >>> len(figure.axes), figure.axes[0].get_title()
    (5, 'P1 (slice 2)')
    """
    volumes, heatmaps = np.asarray(volumes, dtype=float), np.asarray(heatmaps, dtype=float)
    if volumes.ndim == 4:
        volumes = volumes[:, None]
    if volumes.ndim != 5 or heatmaps.shape != volumes.shape[:1] + volumes.shape[2:]:
        raise ValueError(
            f"volumes {volumes.shape} and heatmaps {heatmaps.shape} do not align: expected "
            "(n, channels, D, H, W) and (n, D, H, W)"
        )
    n = len(volumes)
    slices = _peak_slices(heatmaps) if slices is None else np.asarray(slices, dtype=int)
    titles = [f"case {i}" for i in range(n)] if titles is None else list(titles)
    if len(slices) != n or len(titles) != n:
        raise ValueError(f"need one slice and one title per case ({n})")
    figure = Figure(figsize=(2.2 * n + 0.8, 4.6), layout="constrained")
    axes = figure.subplots(2, n, squeeze=False)
    for i in range(n):
        image = volumes[i, channel, slices[i]]
        axes[0, i].imshow(image, cmap="gray")
        axes[0, i].set_title(f"{titles[i]} (slice {slices[i]})")
        axes[1, i].imshow(image, cmap="gray")
        overlay = axes[1, i].imshow(heatmaps[i, slices[i]], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        for ax in axes[:, i]:
            ax.set_axis_off()
    axes[0, 0].text(
        -0.08, 0.5, "MRI", transform=axes[0, 0].transAxes, rotation=90, ha="right", va="center"
    )
    axes[1, 0].text(
        -0.08, 0.5, "Grad-CAM", transform=axes[1, 0].transAxes, rotation=90, ha="right", va="center"
    )
    figure.colorbar(overlay, ax=axes[1, :].tolist(), shrink=0.8, label="relevance")
    if path is not None:
        save_figure(figure, path)
    return figure
