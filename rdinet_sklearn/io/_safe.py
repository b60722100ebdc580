"""A model file format that is never unpickled: skops + safetensors + JSON + Parquet in a zip.

``joblib.dump`` files run code from the file when loaded, so they must only be loaded from
trusted sources. :func:`save` writes a fitted model (a Pipeline, a search, a single
estimator) as one zip archive that :func:`load` reads without pickle:

=========================  ==================================================================
``manifest.json``          format name and version, package versions (checked on load), and
                           for each skorch net its class, constructor parameters (classes as
                           dotted names) and training history
``model.skops``            the scikit-learn object tree (:mod:`skops.io`), each net and each
                           pandas object replaced by a small placeholder
``nets/<i>.safetensors``   the weights of net ``i`` (every module's and criterion's state)
``frames/<i>.parquet``     DataFrames/Series held by fitted estimators (e.g. ICC tables)
=========================  ==================================================================

On load, skops builds only types on its own allow-list (scikit-learn, numpy, scipy) plus
:data:`TRUSTED_TYPES` and those passed as ``trusted``; net parameters resolve only names on
the net allow-list (:func:`rdinet_sklearn.io._nets.trusted_objects`); weights and tables are
data-only formats. Anything else is refused with :class:`UntrustedModelError` before any
object is built, and a damaged or foreign file raises :class:`ModelFileError`.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
import zlib

import pandas as pd
import skops.io
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from .._versions import dependency_versions, warn_on_mismatch
from ..exceptions import RdinetInputError
from ._nets import UntrustedError, dotted_name, is_net, rebuild_net, split_net, trusted_objects
from ._tree import (
    SavedFrame,
    SavedNet,
    find_nodes,
    frame_to_table,
    is_frame,
    substitute,
    table_to_frame,
)
from ._versioned import read_versioned

FORMAT = "rdinet-sklearn-model"
FORMAT_VERSION = 1

TRUSTED_TYPES = (
    "rdinet_sklearn.io._tree.SavedFrame",
    "rdinet_sklearn.io._tree.SavedNet",
    "rdinet_sklearn.harmonization._combat.ComBatHarmonizer",
    "rdinet_sklearn.preprocessing._bias_field.BiasFieldCorrector",
    "rdinet_sklearn.preprocessing._normalizer.IntensityNormalizer",
    "rdinet_sklearn.preprocessing._resampler.Resampler",
    "rdinet_sklearn.preprocessing._resegmenter.Resegmenter",
    "rdinet_sklearn.radiomics._extractor.RadiomicsExtractor",
    "rdinet_sklearn.selection._lasso.LassoSelector",
    "rdinet_sklearn.selection._reproducibility.PerturbationReproducibilityFilter",
    "rdinet_sklearn.selection._reproducibility.ReproducibilityFilter",
    "rdinet_sklearn.selection._ttest.TTestSelector",
    "rdinet_sklearn.segmentation._grid.Box",
    "rdinet_sklearn.segmentation._segmenter.ROISegmenter",
    "rdinet_sklearn.volumes._crop.VolumeCropper",
    "rdinet_sklearn._folds.ClassCountStratifiedKFold",
    "imblearn.pipeline.Pipeline",
    "imblearn.over_sampling._smote.base.SMOTE",
    "imblearn.over_sampling._random_over_sampler.RandomOverSampler",
    "imblearn.under_sampling._prototype_selection._random_under_sampler.RandomUnderSampler",
    # scikit-learn 1.6-1.7 keep a ColumnTransformer's remainder columns in this list of
    # column names (gone in 1.8); skops does not trust it by default (found by .ci/lowest).
    "sklearn.compose._column_transformer._RemainderColsList",
    # A fitted CalibratedClassifierCV (the study's SVM) holds its calibrated classifiers in
    # these private helpers; skops does not trust them by default.
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # A fitted decision tree (each tree of a random forest) holds its nodes in this Cython
    # class. skops rebuilds it from its state arrays alone (its TreeNode loader), as its
    # documentation shows for trees; trusting this one name trusts no other type.
    "sklearn.tree._tree.Tree",
    # A fitted SimpleImputer (the study imputes missing clinical values) records its input
    # dtype; a dtype is built from its type code alone and runs no code of the file.
    "numpy.dtype",
)
"""Types beyond skops' defaults that :func:`load` builds without being told to."""


