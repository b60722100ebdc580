"""Training core of the 3D-CNN classifiers: a case table in, skorch training, (n, 2) out.

:class:`_VolumeNetClassifier` is a :class:`skorch.NeuralNetClassifier` whose ``fit``,
``predict``, ``predict_proba`` and ``transform`` accept the case table. It crops ROI volumes
with :class:`~rdinet_sklearn.volumes.VolumeCropper` (cached: computed once per case, ROI and
size, never per epoch), encodes ``y``, seeds everything from ``random_state``, augments
training batches only, resolves ``device="auto"`` and runs mixed precision on CUDA. Every
skorch knob stays reachable (``optimizer__weight_decay``, ``callbacks``, ``module__...``,
``iterator_train__...``, ``train_split``); other inputs (arrays, dicts, skorch Datasets, as
skorch's own callbacks pass them) go straight to skorch.

How a subclass plugs in
-----------------------
1. ``_net_input(self, X, *, fitting)`` turns the case table into the network input: the
   volume array ``(n, channels, D, H, W)`` or a dict ``{"volume": ..., "tabular": ...}``
   whose keys become keyword arguments of ``module.forward``. With ``fitting=True`` it
   fits whatever it needs (the base fits ``self.cropper_``); call ``super()._net_input`` to
   get the volumes.
2. ``module=`` is the torch module *class* (a constructor parameter, as in skorch). It is
   built with ``{**self._module_kwargs(), **module__params}``: override ``_module_kwargs``
   to add data-derived or top-level arguments (the base gives ``in_channels``). Top-level
   parameters such as ``depth`` must be real ``__init__`` parameters of the subclass
   (stored as-is) so that ``get_params``/``clone`` see them. The module's ``forward``
   returns logits of shape (n, 2); a ``features`` method taking the same inputs returns the
   pooled embedding used by ``transform``, and ``feature_dim`` gives its width.
3. Augmentation touches only the ``"volume"`` entry of a dict input (or the array itself).

A subclass's ``__init__`` takes its own parameters, stores them, and forwards ``**kwargs``
to this class.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from os import PathLike

import numpy as np
import pandas as pd
import torch
from sklearn.base import _fit_context
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_numpy, to_tensor

from .._cases import read_case_table
from .._versions import _VersionStampMixin
from ..volumes import BatchAugmentation, VolumeCropper, resolve_augmentations


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``; others pass."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _is_case_table(X):
    return isinstance(X, pd.DataFrame | str | PathLike)


@contextmanager
def _seeded_torch(seed, device):
    """Seed torch inside a forked RNG state, so the caller's global RNG is left untouched."""
    device = torch.device(device)
    gpus = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=gpus):
        torch.manual_seed(int(seed))
        yield


