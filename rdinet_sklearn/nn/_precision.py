"""The networks' one mixed-precision path: ``torch.autocast`` on the device in use.

``precision`` picks the autocast dtype for training and prediction alike (the core's
``infer`` and ``transform`` run under :meth:`_autocast`): bfloat16 runs on the CPU and on
CUDA; float16 only on CUDA, where a :class:`torch.amp.GradScaler` keeps its gradients finite
(:meth:`train_step_single` scales the loss, :meth:`train_step` steps through the scaler, as
``GradScaler.step`` takes no closure). Both overrides are skorch's documented extension
points and fall back to skorch's own step when no scaler is active. The Accelerate classes
replace :meth:`_autocast_dtype`: there the Accelerator's ``mixed_precision`` decides.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator

from ._skorch_adapter import set_training


class _MixedPrecisionMixin:
    """Autocast and fp16 gradient scaling for :class:`._base._VolumeNetClassifier`.

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

    def train_step(self, batch, **fit_params):
        scaler = getattr(self, "_grad_scaler_", None)
        if scaler is None:
            return super().train_step(batch, **fit_params)
        # GradScaler.step takes no closure (skorch's step passes one): zero the gradients,
        # compute them once, let callbacks see them, then step through the scaler.
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
        )
        scaler.step(self.optimizer_)
        scaler.update()
        return step
