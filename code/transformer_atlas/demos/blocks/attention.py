"""Demo ``attention``: attention step by step on a toy sentence, then causal
multi-head attention.

Attention step by step, with every shape printed.

Run it with ``python -m transformer_atlas demo attention``. Part 1 is
single-head self-attention in NumPy on the hand-set toy sentence of
:mod:`transformer_atlas.blocks.attention_walkthrough` (the numbers come from
:func:`~transformer_atlas.blocks.attention_walkthrough.attention_steps`, which
calls
:func:`~transformer_atlas.blocks.attention.scaled_dot_product_attention_numpy`).
Part 2 is one pass of
:class:`~transformer_atlas.blocks.attention.MultiHeadAttention` with a causal
mask, in PyTorch, with randomly initialised (untrained) weights: only its
shapes and its mask mean anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from transformer_atlas.blocks.attention_walkthrough import (
    QK_FEATURES,
    V_FEATURES,
    attention_steps,
)

__all__ = ["main", "format_table"]


def _shape(a: object) -> str:
    shape = a.shape  # type: ignore[attr-defined]
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def format_table(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    digits: int = 2,
) -> str:
    """A 2-D array as an aligned text table with row and column labels."""
    values = np.asarray(values)
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            "values must be [rows, cols] = "
            f"[{len(row_labels)}, {len(col_labels)}], "
            f"got shape {values.shape}"
        )

    def cell(v: float) -> str:
        if np.isfinite(v):
            return f"{v:.{digits}f}"
        return "-inf" if v < 0 else str(v)

    cells = [[cell(v) for v in row] for row in values]
    lengths = [len(c) for c in col_labels]
    lengths += [len(c) for row in cells for c in row]
    width = max(lengths) + 1
    left = max(len(r) for r in row_labels) + 1
    lines = [" " * left + "".join(c.rjust(width) for c in col_labels)]
    for label, row in zip(row_labels, cells):
        lines.append(label.ljust(left) + "".join(c.rjust(width) for c in row))
    return "\n".join(lines)


def main() -> None:
    """Print the demo to standard output."""
    s = attention_steps()
    toks = s.tokens
    short = [t[:7] for t in toks]
    d_k = s.d_k
    print("Part 1 - single-head self-attention on a toy sentence (NumPy)")
    print("Embeddings and projections are hand-set for teaching, not learned.")
    print(f"tokens: {' '.join(toks)}")
    print(f"X [seq, d_model] = {_shape(s.x)}")
    print(
        f"W_Q [d_model, d_k] = {_shape(s.w_q)}, "
        f"W_K [d_model, d_k] = {_shape(s.w_k)}, "
        f"W_V [d_model, d_v] = {_shape(s.w_v)}"
    )
    print()
    print(
        f"Q = X @ W_Q   Q [seq, d_k] = {_shape(s.q)}   "
        f"columns ask for: {', '.join(QK_FEATURES)}"
    )
    print(
        f"K = X @ W_K   K [seq, d_k] = {_shape(s.k)}   "
        f"columns offer:   {', '.join(QK_FEATURES)}"
    )
    print(
        f"V = X @ W_V   V [seq, d_v] = {_shape(s.v)}   "
        f"columns carry:   {', '.join(V_FEATURES)}"
    )
    print()
    print(
        f"scores = Q @ K^T   scores [q_len, k_len] = {_shape(s.scores)}   "
        "(query rows, key columns)"
    )
    print(format_table(s.scores, short, short))
    print()
    print(
        f"scaled = scores / sqrt(d_k) = scores / sqrt({d_k}) "
        f"= scores / {math.sqrt(d_k):.2f}"
    )
    print(format_table(s.scaled_scores, short, short))
    print()
    print(
        "weights = softmax(scaled, axis=-1)   "
        f"weights [q_len, k_len] = {_shape(s.weights)}"
    )
    print(format_table(s.weights, short, short))
    print(f"every row sums to 1: {bool(np.allclose(s.weights.sum(-1), 1.0))}")
    print()
    print(f"output = weights @ V   output [seq, d_v] = {_shape(s.output)}")
    print(format_table(s.output, short, list(V_FEATURES)))
    for query in ("it", "sat", "tired"):
        i = toks.index(query)
        print(
            f'"{query}" attends most to "{s.top_key(query)}" '
            f"(weight {s.weights[i].max():.2f})"
        )
    print()
    _multi_head_part(s.x, toks)


def _multi_head_part(x_np: np.ndarray, toks: list[str]) -> None:
    import torch

    from transformer_atlas.blocks.attention import (
        MultiHeadAttention,
        causal_mask,
        split_heads,
    )

    torch.manual_seed(0)
    n_heads = 2
    seq, d_model = x_np.shape
    # [batch=1, seq, d_model]
    x = torch.tensor(x_np, dtype=torch.float32)[None]
    mha = MultiHeadAttention(d_model=d_model, n_heads=n_heads)
    mask = causal_mask(seq)
    print(
        "Part 2 - multi-head self-attention with a causal mask "
        "(PyTorch, untrained weights)"
    )
    print(
        f"x [batch, seq, d_model] = {_shape(x)}, n_heads = {n_heads}, "
        f"d_head = d_model / n_heads = {mha.d_head}"
    )
    print(
        f"mask = causal_mask({seq})   mask [q_len, k_len] = {_shape(mask)}   "
        "(True = may attend)"
    )
    with torch.no_grad():
        q_heads = split_heads(x @ mha.w_q + mha.b_q, n_heads)
        out, weights = mha(x, mask=mask)
    print(
        "Q = x @ W_Q + b_Q, split into heads   "
        f"Q [batch, n_heads, seq, d_head] = {_shape(q_heads)}"
    )
    print(
        "K, V: the same shape; each head runs scaled dot-product attention "
        "on its own slice"
    )
    print(f"weights [batch, n_heads, q_len, k_len] = {_shape(weights)}")
    print(
        "output = concat(heads) @ W_O + b_O   "
        f"output [batch, seq, d_model] = {_shape(out)}"
    )
    future_is_zero = bool((weights[..., ~mask] == 0).all())
    print(
        f"weights above the diagonal (the future) are all 0: {future_is_zero}"
    )
    short = [t[:7] for t in toks]
    print("head 0 weights (query rows, key columns):")
    print(format_table(weights[0, 0].numpy(), short, short))
