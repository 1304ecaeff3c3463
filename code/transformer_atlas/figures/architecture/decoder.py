"""Figures for the decoder-block page.

* ``decoder-causal-mask``: the additive causal mask ``M`` (0 on and below
  the diagonal, ``-inf`` above) next to the attention weights of a real
  :class:`~transformer_atlas.architecture.decoder.CausalSelfAttention` on a
  short sequence: the weights are exactly 0 wherever ``M`` is ``-inf``.

:func:`causal_attention_weights` computes what the figure draws; the tests
check it against the module's own (fused) forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from transformer_atlas.architecture.decoder import CausalSelfAttention
from transformer_atlas.blocks.attention import MultiHeadAttention, causal_mask
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    INK,
    MUTED,
    new_figure,
    style_axes,
)

__all__ = ["causal_attention_weights", "decoder_causal_mask"]

DEFAULT_TOKENS = ("The", "cat", "sat", "on", "the", "mat")


def causal_attention_weights(
    seq_len: int = 6,
    d_model: int = 16,
    n_heads: int = 2,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Attention weights of a freshly initialised ``CausalSelfAttention``.

    ``CausalSelfAttention`` calls PyTorch's fused attention, which does not
    return its weights; the same module run through its parent
    :class:`MultiHeadAttention` with ``is_causal=True`` computes the same
    output (the tests check it) and returns them.

    Args:
        seq_len: number of positions ``n``.
        d_model: model width.
        n_heads: attention heads.
        seed: seed for the weights and the random input.

    Returns:
        ``M [n, n]`` (0 or ``-inf``), ``weights [n_heads, n, n]``, and the
        outputs ``[1, n, d_model]`` of the fused and the explicit path.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    attn = CausalSelfAttention(d_model, n_heads)
    x = torch.randn(1, seq_len, d_model, generator=gen)  # [1, n, d_model]
    with torch.no_grad():
        fused = attn(x)
        explicit, weights = MultiHeadAttention.forward(attn, x, is_causal=True)
    allowed = causal_mask(seq_len)
    m = torch.zeros(seq_len, seq_len).masked_fill(~allowed, float("-inf"))
    return m, weights[0], fused, explicit


@figure("decoder-causal-mask")
def decoder_causal_mask(
    tokens: Sequence[str] = DEFAULT_TOKENS,
    head: int = 0,
    n_heads: int = 2,
    d_model: int = 16,
    seed: int = 0,
) -> Figure:
    """The additive causal mask and one head's attention weights.

    Left: ``M_ij = 0`` if ``j <= i`` else ``-inf``. Right: head ``head`` of
    an untrained ``CausalSelfAttention(d_model, n_heads)`` on random token
    vectors (one per label in ``tokens``): only the zero upper triangle
    and the rows summing to 1 mean anything, not the values.

    Args:
        tokens: labels of the positions; their number is ``seq_len``.
        head: which head to draw (``0 <= head < n_heads``).
        n_heads: attention heads of the module.
        d_model: model width.
        seed: seed for the weights and the input.
    """
    tokens = list(tokens)
    if not 0 <= head < n_heads:
        raise ValueError(f"head must be in [0, n_heads={n_heads}), got {head}")
    m, weights, _, _ = causal_attention_weights(
        len(tokens), d_model, n_heads, seed
    )
    m, w = m.numpy(), weights[head].numpy()
    n = len(tokens)

    fig = new_figure((8.0, 4.0))
    left, right = fig.subplots(1, 2)
    allowed = np.isfinite(m)
    left.imshow(
        allowed, cmap=ListedColormap(["#d9d9d9", "#ffffff"]), vmin=0, vmax=1
    )
    right.imshow(w, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            left.text(
                j,
                i,
                "0" if allowed[i, j] else r"$-\infty$",
                ha="center",
                va="center",
                fontsize=9,
                color=INK if allowed[i, j] else MUTED,
            )
            right.text(  # masked weights are exactly 0: print "0"
                j,
                i,
                f"{w[i, j]:.2f}" if allowed[i, j] else "0",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if w[i, j] > 0.6 else INK,
            )
    left.set_title(r"Mask $M_{ij}$: 0 if $j \leq i$, else $-\infty$")
    right.set_title(f"softmax(S + M), head {head}, untrained")
    for ax in (left, right):
        ax.set_xticks(range(n), tokens, rotation=45, ha="right")
        ax.set_yticks(range(n), tokens)
        ax.set_xlabel("key j (attended to)")
        ax.set_ylabel("query i (attending)")
        style_axes(ax)
    return fig
