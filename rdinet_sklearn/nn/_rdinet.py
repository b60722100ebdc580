"""RDINetClassifier: the 3D CNN + tabular fusion network as a scikit-learn classifier.

A thin subclass of the shared training core :class:`~rdinet_sklearn.nn.VolumeNetClassifier`
(cropping, caching, devices, mixed precision, seeds, augmentation, labels, pickling): it only
adds the tabular input (checked, standardised) and the RDINet module's parameters.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd

from rdinet_sklearn._sklearn_compat import Interval, StrOptions

from .._cases import tabular_columns
from ._base import VolumeNetClassifier
from ._params import FITTED_ATTRIBUTES, NET_PARAMETERS, TRAINING_PARAMETERS
from ._rdinet_module import FUSIONS, IMAGE_FUSIONS, TABULAR_FUSIONS, RDINetModule


class RDINetClassifier(VolumeNetClassifier):
    __doc__ = f"""RDINet: a 3D ResNet on ROI volumes fused with tabular (radiomics, clinical) data.

    ``fit`` takes a case table: the image and label-map paths come from ``image_column`` and
    ``mask_column`` (cropped, z-scored and resampled once per case, cached) and the other
    columns are the tabular inputs, by the rule of :func:`~rdinet_sklearn.tabular_columns`
    (numeric columns are inputs; text columns whose values are all distinct, such as patient
    ids or a second rater's paths, are left out; any other column must be encoded first). In
    a pipeline, a :class:`~sklearn.compose.ColumnTransformer` with
    ``set_output(transform="pandas")`` and the two path columns passed through builds that
    table (see Examples). The tabular features generate, per patient, the matrices that
    transform the image embedding (dynamic mapping, after Dynamic MLP); see
    :class:`~rdinet_sklearn.nn.RDINetModule` for the equations.

    Parameters
    ----------
{NET_PARAMETERS}\
    module : type, default=RDINetModule
        Torch module class; built with ``in_channels``, ``n_tabular``, the parameters below
        and any ``module__<name>`` parameter (which take precedence).
    fusion : {{"dynamic", "concat", "film", "image", "tabular"}}, default="dynamic"
        ``"dynamic"``: RDINet. ``"concat"``: late fusion of the two embeddings. ``"film"``:
        per-channel scale and shift of the last feature map from the tabular branch (DAFT
        style). ``"image"``: the CNN alone (tabular columns ignored). ``"tabular"``: the
        tabular MLP alone (no CNN, no volumes read).
    k : int, default=3
        Dynamic-mapping iterations.
    d : int, default=32
        Width of the image and tabular embeddings (see Notes for the choice).
    shared_weights : bool, default=False
        Share one set of dynamic-mapping parameters across the ``k`` iterations.
    tabular_hidden : int, default=64
        Hidden width of the 3-layer tabular MLP.
    mapping_hidden : int, default=32
        Hidden width of each weight generator (and of the FiLM generator).
    dropout : float, default=0.2
        Dropout of the fusion layers.
{TRAINING_PARAMETERS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}\
    tabular_features_in_ : ndarray of str
        The tabular columns seen in ``fit``, in the order the network reads them (empty for
        ``fusion="image"``).
    tabular_mean_, tabular_scale_ : ndarray of shape (n_tabular,)
        Training mean and standard deviation used to standardise the tabular inputs.
    module_ : RDINetModule
        The trained network.

    See Also
    --------
    rdinet_sklearn.nn.ResNet50Classifier : The image-only 3D CNN (same training core).
    rdinet_sklearn.explain.gradcam : Grad-CAM heat maps of the image branch.

    Notes
    -----
    Tabular inputs are standardised with the training mean and standard deviation inside
    the classifier (a no-op after a ``StandardScaler``), because the MLP's first layer is
    sensitive to raw clinical scales (ages, laboratory values).

    ``d=32`` is chosen for cohorts of ~150 patients: each weight generator costs about
    ``mapping_hidden * d**2`` weights (~33k at the defaults, ~0.26M at ``d=64``), and all of
    it is learnt from scratch from the training folds.

    Reference: Yang, L. et al. (2022), *Dynamic MLP for fine-grained image classification by
    leveraging geographical and temporal information*, CVPR.

    Examples
    --------
    >>> from rdinet_sklearn.nn import RDINetClassifier
    >>> rdinet = RDINetClassifier(roi=("MR", "LR"), k=3, depth=10, volume_size=(8, 24, 24))
    >>> rdinet.get_params()["k"], rdinet.get_params()["fusion"]
    (3, 'dynamic')
    """

    _parameter_constraints: dict = {
        **VolumeNetClassifier._parameter_constraints,
        "fusion": [StrOptions(set(FUSIONS))],
        "k": [Interval(Integral, 1, None, closed="left")],
        "d": [Interval(Integral, 1, None, closed="left")],
        "shared_weights": ["boolean"],
        "tabular_hidden": [Interval(Integral, 1, None, closed="left")],
        "mapping_hidden": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }
    _feature_prefix = "rdinet_feature_"

    def __init__(
        self,
        *args,
        module=RDINetModule,
        fusion="dynamic",
        k=3,
        d=32,
        shared_weights=False,
        tabular_hidden=64,
        mapping_hidden=32,
        dropout=0.2,
        **kwargs,
    ):
        super().__init__(*args, module=module, **kwargs)
        self.fusion = fusion
        self.k = k
        self.d = d
        self.shared_weights = shared_weights
        self.tabular_hidden = tabular_hidden
        self.mapping_hidden = mapping_hidden
        self.dropout = dropout

    # -- tabular input ----------------------------------------------------------------------

    def _fit_tabular_columns(self, cases):
        if self.fusion not in TABULAR_FUSIONS:
            return np.asarray([], dtype=object)
        numeric, categorical = tabular_columns(cases, exclude=(self.image_column, self.mask_column))
        if categorical:
            raise ValueError(
                f"RDINetClassifier reads the columns other than {self.image_column!r} and "
                f"{self.mask_column!r} as tabular inputs, and columns {categorical} are not "
                "numeric: encode them first (e.g. OneHotEncoder in a ColumnTransformer) or "
                "drop them."
            )
        if not numeric:
            raise ValueError(
                f"fusion={self.fusion!r} needs tabular inputs, but the case table has no "
                f"numeric column besides {self.image_column!r} and {self.mask_column!r}; add "
                "radiomics/clinical columns or use fusion='image'."
            )
        return np.asarray(numeric, dtype=object)

    def _tabular_array(self, cases):
        columns = list(self.tabular_features_in_)
        missing = [c for c in columns if c not in cases.columns]
        if missing:
            raise ValueError(
                f"tabular column(s) {missing} seen in fit are missing from the case table"
            )
        # Text in a column that is numeric by the NUMERIC_SHARE rule counts as not finite.
        values = cases[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            problems = [
                f"{columns[j]!r} in rows {cases.index[bad[:, j]].tolist()}"
                for j in np.flatnonzero(bad.any(axis=0))
            ]
            raise ValueError(
                "tabular inputs must be finite numbers; missing, infinite or text values in "
                + "; ".join(problems)
                + " (impute them first, e.g. with SimpleImputer)"
            )
        return values

    def _net_input(self, X, *, fitting):
        if fitting:
            self.tabular_features_in_ = self._fit_tabular_columns(X)
        net_input = {}
        if self.fusion in TABULAR_FUSIONS:
            tabular = self._tabular_array(X)
            if fitting:
                self.tabular_mean_ = tabular.mean(axis=0)
                scale = tabular.std(axis=0)
                self.tabular_scale_ = np.where(scale > 0, scale, 1.0)
            standardised = (tabular - self.tabular_mean_) / self.tabular_scale_
            net_input["tabular"] = standardised.astype(np.float32)
        if self.fusion in IMAGE_FUSIONS:
            net_input["volume"] = super()._net_input(X, fitting=fitting)
        elif fitting:
            # No volumes are read without a CNN, but the fitted cropper still records the
            # preprocessing contract (and is what the core checks for a fitted model).
            self.cropper_ = self._volume_cropper().fit(X)
        return net_input

    def _module_kwargs(self):
        tabular = getattr(self, "tabular_features_in_", None)
        return {
            **super()._module_kwargs(),
            "n_tabular": 0 if tabular is None else len(tabular),
            "fusion": self.fusion,
            "d": self.d,
            "k": self.k,
            "shared_weights": self.shared_weights,
            "tabular_hidden": self.tabular_hidden,
            "mapping_hidden": self.mapping_hidden,
            "dropout": self.dropout,
        }