class ModelFileError(RdinetInputError):
    """The file is not a readable rdinet-sklearn model (damaged, truncated or foreign).

    Raised by :func:`load`; the message names the file and what is wrong with it.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> from rdinet_sklearn import io
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "notes.txt")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("not a model")
    >>> try:
    ...     io.load(path)
    ... except io.ModelFileError as err:
    ...     print(str(err).replace(path, "<path>"))
    <path>: not an rdinet-sklearn model file (File is not a zip file)
    >>> shutil.rmtree(folder)
    """


class UntrustedModelError(UntrustedError):
    """The file names types or functions that are not trusted; nothing was built.

    Raised by :func:`load`, before any object is built, when the file refers to classes or
    functions beyond skops' defaults, :data:`TRUSTED_TYPES` and ``trusted``. A subclass of
    :class:`UntrustedError`.

    Examples
    --------
    >>> import math, os, shutil, tempfile, textwrap
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from rdinet_sklearn import io
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "sqrt.model")
    >>> _ = io.save(FunctionTransformer(math.sqrt), path)
    >>> try:
    ...     io.load(path)
    ... except io.UntrustedModelError as err:
    ...     print(textwrap.fill(str(err).replace(path, "<path>"), 88))
    <path> holds types that are not trusted: ['math.sqrt']. Nothing was loaded. If you know
    where the file comes from and trust these types, pass them as load(path, trusted=[...]).
    >>> io.load(path, trusted=["math.sqrt"]).func is math.sqrt
    True
    >>> shutil.rmtree(folder)
    """


def _trusted_names(trusted):
    return {item if isinstance(item, str) else dotted_name(item) for item in trusted or ()}


def save(model, path, *, trusted=None):
    """Save a fitted model as a zip of skops, safetensors, JSON and Parquet (no pickle).

    Parameters
    ----------
    model : estimator
        Any fitted (or unfitted) scikit-learn estimator, Pipeline or search, including
        rdinet-sklearn's transformers and networks.
    path : str or path-like
        The file to write (written to a temporary name, then renamed into place).
    trusted : sequence of type or str, default=None
        Extra classes/functions the model's nets use (a custom ``module`` class, a callback)
        that are not on the default allow-list. :func:`load` needs the same list.

    Returns
    -------
    path : str
        The written file.

    Raises
    ------
    TypeError
        If a net parameter cannot be stored without pickle (e.g. a lambda, an object not on
        the allow-list).

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from rdinet_sklearn import io
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> path = io.save(model, os.path.join(tempfile.mkdtemp(), "model.rdinet"))
    >>> io.load(path).predict([[2.5]])
    array([1])
    """
    net_table = trusted_objects(trusted or ())
    nets = find_nodes(model, is_net)
    net_configs, net_tensors, replacements = [], [], {}
    for index, net in enumerate(nets):
        config, tensors, attributes = split_net(net, net_table)
        net_configs.append(config)
        net_tensors.append(tensors)
        replacements[id(net)] = SavedNet(index, attributes)
    tree = substitute(model, replacements)
    # Fitted attributes of the nets (now inside placeholders) may hold frames too.
    frames = find_nodes(tree, is_frame)
    tables, replacements = [], {}
    for index, frame in enumerate(frames):
        table, how = frame_to_table(frame)
        tables.append(table)
        replacements[id(frame)] = SavedFrame(index, **how)
    tree = substitute(tree, replacements)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_class": dotted_name(type(model)),
        "versions": dependency_versions(),
        "nets": net_configs,
        "n_frames": len(tables),
    }
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, partial = tempfile.mkstemp(dir=folder, suffix=".partial")
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, allow_nan=True))
            archive.writestr("model.skops", skops.io.dumps(tree))
            # Network weights (float32) and parquet (compressed itself) gain 0-7 % from
            # deflate, and inflating a ResNet's weights costs ~0.1 s per load: stored as is.
            for index, tensors in enumerate(net_tensors):
                archive.writestr(
                    f"nets/{index}.safetensors", save_tensors(tensors), zipfile.ZIP_STORED
                )
            for index, table in enumerate(tables):
                buffer = io.BytesIO()
                table.to_parquet(buffer)
                archive.writestr(f"frames/{index}.parquet", buffer.getvalue(), zipfile.ZIP_STORED)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def _read_manifest(archive, path):
    return read_versioned(
        _member(archive, "manifest.json", path),
        path,
        kind="model file",
        format=FORMAT,
        version=FORMAT_VERSION,
        error=ModelFileError,
    )


