"""Attention: scaled dot-product, masks, multi-head, cross-attention, MQA, GQA.

Row-vector convention throughout: a token is a row, a projection is
``x @ W + b``.

Shapes:
    ``q [..., q_len, d_k]``, ``k [..., k_len, d_k]``, ``v [..., k_len, d_v]``;
    in a model the leading axes are ``[batch, heads]``. Masks are boolean,
    ``True`` = "this query may attend to this key", and broadcast to the
    scores ``[..., q_len, k_len]`` (the convention of
    ``torch.nn.functional.scaled_dot_product_attention``).

Fully masked rows (a query allowed to see no key at all, e.g. a padding
query) have no defined softmax. Rule used here and tested: such a row gets
attention weights of exactly 0 and an output of exactly 0, never NaN.

The guide's page ``blocks/attention`` shows these functions;
``tests/package/blocks/test_attention.py`` checks them against
``torch.nn.functional.scaled_dot_product_attention`` and
``torch.nn.MultiheadAttention``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import numpy as np
import torch
from torch import nn

from transformer_atlas.blocks.logits_softmax import softmax, softmax_numpy
from transformer_atlas.common.validation import (
    check_attention_inputs,
    check_broadcasts_to_scores,
    check_mask,
    check_rank,
    shape_of,
)

# --8<-- [end:imports]

__all__ = [
    "causal_mask",
    "causal_mask_numpy",
    "padding_mask",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_numpy",
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "multi_head_attention_numpy",
]


# --8<-- [start:masks]
def causal_mask(
    q_len: int,
    k_len: int | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Boolean causal mask ``[q_len, k_len]``; True = may attend.

    Query ``i`` may attend to key ``j`` iff ``j <= i + k_len - q_len``. With
    ``k_len == q_len`` this is the lower triangle. With ``k_len > q_len``
    (new queries appended after ``k_len - q_len`` cached keys) the last query
    sees every key.
    """
    k_len = q_len if k_len is None else k_len
    if q_len < 1 or k_len < q_len:
        raise ValueError(
            "causal_mask needs 1 <= q_len <= k_len, "
            f"got q_len={q_len}, k_len={k_len}"
        )
    ones = torch.ones(q_len, k_len, dtype=torch.bool, device=device)
    return ones.tril(diagonal=k_len - q_len)


def padding_mask(lengths: torch.Tensor, k_len: int) -> torch.Tensor:
    """Boolean key-padding mask ``[batch, 1, 1, k_len]`` from ``lengths``.

    ``lengths [batch]`` holds the true sequence lengths. Key ``j`` of
    sequence ``b`` is visible iff ``j < lengths[b]``; the two singleton axes
    broadcast over heads and queries.
    """
    check_rank("lengths", lengths, 1, "[batch]")
    if bool((lengths < 0).any()) or bool((lengths > k_len).any()):
        raise ValueError(
            f"lengths must lie in [0, k_len={k_len}], got {lengths.tolist()}"
        )
    positions = torch.arange(k_len, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, None, None, :]


# --8<-- [end:masks]


def causal_mask_numpy(q_len: int, k_len: int | None = None) -> np.ndarray:
    """NumPy twin of :func:`causal_mask`.

    Boolean ``[q_len, k_len]``; True = may attend.
    """
    k_len = q_len if k_len is None else k_len
    if q_len < 1 or k_len < q_len:
        raise ValueError(
            "causal_mask needs 1 <= q_len <= k_len, "
            f"got q_len={q_len}, k_len={k_len}"
        )
    return np.tril(np.ones((q_len, k_len), dtype=bool), k=k_len - q_len)


