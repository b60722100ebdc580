"""The segmentation network: a MONAI UNet, trained by a plain torch loop, and its prediction.

Why not skorch, as the classifiers: the segmenter trains inside a transformer's ``fit``,
where the targets are label maps read from the case table rather than ``y``, and the trained
weights must be a pure function of (training volumes, settings) so that joblib can cache
them per training fold (see :mod:`._segmenter`). A skorch net's ``fit(X, y)`` contract,
history and callbacks would add nothing here, so a short loop does the training; device
resolution, mixed precision and seeding are the classifiers' own (:mod:`rdinet_sklearn.nn`).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from monai.losses import DiceCELoss
from monai.networks.nets import UNet

from ..nn._base import seeded_torch
from ..nn._precision import MixedPrecisionMixin
from ..nn._skorch_adapter import resolve_device


class _Precision(MixedPrecisionMixin):
    """The classifiers' autocast choice (``precision`` on a device) for a plain loop."""

    def __init__(self, precision, device):
        self.precision = precision
        self.device = torch.device(device)

    def _compute_device(self):
        return self.device


def build_network(n_classes, channels):
    """A 3D UNet: one input channel, ``n_classes`` logits, strides of 2 between levels."""
    return UNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=n_classes,
        channels=tuple(channels),
        strides=(2,) * (len(channels) - 1),
        num_res_units=1,
    )


INTENSITY_JITTER = 0.1
"""SD of the random log-gain and offset applied to each training volume (z-score units)."""


def _jitter_intensity(x, generator):
    """Random gain and offset per volume: muscles' signal varies with disease and scanner,
    and a network trained on few patients should not learn their exact brightness."""
    n = len(x)
    gain = torch.exp(INTENSITY_JITTER * torch.randn(n, 1, 1, 1, 1, generator=generator))
    offset = INTENSITY_JITTER * torch.randn(n, 1, 1, 1, 1, generator=generator)
    return x * gain + offset


STRUCTURE_JITTER = 0.3
"""SD of the random log-gain of each structure's own signal in each training volume."""


def _jitter_structures(x, fractions, zero_levels, generator):
    """Each structure's signal times its own random gain, the rest of the volume unchanged.

    A muscle's T2 signal follows its disease (oedema brightens it, an inactive or fibrotic
    muscle is barely brighter than the suppressed fat around it): the held-out muscles a
    network trained on ~100 patients misses are the darkest and thinnest, darker than almost
    every training muscle. A gain per structure (log-normal, SD 0.3, about the spread of the
    synthetic muscles' signal) shows the network dim and bright muscles at every place and
    shape, so that it finds a muscle by its place and shape and not only by its brightness.
    The gain scales the signal about the scanner's zero (``zero_levels``: where 0 lies in
    z-score units), as oedema scales it, weighted by each voxel's structure fractions.
    """
    n, n_classes = fractions.shape[:2]
    log_gain = STRUCTURE_JITTER * torch.randn(n, n_classes - 1, 1, 1, 1, generator=generator)
    weight = (fractions[:, 1:] * torch.expm1(log_gain)).sum(dim=1, keepdim=True)
    return x + weight * (x - zero_levels.view(n, 1, 1, 1, 1))


def train_network(volumes, targets, *, zero_levels, n_classes, settings, seed):
    """Train a fresh network on grid volumes and class maps; return its state (numpy).

    Parameters
    ----------
    volumes : ndarray of shape (n_cases, slices, rows, columns), float32
        Normalised intensities on the segmenter's grid.
    targets : ndarray of shape (n_cases, n_classes, slices, rows, columns)
        Fraction of each class per voxel (background first, then the structures in
        ``labels`` order); see :func:`._training.class_fractions`.
    zero_levels : ndarray of shape (n_cases,)
        Where a raw intensity of 0 lies in each normalised volume (z-score units), the
        point about which :func:`_jitter_structures` scales a structure's signal.
    n_classes : int
        Background plus structures.
    settings : dict
        ``channels``, ``max_epochs``, ``lr``, ``batch_size``, ``device``, ``precision``.
    seed : int
        Seeds the initial weights and the batch order.

    Returns
    -------
    state : dict of str to ndarray
        The trained network's ``state_dict`` on the CPU, as numpy arrays.
    epoch_seconds : list of float
        Wall time of each epoch.

    Raises
    ------
    FloatingPointError
        If a batch's loss is not finite (the weights would be garbage from there on).
    """
    device = torch.device(resolve_device(settings["device"]))
    precision = _Precision(settings["precision"], device)
    precision._autocast_dtype(training=True)  # refuses fp16 without CUDA, before any work
    scaler = torch.amp.GradScaler(
        "cuda", enabled=precision._autocast_dtype(training=True) == torch.float16
    )
    with seeded_torch(seed, device):
        network = build_network(n_classes, settings["channels"]).to(device)
        optimizer = torch.optim.Adam(network.parameters(), lr=settings["lr"])
        # cosine decay to zero over the epochs: the large early steps find the muscles, the
        # small late ones place their boundaries, which is what Dice on thin muscles weighs
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings["max_epochs"])
        # the targets are class fractions already (soft Dice and cross-entropy take them)
        loss_function = DiceCELoss(softmax=True)
        x_all = torch.from_numpy(volumes[:, None]).float()
        y_all = torch.from_numpy(targets)
        zero_all = torch.as_tensor(zero_levels, dtype=torch.float32)
        order = torch.Generator().manual_seed(seed)
        network.train()
        epoch_seconds = []
        for epoch in range(settings["max_epochs"]):
            start = time.perf_counter()
            for batch in torch.randperm(len(x_all), generator=order).split(settings["batch_size"]):
                y = y_all[batch].float()
                x = _jitter_structures(x_all[batch], y, zero_all[batch], order)
                x = _jitter_intensity(x, order).to(device)
                y = y.to(device)
                optimizer.zero_grad()
                with precision._autocast(training=True):
                    loss = loss_function(network(x).float(), y)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"ROISegmenter: the training loss became {loss.item()} at epoch "
                        f"{epoch + 1}; lower lr (now {settings['lr']}) or use precision='fp32'"
                    )
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            schedule.step()
            epoch_seconds.append(time.perf_counter() - start)
    state = {name: value.detach().cpu().numpy() for name, value in network.state_dict().items()}
    return state, epoch_seconds


def load_network(state, n_classes, channels, device):
    """A network in evaluation mode with ``state`` (numpy arrays) loaded, on ``device``."""
    network = build_network(n_classes, channels)
    network.load_state_dict({name: torch.as_tensor(value) for name, value in state.items()})
    return network.to(device).eval()


def predict_probabilities(network, volume, *, device, precision):
    """Softmax class probabilities (n_classes, slices, rows, columns) of one grid volume."""
    with torch.no_grad(), _Precision(precision, device)._autocast(training=False):
        x = torch.from_numpy(volume[None, None]).float().to(device)
        logits = network(x).float()
    return torch.softmax(logits, dim=1)[0].cpu().numpy().astype(np.float32)
