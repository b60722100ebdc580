"""Training that cannot silently diverge: the divergence guard of every network's train step.

Each optimizer step is checked before it is applied: a non-finite training loss, or a
non-finite norm of the gradients (an overflow: a gradient element above ~1e19 in float32
squares to infinity), stops the fit with :class:`DivergedFitError`, which names the
estimator, epoch, batch and the remedies. With ``divergence="skip"`` the step is skipped
instead (no weight changes, the gradients are dropped) and counted in the history
(``"skipped_step"`` per batch) and in ``n_skipped_steps_``. Whatever the mode, a fit whose
weights or buffers end non-finite raises, so such a model is never returned, and
:func:`check_finite_weights` refuses to save or export one.

The guard is skorch's documented ``train_step`` extension point: the loss and gradients are
computed in a closure handed to ``optimizer.step`` (as skorch does, so closure-based
optimizers such as L-BFGS still work), and the check raises inside the closure, before the
optimizer touches a weight. :class:`DivergenceGuardMixin` works on any
:class:`skorch.NeuralNet` with a ``divergence`` parameter, so a future network (e.g. a
segmenter) gets it by inheriting the training core.
"""

from __future__ import annotations

import torch
from skorch.utils import TeeGenerator

DIVERGENCE_MODES = ("raise", "skip")

REMEDIES = (
    "lower lr (e.g. lr/10), train in float32 (precision='fp32'), clip the gradients "
    "(callbacks=[skorch.callbacks.GradientNormClipping(1.0)]), or pass divergence='skip' to "
    "skip such steps"
)


class DivergedFitError(RuntimeError):
    """A network's training produced a non-finite loss, gradient or weight.

    Raised by ``fit`` and ``partial_fit`` of every network (see the ``divergence``
    parameter), and by saving or exporting a model whose weights are not finite. A study
    catches it per model and fold, records :meth:`as_record`, and goes on with the others.

    Parameters
    ----------
    estimator : str
        Class name of the network.
    epoch : int
        1-based epoch in which it happened.
    batch : int or None
        1-based training batch of that epoch; None for a check of the final weights.
    quantity : {"loss", "gradient", "weights"}
        What was not finite.
    detail : str, default=""
        Extra context for the message (e.g. the learning rate and precision).

    Examples
    --------
    >>> from rdinet_sklearn.nn import DivergedFitError
    >>> error = DivergedFitError("ResNet50Classifier", 2, 3, "loss")
    >>> error.as_record()["epoch"], error.quantity
    (2, 'loss')
    >>> print(str(error).split(":")[0])
    ResNet50Classifier diverged
    """

    def __init__(self, estimator, epoch, batch, quantity, detail=""):
        self.estimator = estimator
        self.epoch = epoch
        self.batch = batch
        self.quantity = quantity
        self.detail = detail
        where = f"epoch {epoch}" + (f", batch {batch}" if batch is not None else "")
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{estimator} diverged: non-finite {quantity} at {where}{extra}. Remedies: {REMEDIES}."
        )

    def __reduce__(self):
        # Exceptions pickle their ``args`` (the message) by default; joblib workers send
        # this error back to the study's process, so it must rebuild from its fields.
        return type(self), (self.estimator, self.epoch, self.batch, self.quantity, self.detail)

    def as_record(self):
        """The JSON-ready record a study writes for this model and fold.

        Returns
        -------
        record : dict
            ``status`` ("diverged"), ``estimator``, ``epoch``, ``batch``, ``quantity`` and
            ``message``.
        """
        return {
            "status": "diverged",
            "estimator": self.estimator,
            "epoch": self.epoch,
            "batch": self.batch,
            "quantity": self.quantity,
            "message": str(self),
        }


class _SkippedStep(Exception):
    """Raised inside the optimizer's closure to abandon one step (``divergence="skip"``)."""