def _load_tree(data, path, trusted):
    try:
        found = skops.io.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises many types on a damaged archive
        raise ModelFileError(f"{path}: model.skops is damaged ({exc})") from exc
    allowed = set(TRUSTED_TYPES) | _trusted_names(trusted)
    refused = sorted(set(found) - allowed)
    if refused:
        raise UntrustedModelError(
            f"{path} holds types that are not trusted: {refused}. Nothing was loaded. If you "
            "know where the file comes from and trust these types, pass them as "
            "load(path, trusted=[...])."
        )
    try:
        return skops.io.loads(data, trusted=list(found))
    except Exception as exc:
        raise ModelFileError(f"{path}: model.skops cannot be loaded ({exc})") from exc


def _member(archive, name, path):
    try:
        return archive.read(name)
    except KeyError as exc:
        raise ModelFileError(f"{path}: {name} is missing") from exc
    # A bad CRC-32 or deflate stream, or a flipped byte in a member's compression method
    # (zipfile raises NotImplementedError for a method it does not know).
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError) as exc:
        raise ModelFileError(f"{path}: {name} is damaged ({exc})") from exc


def load(path, *, trusted=None):
    """Load a model written by :func:`save`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    trusted : sequence of type or str, default=None
        Types and functions to trust beyond skops' defaults, :data:`TRUSTED_TYPES` and the
        net allow-list (custom modules, callbacks, third-party estimators). Give only types
        you have reviewed: each may be built with data from the file.

    Returns
    -------
    model : estimator
        The model, predicting exactly as when saved. Nets are placed on ``device="auto"``'s
        choice here (a model trained on CUDA loads on a CPU-only machine).

    Raises
    ------
    UntrustedModelError
        If the file names types or functions not trusted (nothing is built).
    ModelFileError
        If the file is not a complete rdinet-sklearn model file.

    Warns
    -----
    VersionMismatchWarning
        If package versions differ from those recorded at save time.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import math, os, shutil, tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from rdinet_sklearn import io
    >>> folder = tempfile.mkdtemp()
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> path = io.save(model, os.path.join(folder, "model.rdinet"))
    >>> loaded = io.load(path)
    >>> loaded.predict([[0.5], [2.5]]), bool((loaded.coef_ == model.coef_).all())
    (array([0, 1]), True)

    A model that uses a function outside the allow-list loads only when it is trusted:

    >>> pipeline = make_pipeline(FunctionTransformer(math.sqrt), LogisticRegression())
    >>> path = io.save(pipeline, os.path.join(folder, "sqrt.rdinet"))
    >>> try:
    ...     io.load(path)
    ... except io.UntrustedModelError as err:
    ...     print("refused:", "math.sqrt" in str(err))
    refused: True
    >>> io.load(path, trusted=["math.sqrt"]).steps[0][1].func is math.sqrt
    True
    >>> shutil.rmtree(folder)
    """
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{path}: not an rdinet-sklearn model file ({exc})") from exc
    with archive:
        manifest = _read_manifest(archive, path)
        warn_on_mismatch(manifest.get("versions", {}), what=f"the model in {path}")
        tree = _load_tree(_member(archive, "model.skops", path), path, trusted)
        net_table = trusted_objects(trusted or ())
        replacements = {}
        for placeholder in find_nodes(tree, lambda n: isinstance(n, SavedNet | SavedFrame)):
            replacements[id(placeholder)] = (
                _load_net(archive, manifest, placeholder, net_table, path)
                if isinstance(placeholder, SavedNet)
                else _load_frame(archive, placeholder, path)
            )
    return substitute(tree, replacements)


def _load_net(archive, manifest, placeholder, net_table, path):
    configs = manifest.get("nets", [])
    if not 0 <= placeholder.index < len(configs):
        raise ModelFileError(f"{path}: net {placeholder.index} is not in the manifest")
    data = _member(archive, f"nets/{placeholder.index}.safetensors", path)
    try:
        tensors = load_tensors(data)
    except Exception as exc:  # safetensors raises its own error type on bad headers
        raise ModelFileError(f"{path}: weights of net {placeholder.index} are damaged") from exc
    try:
        return rebuild_net(configs[placeholder.index], tensors, placeholder.attributes, net_table)
    except UntrustedError as exc:
        raise UntrustedModelError(f"{path}: {exc}. Nothing was loaded.") from exc
    except (KeyError, RuntimeError, TypeError) as exc:  # missing/mismatched weights or params
        raise ModelFileError(f"{path}: net {placeholder.index} cannot be rebuilt ({exc})") from exc


def _load_frame(archive, placeholder, path):
    data = _member(archive, f"frames/{placeholder.index}.parquet", path)
    try:
        table = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types on damaged data
        raise ModelFileError(f"{path}: table {placeholder.index} is damaged ({exc})") from exc
    return table_to_frame(table, placeholder)
