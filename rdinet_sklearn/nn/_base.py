"""Training core of the 3D-CNN classifiers: a case table in, skorch training, (n, 2) out.

:class:`VolumeNetClassifier` is a :class:`skorch.NeuralNetClassifier` whose ``fit``,
``predict``, ``predict_proba`` and ``transform`` accept the case table. It crops ROI volumes
with :class:`~rdinet_sklearn.volumes.VolumeCropper` (cached: computed once per case, ROI and
size, never per epoch), encodes ``y``, seeds everything from ``random_state``, augments
training batches only, resolves ``device="auto"`` and runs mixed precision. Every skorch
knob stays reachable (``optimizer__weight_decay``, ``callbacks``, ``module__...``,
``iterator_train__...``, ``train_split``); other inputs (arrays, dicts, skorch Datasets, as
skorch's own callbacks pass them) go straight to skorch. Every training step goes through
the divergence guard (:mod:`._divergence`). Only skorch's documented extension points are
overridden; the two needs without one are in :mod:`._skorch_adapter`.

How a subclass plugs in
-----------------------
1. ``__init__(self, *args, module=MyModule, <own parameters>, **kwargs)`` stores its own
   parameters and forwards the rest; the cropping, backbone and training parameters are the
   core's (see :mod:`._params`), and the full signature is derived automatically.
2. ``_net_input(self, X, *, fitting)`` turns the case table into the network input: the
   volume array ``(n, channels, D, H, W)`` or a dict ``{"volume": ..., "tabular": ...}``
   whose keys become keyword arguments of ``module.forward``. With ``fitting=True`` it
   fits whatever it needs (the core fits ``self.cropper_``); call ``super()._net_input`` to
   get the volumes.
3. ``_module_kwargs(self)`` adds data-derived or top-level module arguments to the core's
   (``in_channels``, ``depth``, ``pretrained``); ``module__<name>`` parameters take
   precedence. The module's ``forward`` returns logits of shape (n, 2); a ``features``
   method taking the same inputs returns the pooled embedding used by ``transform``, and
   ``feature_dim`` gives its width.
4. Augmentation touches only the ``"volume"`` entry of a dict input (or the array itself).

The public :meth:`VolumeNetClassifier.net_input` gives what a fitted network reads for a
case table (what Grad-CAM explains); it calls hook 2 with ``fitting=False``.

Mixed precision has one path, in :mod:`._precision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from os import PathLike

import numpy as np
import pandas as pd
import torch
from sklearn import get_config
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_numpy, to_tensor

from rdinet_sklearn._checks import check_binary_target

from .._cases import read_case_table
from .._sklearn_compat import validate_parameter_constraints
from .._versions import _VersionStampMixin
from ..volumes._augment import BatchAugmentation, resolve_augmentations
from ..volumes._crop import VolumeCropper
from ._divergence import DivergenceGuardMixin
from ._params import (
    CROPPER_PARAMS,
    FITTED_ATTRIBUTES,
    NET_CONSTRAINTS,
    NET_PARAMETERS,
    TRAINING_PARAMETERS,
    expand_signature,
)
from ._precision import MixedPrecisionMixin
from ._skorch_adapter import (
    build_deferred_optimizer,
    is_auto,
    resolve_device,
    set_training,
    skorch_device,
)


def _is_case_table(X):
    return isinstance(X, pd.DataFrame | str | PathLike)


@contextmanager
def seeded_torch(seed, device):
    """Seed torch inside a forked RNG state, so the caller's global RNG is left untouched."""
    gpus = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=gpus):
        torch.manual_seed(int(seed))
        yield


