"""Multi-GPU and mixed-precision training of the 3D-CNN classifiers with Hugging Face Accelerate.

:class:`AcceleratedResNet50Classifier` and :class:`AcceleratedRDINetClassifier` are the
study's classifiers with skorch's :class:`skorch.hf.AccelerateMixin`: pass an
``accelerate.Accelerator`` and Accelerate places the model and batches, wraps the model for
distributed data parallel training when launched on several GPUs, and runs mixed precision
(``Accelerator(mixed_precision="bf16")``). Everything else (case tables, cropping cache,
augmentation, seeds, ``predict_proba``) is the plain classifier's.

Recipe (one machine, 4 GPUs)::

    # train.py
    from accelerate import Accelerator
    from rdinet_sklearn.nn import AcceleratedRDINetClassifier

    accelerator = Accelerator(mixed_precision="bf16")
    net = AcceleratedRDINetClassifier(roi=("MR", "LR"), accelerator=accelerator,
                                      batch_size=4, random_state=0)  # 4 per GPU
    net.fit(cases, y)
    if accelerator.is_main_process:
        rdinet_sklearn.io.save(net, "rdinet.model")  # or joblib.dump(net.to_plain(), ...)

    $ accelerate launch --multi_gpu --num_processes 4 train.py

``accelerate config`` writes the launch settings once per machine; a single-GPU or CPU run is
plain ``python train.py``. Each process reads the same case table; Accelerate gives each a
shard of every (identically shuffled) epoch, so ``batch_size`` is per process.

Notes for users of the mixin: ``device`` must stay ``None`` (Accelerate places the model;
the training core seeds and augments on Accelerate's device); mixed precision is the
Accelerator's ``mixed_precision``, so ``precision`` must be ``"auto"`` or name the same
precision (``"fp32"`` for ``"no"``), else ``fit`` refuses; after training the model is
unwrapped (``unwrap_after_train``) so that it can be saved. :meth:`to_plain` returns the
equivalent plain classifier, with no Accelerator attached, to pickle or share.
"""

from __future__ import annotations

import torch
from skorch.hf import AccelerateMixin

from ._base import VolumeNetClassifier
from ._rdinet import RDINetClassifier
from ._resnet import ResNet50Classifier
from ._state import net_state, restore_net

_ACCELERATE_PARAMS = ("accelerator", "unwrap_after_train", "callbacks__print_log__sink")

# The Accelerator's mixed_precision and the classifiers' matching precision.
_PRECISIONS = {"no": "fp32", "fp16": "fp16", "bf16": "bf16"}

# The numpydoc entries of those parameters (and ``device``), shared by every docstring below.
_ACCELERATE_PARAMETERS = """\
    accelerator : accelerate.Accelerator
        Devices, distributed training and mixed precision.
    device : None, default=None
        Must stay None while the accelerator places the model (its default,
        ``device_placement=True``); the training core then works on Accelerate's device.
    unwrap_after_train : bool, default=True
        Unwrap the module(s) and criterion from Accelerate's wrappers after ``fit`` so that
        the estimator can be pickled or saved.
    callbacks__print_log__sink : "auto" or callable, default="auto"
        Where skorch's per-epoch log goes. ``"auto"``: ``accelerator.print`` (the main
        process only) when ``verbose`` > 0, no log when ``verbose=0``. A callable receives
        the log whatever ``verbose`` is.
"""


