"""Attention against oracles we did not write.

* ``scaled_dot_product_attention`` vs ``torch.nn.functional.scaled_dot_product_attention``
  (no mask, broadcast masks, padding, causal masks top-left and bottom-right).
* ``MultiHeadAttention`` vs ``torch.nn.MultiheadAttention`` with copied weights (self- and
  cross-attention, key-padding and attention masks, per-head and averaged weights).
* GQA / MQA vs ``F.scaled_dot_product_attention(..., enable_gqa=True)``.
* The NumPy twins vs the PyTorch versions in float64.
* Properties: the fully-masked-row rule, permutation equivariance, the sqrt(d_k) variance
  argument; and every ValueError naming the shapes that came.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.attention.bias import causal_lower_right

from transformer_atlas.blocks.attention import (
    MultiHeadAttention,
    causal_mask,
    causal_mask_numpy,
    merge_heads,
    multi_head_attention_numpy,
    padding_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_numpy,
    split_heads,
)
from transformer_atlas.figures.blocks.attention import (
    attention_heatmap,
    causal_and_padding_masks,
    dot_product_statistics,
    dot_product_variance,
)

F64 = torch.float64
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _qkv(
    lead: tuple[int, ...] = (2, 3),
    q_len: int = 4,
    k_len: int = 4,
    d_k: int = 8,
    d_v: int = 6,
    seed: int = 0,
):
    return (
        _randn(*lead, q_len, d_k, seed=seed),
        _randn(*lead, k_len, d_k, seed=seed + 1),
        _randn(*lead, k_len, d_v, seed=seed + 2),
    )


def _random_mask(*shape: int, seed: int = 0, p: float = 0.6) -> torch.Tensor:
    """A random boolean mask whose every row keeps at least one key (column 0)."""
    mask = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < p
    mask[..., 0] = True
    return mask


# ================================================================ scaled dot-product attention
def test_sdpa_matches_torch_without_mask() -> None:
    q, k, v = _qkv(q_len=4, k_len=7)
    out, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), **TOL)
    assert weights.shape == (2, 3, 4, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 4, dtype=F64), **TOL)
    # the weights are the softmax of the scaled scores, exactly as the formula reads
    torch.testing.assert_close(
        weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1), **TOL
    )


def test_sdpa_matches_torch_on_unbatched_and_deep_inputs() -> None:
    for lead in [(), (5,), (2, 2, 3)]:
        q, k, v = _qkv(lead=lead, q_len=3, k_len=5)
        torch.testing.assert_close(
            scaled_dot_product_attention(q, k, v)[0], F.scaled_dot_product_attention(q, k, v), **TOL
        )


@pytest.mark.parametrize(
    "mask_shape", [(2, 1, 4, 6), (4, 6), (2, 3, 4, 6), (1, 1, 1, 6), (2, 1, 1, 6), (1, 6)]
)
def test_sdpa_matches_torch_with_broadcast_bool_mask(mask_shape: tuple[int, ...]) -> None:
    q, k, v = _qkv(q_len=4, k_len=6)
    mask = _random_mask(*mask_shape, seed=3)
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **TOL)
    assert bool((weights.masked_select(~mask.expand_as(weights)) == 0).all())


def test_sdpa_matches_torch_with_padding_mask() -> None:
    q, k, v = _qkv(lead=(3, 2), q_len=5, k_len=5)
    lengths = torch.tensor([5, 2, 1])
    mask = padding_mask(lengths, 5)
    assert mask.shape == (3, 1, 1, 5)
    expected = torch.tensor([[j < n for j in range(5)] for n in lengths.tolist()])
    assert torch.equal(mask[:, 0, 0], expected)
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **TOL)
    assert bool((weights[1, :, :, 2:] == 0).all()) and bool((weights[2, :, :, 1:] == 0).all())
    torch.testing.assert_close(weights[2, :, :, 0], torch.ones(2, 5, dtype=F64))


def test_sdpa_is_causal_matches_torch_when_square() -> None:
    q, k, v = _qkv(q_len=6, k_len=6)
    out, weights = scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), **TOL)
    assert torch.equal(weights != 0, torch.ones(6, 6, dtype=torch.bool).tril().expand(2, 3, 6, 6))


@pytest.mark.parametrize(("q_len", "k_len"), [(1, 5), (3, 5), (4, 9)])
def test_causal_with_cached_keys_is_bottom_right_aligned(q_len: int, k_len: int) -> None:
    """torch's ``is_causal`` is top-left aligned, so the oracle gets an explicit bottom-right mask
    (and torch's own ``causal_lower_right`` bias)."""
    q, k, v = _qkv(q_len=q_len, k_len=k_len)
    explicit = torch.ones(q_len, k_len, dtype=torch.bool).tril(diagonal=k_len - q_len)
    assert torch.equal(causal_mask(q_len, k_len), explicit)
    np.testing.assert_array_equal(causal_mask_numpy(q_len, k_len), explicit.numpy())
    assert bool(explicit[-1].all())  # the last query sees every key
    ours, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(
        ours, F.scaled_dot_product_attention(q, k, v, attn_mask=explicit), **TOL
    )
    torch.testing.assert_close(
        ours,
        F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(q_len, k_len)),
        **TOL,
    )