class VolumeNetClassifier(
    MixedPrecisionMixin, DivergenceGuardMixin, _VersionStampMixin, NeuralNetClassifier
):
    __doc__ = f"""The training core of the case-table networks: the base class to subclass.

    Not used directly (it has no default ``module``): :class:`ResNet50Classifier` and
    :class:`RDINetClassifier` are its subclasses, and a new network is one more, with its
    own ``module`` and the hooks described in :mod:`rdinet_sklearn.nn._base` (and in the
    CNN user guide).

    Parameters
    ----------
{NET_PARAMETERS}\
    module : type
        Torch module class; built with ``in_channels``, ``depth``, ``pretrained`` and any
        ``module__<name>`` parameter (which take precedence).
{TRAINING_PARAMETERS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}\
    module_ : torch.nn.Module
        The trained network.

    Defaults differing from skorch: Adam, ``lr=1e-3``, ``max_epochs=100``,
    ``batch_size=16`` (the study's), ``CrossEntropyLoss`` on two logits,
    ``train_split=None`` and shuffled training batches. ``train_split=None`` because cohorts
    are small (the study: 147 patients) and a fixed 100-epoch schedule needs no internal
    hold-out; model selection happens in the outer CV. Pass
    ``train_split=skorch.dataset.ValidSplit(5, stratified=True)`` with an ``EarlyStopping``
    callback to early-stop instead.

    Examples
    --------
    A network of one's own: a module reading the volume, and the class naming it.

    >>> import torch
    >>> from rdinet_sklearn.nn import VolumeNetClassifier
    >>> class MeanModule(torch.nn.Module):
    ...     def __init__(self, in_channels=1, depth=None, pretrained=None):
    ...         super().__init__()
    ...         self.feature_dim = in_channels
    ...         self.head = torch.nn.Linear(in_channels, 2)
    ...     def features(self, volume):
    ...         return volume.mean(dim=(2, 3, 4))
    ...     def forward(self, volume):
    ...         return self.head(self.features(volume))
    >>> class MeanNet(VolumeNetClassifier):
    ...     def __init__(self, *args, module=MeanModule, **kwargs):
    ...         super().__init__(*args, module=module, **kwargs)
    >>> net = MeanNet(("MR", "LR"), volume_size=(4, 8, 8), max_epochs=1)
    >>> net.get_params()["divergence"], net.get_params()["roi"]
    ('raise', ('MR', 'LR'))
    """

    _parameter_constraints: dict = NET_CONSTRAINTS
    _feature_prefix = "cnn_feature_"

    def __init__(
        self,
        *args,
        module,
        depth=50,
        pretrained=None,
        augmentation="study",
        precision="auto",
        divergence="raise",
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
        # The cropper's own constructor takes its parameters (``roi`` may be positional),
        # so their names and defaults are the cropper's.
        cropper = VolumeCropper(*args, **{k: kwargs.pop(k) for k in CROPPER_PARAMS if k in kwargs})
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
        for name, value in cropper.get_params(deep=False).items():
            setattr(self, name, value)
        self.depth = depth
        self.pretrained = pretrained
        self.augmentation = augmentation
        self.precision = precision
        self.divergence = divergence
        self.random_state = random_state

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            expand_signature(cls, core=VolumeNetClassifier)

    # -- sklearn plumbing -------------------------------------------------------------------

    def get_params(self, deep=True, **kwargs):
        # skorch lists every attribute without a trailing underscore, its private bookkeeping
        # (names starting with "_") included; the constructor rebuilds that from its keyword
        # arguments, so the parameters are the public names.
        params = super().get_params(deep=deep, **kwargs)
        return {k: v for k, v in params.items() if not k.startswith("_")}

    def _check_params(self):
        """Check every parameter, the cropper's included, before any case is read."""
        if not get_config()["skip_parameter_validation"]:
            validate_parameter_constraints(
                self._parameter_constraints,
                self.get_params(deep=False),
                caller_name=type(self).__name__,
            )
        self._volume_cropper().fit(None)  # volume_size, roi and labels
        self._autocast_dtype(training=True)  # fp16 without CUDA
        self._warn_if_cpu_bf16()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        # ``transform`` gives the pooled features (float32, whatever the input)
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    def __sklearn_is_fitted__(self):
        return bool(self.initialized_) and hasattr(self, "cropper_")

    def _check_fitted(self):
        check_is_fitted(self)

    # -- devices and precision --------------------------------------------------------------

    def _compute_device(self):
        """The concrete torch device the core places batches, seeds and augmentation on."""
        return torch.device(resolve_device(self.device))

    def __setstate__(self, state):
        requested = state["device"]
        if requested is None or is_auto(requested):
            # place the tensors on this machine's choice; the parameter stays as saved
            state["device"] = resolve_device("auto")
            super().__setstate__(state)
            self.device = requested
        else:
            super().__setstate__(state)  # skorch maps CUDA tensors to the CPU when needed

    # -- hooks ------------------------------------------------------------------------------

    def _volume_cropper(self):
        return VolumeCropper(**{name: getattr(self, name) for name in CROPPER_PARAMS})

    def _net_input(self, X, *, fitting):
        """Network input for the case table ``X`` (hook 2); fits ``cropper_`` if ``fitting``."""
        if fitting:
            self.cropper_ = self._volume_cropper().fit(X)
        return self.cropper_.transform(X)

    def _module_kwargs(self):
        """Module constructor arguments derived from data or top-level parameters (hook 3)."""
        cropper = getattr(self, "cropper_", None) or self._volume_cropper().fit(None)
        return {
            "in_channels": cropper.n_channels_,
            "depth": self.depth,
            "pretrained": self.pretrained,
        }

    def initialize_module(self):
        kwargs = {**self._module_kwargs(), **self.get_params_for("module")}
        with seeded_torch(self._seeds()["init"], self._compute_device()):
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
        if classes is None:
            classes, _ = check_binary_target(y, estimator_name=type(self).__name__)
            self.classes_inferred_ = classes
        y = column_or_1d(y)
        unknown = np.setdiff1d(np.unique(y), classes)
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
        if len(dataset) % kwargs["batch_size"] == 1 and len(dataset) > 1:
            # A last batch of one case cannot train batch normalisation ("Expected more
            # than 1 value per channel"): small cohorts hit it. Drop it; the shuffle puts
            # that case in a full batch in the other epochs.
            kwargs.setdefault("drop_last", True)
        kwargs.setdefault("shuffle", True)
        if "generator" not in kwargs:
            kwargs["generator"] = torch.Generator().manual_seed(self._seeds()["loader"])
        return self.iterator_train(dataset, **kwargs)

    # -- training ---------------------------------------------------------------------------

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
        self._check_params()
        cases, codes = self._case_targets(X, y)
        self._fit_seeds_ = self._draw_seeds()
        net_input = self._net_input(cases, fitting=True)
        with skorch_device(self):
            return super().fit(net_input, codes, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training (from scratch if not yet initialised); accepts the case table."""
        if _is_case_table(X):
            if not self.__sklearn_is_fitted__():
                self._check_params()
                cases, y = self._case_targets(X, y)
                self._fit_seeds_ = self._draw_seeds()
                X = self._net_input(cases, fitting=True)
            else:
                cases, y = self._case_targets(X, y, classes=self.classes_inferred_)
                X = self._net_input(cases, fitting=False)
        with skorch_device(self):
            return super().partial_fit(X, y, classes=classes, **fit_params)

    def initialize(self):
        with skorch_device(self):
            return super().initialize()

    def initialize_for_inference(self):
        """Build what prediction needs (callbacks, module, criterion), not the optimizer.

        Used when a saved net is rebuilt (:func:`rdinet_sklearn.nn._state.restore_net`): the
        optimizer is not needed to predict, and creating the first torch optimizer of a
        process imports ``torch._dynamo`` (seconds). It is skorch's ``initialize`` with
        :meth:`initialize_optimizer` deferred; training creates the optimizer
        (:meth:`fit_loop`), so ``partial_fit`` continues with a fresh optimizer as after
        :meth:`initialize`.

        Returns
        -------
        self
        """
        self._defer_optimizer_ = True
        try:
            return self.initialize()
        finally:
            del self._defer_optimizer_

    def initialize_optimizer(self, *args, **kwargs):
        """skorch's optimizer, or none yet while :meth:`initialize_for_inference` runs."""
        if getattr(self, "_defer_optimizer_", False):
            self.optimizer_ = None
            return self
        return super().initialize_optimizer(*args, **kwargs)

    def load_params(self, *args, **kwargs):
        with skorch_device(self):
            return super().load_params(*args, **kwargs)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        if getattr(self, "optimizer_", None) is None:  # rebuilt for inference only
            with skorch_device(self):
                build_deferred_optimizer(self)
        seeds = self._seeds()
        transforms = resolve_augmentations(self.augmentation)
        device = self._compute_device()
        self._augmenter_ = (
            BatchAugmentation(transforms, seed=seeds["augment"], device=device)
            if transforms
            else None
        )
        fp16 = self._autocast_dtype(training=True) == torch.float16
        self._grad_scaler_ = torch.amp.GradScaler("cuda") if fp16 else None
        try:
            with seeded_torch(seeds["train"], device):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            self._augmenter_ = self._grad_scaler_ = None

    def _augment(self, x):
        augmenter = getattr(self, "_augmenter_", None)
        if augmenter is None:
            return x
        if isinstance(x, Mapping):
            return {**x, "volume": augmenter(x["volume"])} if "volume" in x else x
        return augmenter(x)

    def infer(self, x, **fit_params):
        """skorch's forward pass under autocast; training batches are augmented first."""
        training = self.module_.training
        x = to_tensor(x, device=self.device)
        if training:
            x = self._augment(x)
        with self._autocast(training=training):
            out = super().infer(x, **fit_params)
        return out.float() if torch.is_tensor(out) else out

    # -- prediction -------------------------------------------------------------------------

    def forward_iter(self, X, training=False, device="cpu"):
        with skorch_device(self):
            yield from super().forward_iter(X, training=training, device=device)

    def net_input(self, X):
        """What the fitted network reads for the case table ``X`` (no augmentation).

        Parameters
        ----------
        X : DataFrame or str
            The case table.

        Returns
        -------
        net_input : ndarray of shape (n_cases, channels, D, H, W) or dict
            The preprocessed volumes, or a dict of the ``module.forward`` keyword arguments
            (``{"volume": ..., "tabular": ...}`` for RDINet).
        """
        self._check_fitted()
        return self._net_input(self._check_cases(X), fitting=False)

    def _prediction_input(self, X):
        return self.net_input(X) if _is_case_table(X) else X

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
        features : ndarray of shape (n_cases, n_backbone_features)
        """
        self._check_fitted()
        dataset = self.get_dataset(self._prediction_input(X))
        device = self._compute_device()
        features = []
        with torch.no_grad():
            set_training(self, False)
            for batch in self.get_iterator(dataset, training=False):
                Xi = to_tensor(unpack_data(batch)[0], device=device)
                with self._autocast(training=False):
                    out = (
                        self.module_.features(**Xi)
                        if isinstance(Xi, Mapping)
                        else self.module_.features(Xi)
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


# The core's own signature too (subclasses get theirs from __init_subclass__).
expand_signature(VolumeNetClassifier, core=VolumeNetClassifier)
