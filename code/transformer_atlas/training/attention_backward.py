"""The backward pass through a transformer's attention, written out.

Autograd computes these gradients for every model in the guide; this module
derives them by hand, so that the formulas on the page can be checked:

* :func:`cross_entropy_backward`: where backpropagation starts, the
  gradient of the mean cross-entropy at the logits, ``(p - onehot(y)) / n``.
* :func:`attention_backward`: ``dQ, dK, dV`` of scaled dot-product
  attention ``softmax(Q K^T / sqrt(d_k)) V`` from the gradient at its
  output, including the softmax's vector-Jacobian product.
* :func:`mha_backward`: the gradients of every weight of a
  :class:`~transformer_atlas.blocks.attention.MultiHeadAttention` layer and of
  its input, composed from :func:`attention_backward` and the linear layer's
  backward of :mod:`transformer_atlas.foundations.calculus`.

The guide's page ``training/dynamics`` shows this module;
``tests/package/training/test_dynamics_backward.py`` checks every gradient
against ``torch.autograd`` in float64.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import torch

from transformer_atlas.blocks.attention import (
    MultiHeadAttention,
    merge_heads,
    scaled_dot_product_attention,
    split_heads,
)
from transformer_atlas.blocks.logits_softmax import softmax
from transformer_atlas.common.validation import check_min_rank, shape_of
from transformer_atlas.foundations.calculus import linear_backward

# --8<-- [end:imports]

__all__ = [
    "cross_entropy_backward",
    "attention_backward",
    "mha_backward",
]


# --8<-- [start:cross_entropy_backward]
def cross_entropy_backward(
    logits: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Gradient of the mean cross-entropy at the logits.

    ``logits [..., vocab]``, ``targets [...]`` (integer ids). With
    ``n`` positions, ``L = mean(-log softmax(z)[y])`` and

    ``dL/dz = (softmax(z) - onehot(y)) / n``, shape ``[..., vocab]``.
    """
    check_min_rank("logits", logits, 1, "[..., vocab]")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(
            "targets must have the shape of logits without the last axis, "
            f"got logits {shape_of(logits)} and targets {shape_of(targets)}"
        )
    p = softmax(logits, dim=-1)  # [..., vocab]
    onehot = torch.nn.functional.one_hot(targets, logits.shape[-1])
    return (p - onehot.to(p.dtype)) / targets.numel()


# --8<-- [end:cross_entropy_backward]


# --8<-- [start:attention_backward]
def attention_backward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    d_out: torch.Tensor,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of ``O = softmax(Q K^T / sqrt(d_k)) V`` w.r.t. Q, K, V.

    Args:
        q: queries ``[..., q_len, d_k]``.
        k: keys ``[..., k_len, d_k]``.
        v: values ``[..., k_len, d_v]``.
        d_out: gradient of the loss at ``O``, ``[..., q_len, d_v]``.
        mask, is_causal: as in
            :func:`~transformer_atlas.blocks.attention.scaled_dot_product_attention`.

    Returns:
        ``(dQ [..., q_len, d_k], dK [..., k_len, d_k], dV [..., k_len, d_v])``.
    """
    out, p = scaled_dot_product_attention(  # forward again: P
        q, k, v, mask=mask, is_causal=is_causal
    )
    if d_out.shape != out.shape:
        raise ValueError(
            f"d_out must have the output's shape {shape_of(out)} "
            f"[..., q_len, d_v], got {shape_of(d_out)}"
        )
    scale = 1 / math.sqrt(q.shape[-1])
    dv = p.transpose(-2, -1) @ d_out  # O = P V
    dp = d_out @ v.transpose(-2, -1)  # [..., q_len, k_len]
    # softmax, row by row: dS = P * (dP - rowsum(dP * P))
    ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True))
    dq = ds @ k * scale  # S = Q K^T * scale
    dk = ds.transpose(-2, -1) @ q * scale
    return dq, dk, dv


# --8<-- [end:attention_backward]


# --8<-- [start:mha_backward]
def mha_backward(
    layer: MultiHeadAttention,
    x: torch.Tensor,
    d_out: torch.Tensor,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
) -> dict[str, torch.Tensor]:
    """Gradients of self-attention ``layer(x)`` by hand.

    Args:
        layer: a :class:`MultiHeadAttention` (MHA, GQA or MQA).
        x: input ``[batch, seq, d_model]``.
        d_out: gradient at the layer's output, ``[batch, seq, d_model]``.
        mask, is_causal: as in ``layer.forward``.

    Returns:
        ``{"x": [batch, seq, d_model], "w_q": .., "b_q": .., ...}``: the
        gradient of every parameter (biases if the layer has them).
    """
    batch, seq, d_model = x.shape
    h, h_kv = layer.n_heads, layer.n_kv_heads
    group = h // h_kv
    rows = x.reshape(-1, d_model)  # [batch * seq, d_model]
    with torch.no_grad():  # the forward pass, keeping what we need
        proj = {}
        for name in "qkv":
            w, b = getattr(layer, "w_" + name), getattr(layer, "b_" + name)
            proj[name] = x @ w if b is None else x @ w + b
        q = split_heads(proj["q"], h)  # [batch, H, seq, d_head]
        k = split_heads(proj["k"], h_kv).repeat_interleave(group, dim=1)
        v = split_heads(proj["v"], h_kv).repeat_interleave(group, dim=1)
        heads, _ = scaled_dot_product_attention(
            q, k, v, mask=mask, is_causal=is_causal
        )
        concat = merge_heads(heads)  # [batch, seq, d_model]

        grads = {}
        # out = concat W_O + b_O
        d_concat, grads["w_o"], grads["b_o"] = linear_backward(
            concat.reshape(-1, d_model), layer.w_o, d_out.reshape(-1, d_model)
        )
        d_heads = split_heads(d_concat.view(batch, seq, d_model), h)
        dq, dk, dv = attention_backward(q, k, v, d_heads, mask, is_causal)
        # repeat_interleave copied each K/V head to `group` query heads:
        # its backward sums the copies' gradients
        dk = dk.view(batch, h_kv, group, seq, -1).sum(dim=2)
        dv = dv.view(batch, h_kv, group, seq, -1).sum(dim=2)
        d_x = torch.zeros_like(rows)
        for name, d in (("q", dq), ("k", dk), ("v", dv)):
            d_rows = merge_heads(d).reshape(batch * seq, -1)
            w = getattr(layer, "w_" + name)
            dx_part, grads["w_" + name], grads["b_" + name] = linear_backward(
                rows, w, d_rows
            )
            d_x = d_x + dx_part  # x feeds Q, K and V: gradients add
        grads["x"] = d_x.view(batch, seq, d_model)
    if layer.b_q is None:  # a layer without biases
        grads = {n: g for n, g in grads.items() if not n.startswith("b_")}
    return grads


# --8<-- [end:mha_backward]
