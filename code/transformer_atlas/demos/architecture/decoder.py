"""Demo ``decoder``: a decoder block step by step: shapes, causality,
cross-attention.

One decoder block step by step, and why it is causal.

Run it with ``python -m transformer_atlas demo decoder``. Part 1 pushes a
``[batch, seq, d_model]`` tensor through a pre-norm
:class:`~transformer_atlas.architecture.decoder.DecoderBlock` with
cross-attention, sub-layer by sub-layer, printing every shape, and checks that
the steps add up to the block's own forward pass. Part 2 shows the causal
property (changing position ``p`` changes no output before ``p``), and Part 3
that cross-attention reads every memory position. Weights are random
(untrained): only shapes, masks and which outputs change mean anything.
"""

from __future__ import annotations

import torch

from transformer_atlas.architecture.decoder import DecoderBlock
from transformer_atlas.blocks.attention import causal_mask

__all__ = ["main"]


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in x.shape) + "]"


def _row_changes(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Print and return the largest change of each position (``[b, s, d]``)."""
    changes = (a - b).abs().amax(dim=(0, 2)).tolist()
    print("largest change of each output position:")
    print("    " + "  ".join(f"{i}: {v:.3f}" for i, v in enumerate(changes)))
    return changes


def main() -> None:
    """Print the demo to standard output."""
    torch.manual_seed(0)
    batch, seq, src_len, d_model, n_heads = 2, 5, 7, 16, 4
    block = DecoderBlock(
        d_model, n_heads, 4 * d_model, ffn="gelu", cross_attention=True
    ).eval()
    x = torch.randn(batch, seq, d_model)  # the decoder's input
    memory = torch.randn(batch, src_len, d_model)  # the encoder's output

    print("Part 1 - one pre-norm decoder block, sub-layer by sub-layer")
    print(
        f"DecoderBlock(d_model={d_model}, n_heads={n_heads}, "
        f"d_ff={4 * d_model}, ffn='gelu', cross_attention=True)"
    )
    print(f"x      [batch, seq, d_model]     = {_shape(x)}")
    print(f"memory [batch, src_len, d_model] = {_shape(memory)}")
    mask = causal_mask(seq)
    print(f"causal mask [seq, seq] = {_shape(mask)}, True = may attend:")
    for row in mask.int().tolist():
        print("    " + " ".join(str(v) for v in row))
    with torch.no_grad():
        h = block.attn(block.norm_attn(x))
        x1 = x + h
        print(
            "1. x = x + CausalSelfAttn(LN(x))         "
            f"sub-layer output {_shape(h)}"
        )
        c, w = block.cross(block.norm_cross(x1), memory)
        x2 = x1 + c
        print(
            "2. x = x + CrossAttn(LN(x), memory)      "
            f"sub-layer output {_shape(c)}"
        )
        print(
            "   cross-attention weights [batch, heads, seq, src_len] = "
            f"{_shape(w)} (no mask: every memory row)"
        )
        f = block.ffn(block.norm_ffn(x2))
        x3 = x2 + f
        print(
            "3. x = x + FFN(LN(x))                    "
            f"sub-layer output {_shape(f)}"
        )
        y = block(x, memory)
    same = torch.allclose(x3, y, atol=1e-6)
    print(f"the three steps equal block(x, memory): {same}")
    print(f"output [batch, seq, d_model] = {_shape(y)}")
    print()

    p = 3
    print(f"Part 2 - causal: change the input at position {p} only")
    x_changed = x.clone()
    x_changed[:, p] += torch.randn(batch, d_model)
    with torch.no_grad():
        y_changed = block(x_changed, memory)
    changes = _row_changes(y_changed, y)
    unchanged = all(v == 0.0 for v in changes[:p])
    print(f"positions 0..{p - 1} are unchanged: {unchanged}")
    print()

    j = 0
    print(f"Part 3 - cross-attention: change memory row {j} only")
    memory_changed = memory.clone()
    memory_changed[:, j] += torch.randn(batch, d_model)
    with torch.no_grad():
        y_mem = block(x, memory_changed)
    changes = _row_changes(y_mem, y)
    print(f"every output position changes: {all(v > 0 for v in changes)}")