class VolumeNetAccelerateMixin(AccelerateMixin):
    __doc__ = f""":class:`skorch.hf.AccelerateMixin` fitted to rdinet-sklearn's training core.

    Put it first among the bases of a case-table classifier:
    ``class MyNet(VolumeNetAccelerateMixin, ResNet50Classifier)`` (at module level, so that
    it can be pickled). It keeps the core's augmentation and seeding, which skorch's own
    mixin would bypass, and hands device placement and mixed precision to Accelerate.

    Parameters
    ----------
    *args
        Positional arguments of the classifier it is mixed into: only ``roi``.
{_ACCELERATE_PARAMETERS}    **kwargs
        Every other parameter of the classifier it is mixed into, e.g.
        :class:`~rdinet_sklearn.nn.ResNet50Classifier`'s ``depth`` or ``max_epochs``.

    See Also
    --------
    AcceleratedResNet50Classifier : ResNet50Classifier with this mixin.
    AcceleratedRDINetClassifier : RDINetClassifier with this mixin.

    Notes
    -----
    Mixed precision is the Accelerator's ``mixed_precision``: the classifier's ``precision``
    must be ``"auto"`` or the same (``"fp32"`` for ``"no"``), otherwise ``fit`` raises. See
    :mod:`rdinet_sklearn.nn._accelerate` for the ``accelerate launch`` recipe.

    Examples
    --------
    >>> import shutil, tempfile
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> from rdinet_sklearn.nn import ResNet50Classifier, VolumeNetAccelerateMixin
    >>> class AcceleratedCNN(VolumeNetAccelerateMixin, ResNet50Classifier):
    ...     pass
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(6, folder, shape=(4, 32, 64))
    >>> X = cases[["image", "mask"]]
    >>> net = AcceleratedCNN(
    ...     ("MR", "LR"), accelerator=Accelerator(cpu=True), depth=10, volume_size=(4, 16, 16),
    ...     module__widen_factor=0.125, max_epochs=1, random_state=0,
    ... ).fit(X, y)
    >>> plain = net.to_plain()  # no Accelerator attached: ready to pickle or share
    >>> type(plain).__name__, plain.device
    ('ResNet50Classifier', 'auto')
    >>> np.allclose(plain.predict_proba(X), net.predict_proba(X))
    True
    >>> shutil.rmtree(folder)
    """

    def _plain_class(self):
        return next(
            cls
            for cls in type(self).__mro__
            if issubclass(cls, VolumeNetClassifier) and not issubclass(cls, AccelerateMixin)
        )

    def _compute_device(self):
        # Accelerate places the model and batches; the core seeds and augments there too.
        return torch.device(self.accelerator.device)

    def _autocast_dtype(self, *, training):
        return None  # AccelerateMixin's train step runs under accelerator.autocast()

    def _apply_step(self, closure):
        # As AccelerateMixin steps: Accelerate's optimizer wrapper takes no closure when it
        # scales fp16 gradients or accumulates them over several batches.
        closure()
        self.optimizer_.step()

    def _checks_gradients(self):
        # fp16: Accelerate's gradient scaler skips overflowing steps itself
        return getattr(self.accelerator, "scaler", None) is None

    def _check_params(self):
        super()._check_params()
        chosen = _PRECISIONS.get(str(self.accelerator.mixed_precision))
        if self.precision not in ("auto", chosen):
            raise ValueError(
                f"{type(self).__name__} trains with the Accelerator's mixed precision "
                f"({self.accelerator.mixed_precision!r}), but precision={self.precision!r}: "
                f"pass Accelerator(mixed_precision=...) and leave precision='auto'"
            )

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # AccelerateMixin has replaced the "auto" sink by accelerator.print in the parameter
        # itself, and PrintLog honours verbose=0 only for the builtin print: keep the
        # parameter as given (fit must not change it) and the log quiet at verbose=0.
        if self.callbacks__print_log__sink == getattr(self.accelerator, "print", print):
            self.callbacks__print_log__sink = "auto"
            if not self.verbose:
                self.callbacks_ = [(n, c) for n, c in self.callbacks_ if n != "print_log"]
        return self

    def _plain_class_and_params(self):
        """The plain class and its parameters (how this net is saved and pickled as plain)."""
        params = self.get_params(deep=False)
        for name in _ACCELERATE_PARAMS:
            params.pop(name, None)
        if params.get("device") is None:
            params["device"] = "auto"
        return self._plain_class(), params

    def to_plain(self):
        """The equivalent classifier without Accelerate: same parameters, weights, classes.

        Returns
        -------
        net : ResNet50Classifier or RDINetClassifier
            A new estimator (this one is unchanged), ready to predict, pickle or save.
        """
        return restore_net(*net_state(self))


def _accelerated_doc(base, other, other_summary, example):
    """The docstring of an accelerated classifier: one template, so the two cannot drift."""
    return f"""{base} trained with Hugging Face Accelerate.

    Takes every parameter of {base} (through ``*args`` and ``**kwargs``) plus the
    Accelerate ones of :class:`VolumeNetAccelerateMixin`.

    Parameters
    ----------
    *args
        Positional arguments of {base}: only ``roi``.
{_ACCELERATE_PARAMETERS}    **kwargs
        Every other parameter: see {base}.

    See Also
    --------
    {other} : {other_summary}

    Notes
    -----
    See :mod:`rdinet_sklearn.nn._accelerate` for the ``accelerate launch`` recipe.

    Examples
    --------
    >>> from accelerate import Accelerator
{example}
    """


class AcceleratedResNet50Classifier(VolumeNetAccelerateMixin, ResNet50Classifier):
    __doc__ = _accelerated_doc(
        ":class:`~rdinet_sklearn.nn.ResNet50Classifier`",
        "AcceleratedRDINetClassifier",
        "The fusion network, accelerated.",
        """\
    >>> from rdinet_sklearn.nn import AcceleratedResNet50Classifier
    >>> net = AcceleratedResNet50Classifier(accelerator=Accelerator(cpu=True), depth=10)
    >>> net.device is None, net.get_params()["depth"]
    (True, 10)""",
    )


class AcceleratedRDINetClassifier(VolumeNetAccelerateMixin, RDINetClassifier):
    __doc__ = _accelerated_doc(
        ":class:`~rdinet_sklearn.nn.RDINetClassifier`",
        "AcceleratedResNet50Classifier",
        "The image-only network, accelerated.",
        """\
    >>> from rdinet_sklearn.nn import AcceleratedRDINetClassifier
    >>> net = AcceleratedRDINetClassifier(
    ...     ("MR", "LR"), accelerator=Accelerator(cpu=True), fusion="concat", depth=10
    ... )
    >>> net.device is None, net.get_params()["fusion"], net.get_params()["roi"]
    (True, 'concat', ('MR', 'LR'))""",
    )
