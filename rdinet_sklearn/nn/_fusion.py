"""Torch fusion blocks: dynamic mapping (RDINet), late concatenation and FiLM.

Each block combines an image embedding (a vector ``z`` or a feature map) with the tabular
embedding ``q`` produced by the medical-feature extractor. They are independent of the
backbone and of skorch, so they can be tested and reused on their own.

Dynamic mapping follows the idea of Dynamic MLP (Yang et al., CVPR 2022): the tabular
embedding does not sit *beside* the image features, it *generates the weights* that
transform them, one matrix per patient. The published RDINet description leaves the exact
layer order open; :class:`DynamicMappingIteration` documents the reconstruction used here.
"""

from __future__ import annotations

import torch
from torch import nn


def _norm_relu(width):
    """``ReLU(LN(.))``, the normalised activation used after every linear map in this module."""
    return [nn.LayerNorm(width), nn.ReLU()]


class DynamicMappingIteration(nn.Module):
    r"""One dynamic-mapping iteration: ``(z_i, q) -> (z_{i+1}, q)``.

    Parameters
    ----------
    d : int
        Width of the image embedding ``z``.
    d_q : int
        Width of the tabular embedding ``q``.
    hidden : int
        Hidden width of the weight generator.
    dropout : float, default=0.0
        Dropout probability on the iteration's output.

    Notes
    -----
    With :math:`z_i \in \mathbb{R}^{d}` and :math:`q \in \mathbb{R}^{d_q}` for one patient,

    .. math::

        W_i &= \operatorname{reshape}_{d\times d}\big(
               \mathrm{FC}(\mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}(q))))\big) \\
        \tilde z &= z_i W_i \\
        z_m &= \mathrm{ReLU}(\mathrm{LN}(\tilde z)) + z_i \\
        z_{i+1} &= \mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}(z_m)))

    The generator costs about ``hidden * d**2`` weights (its last layer dominates). Its last
    layer starts at zero weights and an identity bias, so :math:`W_i = I` for every patient
    at initialisation (Dynamic MLP uses PyTorch's default initialisation; see the comment in
    ``__init__`` for why we depart from it).

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn._fusion import DynamicMappingIteration
    >>> block = DynamicMappingIteration(d=8, d_q=4, hidden=16)
    >>> z, q = block(torch.zeros(3, 8), torch.ones(3, 4))
    >>> tuple(z.shape), tuple(q.shape)
    ((3, 8), (3, 4))
    """

    def __init__(self, d, d_q, hidden, dropout=0.0):
        super().__init__()
        self.d = d
        self.generator = nn.Sequential(
            nn.Linear(d_q, hidden), *_norm_relu(hidden), nn.Linear(hidden, d * d)
        )
        # Start every W_i at the identity (zero weights, identity bias): the iteration is
        # then an image-only residual MLP, and the tabular data bend W_i away from I only as
        # far as the gradients justify. With default initialisation the random W_i(q)
        # scramble z_0 and, on small cohorts, the easier-to-fit tabular branch dominates.
        nn.init.zeros_(self.generator[-1].weight)
        with torch.no_grad():
            self.generator[-1].bias.copy_(torch.eye(d).flatten())
        self.mapped_norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, d), *_norm_relu(d), nn.Dropout(dropout))

    def forward(self, z, q):
        weights = self.generator(q).view(-1, self.d, self.d)
        mapped = torch.bmm(z.unsqueeze(1), weights).squeeze(1)
        merged = torch.relu(self.mapped_norm(mapped)) + z
        return self.mlp(merged), q


class DynamicMapping(nn.Module):
    r"""``k`` dynamic-mapping iterations; returns :math:`z_k`.

    Parameters
    ----------
    d, d_q, hidden, dropout
        As for :class:`DynamicMappingIteration`.
    k : int, default=3
        Number of iterations.
    shared_weights : bool, default=False
        If True, one iteration's parameters are applied ``k`` times (a recurrent refinement);
        if False each iteration has its own.

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn._fusion import DynamicMapping
    >>> fusion = DynamicMapping(d=8, d_q=4, hidden=16, k=2)
    >>> tuple(fusion(torch.zeros(3, 8), torch.ones(3, 4)).shape)
    (3, 8)
    """

    def __init__(self, d, d_q, hidden, *, k=3, shared_weights=False, dropout=0.0):
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.shared_weights = shared_weights
        n_distinct = 1 if shared_weights else k
        self.iterations = nn.ModuleList(
            DynamicMappingIteration(d, d_q, hidden, dropout) for _ in range(n_distinct)
        )

    def forward(self, z, q):
        for step in range(self.k):
            z, q = self.iterations[0 if self.shared_weights else step](z, q)
        return z


class ConcatFusion(nn.Module):
    r"""Late fusion: :math:`z = \mathrm{ReLU}(\mathrm{LN}(\mathrm{FC}([z_0, q])))`.

    Parameters
    ----------
    d : int
        Width of the image embedding and of the output.
    d_q : int
        Width of the tabular embedding.

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn._fusion import ConcatFusion
    >>> tuple(ConcatFusion(8, 4)(torch.zeros(3, 8), torch.ones(3, 4)).shape)
    (3, 8)
    """

    def __init__(self, d, d_q):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(d + d_q, d), *_norm_relu(d))

    def forward(self, z, q):
        return self.mlp(torch.cat([z, q], dim=1))


class FiLM(nn.Module):
    r"""Feature-wise linear modulation of a feature map by the tabular embedding.

    Parameters
    ----------
    channels : int
        Channels of the modulated feature map.
    d_q : int
        Width of the tabular embedding.
    hidden : int
        Hidden width of the scale/shift generator.

    Notes
    -----
    As in FiLM (Perez et al., AAAI 2018) and DAFT (Pölsterl et al., MICCAI 2021), the tabular
    branch predicts a per-channel scale and shift of an image feature map :math:`F`:

    .. math::

        [\Delta\gamma, \beta] = \mathrm{FC}(\mathrm{ReLU}(\mathrm{FC}(q))), \qquad
        F'_{c} = (1 + \Delta\gamma_c)\, F_{c} + \beta_c .

    The generator's last layer starts at zero, so training starts from the unmodulated
    (image-only) network and the tabular branch only adds what helps; parametrising the scale
    as :math:`1 + \Delta\gamma` makes zero the identity.

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.nn._fusion import FiLM
    >>> film = FiLM(channels=5, d_q=4, hidden=8)
    >>> feature_map = torch.randn(2, 5, 3, 3, 3)
    >>> bool(torch.equal(film(feature_map, torch.ones(2, 4)), feature_map))
    True
    """

    def __init__(self, channels, d_q, hidden):
        super().__init__()
        self.generator = nn.Sequential(
            nn.Linear(d_q, hidden), nn.ReLU(), nn.Linear(hidden, 2 * channels)
        )
        nn.init.zeros_(self.generator[-1].weight)
        nn.init.zeros_(self.generator[-1].bias)

    def forward(self, feature_map, q):
        delta_scale, shift = self.generator(q).chunk(2, dim=1)
        broadcast = (feature_map.shape[0], feature_map.shape[1]) + (1,) * (feature_map.ndim - 2)
        return feature_map * (1 + delta_scale.view(broadcast)) + shift.view(broadcast)
