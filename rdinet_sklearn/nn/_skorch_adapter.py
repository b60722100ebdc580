"""Where the training core needs skorch internals that have no public equivalent (three needs).

Everything else in :mod:`rdinet_sklearn.nn` uses skorch's documented extension points
(``initialize_module``, ``infer``, ``get_iterator``, ``fit_loop``, ``train_step``,
``train_step_single``, ``check_data``, ``get_params_for``, ``cuda_dependent_attributes_``)
and no private name of skorch appears outside this module.

1. :func:`set_training`: a ``train_step_single`` that scales the loss (fp16) must put the
   net's modules and criteria in training mode, as skorch's own step does with its private
   ``_set_training``; there is no public method for it.
2. :func:`build_deferred_optimizer`: a net rebuilt for inference defers its optimizer
   (see ``VolumeNetClassifier.initialize_for_inference``); training builds it later. skorch
   lets a torch component be set only inside its private initialisation context, which
   its public ``initialize_optimizer`` does not open, so the optimizer is built through
   skorch's private ``_initialize_optimizer`` (which also registers ``lr`` and
   ``optimizer__*`` as live optimizer settings, as ``initialize`` does).
3. :func:`skorch_device`: ``device="auto"``. skorch reads the ``device`` parameter itself
   (when ``initialize`` places the module and criterion, and when ``infer`` and
   ``get_loss`` move batches) and understands concrete devices only. While one public call
   runs, the parameter holds the device ``"auto"`` resolves to; afterwards it is ``"auto"``
   again, so ``get_params``, clones and pickles keep ``"auto"`` (and a pickle moves between
   machines). skorch's own ``device="auto"`` (merged upstream after skorch 1.4) will make
   this unnecessary.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``; others pass."""
    if is_auto(device):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def is_auto(device):
    """Whether ``device`` is the ``"auto"`` request."""
    return isinstance(device, str) and device == "auto"


def set_training(net, training):
    """Training (or evaluation) mode for every module and criterion of a skorch net."""
    net._set_training(training)  # skorch's private helper: see the module docstring


def build_deferred_optimizer(net):
    """Build the optimizer of an initialised net, as skorch's ``initialize`` does."""
    net._initialize_optimizer()  # skorch's private helper: see the module docstring


@contextmanager
def skorch_device(net):
    """Let skorch see the resolved device while the block runs, if ``net.device`` is "auto".

    Calls nest (``fit`` -> ``initialize``); only the outermost one resolves and restores.
    """
    requested = net.device
    if not is_auto(requested):
        yield
        return
    net.device = resolve_device(requested)
    try:
        yield
    finally:
        net.device = requested
