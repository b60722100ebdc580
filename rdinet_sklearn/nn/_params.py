"""The networks' parameters, declared once: names, constraints, docstrings and signatures.

The cropping parameters (``roi``, ``labels``, ``volume_size``, ...) belong to
:class:`~rdinet_sklearn.volumes.VolumeCropper`; the networks take them as their own
top-level parameters (``ResNet50Classifier(roi=..., margin=...)``, tunable as ``clf__margin``)
without repeating them: their names, defaults and constraints are read from the cropper, and
their numpydoc entries are the cropper's. Each class's ``__init__`` declares only its own
parameters and forwards ``**kwargs``, as skorch's classes do; :func:`expand_signature` then
gives ``__init__`` the full signature (for ``help()``, numpydoc and scikit-learn's checks).
"""

from __future__ import annotations

import inspect
import os
from numbers import Integral

import torch

from .._sklearn_compat import Options, StrOptions
from ..volumes._crop import CROPPER_PARAMETERS, VolumeCropper
from ._backbone import RESNET_LAYERS
from ._divergence import DIVERGENCE_MODES

CROPPER_PARAMS = tuple(inspect.signature(VolumeCropper).parameters)
"""Names of the cropper's parameters (``roi`` first, then the keyword-only ones)."""

NET_CONSTRAINTS = {
    **VolumeCropper._parameter_constraints,
    "depth": [Options(Integral, set(RESNET_LAYERS))],
    "pretrained": [None, str, os.PathLike],
    "augmentation": [StrOptions({"study", "none"}), None, list, tuple],
    "precision": [StrOptions({"auto", "bf16", "fp16", "fp32"})],
    "divergence": [StrOptions(set(DIVERGENCE_MODES))],
    "random_state": ["random_state"],
    "device": [str, torch.device, None],
}
"""``_parameter_constraints`` of the training core: the cropper's and its own."""

BACKBONE_PARAMETERS = """\
    depth : {10, 18, 34, 50, 101, 152, 200}, default=50
        ResNet depth; 10 is a quick CPU-sized variant.
    pretrained : str or path-like, default=None
        Local backbone state dict (e.g. MedicalNet's); never downloaded.
"""

TRAINING_PARAMETERS = """\
    augmentation : "study", "none", None or list, default="study"
        Online augmentation of the training volumes (never at prediction; tabular inputs
        are never augmented); see :mod:`rdinet_sklearn.volumes`.
    precision : {"auto", "bf16", "fp16", "fp32"}, default="auto"
        Mixed precision (autocast) of training and prediction. ``"auto"``: bfloat16 on a
        GPU that supports it, float32 otherwise (the CPU included); ``"bf16"`` also runs on
        the CPU (with a warning: see the CNN user guide); ``"fp16"`` (with a gradient
        scaler) needs CUDA.
    divergence : {"raise", "skip"}, default="raise"
        What a non-finite training loss or gradient does: ``"raise"`` stops the fit with
        :class:`~rdinet_sklearn.nn.DivergedFitError` (naming the epoch, batch and
        remedies); ``"skip"`` skips that optimizer step and counts it (``n_skipped_steps_``).
        Either way a fit whose weights end non-finite raises.
    random_state : int, RandomState or None, default=None
        Makes CPU fits repeatable (initialisation, batch order, augmentation, dropout).
    criterion, optimizer : default=CrossEntropyLoss, Adam
        Loss and optimizer classes (``optimizer__weight_decay=...`` etc. reach them).
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=100
        Training epochs.
    batch_size : int, default=16
        Cases per training and prediction batch.
    train_split : callable or None, default=None
        skorch's internal validation split; ``None`` trains on everything.
    device : "auto" or a torch device, default="auto"
        ``"auto"``: CUDA when available, resolved again at prediction and loading time.
    verbose : int, default=0
        skorch's per-epoch log when > 0.
    **kwargs
        Any other skorch parameter: ``callbacks``, ``iterator_train__num_workers``,
        ``module__conv1_stride``, ``warm_start``, ...
"""

FITTED_ATTRIBUTES = """\
    classes_ : ndarray of shape (2,)
        Labels as given in ``y``.
    cropper_ : VolumeCropper
        The fitted cropper.
    history_ : skorch.History
        Per-epoch losses and timings; each training batch records ``skipped_step``.
    n_skipped_steps_ : int
        Optimizer steps skipped by ``divergence="skip"`` in the last ``fit`` or
        ``partial_fit`` history (0 with ``divergence="raise"``).
"""

NET_PARAMETERS = CROPPER_PARAMETERS + BACKBONE_PARAMETERS
"""numpydoc entries of the cropping and backbone parameters every network takes."""


def expand_signature(cls, *, core):
    """Give ``cls.__init__`` the signature it accepts: its own parameters and those forwarded.

    Walks the MRO from ``cls`` while each ``__init__`` forwards ``**kwargs``, collecting the
    parameters each declares (the most derived default wins), and adds the cropper's at the
    training core ``core`` (``roi`` stays the one positional parameter). Stops there: skorch's
    other parameters remain ``**kwargs``.
    """
    collected = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        declared = getattr(init, "_declared_signature", None) or inspect.signature(init)
        sources = [declared]
        if klass is core:
            sources.append(inspect.signature(VolumeCropper))
        for signature in sources:
            for name, parameter in signature.parameters.items():
                variadic = parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
                if name != "self" and not variadic:
                    collected.setdefault(name, parameter)
        if klass is core:
            break
    positional = [collected.pop("roi").replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    keywords = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in collected.values()]
    own = vars(cls)["__init__"]
    own._declared_signature = inspect.signature(own)
    own.__signature__ = inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *positional,
            *keywords,
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    )
    return cls