def _all_finite(tensors):
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def check_finite_weights(net, *, epoch=None):
    """Raise :class:`DivergedFitError` if any parameter or buffer of ``net.module_`` is not finite.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net.
    epoch : int, default=None
        Epoch named in the error; the number of epochs in the history when None.

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from rdinet_sklearn.nn import DivergedFitError, check_finite_weights
    >>> net = NeuralNetClassifier(torch.nn.Linear(3, 2)).initialize()
    >>> check_finite_weights(net)  # finite: nothing happens
    >>> with torch.no_grad():
    ...     net.module_.weight[0, 0] = float("nan")
    >>> try:
    ...     check_finite_weights(net)
    ... except DivergedFitError as error:
    ...     print(error.quantity, error.epoch, error.batch)
    weights 0 None
    """
    module = getattr(net, "module_", None)
    if module is None:
        return
    if _all_finite(module.parameters()) and _all_finite(
        b for b in module.buffers() if b.is_floating_point()
    ):
        return
    history = getattr(net, "history_", None)
    epoch = (len(history) if history is not None else 0) if epoch is None else epoch
    raise DivergedFitError(type(net).__name__, epoch, None, "weights")


class DivergenceGuardMixin:
    """The divergence guard for a :class:`skorch.NeuralNet`; put it before skorch's class.

    Needs the net's ``divergence`` parameter (``"raise"`` or ``"skip"``). Subclasses change
    how the checked step is applied through :meth:`_apply_step` and :meth:`_discard_step`
    (the fp16 gradient scaler and Accelerate do), and whether gradients are checked through
    :meth:`_checks_gradients` (not when a gradient scaler handles overflowing fp16
    gradients itself).

    Examples
    --------
    Any skorch net takes the guard; here an infinite learning rate ruins the weights in the
    first step, and the second step's loss stops the fit:

    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from rdinet_sklearn.nn import DivergedFitError, DivergenceGuardMixin
    >>> class GuardedNet(DivergenceGuardMixin, NeuralNetClassifier):
    ...     def __init__(self, *args, divergence="raise", **kwargs):
    ...         super().__init__(*args, **kwargs)
    ...         self.divergence = divergence
    >>> X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = GuardedNet(torch.nn.Linear(3, 2), criterion=torch.nn.CrossEntropyLoss,
    ...                  optimizer=torch.optim.SGD, lr=float("inf"), batch_size=4,
    ...                  max_epochs=1, train_split=None)
    >>> try:
    ...     net.fit(X, y)
    ... except DivergedFitError as error:
    ...     print(error.quantity, error.epoch, error.batch)
    loss 1 2
    """

    def train_step(self, batch, **fit_params):
        """One optimizer step, applied only if the loss and gradients are finite."""
        accumulator = self.get_train_step_accumulator()

        def closure():
            self.optimizer_.zero_grad()
            step = self.train_step_single(batch, **fit_params)
            accumulator.store_step(step)
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                batch=batch,
            )
            self._check_step(step["loss"])
            return step["loss"]

        skipped = False
        try:
            self._apply_step(closure)
        except _SkippedStep:
            skipped = True
            self._discard_step()
        self.history.record_batch("skipped_step", skipped)
        return accumulator.get_step()

    def _apply_step(self, closure):
        self.optimizer_.step(closure)

    def _discard_step(self):
        self.optimizer_.zero_grad()

    def _checks_gradients(self):
        return True

    def _check_step(self, loss):
        quantity = None
        if not _all_finite([loss.detach()]):
            quantity = "loss"
        elif self._checks_gradients():
            grads = [p.grad for _, p in self.get_all_learnable_params() if p.grad is not None]
            norms = [torch.linalg.vector_norm(g.detach()) for g in grads]
            if norms and not _all_finite([torch.linalg.vector_norm(torch.stack(norms))]):
                quantity = "gradient"
        if quantity is None:
            return
        if self.divergence == "skip":
            raise _SkippedStep
        epoch = len(self.history)
        batch = len(self.history[-1]["batches"])
        raise DivergedFitError(type(self).__name__, epoch, batch, quantity, self._step_detail())

    def _step_detail(self):
        precision = getattr(self, "precision", None)
        return f"lr={self.lr}" + ("" if precision is None else f", precision={precision!r}")

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's training loop, then the final check: non-finite weights never leave fit."""
        result = super().fit_loop(X, y, epochs=epochs, **fit_params)
        self.n_skipped_steps_ = sum(
            bool(b.get("skipped_step", False)) for row in self.history for b in row["batches"]
        )
        check_finite_weights(self)
        return result
