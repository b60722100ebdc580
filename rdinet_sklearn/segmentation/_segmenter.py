"""ROISegmenter: a 3D segmentation network as a case-table transformer, trained in fit.

``fit`` learns a box (the union of the training masks' extents), resamples each training
image to a small grid over it and trains a MONAI UNet on the structures in ``labels``;
``transform`` predicts a label map per case, writes it (content-keyed, atomically) and hands
on the case table with ``mask`` pointing at the predicted maps. Inside a scikit-learn
``Pipeline`` each cross-validation fold's segmenter is trained on that fold's training cases
only.

The trained network is a function of the training files' content and the parameters, so it
is cached on that key: in the process (the last few networks) and, with ``memory``, on disk
through :class:`joblib.Memory`. A grid search over later steps, or a second
``cross_val_score`` over the same folds, reuses each fold's network instead of retraining.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._cache import LRUCache, case_file_digest, resolve_memory
from .._cases import DEFAULT_LABELS, read_case_table
from .._imaging import label_array, read_image, write_image
from .._paths import path_inside, safe_filename
from .._sklearn_compat import HasMethods, Interval, StrOptions, fit_context
from .._versions import _VersionStampMixin
from ..exceptions import RdinetInputError
from ..nn._skorch_adapter import resolve_device
from ._grid import Box, learn_box, orientation_code
from ._predict import predict_label_map, small_structures
from ._training import TRAINING_VERSION, fit_network, foreground
from ._weights import SegmenterWeightsError, check_saved, load_weights, save_weights

_NETWORKS = LRUCache(max_entries=8)
"""Trained networks of this process, keyed on the training files' digests and parameters."""


class MissingStructureWarning(UserWarning):
    """Some training masks lack a structure; those patients were left out of training.

    Examples
    --------
    >>> import warnings
    >>> from rdinet_sklearn.segmentation import MissingStructureWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", MissingStructureWarning)
    ...     warnings.warn("filtered", MissingStructureWarning)
    """


class SmallStructureWarning(UserWarning):
    """A predicted structure is below ``min_volume``; the case is flagged in the output.

    Examples
    --------
    >>> import warnings
    >>> from rdinet_sklearn.segmentation import SmallStructureWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", SmallStructureWarning)
    ...     warnings.warn("filtered", SmallStructureWarning)
    """


_MASK_FOLDER = {}


def _default_mask_folder():
    """One temporary folder per process for predicted masks when ``memory`` is None."""
    if "path" not in _MASK_FOLDER:
        _MASK_FOLDER["path"] = tempfile.mkdtemp(prefix="rdinet-masks-")
        atexit.register(shutil.rmtree, _MASK_FOLDER["path"], True)
    return _MASK_FOLDER["path"]