def test_is_causal_combines_with_a_mask_by_and() -> None:
    q, k, v = _qkv(q_len=5, k_len=5)
    pad = padding_mask(torch.tensor([5, 3]), 5)
    ours, _ = scaled_dot_product_attention(q, k, v, mask=pad, is_causal=True)
    both = pad & causal_mask(5)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=both), **TOL)


def test_sdpa_float32_matches_torch() -> None:
    q, k, v = (t.float() for t in _qkv(q_len=4, k_len=6))
    mask = _random_mask(4, 6, seed=1)
    torch.testing.assert_close(
        scaled_dot_product_attention(q, k, v, mask=mask)[0],
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
    )


def test_dropout_zero_is_deterministic_and_dropout_rescales() -> None:
    q, k, v = _qkv()
    a, wa = scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    b, wb = scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    assert torch.equal(a, b) and torch.equal(wa, wb)
    torch.manual_seed(0)
    _, dropped = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    kept = dropped != 0
    assert 0 < int(kept.sum()) < kept.numel()
    torch.testing.assert_close(
        dropped[kept], 2.0 * wa[kept], **TOL
    )  # survivors scaled by 1 / (1 - p)


# ================================================================ fully masked rows
def test_fully_masked_row_gives_zero_weights_zero_output_finite_gradients() -> None:
    q, k, v = (t.requires_grad_() for t in _qkv(q_len=4, k_len=5))
    mask = _random_mask(2, 1, 4, 5, seed=2)
    mask[0, :, 1] = False  # query 1 of batch 0 sees nothing
    mask[1, :, 3] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert not bool(out.isnan().any()) and not bool(weights.isnan().any())
    assert torch.equal(weights[0, :, 1], torch.zeros(3, 5, dtype=F64))
    assert torch.equal(out[0, :, 1], torch.zeros(3, 6, dtype=F64))
    assert torch.equal(out[1, :, 3], torch.zeros(3, 6, dtype=F64))
    # the other rows still match torch (which also returns zeros for the empty rows)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, theirs, **TOL)

    upstream = _randn(*out.shape, seed=9)
    grads = torch.autograd.grad((out * upstream).sum() + weights.sum(), (q, k, v))
    assert all(bool(g.isfinite().all()) for g in grads)
    # an empty row learns nothing
    assert torch.equal(grads[0][0, :, 1], torch.zeros(3, 8, dtype=F64))
    # weights.sum() is constant (every row sums to 1 or 0), so torch's gradients must match
    theirs_grads = torch.autograd.grad((theirs * upstream).sum(), (q, k, v))
    for g_ours, g_theirs in zip(grads, theirs_grads):
        torch.testing.assert_close(g_ours, g_theirs, rtol=1e-9, atol=1e-10)


def test_fully_masked_row_numpy() -> None:
    q, k, v = (t.numpy() for t in _qkv(q_len=3, k_len=4))
    mask = np.ones((3, 4), dtype=bool)
    mask[2] = False
    with np.errstate(all="raise"):  # no 0/0 or inf - inf along the way
        out, weights = scaled_dot_product_attention_numpy(q, k, v, mask=mask)
    np.testing.assert_array_equal(weights[..., 2, :], 0.0)
    np.testing.assert_array_equal(out[..., 2, :], 0.0)
    assert np.isfinite(out).all()