# --8<-- [start:sdpa_torch]
def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q k^T / sqrt(d_k) + bias) v`` with an optional boolean mask.

    Args:
        q: queries ``[..., q_len, d_k]`` (``...`` is usually ``batch, heads``).
        k: keys ``[..., k_len, d_k]``.
        v: values ``[..., k_len, d_v]``.
        mask: boolean, broadcastable to ``[..., q_len, k_len]``;
            True = may attend.
        is_causal: also apply :func:`causal_mask` (combined with ``mask`` by
            AND).
        dropout_p: dropout on the attention weights (training only; 0 in
            every test).
        bias: optional additive score bias, broadcastable to
            ``[..., q_len, k_len]`` (position biases such as ALiBi or T5's).

    Returns:
        ``(output [..., q_len, d_v], weights [..., q_len, k_len])``. Rows
        with no visible key get weights 0 and output 0.
    """
    check_attention_inputs(q, k, v)
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # [..., q_len, k_len]
    if bias is not None:
        check_broadcasts_to_scores("bias", bias, scores.shape)
        scores = scores + bias
    if mask is not None:
        check_mask(mask, scores.shape)
    if is_causal:
        causal = causal_mask(q.shape[-2], k.shape[-2], device=q.device)
        mask = causal if mask is None else mask & causal
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)
    if mask is not None:  # a row with no visible key: 0, not 0/0 = NaN
        weights = torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)
    if dropout_p > 0.0:
        weights = torch.nn.functional.dropout(weights, p=dropout_p)
    return weights @ v, weights


# --8<-- [end:sdpa_torch]


# --8<-- [start:sdpa_numpy]
def scaled_dot_product_attention_numpy(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(q k^T / sqrt(d_k) + bias) v`` in NumPy.

    Args:
        q: queries ``[..., q_len, d_k]``.
        k: keys ``[..., k_len, d_k]``.
        v: values ``[..., k_len, d_v]``.
        mask: boolean, broadcastable to ``[..., q_len, k_len]``;
            True = may attend.
        bias: optional additive score bias, broadcastable to
            ``[..., q_len, k_len]``.

    Returns:
        ``(output [..., q_len, d_v], weights [..., q_len, k_len])``.
    """
    check_attention_inputs(q, k, v)
    d_k = q.shape[-1]
    scores = q @ np.swapaxes(k, -2, -1) / np.sqrt(d_k)  # [..., q_len, k_len]
    if bias is not None:
        check_broadcasts_to_scores("bias", bias, scores.shape)
        scores = scores + bias
    if mask is not None:
        check_mask(mask, scores.shape)
        scores = np.where(mask, scores, -np.inf)
        visible = mask.any(axis=-1, keepdims=True)
        # keep softmax finite on fully masked rows ...
        scores = np.where(visible, scores, 0.0)
    weights = softmax_numpy(scores, axis=-1)
    if mask is not None:
        # ... and then give them weight 0
        weights = np.where(visible, weights, 0.0)
    return weights @ v, weights


# --8<-- [end:sdpa_numpy]


# --8<-- [start:split_heads]
def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Split the last axis into ``n_heads`` heads.

    ``[batch, seq, n_heads * head_dim]`` -> ``[batch, n_heads, seq, head_dim]``
    """
    batch, seq, width = x.shape
    return x.view(batch, seq, n_heads, width // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """Concatenate the heads along the last axis.

    ``[batch, n_heads, seq, head_dim]`` -> ``[batch, seq, n_heads * head_dim]``
    """
    batch, n_heads, seq, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, seq, n_heads * head_dim)


# --8<-- [end:split_heads]


# --8<-- [start:mha_torch]
class MultiHeadAttention(nn.Module):
    """Multi-head attention, optionally with grouped K/V heads (MHA, GQA, MQA).

    ``Q = x_q W_Q + b_Q``, ``K = x_kv W_K + b_K``, ``V = x_kv W_V + b_V``;
    split into heads; ``head_h = softmax(Q_h K_h^T / sqrt(d_head)) V_h``;
    ``out = concat(head_1..head_H) W_O + b_O``.

    Args:
        d_model: width of the residual stream.
        n_heads: number of query heads ``H``; must divide ``d_model``.
        n_kv_heads: number of key/value heads; ``H`` (default) is MHA, 1 is
            MQA, anything else that divides ``H`` is GQA (each K/V head is
            shared by ``H / n_kv_heads`` queries).
        bias: learn the biases ``b_Q, b_K, b_V, b_O``.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_kv_heads: int | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if d_model <= 0 or n_heads <= 0 or d_model % n_heads != 0:
            raise ValueError(
                "d_model must be a positive multiple of n_heads, "
                f"got d_model={d_model}, n_heads={n_heads}"
            )
        if n_kv_heads <= 0 or n_heads % n_kv_heads != 0:
            raise ValueError(
                "n_kv_heads must divide n_heads, "
                f"got n_heads={n_heads}, n_kv_heads={n_kv_heads}"
            )
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads
        self.d_head = d_model // n_heads
        d_kv = n_kv_heads * self.d_head
        # row vectors: x @ W_Q
        self.w_q = nn.Parameter(torch.empty(d_model, d_model))
        self.w_k = nn.Parameter(torch.empty(d_model, d_kv))
        self.w_v = nn.Parameter(torch.empty(d_model, d_kv))
        self.w_o = nn.Parameter(torch.empty(d_model, d_model))
        self.b_q = nn.Parameter(torch.zeros(d_model)) if bias else None
        self.b_k = nn.Parameter(torch.zeros(d_kv)) if bias else None
        self.b_v = nn.Parameter(torch.zeros(d_kv)) if bias else None
        self.b_o = nn.Parameter(torch.zeros(d_model)) if bias else None
        for w in (self.w_q, self.w_k, self.w_v, self.w_o):
            nn.init.xavier_uniform_(w)

    @staticmethod
    def _project(
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None,
    ) -> torch.Tensor:
        return x @ w if b is None else x @ w + b

    def forward(
        self,
        x_q: torch.Tensor,
        x_kv: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``x_q`` to ``x_kv``; return ``(output, weights)``.

        Shapes: ``x_q [batch, q_len, d_model]``,
        ``x_kv [batch, k_len, d_model]``. ``x_kv=None`` is self-attention
        (``x_kv = x_q``); otherwise cross-attention. ``mask`` is boolean,
        broadcastable to ``[batch, n_heads, q_len, k_len]``.

        Returns:
            ``output [batch, q_len, d_model]`` and
            ``weights [batch, n_heads, q_len, k_len]``.
        """
        x_kv = x_q if x_kv is None else x_kv
        for name, x in (("x_q", x_q), ("x_kv", x_kv)):
            check_rank(name, x, 3, "[batch, seq, d_model]")
            if x.shape[-1] != self.d_model:
                raise ValueError(
                    f"{name} must have last dimension "
                    f"d_model={self.d_model}, got shape {shape_of(x)}"
                )
        if x_q.shape[0] != x_kv.shape[0]:
            raise ValueError(
                "x_q and x_kv must have the same batch size, "
                f"got {shape_of(x_q)} and {shape_of(x_kv)}"
            )

        q = self._project(x_q, self.w_q, self.b_q)
        k = self._project(x_kv, self.w_k, self.b_k)
        v = self._project(x_kv, self.w_v, self.b_v)
        q = split_heads(q, self.n_heads)  # [b, H, q_len, d_head]
        k = split_heads(k, self.n_kv_heads)  # [b, H_kv, k_len, d_head]
        v = split_heads(v, self.n_kv_heads)
        # query heads per K/V head (1 for MHA)
        group = self.n_heads // self.n_kv_heads
        k = k.repeat_interleave(group, dim=1)  # [b, H, k_len, d_head]
        v = v.repeat_interleave(group, dim=1)
        heads, weights = scaled_dot_product_attention(
            q, k, v, mask=mask, is_causal=is_causal
        )
        return self._project(merge_heads(heads), self.w_o, self.b_o), weights


# --8<-- [end:mha_torch]


# --8<-- [start:mha_numpy]
def multi_head_attention_numpy(
    x_q: np.ndarray,
    x_kv: np.ndarray | None,
    params: dict[str, np.ndarray],
    n_heads: int,
    n_kv_heads: int | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head attention in NumPy.

    The parameter names are those of :class:`MultiHeadAttention`.

    Args:
        x_q: queries' inputs ``[batch, q_len, d_model]``.
        x_kv: keys'/values' inputs ``[batch, k_len, d_model]``; ``None`` for
            self-attention.
        params: ``w_q [d_model, d_model]``,
            ``w_k``/``w_v [d_model, n_kv_heads * d_head]``,
            ``w_o [d_model, d_model]`` and optional biases
            ``b_q, b_k, b_v, b_o``.
        n_heads: query heads ``H``.
        n_kv_heads: key/value heads (default ``H``).
        mask: boolean, broadcastable to ``[batch, H, q_len, k_len]``;
            True = may attend.

    Returns:
        ``output [batch, q_len, d_model]`` and
        ``weights [batch, H, q_len, k_len]``.
    """
    x_kv = x_q if x_kv is None else x_kv
    check_rank("x_q", x_q, 3, "[batch, seq, d_model]")
    check_rank("x_kv", x_kv, 3, "[batch, seq, d_model]")
    n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
    d_model = params["w_q"].shape[0]
    for name, x in (("x_q", x_q), ("x_kv", x_kv)):
        if x.shape[-1] != d_model or x.shape[0] != x_q.shape[0]:
            raise ValueError(
                f"{name} must be [batch={x_q.shape[0]}, seq, "
                f"d_model={d_model}], got shape {shape_of(x)}"
            )
    if (
        n_heads <= 0
        or n_kv_heads <= 0
        or d_model % n_heads != 0
        or n_heads % n_kv_heads != 0
    ):
        raise ValueError(
            "d_model must be a multiple of n_heads and n_kv_heads must divide "
            f"n_heads, got d_model={d_model}, n_heads={n_heads}, "
            f"n_kv_heads={n_kv_heads}"
        )

    def project(x: np.ndarray, name: str) -> np.ndarray:
        b = params.get("b_" + name)
        return x @ params["w_" + name] + (0.0 if b is None else b)

    def split(x: np.ndarray, h: int) -> np.ndarray:
        # [b, seq, h*d] -> [b, h, seq, d]
        b, s, w = x.shape
        return x.reshape(b, s, h, w // h).transpose(0, 2, 1, 3)

    group = n_heads // n_kv_heads
    q = split(project(x_q, "q"), n_heads)
    k = np.repeat(split(project(x_kv, "k"), n_kv_heads), group, axis=1)
    v = np.repeat(split(project(x_kv, "v"), n_kv_heads), group, axis=1)
    heads, weights = scaled_dot_product_attention_numpy(q, k, v, mask=mask)
    b, h, s, d = heads.shape
    concat = heads.transpose(0, 2, 1, 3).reshape(b, s, h * d)
    return project(concat, "o"), weights


# --8<-- [end:mha_numpy]