def _fingerprint(state, box, extra):
    """Digest of a fitted network and everything that shapes its masks."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(state[name]).tobytes())
    digest.update(repr((sorted(box.as_dict().items()), extra)).encode())
    return digest.hexdigest()


class ROISegmenter(_VersionStampMixin, TransformerMixin, BaseEstimator):
    """Segment the structures of each case with a 3D UNet trained on the training cases.

    Parameters
    ----------
    labels : dict of str to int, default=None
        The structures to segment, name to label value (the values of the manual masks
        and of the predicted ones); ``None`` means the four recti
        ``{"IR": 1, "SR": 2, "MR": 3, "LR": 4}``.
    grid_size : tuple of 3 int, default=(20, 48, 96)
        The network's grid (slices, rows, columns) over the box; each must be divisible by
        ``2 ** (len(channels) - 1)``. Smaller is faster and coarser. The default keeps the
        synthetic cohort's slices at about their own spacing (the box spans about 20 of
        them) and gives about 1 mm in plane.
    margin : float, default=5.0
        Millimetres added on each side of the learned box.
    channels : tuple of int, default=(8, 16, 32)
        UNet feature channels per level (one stride-2 step between levels).
    max_epochs : int, default=30
        Training epochs.
    lr : float, default=1e-2
        Adam's initial learning rate, decayed to zero along a cosine over ``max_epochs``.
    batch_size : int, default=2
        Training cases per step.
    keep_components : int, default=2
        Connected components kept per structure in a predicted map (largest first): 2 for
        bilateral structures (one muscle per orbit), 1 for a single organ.
    min_volume : float, default=20.0
        Predicted structures smaller than this many mm^3 (absent ones included) flag their
        case in ``flag_column`` and raise a :class:`SmallStructureWarning`. With
        ``keep_components`` > 1 each kept component must reach it, so a bilateral structure
        predicted on one side only is flagged, as ``"MR (412.0 + 0.0 mm3)"``.
    weights : str or path-like, default=None
        A file written by :meth:`save_weights` (or a UNet ``state_dict`` saved with
        ``torch.save``) to use instead of training. Never downloaded: a local file only.
    memory : None, str or joblib.Memory, default=None
        Disk cache of trained networks (keyed on the training files' content and the
        parameters) and folder of the predicted masks (``<location>/rdinet_segmenter/``).
        ``None``: networks are cached in the process only, masks go to a temporary folder
        removed when the process exits.
    image_column, mask_column : str, default="image", "mask"
        Case-table columns of the image and label-map paths; ``transform`` points
        ``mask_column`` at the predicted maps.
    manual_mask_column : str, default="mask_manual"
        Where ``transform`` keeps the case table's own ``mask_column`` (when it has one).
    flag_column : str or None, default="segmentation_flag"
        Column naming each case's structures below ``min_volume`` (empty text when none);
        ``None`` leaves it out (the warning is still raised). Use ``None`` in a pipeline
        whose next step reads every other column as a feature (``RDINetClassifier``
        directly after the segmenter): a flag is no clinical feature.
    device : str, default="auto"
        Torch device; ``"auto"`` takes a GPU when one is visible.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Mixed precision, as the classifiers' (``"auto"``: bfloat16 on a GPU that has it).
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initial weights and the batch order.

    Attributes
    ----------
    structures_ : dict of str to int
        The segmented structures, in class order.
    box_ : Box
        The learned box (fractions of the field of view) and orientation.
    network_state_ : dict of str to ndarray
        The trained UNet's weights.
    training_rows_ : list
        The case-table rows the network was trained on (those with every structure).
    epoch_seconds_ : list of float
        Wall time of each training epoch (empty when the network came from a cache or a
        weights file).

    See Also
    --------
    rdinet_sklearn.radiomics.RadiomicsExtractor : Features of the predicted ROIs.

    Notes
    -----
    Per case: the image is reoriented to the first training image's orientation, cropped to
    the learned box plus ``margin``, resampled (linear) to ``grid_size`` and z-scored over the
    grid. The network's class probabilities are resampled back onto the image's own grid
    (linear, background outside the box), the most probable class is taken, and each
    structure keeps its ``keep_components`` largest face-connected components. Training
    minimises Dice + cross-entropy (MONAI's ``DiceCELoss``) with Adam against each
    structure's fraction of every grid voxel (its mask resampled linearly), each training
    volume under a random gain per structure and a random gain and offset of the whole
    volume. Images whose field of
    view differs from every training image's by more than a factor 1.5 on an axis are
    refused by name. Training patients whose manual mask lacks a structure are left out,
    with a :class:`MissingStructureWarning` naming them.

    The trained network is cached on the training files' content and the parameters (an
    int ``random_state`` is needed for a cache hit), so refitting on the same cases returns
    the same network at once.

    Examples
    --------
    >>> import shutil, tempfile
    >>> import SimpleITK as sitk
    >>> from rdinet_sklearn import ROISegmenter
    >>> from rdinet_sklearn.datasets import make_ted_cohort
    >>> folder = tempfile.mkdtemp()
    >>> cases, y = make_ted_cohort(4, folder, shape=(8, 48, 96), random_state=0)
    >>> segmenter = ROISegmenter(
    ...     labels={"MR": 3, "LR": 4}, grid_size=(8, 16, 32), channels=(4, 8),
    ...     max_epochs=2, memory=folder, random_state=0,
    ... )
    >>> auto = segmenter.fit_transform(cases)
    >>> auto["mask_manual"].equals(cases["mask"]), auto["mask"].iloc[0].endswith(".nii.gz")
    (True, True)
    >>> predicted = sitk.ReadImage(auto["mask"].iloc[0])
    >>> image = sitk.ReadImage(cases["image"].iloc[0])
    >>> predicted.GetSize() == image.GetSize(), predicted.GetOrigin() == image.GetOrigin()
    (True, True)
    >>> shutil.rmtree(folder)
    """

    _parameter_constraints: dict = {
        "labels": [dict, None],
        "grid_size": [tuple, list],
        "margin": [Interval(Real, 0, None, closed="left")],
        "channels": [tuple, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "keep_components": [Interval(Integral, 1, None, closed="left")],
        "min_volume": [Interval(Real, 0, None, closed="left")],
        "weights": [None, str, os.PathLike],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "image_column": [str],
        "mask_column": [str],
        "manual_mask_column": [str],
        "flag_column": [str, None],
        "device": [str],
        "precision": [StrOptions({"auto", "fp32", "bf16", "fp16"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        labels=None,
        *,
        grid_size=(20, 48, 96),
        margin=5.0,
        channels=(8, 16, 32),
        max_epochs=30,
        lr=1e-2,
        batch_size=2,
        keep_components=2,
        min_volume=20.0,
        weights=None,
        memory=None,
        image_column="image",
        mask_column="mask",
        manual_mask_column="mask_manual",
        flag_column="segmentation_flag",
        device="auto",
        precision="auto",
        random_state=None,
    ):
        self.labels = labels
        self.grid_size = grid_size
        self.margin = margin
        self.channels = channels
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.keep_components = keep_components
        self.min_volume = min_volume
        self.weights = weights
        self.memory = memory
        self.image_column = image_column
        self.mask_column = mask_column
        self.manual_mask_column = manual_mask_column
        self.flag_column = flag_column
        self.device = device
        self.precision = precision
        self.random_state = random_state

    # -- parameters -------------------------------------------------------------------------

    def _structures(self):
        labels = DEFAULT_LABELS if self.labels is None else self.labels
        if not labels or not all(
            isinstance(k, str) and isinstance(v, Integral) and v > 0 for k, v in labels.items()
        ):
            raise ValueError(f"labels must map names to positive ints, got {labels!r}")
        if len(set(labels.values())) != len(labels):
            raise ValueError(f"labels must give each structure its own value, got {labels!r}")
        return {name: int(value) for name, value in labels.items()}

    def _check_shapes(self):
        channels, size = tuple(self.channels), tuple(self.grid_size)
        if len(channels) < 2 or not all(isinstance(c, Integral) and c > 0 for c in channels):
            raise ValueError(f"channels must be 2 or more positive ints, got {channels}")
        step = 2 ** (len(channels) - 1)
        if len(size) != 3 or not all(isinstance(v, Integral) and v > 0 for v in size):
            raise ValueError(f"grid_size must be 3 positive ints (slices, rows, cols), got {size}")
        if any(v % step for v in size):
            raise ValueError(
                f"grid_size {size} must be divisible by {step} on every axis "
                f"(2 ** (len(channels) - 1), for the UNet's {len(channels) - 1} down-steps)"
            )

    def _settings(self):
        return {
            "grid_size": tuple(int(v) for v in self.grid_size),
            "margin": float(self.margin),
            "channels": tuple(int(v) for v in self.channels),
            "max_epochs": int(self.max_epochs),
            "lr": float(self.lr),
            "batch_size": int(self.batch_size),
            "precision": self.precision,
            "device": self.device,
        }

    # -- fit --------------------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on the cases' images and manual masks (or load ``weights``).

        Parameters
        ----------
        X : DataFrame or str
            The case table (``image_column`` and ``mask_column``), or a CSV path. With
            ``weights`` from :meth:`save_weights`, masks are not needed.
        y : None
            Ignored.

        Returns
        -------
        self : ROISegmenter
        """
        self._check_shapes()
        structures = self._structures()
        self._autocast_check()
        table = read_case_table(X)
        self.structures_ = structures
        self.epoch_seconds_ = []
        if self.weights is not None:
            self._load_weights(table)
        else:
            self._train(table)
        self.fingerprint_ = _fingerprint(
            self.network_state_, self.box_, (structures, self._settings()["grid_size"])
        )
        return self

    def _autocast_check(self):
        if self.precision == "fp16" and resolve_device(self.device) == "cpu":
            raise ValueError(
                "ROISegmenter(precision='fp16') trains on CUDA only (fp16 gradients need a "
                "GPU's gradient scaler); use precision='bf16' or 'fp32' on the CPU"
            )

    def _check_columns(self, table, columns):
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise RdinetInputError(
                f"ROISegmenter: the case table lacks column(s) {missing} "
                f"(it has {list(table.columns)})"
            )
        if len(table) == 0:
            raise RdinetInputError("ROISegmenter: the case table has no rows")

    def _complete_rows(self, table, structures):
        """Rows whose manual mask holds every structure; warn naming the others."""
        complete, incomplete = [], []
        for row, entry in table.iterrows():
            path = entry[self.mask_column]
            mask = read_image(path, row=row, column=self.mask_column)
            present = set(np.unique(label_array(mask, row=row, path=path)).tolist())
            absent = [name for name, value in structures.items() if value not in present]
            (incomplete.append((row, path, absent)) if absent else complete.append(row))
        if incomplete:
            listing = "; ".join(
                f"row {row!r} lacks {', '.join(names)} ({path})" for row, path, names in incomplete
            )
            if not complete:
                raise RdinetInputError(
                    f"ROISegmenter: no training mask holds every structure of "
                    f"{structures}: {listing}"
                )
            warnings.warn(
                f"ROISegmenter trains on {len(complete)} of {len(table)} cases; left out "
                f"(their masks lack structures): {listing}",
                MissingStructureWarning,
                stacklevel=3,
            )
        return complete

    def _train(self, table):
        self._check_columns(table, [self.image_column, self.mask_column])
        rows = self._complete_rows(table, self.structures_)
        used = table.loc[rows]
        digests = [
            (
                case_file_digest(e[self.image_column], row=r, column=self.image_column),
                case_file_digest(e[self.mask_column], row=r, column=self.mask_column),
            )
            for r, e in used.iterrows()
        ]
        # the device is not part of the key: a network trained on a GPU serves a CPU too;
        # the training code's version is (joblib's own check sees fit_network's code only)
        settings = {k: v for k, v in self._settings().items() if k != "device"}
        settings["training_version"] = TRAINING_VERSION
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        key = (tuple(digests), tuple(self.structures_.items()), repr(settings), seed)
        result = _NETWORKS.get(key)
        if result is None:
            cached_fit = resolve_memory(self.memory).cache(
                fit_network, ignore=["images", "masks", "rows", "columns", "device"]
            )
            args = (digests, self.structures_, settings, seed)
            kwargs = {
                "images": list(used[self.image_column]),
                "masks": list(used[self.mask_column]),
                "rows": list(used.index),
                "columns": (self.image_column, self.mask_column),
                "device": self.device,
            }
            trained = not cached_fit.check_call_in_cache(*args, **kwargs)
            result = cached_fit(*args, **kwargs)
            if trained:
                self.epoch_seconds_ = list(result["epoch_seconds"])
            _NETWORKS.put(key, result)
        self.network_state_ = result["state"]
        self.box_ = Box.from_dict(result["box"])
        self.training_rows_ = list(rows)

    # -- weights ----------------------------------------------------------------------------

    def save_weights(self, path):
        """Write the trained network, its box and structures to ``path`` (atomically).

        Parameters
        ----------
        path : str or path-like
            The file; load it with ``ROISegmenter(weights=path)``.

        Returns
        -------
        path : pathlib.Path
        """
        check_is_fitted(self)
        settings = self._settings()
        save_weights(
            path,
            state=self.network_state_,
            box=self.box_,
            structures=self.structures_,
            grid_size=settings["grid_size"],
            channels=settings["channels"],
        )
        return Path(path)

    def _load_weights(self, table):
        state, saved = load_weights(self.weights)
        if saved is not None:
            settings = self._settings()
            own = {
                "structures": self.structures_,
                "grid_size": settings["grid_size"],
                "channels": settings["channels"],
            }
            check_saved(saved, own, os.fspath(self.weights))
            box = Box.from_dict(saved["box"])
            self.training_rows_ = []
        else:  # a bare UNet state_dict trained elsewhere: the box comes from X's masks
            self._check_columns(table, [self.image_column, self.mask_column])
            self.training_rows_ = self._complete_rows(table, self.structures_)
            box = self._box_from_masks(table.loc[self.training_rows_])
        self.network_state_, self.box_ = state, box
        self._network(path=os.fspath(self.weights))  # the state must fit the architecture

    def _box_from_masks(self, table):
        values = list(self.structures_.values())
        masks, orientation = [], None
        for row, entry in table.iterrows():
            mask = read_image(entry[self.mask_column], row=row, column=self.mask_column)
            orientation = orientation or orientation_code(mask)
            masks.append(foreground(mask, values))
        return learn_box(masks, orientation)

    def _network(self, path=None):
        from ._network import load_network

        try:
            return load_network(
                self.network_state_,
                len(self.structures_) + 1,
                self._settings()["channels"],
                resolve_device(self.device),
            )
        except RuntimeError as exc:  # missing, extra or misshapen tensors
            source = f"weights file {path!r}" if path else "network_state_ (damaged or edited)"
            raise SegmenterWeightsError(
                f"ROISegmenter: {source} does not fit a UNet with "
                f"channels={self._settings()['channels']} and {len(self.structures_)} "
                f"structures ({str(exc).splitlines()[0]})"
            ) from exc

    # -- transform --------------------------------------------------------------------------

    def _mask_folder(self):
        location = getattr(resolve_memory(self.memory), "location", None)
        root = _default_mask_folder() if location is None else location
        # the masks also depend on the post-processing, which set_params may change
        key = hashlib.blake2b(
            repr((self.fingerprint_, int(self.keep_components), float(self.margin))).encode(),
            digest_size=8,
        ).hexdigest()
        return path_inside(root, "rdinet_segmenter", key)

    def transform(self, X):
        """Predict (or fetch) each case's label map; point ``mask_column`` at it.

        Parameters
        ----------
        X : DataFrame or str
            The case table (``image_column``; masks are not needed), or a CSV path.

        Returns
        -------
        cases : DataFrame
            A copy of the case table: ``mask_column`` holds the predicted maps' paths, the
            former ``mask_column`` is under ``manual_mask_column`` (when there was one),
            and ``flag_column`` names structures below ``min_volume``.
        """
        check_is_fitted(self)
        table = read_case_table(X)
        self._check_columns(table, [self.image_column])
        folder = self._mask_folder()
        settings = {
            **self._settings(),
            "device": resolve_device(self.device),
            "label_values": list(self.structures_.values()),
            "keep_components": int(self.keep_components),
        }
        network, paths, flags = None, [], []
        for row, entry in table.iterrows():
            image_path = entry[self.image_column]
            digest = case_file_digest(image_path, row=row, column=self.image_column)
            path = path_inside(folder, f"{safe_filename(row)}-{digest[:12]}.nii.gz")
            if path.exists():
                labels = read_image(path, row=row, column=self.mask_column)
            else:
                network = network or self._network()
                image = read_image(image_path, row=row, column=self.image_column)
                where = {"row": row, "column": self.image_column, "path": image_path}
                labels = predict_label_map(network, image, self.box_, settings, where=where)
                write_image(labels, path)
            paths.append(str(path))
            small = small_structures(
                labels, self.structures_, self.min_volume, parts=self.keep_components
            )
            flags.append(", ".join(small))
        out = table.copy()
        if self.mask_column in table.columns:
            out[self.manual_mask_column] = table[self.mask_column]
        out[self.mask_column] = paths
        if self.flag_column is not None:
            out[self.flag_column] = flags
        flagged = [f"row {r!r}: {f}" for r, f in zip(table.index, flags, strict=True) if f]
        if flagged:
            where = f" (flagged in {self.flag_column!r})" if self.flag_column else ""
            warnings.warn(
                f"ROISegmenter: predicted structures below min_volume={self.min_volume} "
                f"mm3{where}: {'; '.join(flagged)}",
                SmallStructureWarning,
                stacklevel=2,
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = []  # a case table, whatever the input
        return tags
