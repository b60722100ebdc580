"""The fusion blocks' equations, shapes and parameter counts (pure torch, CPU, milliseconds)."""

import pytest
import torch
import torch.nn.functional as F

from rdinet_sklearn.nn._fusion import ConcatFusion, DynamicMapping, DynamicMappingIteration, FiLM


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_dynamic_mapping_iteration_matches_hand_computation():
    torch.manual_seed(0)
    d, d_q, hidden, n = 6, 5, 7, 4
    block = DynamicMappingIteration(d, d_q, hidden).eval()
    # Perturb the LayerNorm affine parameters so that they matter in the comparison.
    with torch.no_grad():
        for p in block.parameters():
            p.add_(0.1 * torch.randn_like(p))
    z, q = torch.randn(n, d), torch.randn(n, d_q)

    fc1, ln1, _, fc2 = block.generator
    fc3, ln3 = block.mlp[0], block.mlp[1]

    def layer_norm(x, ln):
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + ln.eps) * ln.weight + ln.bias

    expected = []
    for i in range(n):
        h = torch.relu(layer_norm((fc1.weight @ q[i] + fc1.bias)[None], ln1))[0]
        w = (fc2.weight @ h + fc2.bias).reshape(d, d)  # W_i, row-major d x d
        z_tilde = z[i] @ w
        z_m = torch.relu(layer_norm(z_tilde[None], block.mapped_norm))[0] + z[i]
        expected.append(torch.relu(layer_norm((fc3.weight @ z_m + fc3.bias)[None], ln3))[0])

    z_next, q_out = block(z, q)
    torch.testing.assert_close(z_next, torch.stack(expected), rtol=1e-5, atol=1e-5)
    assert q_out is q  # q is passed through unchanged to the next iteration


def test_dynamic_mapping_iterates_the_blocks_in_order():
    torch.manual_seed(1)
    fusion = DynamicMapping(d=4, d_q=3, hidden=5, k=3).eval()
    z, q = torch.randn(2, 4), torch.randn(2, 3)
    expected = z
    for block in fusion.iterations:
        expected, _ = block(expected, q)
    torch.testing.assert_close(fusion(z, q), expected)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shared_weights", [False, True])
def test_dynamic_mapping_shapes_and_parameter_counts(k, shared_weights):
    d, d_q, hidden = 8, 6, 10
    fusion = DynamicMapping(d, d_q, hidden, k=k, shared_weights=shared_weights)
    out = fusion(torch.randn(3, d), torch.randn(3, d_q))
    assert out.shape == (3, d)
    generator = d_q * hidden + hidden + 2 * hidden + hidden * d * d + d * d
    per_iteration = generator + 2 * d + (d * d + d) + 2 * d
    assert _count(fusion) == per_iteration * (1 if shared_weights else k)


def test_shared_weights_apply_one_block_k_times():
    torch.manual_seed(2)
    fusion = DynamicMapping(d=4, d_q=3, hidden=5, k=3, shared_weights=True).eval()
    z, q = torch.randn(2, 4), torch.randn(2, 3)
    block = fusion.iterations[0]
    expected = block(block(block(z, q)[0], q)[0], q)[0]
    torch.testing.assert_close(fusion(z, q), expected)


def test_k_below_one_is_rejected():
    with pytest.raises(ValueError, match="k must be >= 1"):
        DynamicMapping(4, 3, 5, k=0)


def test_concat_fusion_shape_and_equation():
    torch.manual_seed(3)
    fusion = ConcatFusion(d=5, d_q=3).eval()
    z, q = torch.randn(4, 5), torch.randn(4, 3)
    fc, ln = fusion.mlp[0], fusion.mlp[1]
    expected = torch.relu(ln(F.linear(torch.cat([z, q], 1), fc.weight, fc.bias)))
    out = fusion(z, q)
    assert out.shape == (4, 5)
    torch.testing.assert_close(out, expected)


def test_film_with_zero_generator_is_identity():
    torch.manual_seed(4)
    film = FiLM(channels=6, d_q=3, hidden=4)
    with torch.no_grad():  # start from random weights, then zero the scale/shift output layer
        for p in film.parameters():
            p.normal_()
        film.generator[-1].weight.zero_()
        film.generator[-1].bias.zero_()
    feature_map = torch.randn(2, 6, 3, 4, 5)
    torch.testing.assert_close(film(feature_map, torch.randn(2, 3)), feature_map)


def test_film_applies_per_channel_scale_and_shift():
    torch.manual_seed(5)
    film = FiLM(channels=3, d_q=2, hidden=4)
    with torch.no_grad():
        for p in film.parameters():
            p.normal_()
    feature_map, q = torch.randn(2, 3, 2, 2, 2), torch.randn(2, 2)
    delta_scale, shift = film.generator(q).chunk(2, dim=1)
    out = film(feature_map, q)
    assert out.shape == feature_map.shape
    for b in range(2):
        for c in range(3):
            torch.testing.assert_close(
                out[b, c], feature_map[b, c] * (1 + delta_scale[b, c]) + shift[b, c]
            )
