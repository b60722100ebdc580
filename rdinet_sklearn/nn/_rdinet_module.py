r"""The RDINet torch network: 3D ResNet image branch, tabular MLP and a fusion block.

``forward(volume, tabular)`` returns two logits. The ``fusion`` argument selects the model
and its ablations, so one class covers every configuration that the study compares:

========== ==================================================================== ============
fusion     head input :math:`z` (all of width ``d``)                            branches
========== ==================================================================== ============
"dynamic"  :math:`z_k`, ``k`` dynamic-mapping iterations from :math:`(z_0, q)`  image, tab.
"concat"   :math:`\mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}([z_0, q])))`            image, tab.
"film"     :math:`\mathrm{ReLU}(\mathrm{LN}(z_0))`, layer-4 map FiLM-modulated  image, tab.
"image"    :math:`\mathrm{ReLU}(\mathrm{LN}(z_0))`                              image
"tabular"  :math:`q`                                                            tabular
========== ==================================================================== ============
"""

from __future__ import annotations

from torch import nn

from ._backbone import build_resnet, load_pretrained, resnet_feature_dim
from ._fusion import ConcatFusion, DynamicMapping, FiLM

FUSIONS = ("dynamic", "concat", "film", "image", "tabular")
"""Accepted values of ``fusion``."""

IMAGE_FUSIONS = frozenset({"dynamic", "concat", "film", "image"})
"""Configurations that use the 3D CNN."""

TABULAR_FUSIONS = frozenset({"dynamic", "concat", "film", "tabular"})
"""Configurations that use the tabular inputs."""