# ================================================================ NumPy vs PyTorch
@pytest.mark.parametrize("mask_shape", [None, (4, 6), (2, 1, 4, 6), (2, 3, 1, 6), (2, 3, 4, 6)])
def test_sdpa_numpy_matches_torch(mask_shape: tuple[int, ...] | None) -> None:
    q, k, v = _qkv(q_len=4, k_len=6)
    mask = (
        None
        if mask_shape is None
        else torch.rand(*mask_shape, generator=torch.Generator().manual_seed(5)) < 0.5
    )
    out_t, w_t = scaled_dot_product_attention(q, k, v, mask=mask)
    out_n, w_n = scaled_dot_product_attention_numpy(
        q.numpy(), k.numpy(), v.numpy(), mask=None if mask is None else mask.numpy()
    )
    np.testing.assert_allclose(out_n, out_t.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w_n, w_t.numpy(), rtol=1e-10, atol=1e-10)


def test_causal_mask_numpy_matches_torch() -> None:
    for q_len, k_len in [(1, 1), (4, 4), (3, 7)]:
        np.testing.assert_array_equal(
            causal_mask_numpy(q_len, k_len), causal_mask(q_len, k_len).numpy()
        )


def test_split_and_merge_heads_roundtrip() -> None:
    x = _randn(2, 5, 12)
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    torch.testing.assert_close(heads[:, 1], x[..., 4:8])  # head h is column block h
    assert torch.equal(merge_heads(heads), x)


# ================================================================ MultiHeadAttention vs torch
def _ours_and_torch(
    d_model: int = 16, n_heads: int = 4, seed: int = 0
) -> tuple[MultiHeadAttention, nn.MultiheadAttention]:
    torch.manual_seed(seed)
    ours = MultiHeadAttention(d_model, n_heads).to(F64)
    with torch.no_grad():
        for b in (ours.b_q, ours.b_k, ours.b_v, ours.b_o):
            b.normal_()  # nonzero biases, so that copying them is tested too
    theirs = nn.MultiheadAttention(d_model, n_heads, batch_first=True, dtype=F64)
    e = d_model
    with torch.no_grad():
        theirs.in_proj_weight[:e] = ours.w_q.T  # torch computes x @ W.T: rows are output features
        theirs.in_proj_weight[e : 2 * e] = ours.w_k.T
        theirs.in_proj_weight[2 * e :] = ours.w_v.T
        theirs.in_proj_bias.copy_(torch.cat([ours.b_q, ours.b_k, ours.b_v]))
        theirs.out_proj.weight.copy_(ours.w_o.T)
        theirs.out_proj.bias.copy_(ours.b_o)
    return ours, theirs


@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_mha_matches_torch_multihead_attention(cross: bool) -> None:
    ours, theirs = _ours_and_torch()
    x_q = _randn(2, 5, 16, seed=1)
    x_kv = _randn(2, 7, 16, seed=2) if cross else x_q
    out, weights = ours(x_q, None if not cross else x_kv)
    ref_out, ref_w = theirs(x_q, x_kv, x_kv, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_w, **TOL)
    _, ref_avg = theirs(x_q, x_kv, x_kv, need_weights=True, average_attn_weights=True)
    torch.testing.assert_close(weights.mean(dim=1), ref_avg, **TOL)


@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_mha_matches_torch_with_masks(cross: bool) -> None:
    """torch's MHA masks say True = NOT allowed; ours say True = allowed, so they are inverted.

    No row is fully masked: torch's MultiheadAttention returns NaN there (our rule gives 0)."""
    ours, theirs = _ours_and_torch(seed=1)
    b, q_len, k_len, h = 3, 5, (6 if cross else 5), 4
    x_q = _randn(b, q_len, 16, seed=3)
    x_kv = _randn(b, k_len, 16, seed=4) if cross else x_q
    lengths = torch.tensor([k_len, 3, 1])
    key_ok = padding_mask(lengths, k_len)  # [b, 1, 1, k_len], True = may attend
    attn_ok = _random_mask(q_len, k_len, seed=6)  # column 0 always allowed
    out, weights = ours(x_q, x_kv if cross else None, mask=key_ok & attn_ok)
    ref_out, ref_w = theirs(
        x_q,
        x_kv,
        x_kv,
        key_padding_mask=~key_ok[:, 0, 0],
        attn_mask=~attn_ok,
        need_weights=True,
        average_attn_weights=False,
    )
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_w, **TOL)

    # a per-head mask: torch wants [batch * heads, q_len, k_len], batch-major
    head_ok = _random_mask(b, h, q_len, k_len, seed=7)
    out, weights = ours(x_q, x_kv if cross else None, mask=head_ok)
    ref_out, ref_w = theirs(
        x_q,
        x_kv,
        x_kv,
        attn_mask=~head_ok.reshape(b * h, q_len, k_len),
        need_weights=True,
        average_attn_weights=False,
    )
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_w, **TOL)