class _VolumeNetClassifier(_VersionStampMixin, NeuralNetClassifier):
    """Private base: see the module docstring for the subclass hooks.

    Parameters specific to this class (the rest are skorch's):

    roi, labels, volume_size, margin, orbits, image_column, mask_column, memory, n_jobs
        Passed to :class:`~rdinet_sklearn.volumes.VolumeCropper`.
    augmentation : "study", "none", None or list of transforms
        Online augmentation of training batches (never at prediction).
    precision : {"auto", "bf16", "fp16", "fp32"}
        Autocast on CUDA ("auto": bf16 where supported, else fp32; "fp16" adds a
        GradScaler). CPU always runs fp32.
    random_state : int, RandomState or None
        Seeds weight initialisation, batch order, augmentation and any dropout.
    device : "auto" or a torch device
        ``"auto"`` picks CUDA when available at fit/predict/load time.

    Defaults differing from skorch: Adam, ``lr=1e-3``, ``max_epochs=100``,
    ``batch_size=16`` (the study's), ``CrossEntropyLoss`` on two logits,
    ``train_split=None`` and shuffled training batches. ``train_split=None`` because cohorts
    are small (the study: 147 patients) and a fixed 100-epoch schedule needs no internal
    hold-out; model selection happens in the outer CV. Pass
    ``train_split=skorch.dataset.ValidSplit(5, stratified=True)`` with an ``EarlyStopping``
    callback to early-stop instead.
    """

    _parameter_constraints: dict = {
        "augmentation": [StrOptions({"study", "none"}), None, list, tuple],
        "precision": [StrOptions({"auto", "bf16", "fp16", "fp32"})],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
        "orbits": [StrOptions({"split", "joint"})],
    }
    _feature_prefix = "cnn_feature_"

    def __init__(
        self,
        module,
        *,
        roi="all",
        labels=None,
        volume_size=(32, 128, 128),
        margin=5.0,
        orbits="split",
        image_column="image",
        mask_column="mask",
        memory=None,
        n_jobs=None,
        augmentation="study",
        precision="auto",
        random_state=None,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=100,
        batch_size=16,
        train_split=None,
        device="auto",
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.roi = roi
        self.labels = labels
        self.volume_size = volume_size
        self.margin = margin
        self.orbits = orbits
        self.image_column = image_column
        self.mask_column = mask_column
        self.memory = memory
        self.n_jobs = n_jobs
        self.augmentation = augmentation
        self.precision = precision
        self.random_state = random_state

    # -- sklearn plumbing -------------------------------------------------------------------

    def _get_param_names(self):
        # skorch lists every public attribute; leave out its private bookkeeping
        # (``_params_to_validate``), which __init__ rebuilds from the keyword arguments.
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    def _validate_params(self):
        # sklearn's _fit_context calls this before skorch has registered the module
        # prefixes, so skorch's check of ``prefix__name`` arguments only runs once they
        # exist (skorch calls this again at the end of ``initialize``).
        if getattr(self, "module_", None) is not None:
            super()._validate_params()
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        # ``transform`` gives the pooled features (float32, whatever the input)
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    def _check_fitted(self):
        check_is_fitted(self, ["module_", "cropper_", "classes_inferred_"])

    # -- device handling --------------------------------------------------------------------

    @contextmanager
    def _concrete_device(self):
        """Hold the resolved device in ``self.device`` while skorch works, then restore it.

        skorch reads ``self.device`` in many places; keeping the parameter ``"auto"`` outside
        those calls keeps ``get_params`` unchanged by fit and lets a pickle move machines.
        """
        requested = self.device
        vars(self)["device"] = resolve_device(requested)
        try:
            yield
        finally:
            vars(self)["device"] = requested

    def __setstate__(self, state):
        requested = state["device"]
        auto = isinstance(requested, str) and requested == "auto"
        if auto:
            state["device"] = resolve_device(requested)
        super().__setstate__(state)  # skorch maps CUDA tensors to the CPU when needed
        if auto:
            vars(self)["device"] = requested

    def _autocast_dtype(self):
        device = torch.device(resolve_device(self.device))
        if device.type != "cuda" or self.precision == "fp32":
            return None
        if self.precision == "fp16":
            return torch.float16
        if self.precision == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None

    # -- hooks ------------------------------------------------------------------------------

    def _volume_cropper(self):
        return VolumeCropper(
            self.roi,
            labels=self.labels,
            volume_size=self.volume_size,
            margin=self.margin,
            orbits=self.orbits,
            image_column=self.image_column,
            mask_column=self.mask_column,
            memory=self.memory,
            n_jobs=self.n_jobs,
        )

    def _net_input(self, X, *, fitting):
        """Network input for the case table ``X`` (hook 1); fits ``cropper_`` if ``fitting``."""
        if fitting:
            self.cropper_ = self._volume_cropper().fit(X)
        return self.cropper_.transform(X)

    def _module_kwargs(self):
        """Module constructor arguments derived from data or top-level parameters (hook 2)."""
        cropper = getattr(self, "cropper_", None) or self._volume_cropper().fit(None)
        return {"in_channels": cropper.n_channels_}

    def initialize_module(self):
        kwargs = {**self._module_kwargs(), **self.get_params_for("module")}
        seed = self._seeds()["init"]
        with _seeded_torch(seed, resolve_device(self.device)):
            self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    # -- data -------------------------------------------------------------------------------

    def _check_cases(self, X):
        if not _is_case_table(X):
            raise TypeError(
                f"{type(self).__name__} expects a case table (a DataFrame or CSV path with "
                f"'{self.image_column}' and '{self.mask_column}' columns), got {type(X).__name__}"
            )
        table = read_case_table(X)
        if len(table) == 0:
            raise ValueError("the case table has no rows")
        return table

    def _encode_target(self, y, *, classes=None):
        """0..n_classes-1 codes of ``y``; records the classes when ``classes`` is None."""
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name} needs y (0/1 or two string labels)")
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per case), got shape {y.shape}")
        check_classification_targets(y)  # rejects continuous, NaN/inf and unknown targets
        found = np.unique(y)
        if classes is None:
            if len(found) < 2:
                raise ValueError(f"{name} needs two classes in y; got only {found.tolist()}")
            if type_of_target(y, input_name="y") != "binary":
                raise ValueError(
                    f"Only binary classification is supported. {name} got {len(found)} "
                    f"classes {found.tolist()}"
                )
            self.classes_inferred_ = classes = found
        unknown = np.setdiff1d(found, classes)
        if len(unknown):
            raise ValueError(
                f"y holds labels {unknown.tolist()} not seen in fit {classes.tolist()}"
            )
        return np.searchsorted(classes, y).astype(np.int64)

    def _case_targets(self, X, y, *, classes=None):
        """Check the targets first (as sklearn does), then the case table; both aligned."""
        codes = self._encode_target(y, classes=classes)
        cases = self._check_cases(X)
        if len(cases) != len(codes):
            raise ValueError(f"the case table has {len(cases)} rows but y has {len(codes)} labels")
        return cases, codes

    def check_data(self, X, y):
        # Targets were validated and encoded in fit; skorch's check would re-infer classes_
        # from the codes.
        if y is None:
            raise ValueError(f"{type(self).__name__} needs y")

    def _seeds(self):
        seeds = getattr(self, "_fit_seeds_", None)
        if seeds is None:
            seeds = self._fit_seeds_ = self._draw_seeds()
        return seeds

    def _draw_seeds(self):
        rng = check_random_state(self.random_state)
        draws = rng.randint(0, 2**31 - 1, size=4)
        return dict(zip(("init", "train", "loader", "augment"), draws.tolist(), strict=True))

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; training batches are shuffled with a seeded generator."""
        if not training:
            return super().get_iterator(dataset, training=False)
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        kwargs.setdefault("shuffle", True)
        if "generator" not in kwargs:
            kwargs["generator"] = torch.Generator().manual_seed(self._seeds()["loader"])
        return self.iterator_train(dataset, **kwargs)

    # -- training ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, **fit_params):
        """Crop (cached), encode ``y`` and train from scratch.

        Parameters
        ----------
        X : DataFrame or str
            The case table (image and mask paths), or a CSV path.
        y : array-like of shape (n_cases,)
            Two classes: 0/1, booleans or strings.
        **fit_params : dict
            Passed to skorch's ``fit`` (and on to ``module.forward``).

        Returns
        -------
        self
        """
        cases, codes = self._case_targets(X, y)
        self._fit_seeds_ = self._draw_seeds()
        with self._concrete_device():
            net_input = self._net_input(cases, fitting=True)
            return super().fit(net_input, codes, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training (from scratch if not yet initialised); accepts the case table."""
        internal = fit_params.get("_routing_method") == "fit"  # skorch's fit, net input
        if not internal:
            self._check_cases(X)  # users pass case tables
        if _is_case_table(X):
            if not self.initialized_ or not hasattr(self, "cropper_"):
                cases, y = self._case_targets(X, y)
                self._fit_seeds_ = self._draw_seeds()
                X = self._net_input(cases, fitting=True)
            else:
                cases, y = self._case_targets(X, y, classes=self.classes_inferred_)
                X = self._net_input(cases, fitting=False)
        with self._concrete_device():
            return super().partial_fit(X, y, classes=classes, **fit_params)

    def initialize(self):
        with self._concrete_device():
            return super().initialize()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        seeds = self._seeds()
        transforms = resolve_augmentations(self.augmentation)
        self._augmenter_ = (
            BatchAugmentation(transforms, seed=seeds["augment"], device=self.device)
            if transforms
            else None
        )
        fp16 = self._autocast_dtype() == torch.float16
        self._grad_scaler_ = torch.amp.GradScaler("cuda") if fp16 else None
        try:
            with _seeded_torch(seeds["train"], self.device):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            self._augmenter_ = self._grad_scaler_ = None

    def _augment(self, x):
        augmenter = getattr(self, "_augmenter_", None)
        if augmenter is None:
            return x
        if isinstance(x, Mapping):
            return {**x, "volume": augmenter(x["volume"])}
        return augmenter(x)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = self._augment(to_tensor(Xi, device=self.device))
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler = getattr(self, "_grad_scaler_", None)
        if scaler is None:
            loss.backward()
        else:
            scaler.scale(loss).backward()
            # unscale now so gradient callbacks (e.g. GradientNormClipping) see true values
            for name in self._optimizers:
                scaler.unscale_(getattr(self, name + "_"))
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        scaler = getattr(self, "_grad_scaler_", None)
        if scaler is None:
            return super()._step_optimizer(step_fn)
        # GradScaler.step takes no closure: compute the gradients first, then step.
        step_fn()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()

    def infer(self, x, **fit_params):
        dtype = self._autocast_dtype()
        context = nullcontext() if dtype is None else torch.autocast("cuda", dtype=dtype)
        with context:
            out = super().infer(x, **fit_params)
        return out.float() if torch.is_tensor(out) else out

    # -- prediction -------------------------------------------------------------------------

    def forward_iter(self, X, training=False, device="cpu"):
        with self._concrete_device():
            yield from super().forward_iter(X, training=training, device=device)

    def _prediction_input(self, X):
        if not _is_case_table(X):
            return X
        self._check_fitted()
        return self._net_input(self._check_cases(X), fitting=False)

    def predict_proba(self, X):
        """Class probabilities, shape (n_cases, 2), columns ordered as ``classes_``.

        Parameters
        ----------
        X : DataFrame or str
            The case table (or a network input, as skorch's callbacks pass it).

        Returns
        -------
        proba : ndarray of shape (n_cases, 2)
        """
        return super().predict_proba(self._prediction_input(X))

    def predict(self, X):
        """Predicted labels (as given in ``y``) for a case table; class codes otherwise."""
        indices = self.predict_proba(X).argmax(axis=1)
        return self.classes_[indices] if _is_case_table(X) else indices

    def transform(self, X):
        """Pooled backbone features of each case (no augmentation, eval mode).

        Parameters
        ----------
        X : DataFrame or str
            The case table.

        Returns
        -------
        features : ndarray of shape (n_cases, module_.feature_dim)
        """
        self._check_fitted()
        dataset = self.get_dataset(self._prediction_input(X))
        dtype = self._autocast_dtype()
        features = []
        with self._concrete_device(), torch.no_grad():
            self._set_training(False)
            for batch in self.get_iterator(dataset, training=False):
                Xi = to_tensor(unpack_data(batch)[0], device=self.device)
                context = nullcontext() if dtype is None else torch.autocast("cuda", dtype=dtype)
                with context:
                    out = (
                        self.module_.features(**Xi)
                        if isinstance(Xi, Mapping)
                        else (self.module_.features(Xi))
                    )
                features.append(to_numpy(out.float()))
        return np.concatenate(features)

    def get_feature_names_out(self, input_features=None):
        """Names of the :meth:`transform` columns: ``cnn_feature_0`` ...

        Returns
        -------
        names : ndarray of str
        """
        self._check_fitted()
        dim = self.module_.feature_dim
        return np.asarray([f"{self._feature_prefix}{i}" for i in range(dim)], dtype=object)
