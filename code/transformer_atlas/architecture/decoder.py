"""The decoder block: masked self-attention, cross-attention, feed-forward.

A decoder block is the encoder's block with two changes. Its self-attention
is **masked**: position ``i`` may only look at positions ``<= i``, so the
block can be trained on a whole sequence at once while every position
predicts its successor without seeing it. And, in an encoder-decoder model
(the 2017 paper, T5), a **cross-attention** sub-layer lets every position
read the encoder's output ``memory``. Decoder-only models (GPT, LLaMA) drop
the cross-attention; what is left is masked self-attention and an FFN.

Pre-norm, row vectors (``x @ W + b``)::

    x = x + SelfAttn(N_attn(x))            # causal
    x = x + CrossAttn(N_cross(x), memory)  # encoder-decoder only
    x = x + FFN(N_ffn(x))

:class:`CausalSelfAttention` extends the guide's
:class:`~transformer_atlas.blocks.attention.MultiHeadAttention` (same weights
``w_q, w_k, w_v, w_o``) with what generation needs: rotary positions,
grouped K/V heads and a :class:`~transformer_atlas.inference.kv_cache.KVCache`.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn

from transformer_atlas.blocks.attention import (
    MultiHeadAttention,
    causal_mask,
    merge_heads,
    split_heads,
)
from transformer_atlas.blocks.feed_forward import FeedForward, SwiGLU
from transformer_atlas.blocks.positional_encoding import apply_rope
from transformer_atlas.blocks.residual import make_norm
from transformer_atlas.common.validation import check_rank, shape_of
from transformer_atlas.inference.kv_cache import KVCache

# --8<-- [end:imports]

__all__ = ["CausalSelfAttention", "DecoderBlock"]


# --8<-- [start:causal_self_attention]
class CausalSelfAttention(MultiHeadAttention):
    """Masked multi-head self-attention with RoPE, GQA and a KV cache.

    The weights are those of :class:`MultiHeadAttention`. Position ``i``
    attends to positions ``0 .. i`` only.

    Args:
        d_model: width of the residual stream.
        n_heads: query heads ``H``.
        n_kv_heads: key/value heads (``H``: MHA; fewer: GQA; 1: MQA).
        bias: learn ``b_Q, b_K, b_V, b_O``.
        rope_base: rotate queries and keys by their positions (RoPE) with
            this base; ``None`` for no rotation (GPT-2 adds learned
            positions to the input instead).
        rope_scaling: LLaMA-3.1's RoPE frequency scaling, the keyword
            arguments of :func:`~transformer_atlas.blocks.\
positional_encoding.llama3_rope_frequencies`; ``None``: plain RoPE.
        dropout: dropout on the attention weights while training.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_kv_heads: int | None = None,
        bias: bool = True,
        rope_base: float | None = None,
        dropout: float = 0.0,
        rope_scaling: dict[str, float] | None = None,
    ) -> None:
        super().__init__(d_model, n_heads, n_kv_heads, bias)
        if rope_scaling is not None and rope_base is None:
            raise ValueError(
                "rope_scaling scales RoPE's frequencies: it needs a "
                f"rope_base, got rope_base=None, rope_scaling={rope_scaling}"
            )
        self.rope_base = rope_base
        self.rope_scaling = rope_scaling
        self.dropout = dropout

    def forward(  # type: ignore[override]
        self,
        x: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``.

        With a ``cache``, ``x`` holds the *new* positions only; their keys
        and values are appended to ``cache`` (as layer ``layer``) and the
        queries attend to every cached position.
        """
        check_rank("x", x, 3, "[batch, seq, d_model]")
        if x.shape[-1] != self.d_model:
            raise ValueError(
                f"x must have last dimension d_model={self.d_model}, "
                f"got shape {shape_of(x)}"
            )
        seq = x.shape[1]
        start = 0 if cache is None else cache.length
        q = split_heads(self._project(x, self.w_q, self.b_q), self.n_heads)
        k = split_heads(self._project(x, self.w_k, self.b_k), self.n_kv_heads)
        v = split_heads(self._project(x, self.w_v, self.b_v), self.n_kv_heads)
        if self.rope_base is not None:  # rotate by absolute position
            positions = torch.arange(start, start + seq, device=x.device)
            q = apply_rope(q, positions, self.rope_base, self.rope_scaling)
            k = apply_rope(k, positions, self.rope_base, self.rope_scaling)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # [b, H_kv, start + seq, d]
        group = self.n_heads // self.n_kv_heads
        if group > 1:  # GQA: each K/V head serves `group` query heads
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        k_len = k.shape[2]
        mask = None  # one new token (s = 1) may see every cached key
        if 1 < seq < k_len:  # a chunk after a prefix: bottom-right mask
            mask = causal_mask(seq, k_len, device=x.device)
        heads = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=seq == k_len and seq > 1,
            dropout_p=self.dropout if self.training else 0.0,
        )  # [batch, H, seq, d_head]
        return self._project(merge_heads(heads), self.w_o, self.b_o)


# --8<-- [end:causal_self_attention]


# --8<-- [start:decoder_block]
class DecoderBlock(nn.Module):
    """A pre-norm decoder block (cross-attention optional).

    Args:
        d_model: width of the residual stream.
        n_heads: attention heads.
        d_ff: hidden width of the feed-forward network.
        n_kv_heads: key/value heads of the self-attention (GQA).
        ffn: ``"swiglu"`` (LLaMA) or an activation of
            :class:`FeedForward`: ``"gelu_tanh"`` (GPT-2), ``"gelu"``,
            ``"relu"`` (2017), ``"silu"``.
        norm: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm).
        eps: the norms' epsilon.
        bias: biases in attention, FFN and LayerNorm.
        rope_base: RoPE base of the self-attention (``None``: no RoPE).
        rope_scaling: LLaMA-3.1's RoPE frequency scaling (``None``: none).
        cross_attention: add a sub-layer that attends to ``memory``.
        dropout: dropout on the attention weights and on each sub-layer's
            output while training.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        n_kv_heads: int | None = None,
        ffn: str = "gelu_tanh",
        norm: str = "layer",
        eps: float = 1e-5,
        bias: bool = True,
        rope_base: float | None = None,
        cross_attention: bool = False,
        dropout: float = 0.0,
        rope_scaling: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.norm_attn = make_norm(norm, d_model, eps, bias)
        self.attn = CausalSelfAttention(
            d_model,
            n_heads,
            n_kv_heads,
            bias,
            rope_base,
            dropout,
            rope_scaling,
        )
        self.norm_cross = self.cross = None
        if cross_attention:
            self.norm_cross = make_norm(norm, d_model, eps, bias)
            self.cross = MultiHeadAttention(d_model, n_heads, bias=bias)
        self.norm_ffn = make_norm(norm, d_model, eps, bias)
        self.ffn = (
            SwiGLU(d_model, d_ff)
            if ffn == "swiglu"
            else FeedForward(d_model, d_ff, ffn, bias)
        )
        # dropout on each sub-layer's output (nothing to do when 0)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``.

        ``memory [batch, src_len, d_model]``: the encoder's output, needed
        exactly when the block has cross-attention. ``cache``/``layer``:
        see :class:`CausalSelfAttention`.
        """
        if (memory is None) != (self.cross is None):
            got = "None" if memory is None else shape_of(memory)
            raise ValueError(
                "memory must be given exactly when the block has "
                f"cross-attention (cross_attention={self.cross is not None})"
                f", got memory={got}"
            )
        x = x + self.drop(self.attn(self.norm_attn(x), cache, layer))
        if self.cross is not None:
            h, _ = self.cross(self.norm_cross(x), memory)
            x = x + self.drop(h)
        return x + self.drop(self.ffn(self.norm_ffn(x)))


# --8<-- [end:decoder_block]
