"""The networks' one mixed-precision path: ``torch.autocast`` on the device in use.

``precision`` picks the autocast dtype for training and prediction alike (the core's
``infer`` and ``transform`` run under :meth:`_autocast`): bfloat16 runs on the CPU and on
CUDA; float16 only on CUDA, where a :class:`torch.amp.GradScaler` keeps its gradients finite
(:meth:`train_step_single` scales the loss, :meth:`_apply_step` steps through the scaler,
as ``GradScaler.step`` takes no closure). ``train_step_single`` is skorch's documented
extension point; the step itself is the divergence guard's (:mod:`._divergence`). Both fall
back to the plain step when no scaler is active. The Accelerate classes
replace :meth:`_autocast_dtype`: there the Accelerator's ``mixed_precision`` decides.

Training in bfloat16 on a CPU warns (:data:`CPU_BF16_WARNING`): torch's oneDNN bfloat16
3D-convolution backward returns, now and then, garbage weight gradients (values up to 1e35,
or NaN) and differs from run to run even on one thread. Measured with torch 2.13 on an AMD
EPYC, with the CPU's native bf16 instructions and with oneDNN restricted to AVX-512 without
them (``benchmarks/bench_bf16_cpu.py``; figures in ``benchmarks/RESULTS.md``): the fault is
the platform's, not the loss (computed in float32 outside autocast) nor BatchNorm (float32
statistics), and with oneDNN switched off the same bf16 step is finite and repeatable, but
tens of times slower. The divergence guard turns such a step into an error (or a skipped
step); float32, the CPU's ``"auto"``, is the precision to train in on a CPU.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import torch
from skorch.dataset import unpack_data

from ._skorch_adapter import set_training

CPU_BF16_WARNING = (
    "precision='bf16' on the CPU: torch's oneDNN bfloat16 3D convolutions return garbage "
    "weight gradients now and then (up to 1e35 or NaN) and differ from run to run, so the "
    "fit may stop with DivergedFitError and is not repeatable at a fixed random_state; "
    "train in float32 on a CPU (precision='auto' or 'fp32'); bf16 is for GPUs"
)


class MixedPrecisionMixin:
    """Autocast and fp16 gradient scaling for :class:`._base.VolumeNetClassifier`.

    Needs ``precision``, ``_compute_device()`` and, while training, ``_grad_scaler_``.
    """

    def _autocast_dtype(self, *, training):
        """dtype of ``torch.autocast`` (None: float32); raises for fp16 training off CUDA."""
        cuda = self._compute_device().type == "cuda"
        if self.precision == "bf16":
            return torch.bfloat16
        if self.precision == "fp16":
            if cuda:
                return torch.float16
            if training:
                raise ValueError(
                    f"{type(self).__name__}(precision='fp16') trains on CUDA only (fp16 "
                    "gradients need a GPU's gradient scaler); use precision='bf16' or 'fp32' "
                    f"on device {self._compute_device()}"
                )
            return None  # a model trained in fp16 predicts in float32 on a CPU
        if self.precision == "auto" and cuda and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None

    def _warn_if_cpu_bf16(self):
        """Warn before training in bfloat16 on a CPU (see the module docstring)."""
        cpu = self._compute_device().type == "cpu"
        if cpu and self._autocast_dtype(training=True) == torch.bfloat16:
            warnings.warn(CPU_BF16_WARNING, UserWarning, stacklevel=4)

    def _autocast(self, *, training):
        dtype = self._autocast_dtype(training=training)
        if dtype is None:
            return nullcontext()
        return torch.autocast(self._compute_device().type, dtype=dtype)

    def train_step_single(self, batch, **fit_params):
        scaler = getattr(self, "_grad_scaler_", None)
        if scaler is None:
            return super().train_step_single(batch, **fit_params)
        set_training(self, True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler.scale(loss).backward()
        # unscale now so gradient callbacks (e.g. GradientNormClipping) see true values
        scaler.unscale_(self.optimizer_)
        return {"loss": loss, "y_pred": y_pred}

    def _apply_step(self, closure):
        scaler = getattr(self, "_grad_scaler_", None)
        if scaler is None:
            return super()._apply_step(closure)
        # GradScaler.step takes no closure: compute the gradients once, then step through
        # the scaler (which skips the step itself when the scaled gradients overflowed).
        closure()
        scaler.step(self.optimizer_)
        scaler.update()
        return None

    def _discard_step(self):
        super()._discard_step()
        scaler = getattr(self, "_grad_scaler_", None)
        if scaler is not None:
            scaler.update()  # unscale_ ran in this step: the scaler expects an update

    def _checks_gradients(self):
        # fp16: overflowing scaled gradients are the scaler's business (it skips the step
        # and lowers the scale); the loss is still checked.
        return getattr(self, "_grad_scaler_", None) is None and super()._checks_gradients()
