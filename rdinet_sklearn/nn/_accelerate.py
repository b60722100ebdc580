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
the classes resolve Accelerate's device internally where the training core needs one), the
``precision`` parameter is ignored (mixed precision is the Accelerator's
``mixed_precision``), and after training the model is unwrapped (``unwrap_after_train``) so
that it can be saved. :meth:`to_plain` returns the equivalent plain classifier, with no
Accelerator attached, to pickle or share.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

from skorch.dataset import unpack_data
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor

from ._base import _VolumeNetClassifier
from ._rdinet import RDINetClassifier
from ._resnet import ResNet50Classifier

_ACCELERATE_PARAMS = ("accelerator", "unwrap_after_train", "callbacks__print_log__sink")

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
    The ``precision`` parameter of the classifier is ignored: mixed precision is the
    Accelerator's ``mixed_precision``. See :mod:`rdinet_sklearn.nn._accelerate` for the
    ``accelerate launch`` recipe.

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
            if issubclass(cls, _VolumeNetClassifier) and not issubclass(cls, AccelerateMixin)
        )

    @contextmanager
    def _concrete_device(self):
        # The core needs a concrete device to seed the RNG, place augmentation and move
        # batches; under Accelerate it is the accelerator's (this process's GPU, or the CPU).
        # Calls nest (fit -> initialize), so only the outermost one checks and resolves.
        if vars(self).get("_device_resolved", False):
            yield
            return
        if self.accelerator.device_placement and self.device is not None:
            raise ValueError(
                "When device placement is performed by the accelerator, set device=None"
            )
        requested = self.device
        vars(self).update(_device_resolved=True, device=str(self.accelerator.device))
        try:
            yield
        finally:
            vars(self).update(device=requested)
            del vars(self)["_device_resolved"]

    def _validate_params(self):
        # The device check of AccelerateMixin runs in _concrete_device, where the
        # parameter (not the resolved device) is visible.
        super(AccelerateMixin, self)._validate_params()

    def initialize(self):
        with self._concrete_device():
            return super().initialize()

    def _initialize_callbacks(self):
        # skorch's PrintLog ignores verbose=0 unless its sink is the builtin print, and
        # AccelerateMixin would store accelerator.print in the parameter; choose the sink
        # here and leave the parameter as given (clone-safe).
        requested = self.callbacks__print_log__sink
        if requested != "auto":
            return super()._initialize_callbacks()
        sink = self.accelerator.print if self.verbose else print
        vars(self)["callbacks__print_log__sink"] = sink
        try:
            return super(AccelerateMixin, self)._initialize_callbacks()
        finally:
            vars(self)["callbacks__print_log__sink"] = requested

    def __setstate__(self, state):
        requested = state["device"]
        with warnings.catch_warnings():
            # skorch warns that device=None becomes the load device; it stays None here
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)
        vars(self)["device"] = requested

    def _autocast_dtype(self):
        return None  # Accelerate's mixed_precision decides

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = self._augment(to_tensor(Xi, device=self.device))
        with self.accelerator.autocast():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _saved_as(self):
        """The plain class and its parameters (for :mod:`rdinet_sklearn.io` and pickling)."""
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
        from ..io._nets import rebuild_net, split_net, trusted_objects

        table = trusted_objects([self._plain_class(), self.module])
        config, tensors, attributes = split_net(self, table)
        return rebuild_net(config, tensors, attributes, table)


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
