"""The hand-written backward passes against torch.autograd, in float64.

* ``attention_backward`` vs autograd through ``torch.nn.functional.scaled_dot_product_attention``
  and through our own forward (hypothesis over batch shapes, lengths, widths and masks).
* ``mha_backward`` vs autograd through ``MultiHeadAttention`` (MHA, GQA, MQA; biases or not;
  causal and padding masks).
* ``cross_entropy_backward`` vs autograd through ``torch.nn.functional.cross_entropy``.
* The softmax step equals ``calculus.softmax_backward`` (the calculus page's version).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.blocks.attention import (
    MultiHeadAttention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)
from transformer_atlas.foundations.calculus import softmax_backward
from transformer_atlas.training.attention_backward import (
    attention_backward,
    cross_entropy_backward,
    mha_backward,
)

F64 = torch.float64
TOL = {"rtol": 1e-6, "atol": 1e-6}


def _randn(*shape: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=F64)


def _autograd_attention(q, k, v, d_out, mask=None, is_causal=False, ours=False):
    """dQ, dK, dV by autograd, through torch's attention (default) or ours."""
    q, k, v = (t.clone().requires_grad_() for t in (q, k, v))
    if ours:
        out, _ = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
    else:  # torch's is_causal aligns the triangle top-left; ours bottom-right (KV-cache style)
        if is_causal:
            causal = causal_mask(q.shape[-2], k.shape[-2])
            mask = causal if mask is None else mask & causal
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return torch.autograd.grad(out, (q, k, v), d_out)


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
    q_len=st.integers(1, 6),
    extra_keys=st.integers(0, 4),
    d_k=st.integers(1, 8),
    d_v=st.integers(1, 8),
    masking=st.sampled_from(["none", "causal", "random"]),
    seed=st.integers(0, 10_000),
)
def test_attention_backward_matches_autograd(
    lead, q_len, extra_keys, d_k, d_v, masking, seed
) -> None:
    gen = torch.Generator().manual_seed(seed)
    k_len = q_len + extra_keys
    q = _randn(*lead, q_len, d_k, gen=gen)
    k = _randn(*lead, k_len, d_k, gen=gen)
    v = _randn(*lead, k_len, d_v, gen=gen)
    d_out = _randn(*lead, q_len, d_v, gen=gen)
    mask, is_causal = None, masking == "causal"
    if masking == "random":
        mask = torch.rand(*lead, q_len, k_len, generator=gen) < 0.6
        mask[..., 0] = True  # every query sees a key: torch's attention is defined
    ours = attention_backward(q, k, v, d_out, mask=mask, is_causal=is_causal)
    torch_grads = _autograd_attention(q, k, v, d_out, mask, is_causal)
    for name, a, b in zip("qkv", ours, torch_grads):
        assert a.shape == b.shape, name
        torch.testing.assert_close(a, b, **TOL, msg=f"d{name}")


def test_attention_backward_fully_masked_row_matches_our_forward() -> None:
    """A query that sees no key has output 0: it sends back no gradient, and no NaN."""
    gen = torch.Generator().manual_seed(0)
    q, k, v = _randn(2, 3, 4, gen=gen), _randn(2, 5, 4, gen=gen), _randn(2, 5, 3, gen=gen)
    d_out = _randn(2, 3, 3, gen=gen)
    mask = padding_mask(torch.tensor([5, 0]), 5)[:, 0]  # [2, 1, 5]; sequence 1 sees nothing
    ours = attention_backward(q, k, v, d_out, mask=mask)
    auto = _autograd_attention(q, k, v, d_out, mask, ours=True)
    for a, b in zip(ours, auto):
        assert not torch.isnan(a).any()
        torch.testing.assert_close(a, b, **TOL)
    assert ours[0][1].abs().max() == 0 and ours[1][1].abs().max() == 0


def test_softmax_step_is_the_calculus_pages_softmax_backward() -> None:
    gen = torch.Generator().manual_seed(1)
    p = torch.softmax(_randn(3, 4, 6, gen=gen), dim=-1)
    dp = _randn(3, 4, 6, gen=gen)
    written_out = p * (dp - (dp * p).sum(dim=-1, keepdim=True))
    torch.testing.assert_close(written_out, softmax_backward(p, dp), rtol=0, atol=0)


def test_attention_backward_rejects_a_wrong_d_out() -> None:
    gen = torch.Generator().manual_seed(0)
    q = _randn(3, 4, gen=gen)
    with pytest.raises(ValueError, match=r"d_out must have the output's shape \(3, 4\)"):
        attention_backward(q, q, q, _randn(3, 5, gen=gen))


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masking", ["causal", "padding"])
def test_mha_backward_matches_autograd(n_kv_heads: int, bias: bool, masking: str) -> None:
    torch.manual_seed(n_kv_heads)
    layer = MultiHeadAttention(16, 4, n_kv_heads=n_kv_heads, bias=bias).double()
    gen = torch.Generator().manual_seed(1)
    x = _randn(2, 5, 16, gen=gen).requires_grad_()
    d_out = _randn(2, 5, 16, gen=gen)
    kwargs = (
        {"is_causal": True}
        if masking == "causal"
        else {"mask": padding_mask(torch.tensor([5, 3]), 5)}
    )
    out, _ = layer(x, **kwargs)
    out.backward(d_out)
    ours = mha_backward(layer, x.detach(), d_out, **kwargs)
    expected = {"x": x.grad} | {n: p.grad for n, p in layer.named_parameters()}
    assert set(ours) == set(expected)
    for name, grad in expected.items():
        assert ours[name].shape == grad.shape, name
        torch.testing.assert_close(ours[name], grad, **TOL, msg=name)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_cross_entropy_backward_matches_autograd(shape: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(0)
    vocab = 11
    logits = (3 * _randn(*shape[:-1], shape[-1], vocab, gen=gen)).requires_grad_()
    targets = torch.randint(0, vocab, shape, generator=gen)
    F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1)).backward()
    ours = cross_entropy_backward(logits.detach(), targets)
    torch.testing.assert_close(ours, logits.grad, **TOL)
    # every row of (p - onehot) sums to 0: the gradient only moves probability around
    torch.testing.assert_close(ours.sum(-1), torch.zeros(shape, dtype=F64), rtol=0, atol=1e-15)


def test_cross_entropy_backward_rejects_mismatched_targets() -> None:
    with pytest.raises(ValueError, match="targets must have the shape of logits"):
        cross_entropy_backward(torch.zeros(3, 5), torch.zeros(4, dtype=torch.long))
