"""Every number a page states, computed.

Each test names the page and the sentence it backs. If a page's text changes a number, the test
here changes with it; if the code changes the number, the test fails and the page must follow.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transformer_atlas.attention import MultiHeadAttention, scaled_dot_product_attention
from transformer_atlas.softmax import log_softmax_numpy, naive_softmax_numpy, softmax_numpy


def test_logits_softmax_float32_overflow_point() -> None:
    """blocks/logits-softmax: "In 32-bit floats e^89 already overflows to inf"."""
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float32(89.0)))
    assert np.isfinite(np.exp(np.float32(88.0)))


def test_logits_softmax_naive_example_prints_nan() -> None:
    """blocks/logits-softmax: the naive softmax of [1e4, 0, -1e4] in float32 is [nan, 0, 0]."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = naive_softmax_numpy(np.array([1e4, 0.0, -1e4], dtype=np.float32))
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == 0.0


def test_logits_softmax_stable_example() -> None:
    """blocks/logits-softmax: the stable versions print [1, 0, 0] and [0, -1e4, -2e4]."""
    z = np.array([1e4, 0.0, -1e4])
    np.testing.assert_array_equal(softmax_numpy(z), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(log_softmax_numpy(z), [0.0, -1e4, -2e4])


def test_logits_softmax_temperature_sharpens_and_flattens() -> None:
    """blocks/logits-softmax: below T=1 the top probability rises, above it falls."""
    logits = torch.tensor([2.0, 1.0, 0.1])
    top = [float(torch.softmax(logits / t, -1).max()) for t in (0.5, 1.0, 2.0)]
    assert top[0] > top[1] > top[2]


@pytest.mark.parametrize(
    ("n_kv_heads", "w_k_shape", "n_params"),
    [(8, (64, 64), 16640), (2, (64, 16), 10400), (1, (64, 8), 9360)],
)
def test_attention_gqa_parameter_counts(n_kv_heads: int, w_k_shape: tuple[int, int], n_params: int) -> None:
    """blocks/attention: the MHA / GQA / MQA parameter counts printed on the page."""
    layer = MultiHeadAttention(d_model=64, n_heads=8, n_kv_heads=n_kv_heads)
    assert tuple(layer.w_k.shape) == w_k_shape
    assert sum(p.numel() for p in layer.parameters()) == n_params
    d_model, d_head = 64, 64 // 8
    formula = 2 * d_model * d_model + 2 * d_model * n_kv_heads * d_head + 2 * d_model + 2 * n_kv_heads * d_head
    assert formula == n_params


def test_attention_kv_cache_ratio_is_kv_heads_over_heads() -> None:
    """blocks/attention: the KV cache (K and V per token) shrinks to H_kv / H of MHA's."""
    x = torch.randn(1, 5, 64)
    sizes = {}
    for n_kv in (8, 2, 1):
        layer = MultiHeadAttention(d_model=64, n_heads=8, n_kv_heads=n_kv)
        k = x @ layer.w_k  # what a KV cache stores per token for keys (values alike)
        sizes[n_kv] = k.numel()
    assert sizes[2] / sizes[8] == 2 / 8 and sizes[1] / sizes[8] == 1 / 8


def test_attention_cross_attention_shapes() -> None:
    """blocks/attention: cross-attention output [2, 5, 16], weights [2, 4, 5, 7]."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model=16, n_heads=4)
    out, weights = mha(torch.randn(2, 5, 16), torch.randn(2, 7, 16))
    assert out.shape == (2, 5, 16) and weights.shape == (2, 4, 5, 7)


def test_attention_torch_sdpa_also_returns_zero_for_fully_masked_rows() -> None:
    """blocks/attention: "PyTorch 2.13's scaled_dot_product_attention returns the same zeros"."""
    q, k, v = torch.randn(1, 3, 4), torch.randn(1, 5, 4), torch.randn(1, 5, 2)
    mask = torch.ones(1, 3, 5, dtype=torch.bool)
    mask[0, 1] = False
    theirs = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ours, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.equal(theirs[0, 1], torch.zeros(2))
    torch.testing.assert_close(ours, theirs)


def test_attention_saturation_without_scaling() -> None:
    """blocks/attention: with d_k = 64 unscaled scores have std 8, and over 16 random keys the
    largest softmax weight averages about 0.84 unscaled and about 0.25 scaled."""
    gen = torch.Generator().manual_seed(0)
    d_k, n_keys = 64, 16
    q = torch.randn(4000, 1, d_k, generator=gen)
    k = torch.randn(4000, n_keys, d_k, generator=gen)
    raw = (q @ k.transpose(-2, -1)).squeeze(1)
    scaled = raw / d_k**0.5
    assert 7.6 < float(raw.std()) < 8.4 and 0.95 < float(scaled.std()) < 1.05
    assert 0.82 < float(torch.softmax(raw, -1).amax(-1).mean()) < 0.86
    assert 0.23 < float(torch.softmax(scaled, -1).amax(-1).mean()) < 0.27