def test_mha_causal_matches_torch() -> None:
    ours, theirs = _ours_and_torch(seed=2)
    x = _randn(2, 6, 16, seed=5)
    out, _ = ours(x, is_causal=True)
    ref, _ = theirs(x, x, x, attn_mask=~causal_mask(6), need_weights=True)
    torch.testing.assert_close(out, ref, **TOL)


# ================================================================ GQA / MQA
@pytest.mark.parametrize("n_kv_heads", [1, 2, 4], ids=["MQA", "GQA-2", "MHA"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_gqa_matches_torch_enable_gqa(n_kv_heads: int, masked: bool) -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, n_kv_heads=n_kv_heads).to(F64)
    with torch.no_grad():
        for b in (mha.b_q, mha.b_k, mha.b_v, mha.b_o):
            b.normal_()
    assert mha.w_k.shape == (16, n_kv_heads * 4) and mha.w_v.shape == (16, n_kv_heads * 4)
    x_q, x_kv = _randn(2, 5, 16, seed=1), _randn(2, 7, 16, seed=2)
    mask = padding_mask(torch.tensor([7, 4]), 7) & _random_mask(5, 7, seed=3) if masked else None
    out, weights = mha(x_q, x_kv, mask=mask)

    q = split_heads(x_q @ mha.w_q + mha.b_q, 4)  # [b, 4, q_len, d_head]
    k = split_heads(x_kv @ mha.w_k + mha.b_k, n_kv_heads)  # [b, n_kv_heads, k_len, d_head]
    v = split_heads(x_kv @ mha.w_v + mha.b_v, n_kv_heads)
    heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    torch.testing.assert_close(out, merge_heads(heads) @ mha.w_o + mha.b_o, **TOL)
    # query heads that share a K/V head see the same keys: the same scores up to their own q
    group = 4 // n_kv_heads
    for h in range(4):
        own = q[:, h] @ k[:, h // group].transpose(-2, -1) / 2.0
        if mask is not None:
            own = own.masked_fill(~mask[:, 0], float("-inf"))
        torch.testing.assert_close(weights[:, h], torch.softmax(own, -1), **TOL)


# ================================================================ NumPy MHA vs PyTorch MHA
@pytest.mark.parametrize(
    ("n_kv_heads", "cross", "masked", "bias"),
    [
        (None, False, False, True),
        (None, True, True, True),
        (2, False, True, True),
        (1, True, False, False),
        (2, True, True, False),
    ],
)
def test_mha_numpy_matches_torch(
    n_kv_heads: int | None, cross: bool, masked: bool, bias: bool
) -> None:
    torch.manual_seed(3)
    mha = MultiHeadAttention(16, 4, n_kv_heads=n_kv_heads, bias=bias).to(F64)
    if bias:
        with torch.no_grad():
            for b in (mha.b_q, mha.b_k, mha.b_v, mha.b_o):
                b.normal_()
    params = {name: t.detach().numpy() for name, t in mha.state_dict().items()}
    assert set(params) == (
        {"w_q", "w_k", "w_v", "w_o"} | ({"b_q", "b_k", "b_v", "b_o"} if bias else set())
    )
    x_q = _randn(2, 5, 16, seed=1)
    x_kv = _randn(2, 6, 16, seed=2) if cross else None
    k_len = 6 if cross else 5
    mask = None
    if masked:
        mask = padding_mask(torch.tensor([k_len, 2]), k_len) & (torch.rand(5, k_len) < 0.7)
        mask[0, 0, 3] = False  # one fully masked row: both must give 0 there
    out_t, w_t = mha(x_q, x_kv, mask=mask)
    out_n, w_n = multi_head_attention_numpy(
        x_q.numpy(),
        None if x_kv is None else x_kv.numpy(),
        params,
        n_heads=4,
        n_kv_heads=n_kv_heads,
        mask=None if mask is None else mask.numpy(),
    )
    np.testing.assert_allclose(out_n, out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w_n, w_t.detach().numpy(), rtol=1e-10, atol=1e-10)


# ================================================================ properties
@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 2),
    seq=st.integers(1, 6),
    n_heads=st.sampled_from([1, 2, 4]),
    n_kv_div=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_self_attention_is_permutation_equivariant(
    batch: int, seq: int, n_heads: int, n_kv_div: int, seed: int, data: st.DataObject
) -> None:
    perm = torch.tensor(data.draw(st.permutations(range(seq)), label="perm"))
    n_kv = max(1, n_heads // n_kv_div)
    torch.manual_seed(seed)
    mha = MultiHeadAttention(8, n_heads, n_kv_heads=n_kv).to(F64)
    x = _randn(batch, seq, 8, seed=seed)
    out, weights = mha(x)
    out_p, weights_p = mha(x[:, perm])
    torch.testing.assert_close(out_p, out[:, perm], **TOL)
    torch.testing.assert_close(weights_p, weights[:, :, perm][:, :, :, perm], **TOL)
    # the same in NumPy
    params = {name: t.detach().numpy() for name, t in mha.state_dict().items()}
    out_n, _ = multi_head_attention_numpy(x.numpy()[:, perm.numpy()], None, params, n_heads, n_kv)
    np.testing.assert_allclose(out_n, out[:, perm].detach().numpy(), rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    q_len=st.integers(1, 5),
    k_len=st.integers(1, 6),
    d_k=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_weights_rows_are_distributions_and_output_is_convex_combination(
    q_len: int, k_len: int, d_k: int, seed: int
) -> None:
    q, k, v = _qkv(lead=(2,), q_len=q_len, k_len=k_len, d_k=d_k, d_v=3, seed=seed)
    out, w = scaled_dot_product_attention(q, k, v)
    assert bool((w >= 0).all()) and bool((w <= 1).all())
    torch.testing.assert_close(w.sum(-1), torch.ones(2, q_len, dtype=F64), **TOL)
    lo, hi = v.amin(dim=-2, keepdim=True), v.amax(dim=-2, keepdim=True)
    assert bool((out >= lo - 1e-12).all()) and bool((out <= hi + 1e-12).all())


@pytest.mark.parametrize("d_k", [16, 64, 256])
def test_dot_product_variance_grows_with_d_k_and_scaling_fixes_it(d_k: int) -> None:
    """For q, k with i.i.d. N(0, 1) entries, Var(q . k) = d_k and Var(q . k / sqrt(d_k)) = 1.

    Tolerance: 5 % with 20,000 samples. The relative standard error of a sample variance here is
    sqrt((2 + 6 / d_k) / n) < 1.3 %, so 5 % is about four standard errors."""
    rng = np.random.default_rng(d_k)
    n = 20_000
    q = rng.standard_normal((n, d_k))
    k = rng.standard_normal((n, d_k))
    dots = np.einsum("nd,nd->n", q, k)
    assert abs(dots.var() / d_k - 1.0) < 0.05
    assert abs((dots / math.sqrt(d_k)).var() - 1.0) < 0.05


# ================================================================ bad input
def _shape_re(*shapes: tuple[int, ...]) -> str:
    """A regex matching a message that names every shape (in order)."""
    return ".*".join(re.escape(str(tuple(s))) for s in shapes)


class TestBadInput:
    def test_q_one_dimensional(self) -> None:
        q, k, v = _randn(8), _randn(4, 8), _randn(4, 8)
        with pytest.raises(
            ValueError, match=r"q must have at least 2 dimensions .*got shape \(8,\)"
        ):
            scaled_dot_product_attention(q, k, v)
        with pytest.raises(ValueError, match=r"got shape \(8,\)"):
            scaled_dot_product_attention_numpy(q.numpy(), k.numpy(), v.numpy())

    def test_mismatched_d_k(self) -> None:
        q, k, v = _randn(2, 3, 4), _randn(2, 5, 6), _randn(2, 5, 6)
        for fn, args in (
            (scaled_dot_product_attention, (q, k, v)),
            (scaled_dot_product_attention_numpy, tuple(t.numpy() for t in (q, k, v))),
        ):
            with pytest.raises(ValueError, match="d_k.*" + _shape_re((2, 3, 4), (2, 5, 6))):
                fn(*args)

    def test_k_v_length_mismatch(self) -> None:
        q, k, v = _randn(2, 3, 4), _randn(2, 5, 4), _randn(2, 6, 4)
        with pytest.raises(ValueError, match="k_len.*" + _shape_re((2, 5, 4), (2, 6, 4))):
            scaled_dot_product_attention(q, k, v)

    def test_leading_dims_mismatch(self) -> None:
        q, k, v = _randn(2, 3, 4), _randn(3, 5, 4), _randn(3, 5, 4)
        with pytest.raises(
            ValueError, match="leading.*" + _shape_re((2, 3, 4), (3, 5, 4), (3, 5, 4))
        ):
            scaled_dot_product_attention(q, k, v)
        with pytest.raises(ValueError, match="leading"):
            scaled_dot_product_attention(_randn(3, 4), k, v)  # different ranks

    @pytest.mark.parametrize("is_causal", [False, True])
    def test_mask_of_wrong_shape(self, is_causal: bool) -> None:
        q, k, v = _randn(2, 5, 4), _randn(2, 5, 4), _randn(2, 5, 4)
        bad = torch.ones(4, 5, dtype=torch.bool)
        with pytest.raises(ValueError, match=_shape_re((2, 5, 5)) + r".*got mask shape \(4, 5\)"):
            scaled_dot_product_attention(q, k, v, mask=bad, is_causal=is_causal)
        with pytest.raises(ValueError, match=r"got mask shape \(4, 5\)"):
            scaled_dot_product_attention_numpy(q.numpy(), k.numpy(), v.numpy(), mask=bad.numpy())
        with pytest.raises(ValueError, match=r"got mask shape \(1, 2, 5, 5\)"):  # too many axes
            scaled_dot_product_attention(q, k, v, mask=torch.ones(1, 2, 5, 5, dtype=torch.bool))

    @pytest.mark.parametrize("is_causal", [False, True])
    def test_non_boolean_mask(self, is_causal: bool) -> None:
        q = k = v = _randn(2, 5, 4)
        with pytest.raises(ValueError, match=r"mask must be boolean .*got dtype torch.float32"):
            scaled_dot_product_attention(q, k, v, mask=torch.ones(5, 5), is_causal=is_causal)
        with pytest.raises(ValueError, match=r"mask must be boolean .*got dtype int64"):
            scaled_dot_product_attention_numpy(
                q.numpy(), k.numpy(), v.numpy(), mask=np.ones((5, 5), dtype=np.int64)
            )

    def test_causal_mask_with_fewer_keys_than_queries(self) -> None:
        for fn in (causal_mask, causal_mask_numpy):
            with pytest.raises(ValueError, match=r"q_len=5, k_len=3"):
                fn(5, 3)
            with pytest.raises(ValueError, match=r"q_len=0"):
                fn(0)
        q, k, v = _randn(5, 4), _randn(3, 4), _randn(3, 4)
        with pytest.raises(ValueError, match=r"q_len=5, k_len=3"):
            scaled_dot_product_attention(q, k, v, is_causal=True)

    def test_padding_mask_bad_lengths(self) -> None:
        with pytest.raises(ValueError, match=r"lengths must lie in \[0, k_len=4\], got \[2, 5\]"):
            padding_mask(torch.tensor([2, 5]), 4)
        with pytest.raises(
            ValueError, match=r"lengths must have 1 dimensions \[batch\], got shape \(2, 1\)"
        ):
            padding_mask(torch.tensor([[2], [3]]), 4)

    def test_d_model_not_divisible_by_n_heads(self) -> None:
        with pytest.raises(ValueError, match=r"d_model=10, n_heads=4"):
            MultiHeadAttention(10, 4)
        with pytest.raises(ValueError, match=r"d_model=10, n_heads=4"):
            multi_head_attention_numpy(
                np.zeros((1, 2, 10)), None, {"w_q": np.zeros((10, 10))}, n_heads=4
            )

    @pytest.mark.parametrize("n_kv_heads", [3, 0, 8])
    def test_n_kv_heads_not_dividing_n_heads(self, n_kv_heads: int) -> None:
        with pytest.raises(ValueError, match=rf"n_heads=4, n_kv_heads={n_kv_heads}"):
            MultiHeadAttention(16, 4, n_kv_heads=n_kv_heads)
        with pytest.raises(ValueError, match=rf"n_heads=4, n_kv_heads={n_kv_heads}"):
            multi_head_attention_numpy(
                np.zeros((1, 2, 16)),
                None,
                {"w_q": np.zeros((16, 16))},
                n_heads=4,
                n_kv_heads=n_kv_heads,
            )

    def test_x_of_wrong_last_dim_or_rank_or_batch(self) -> None:
        mha = MultiHeadAttention(16, 4)
        with pytest.raises(
            ValueError, match=r"x_q must have last dimension d_model=16, got shape \(2, 5, 12\)"
        ):
            mha(torch.randn(2, 5, 12))
        with pytest.raises(
            ValueError, match=r"x_kv must have last dimension d_model=16, got shape \(2, 7, 8\)"
        ):
            mha(torch.randn(2, 5, 16), torch.randn(2, 7, 8))
        with pytest.raises(
            ValueError,
            match=r"x_q must have 3 dimensions \[batch, seq, d_model\], got shape \(5, 16\)",
        ):
            mha(torch.randn(5, 16))
        with pytest.raises(ValueError, match=r"same batch size.*\(2, 5, 16\) and \(3, 5, 16\)"):
            mha(torch.randn(2, 5, 16), torch.randn(3, 5, 16))
        with pytest.raises(ValueError, match=r"got mask shape \(3, 5\)"):
            mha(torch.randn(2, 5, 16), mask=torch.ones(3, 5, dtype=torch.bool))
        params = {n: t.detach().numpy() for n, t in mha.state_dict().items()}
        with pytest.raises(ValueError, match=r"x_q must be .*d_model=16.*got shape \(2, 5, 12\)"):
            multi_head_attention_numpy(np.zeros((2, 5, 12)), None, params, n_heads=4)
        with pytest.raises(ValueError, match=r"x_kv must be .*got shape \(3, 5, 16\)"):
            multi_head_attention_numpy(
                np.zeros((2, 5, 16)), np.zeros((3, 5, 16)), params, n_heads=4
            )
        with pytest.raises(ValueError, match=r"x_q must have 3 dimensions .*got shape \(5, 16\)"):
            multi_head_attention_numpy(np.zeros((5, 16)), None, params, n_heads=4)


# ---------------------------------------------------------------------------
# Additive score bias (the hook for ALiBi and T5-style relative positions)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bias_shape", [(5, 7), (1, 3, 5, 7), (2, 3, 5, 7)])
def test_additive_bias_matches_torch_float_mask(bias_shape: tuple[int, ...]) -> None:
    """A float ``attn_mask`` is added to the scaled scores by torch's SDPA."""
    gen = torch.Generator().manual_seed(11)
    q = torch.randn(2, 3, 5, 8, generator=gen)
    k = torch.randn(2, 3, 7, 8, generator=gen)
    v = torch.randn(2, 3, 7, 4, generator=gen)
    bias = torch.randn(*bias_shape, generator=gen)
    ours, _ = scaled_dot_product_attention(q, k, v, bias=bias)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    out_np, _ = scaled_dot_product_attention_numpy(
        q.double().numpy(), k.double().numpy(), v.double().numpy(), bias=bias.double().numpy()
    )
    np.testing.assert_allclose(out_np, theirs.double().numpy(), atol=1e-5)


def test_additive_bias_with_causal_mask_matches_torch() -> None:
    gen = torch.Generator().manual_seed(12)
    q, k, v = (torch.randn(1, 2, 6, 4, generator=gen) for _ in range(3))
    bias = torch.randn(2, 6, 6, generator=gen)
    ours, _ = scaled_dot_product_attention(q, k, v, bias=bias, is_causal=True)
    allowed = torch.ones(6, 6, dtype=torch.bool).tril()
    theirs = F.scaled_dot_product_attention(
        q, k, v, attn_mask=bias.masked_fill(~allowed, float("-inf"))
    )
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_bias_of_wrong_shape_raises() -> None:
    q, k, v = torch.randn(1, 5, 4), torch.randn(1, 7, 4), torch.randn(1, 7, 4)
    with pytest.raises(ValueError, match=r"bias must broadcast .*\(1, 5, 7\).*\(5, 6\)"):
        scaled_dot_product_attention(q, k, v, bias=torch.zeros(5, 6))


@pytest.mark.parametrize(
    ("n_kv_heads", "w_k_shape", "n_params"),
    [(8, (64, 64), 16640), (2, (64, 16), 10400), (1, (64, 8), 9360)],
)
def test_attention_gqa_parameter_counts(
    n_kv_heads: int, w_k_shape: tuple[int, int], n_params: int
) -> None:
    """blocks/attention: the MHA / GQA / MQA parameter counts printed on the page."""
    layer = MultiHeadAttention(d_model=64, n_heads=8, n_kv_heads=n_kv_heads)
    assert tuple(layer.w_k.shape) == w_k_shape
    assert sum(p.numel() for p in layer.parameters()) == n_params
    d_model, d_head = 64, 64 // 8
    formula = (
        2 * d_model * d_model
        + 2 * d_model * n_kv_heads * d_head
        + 2 * d_model
        + 2 * n_kv_heads * d_head
    )
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


def test_attention_heatmap_arguments() -> None:
    weights = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    fig = attention_heatmap(tokens=["a", "b", "c"], weights=weights, annotate=False, title="mine")
    ax = fig.get_axes()[0]
    assert ax.get_title() == "mine"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), weights)
    default = attention_heatmap().get_axes()[0]
    labels = [t.get_text() for t in default.get_xticklabels()]
    assert labels == "the cat sat on the mat because it was tired".split()
    assert len(default.texts) == 100  # annotated cells
    with pytest.raises(ValueError, match=r"got 2 tokens"):
        attention_heatmap(tokens=["a", "b"], weights=weights)


def test_dot_product_variance_arguments_and_numbers() -> None:
    stats = dot_product_statistics(d_ks=(8, 128), n_samples=8000, seed=1)
    np.testing.assert_allclose(stats["var_raw"] / stats["d_k"], 1.0, atol=0.1)
    np.testing.assert_allclose(stats["var_scaled"], 1.0, atol=0.1)
    assert stats["max_weight_raw"][1] > stats["max_weight_raw"][0]  # saturation grows with d_k
    assert abs(stats["max_weight_scaled"][1] - stats["max_weight_scaled"][0]) < 0.05
    fig = dot_product_variance(d_ks=(2, 32), n_samples=500, n_keys=8)
    left = fig.get_axes()[0]
    np.testing.assert_array_equal(left.get_lines()[0].get_xdata(), [2, 32])
    fig.savefig(io.BytesIO(), format="svg")  # renders
    with pytest.raises(ValueError, match=r"d_ks must be positive integers, got \(0, 4\)"):
        dot_product_variance(d_ks=(0, 4))


def test_causal_mask_figure_arguments() -> None:
    fig = causal_and_padding_masks(seq_len=5, length=2)
    causal_ax, padding_ax = fig.get_axes()
    np.testing.assert_array_equal(causal_ax.get_images()[0].get_array(), np.tril(np.ones((5, 5))))
    padding = np.asarray(padding_ax.get_images()[0].get_array())
    assert padding[:, :2].all() and not padding[:, 2:].any()
    with pytest.raises(ValueError, match=r"seq_len=3, length=4"):
        causal_and_padding_masks(seq_len=3, length=4)
    assert math.isclose(fig.get_figwidth(), 6.0)


# ================================================================ page claims: KV cache, Jacobian
def test_attention_kv_cache_outweighs_the_weights_only_past_the_crossover() -> None:
    """blocks/attention: the cache costs more than the weights only when B n > |theta_mat| /
    (2 N H_kv d_head): "about 6,700 for GPT-2 small and 25,200 for LLaMA-2 7B, so at their full
    contexts (1,024 and 4,096 positions) from a batch of 7"."""
    from transformer_atlas.families.decoder_only import gpt2_config, llama_config
    from transformer_atlas.inference.generation import matmul_weights
    from transformer_atlas.inference.kv_cache import kv_cache_bytes

    for c, crossover in ((gpt2_config(), 6_700), (llama_config(), 25_200)):
        exact = matmul_weights(c) / (2 * c.n_layers * c.kv_heads * c.d_head)
        assert round(exact, -2) == crossover
        weights = matmul_weights(c) * 2  # bytes in float16, like the cache
        context = c.max_seq_len  # 1,024 and 4,096
        cache_6, cache_7, short = (
            kv_cache_bytes(c.n_layers, b, c.kv_heads, n, c.d_head, torch.float16)
            for b, n in ((6, context), (7, context), (1, 128))
        )
        assert cache_6 < weights < cache_7  # full context: the cache wins from a batch of 7
        assert short < weights / 20  # short context, batch 1: the weights dominate
    assert (gpt2_config().max_seq_len, llama_config().max_seq_len) == (1024, 4096)


def test_attention_saturated_softmax_jacobian_vanishes() -> None:
    """blocks/attention: J = diag(p) - p^T p, J_ij = p_i (delta_ij - p_j), "every entry is 0 when
    p is one-hot" (and near 0 when the softmax saturates)."""
    from transformer_atlas.foundations.calculus import softmax_jacobian

    z = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    p = torch.softmax(z, -1)[None, :]  # a row
    torch.testing.assert_close(softmax_jacobian(z), torch.diag(p[0]) - p.T @ p)
    torch.testing.assert_close(
        softmax_jacobian(z),
        torch.autograd.functional.jacobian(lambda u: torch.softmax(u, -1), z),  # [i, j] = dp_i/dz_j
    )
    one_hot = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)  # a row
    assert torch.equal(torch.diag(one_hot[0]) - one_hot.T @ one_hot, torch.zeros(3, 3).double())
    saturated = softmax_jacobian(torch.tensor([40.0, 0.0, 0.0], dtype=torch.float64))
    assert float(saturated.abs().max()) < 1e-15