def _tabular_mlp(n_tabular, hidden, d, dropout):
    """The medical-feature extractor: three ``FC -> LN -> ReLU`` layers, the last of width d."""
    widths = [n_tabular, hidden, hidden, d]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers += [nn.Linear(n_in, n_out), nn.LayerNorm(n_out), nn.ReLU()]
        if i < 2:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class RDINetModule(nn.Module):
    r"""RDINet: a 3D CNN whose image embedding is transformed by weights the tabular data generate.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input volume (2 for split orbits).
    n_tabular : int, default=0
        Number of tabular inputs (radiomics + clinical); must be positive unless
        ``fusion="image"``.
    fusion : {"dynamic", "concat", "film", "image", "tabular"}, default="dynamic"
        Fusion of the two branches, or a single-branch ablation (see the module table).
    depth : {10, 18, 34, 50, 101, 152, 200}, default=50
        Depth of the MONAI 3D ResNet backbone.
    pretrained : str or path-like, default=None
        Local state dict for the backbone (e.g. MedicalNet).
    d : int, default=32
        Width of the image embedding :math:`z` and of the tabular embedding :math:`q`.
    k : int, default=3
        Dynamic-mapping iterations.
    shared_weights : bool, default=False
        Whether the ``k`` iterations share one set of parameters.
    tabular_hidden : int, default=64
        Hidden width of the tabular MLP.
    mapping_hidden : int, default=32
        Hidden width of each weight generator (and of the FiLM generator).
    dropout : float, default=0.2
        Dropout in the tabular MLP, after each iteration and before the head.
    n_classes : int, default=2
        Number of logits.
    conv1_stride, widen_factor : default=2, 1.0
        Backbone options, see :func:`~rdinet_sklearn.nn.build_resnet`.

    Attributes
    ----------
    feature_dim : int
        Width of :meth:`features` (``d``).
    pretrained_report : dict or None
        What did not match when loading ``pretrained``.

    Notes
    -----
    Image branch: the backbone's globally pooled features :math:`f` are projected,
    :math:`z_0 = \mathrm{FC}(f) \in \mathbb{R}^d`. Medical-feature extractor: a 3-layer MLP,
    :math:`q = \mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}(\cdot)))^{\circ 3}(x_{tab}) \in
    \mathbb{R}^d`. Dynamic mapping (after Dynamic MLP, Yang et al., CVPR 2022), for
    :math:`i = 0, \dots, k-1`:

    .. math::

        W_i &= \operatorname{reshape}_{d\times d}\big(
               \mathrm{FC}(\mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}(q))))\big) \\
        z_m &= \mathrm{ReLU}(\mathrm{LN}(z_i W_i)) + z_i \\
        z_{i+1} &= \mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}(z_m)))

    and the logits are :math:`\mathrm{FC}(\mathrm{Dropout}(z_k))`. The RDINet paper does not
    publish these equations in full; this is our reconstruction, with its open choices as
    parameters.

    Defaults, for cohorts of ~150 patients: each weight generator costs about
    ``mapping_hidden * d**2`` weights, so ``d=32, mapping_hidden=32`` gives ~33k per
    iteration (~0.1M for ``k=3``), the same order as the projection ``FC(f)`` itself
    (``16k`` from ResNet-10's 512 features), whereas ``d=64, mapping_hidden=64`` would
    need ~0.26M per iteration, learnt from scratch from ~120 training patients. Separate
    weights per iteration (``shared_weights=False``) follow Dynamic MLP's stacked blocks;
    sharing them divides the fusion's size by ``k``. Dropout 0.2 is a mild regulariser for
    such small cohorts.

    References
    ----------
    Yang, L. et al. (2022). Dynamic MLP for fine-grained image classification by leveraging
    geographical and temporal information. CVPR.
    Perez, E. et al. (2018). FiLM: Visual reasoning with a general conditioning layer. AAAI.
    Pölsterl, S. et al. (2021). Combining 3D image and tabular data via the dynamic affine
    feature map transform (DAFT). MICCAI.

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn._rdinet_module import RDINetModule
    >>> net = RDINetModule(n_tabular=5, fusion="tabular", d=8).eval()
    >>> tuple(net(tabular=torch.zeros(3, 5)).shape)
    (3, 2)
    """

    def __init__(
        self,
        in_channels=1,
        n_tabular=0,
        fusion="dynamic",
        depth=50,
        pretrained=None,
        d=32,
        k=3,
        shared_weights=False,
        tabular_hidden=64,
        mapping_hidden=32,
        dropout=0.2,
        n_classes=2,
        conv1_stride=2,
        widen_factor=1.0,
    ):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if fusion in TABULAR_FUSIONS and n_tabular < 1:
            raise ValueError(f"fusion={fusion!r} needs tabular inputs, got n_tabular={n_tabular}")
        self.fusion = fusion
        self.feature_dim = d
        self.pretrained_report = None
        map_channels = resnet_feature_dim(depth, widen_factor)  # layer 4's channels, pooled
        if fusion in IMAGE_FUSIONS:
            self.backbone = build_resnet(
                depth, in_channels=in_channels, conv1_stride=conv1_stride, widen_factor=widen_factor
            )
            if pretrained is not None:
                self.pretrained_report = load_pretrained(self.backbone, pretrained)
            self.projection = nn.Linear(map_channels, d)
        if fusion in TABULAR_FUSIONS:
            self.tabular_mlp = _tabular_mlp(n_tabular, tabular_hidden, d, dropout)
        if fusion == "dynamic":
            self.fuse = DynamicMapping(
                d, d, mapping_hidden, k=k, shared_weights=shared_weights, dropout=dropout
            )
        elif fusion == "concat":
            self.fuse = ConcatFusion(d, d)
        elif fusion in ("film", "image"):
            self.fuse = nn.Sequential(nn.LayerNorm(d), nn.ReLU())
        if fusion == "film":
            self.film = FiLM(map_channels, d, mapping_hidden)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(d, n_classes))

    def _feature_map(self, volume):
        """The backbone's last feature map (before pooling).

        MONAI's ResNet.forward pools at once; running its stages here exposes layer 4's
        output to FiLM (and to Grad-CAM hooks on ``backbone.layer4``).
        """
        net = self.backbone
        x = net.act(net.bn1(net.conv1(volume)))
        if not net.no_max_pool:
            x = net.maxpool(x)
        return net.layer4(net.layer3(net.layer2(net.layer1(x))))

    def features(self, volume=None, tabular=None):
        """The embedding the head classifies, shape (n, d)."""
        name = self.fusion
        if name in IMAGE_FUSIONS and volume is None:
            raise ValueError(f"fusion={name!r} needs the 'volume' input")
        if name in TABULAR_FUSIONS and tabular is None:
            raise ValueError(f"fusion={name!r} needs the 'tabular' input")
        q = self.tabular_mlp(tabular) if name in TABULAR_FUSIONS else None
        if name == "tabular":
            return q
        feature_map = self._feature_map(volume)
        if name == "film":
            feature_map = self.film(feature_map, q)
        z0 = self.projection(self.backbone.avgpool(feature_map).flatten(1))
        if name in ("dynamic", "concat"):
            return self.fuse(z0, q)
        return self.fuse(z0)

    def forward(self, volume=None, tabular=None):
        return self.head(self.features(volume, tabular))
