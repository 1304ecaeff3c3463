"""Demo ``positional-encoding``: why attention needs positions; learned,
sinusoidal, RoPE, ALiBi, T5.

Five positional schemes, with shapes and values.

Run it with ``python -m transformer_atlas demo positional-encoding``. It first
shows that self-attention without positions is permutation-equivariant (and
that adding positions breaks this), then prints each scheme of
:mod:`transformer_atlas.blocks.positional_encoding`: learned absolute
positions, the sinusoidal table and its shift matrix, RoPE, ALiBi and T5's
relative bias. Weights are random (untrained): only shapes, structure and the
properties printed mean anything.
"""

from __future__ import annotations

import torch

from transformer_atlas.blocks.attention import (
    MultiHeadAttention,
    scaled_dot_product_attention,
)
from transformer_atlas.blocks.positional_encoding import (
    LearnedPositionalEmbedding,
    T5RelativePositionBias,
    alibi_bias,
    alibi_slopes,
    apply_rope,
    relative_position_bucket,
    relative_positions,
    sinusoidal_encoding,
    sinusoidal_shift_matrix,
)

__all__ = ["main"]


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in t.shape) + "]"


def _row(values: torch.Tensor, digits: int = 3) -> str:
    return "[" + ", ".join(f"{float(v):.{digits}f}" for v in values) + "]"


def _permutation_part() -> None:
    torch.manual_seed(0)
    seq, d_model = 6, 16
    mha = MultiHeadAttention(d_model=d_model, n_heads=4).double()
    x = torch.randn(1, seq, d_model, dtype=torch.float64)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    pe = sinusoidal_encoding(seq, d_model, dtype=torch.float64)
    print("1. Why positions: self-attention is permutation-equivariant")
    print(
        f"x [batch, seq, d_model] = {_shape(x)}, permutation = {perm.tolist()}"
    )
    with torch.no_grad():
        gap_plain = (mha(x[:, perm])[0] - mha(x)[0][:, perm]).abs().max()
        gap_pos = (
            (mha(x[:, perm] + pe)[0] - mha(x + pe)[0][:, perm]).abs().max()
        )
    print(
        "without positions: max |attn(x[perm]) - attn(x)[perm]| = "
        f"{float(gap_plain):.1e}  (equivariant: "
        f"{bool(gap_plain < 1e-12)})"
    )
    print(
        "with sinusoidal positions added: max difference = "
        f"{float(gap_pos):.3f}  (equivariant: {bool(gap_pos < 1e-12)})"
    )
    print()


def _absolute_part() -> None:
    torch.manual_seed(0)
    print("2. Learned absolute positions (GPT-2's wpe)")
    wpe = LearnedPositionalEmbedding(max_len=8, d_model=4)
    x = torch.zeros(1, 5, 4)
    print(
        f"weight [max_len, d_model] = {_shape(wpe.weight)}; "
        f"wpe(x) for x [batch, seq, d_model] = {_shape(x)} -> "
        f"{_shape(wpe(x))}"
    )
    try:
        wpe(torch.zeros(1, 9, 4))
    except ValueError as err:
        print(f"9 positions with max_len=8: ValueError: {err}")
    print()

    print("3. Sinusoidal positions")
    pe = sinusoidal_encoding(50, 8, dtype=torch.float64)
    print(f"PE [seq, d_model] = {_shape(pe)}")
    print(f"PE[0] = {_row(pe[0])}   (sin 0 = 0, cos 0 = 1)")
    print(f"PE[1] = {_row(pe[1])}")
    m_3 = sinusoidal_shift_matrix(3, 8)
    err = float((pe[:-3] @ m_3 - pe[3:]).abs().max())
    print(
        f"M_3 [d_model, d_model] = {_shape(m_3)}; "
        f"max |PE(p) M_3 - PE(p + 3)| over p = 0..46: {err:.1e}"
    )
    print()


def _rope_part() -> None:
    print("4. RoPE: rotate query/key feature pairs (i, i + head_dim/2)")
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(1, 2, 6, 8, generator=gen, dtype=torch.float64)
    k = torch.randn(1, 2, 6, 8, generator=gen, dtype=torch.float64)
    q_rot, k_rot = apply_rope(q), apply_rope(k)
    print(
        f"q, k [batch, heads, seq, head_dim] = {_shape(q)} -> "
        f"apply_rope -> {_shape(q_rot)}"
    )
    same_norm = torch.allclose(
        q_rot.norm(dim=-1), q.norm(dim=-1)
    ) and torch.allclose(k_rot.norm(dim=-1), k.norm(dim=-1))
    print(f"norms unchanged (a rotation): {same_norm}")
    unchanged = torch.allclose(q_rot[..., 0, :], q[..., 0, :])
    print(f"position 0 unchanged: {unchanged}")

    def score(m: int, n: int) -> float:
        q_m = apply_rope(q[:, :1, :1], torch.tensor([m]))
        k_n = apply_rope(k[:, :1, :1], torch.tensor([n]))
        return float((q_m * k_n).sum())

    print(
        f"score(q at 5, k at 2) = {score(5, 2):.6f}, "
        f"score(q at 105, k at 102) = {score(105, 102):.6f}  (m - n = 3)"
    )
    print()


def _bias_part() -> None:
    print("5. ALiBi: bias m_h (j - i) on the scores, fixed slopes")
    for n_heads in (8, 12):
        slopes = ", ".join(f"{float(m):.4g}" for m in alibi_slopes(n_heads))
        print(f"slopes for H = {n_heads}: {slopes}")
    bias = alibi_bias(n_heads=8, q_len=4)
    print(f"alibi_bias(8, 4) [heads, q_len, k_len] = {_shape(bias)}")
    print(f"head 0 (m = 1/2), query 3: {_row(bias[0, 3], 2)}")
    print()

    print("6. T5 relative position bias: learned scalar per (bucket, head)")
    offsets = torch.tensor([0, -1, -8, -16, -64, -128, -1000, 1, 8])
    bidir = relative_position_bucket(offsets)
    causal = relative_position_bucket(offsets, bidirectional=False)
    print(f"offset j - i:  {offsets.tolist()}")
    print(f"bidirectional: {bidir.tolist()}")
    print(f"causal:        {causal.tolist()}")
    torch.manual_seed(0)
    t5 = T5RelativePositionBias(n_heads=4, bidirectional=False)
    with torch.no_grad():
        t5_bias = t5(q_len=3, k_len=5)
    print(
        f"weight [num_buckets, n_heads] = {_shape(t5.weight)}; "
        f"bias(q_len=3, k_len=5) [heads, q_len, k_len] = {_shape(t5_bias)}"
    )
    print("offsets j - i of the 3 queries (after 2 cached keys):")
    for row in relative_positions(3, 5):
        print("  " + " ".join(f"{int(v):3d}" for v in row))
    toeplitz = torch.equal(t5_bias[:, 1:, 1:], t5_bias[:, :-1, :-1])
    print(f"bias constant along diagonals (depends on j - i only): {toeplitz}")

    gen = torch.Generator().manual_seed(1)
    q = torch.randn(1, 4, 3, 8, generator=gen)  # 3 new queries
    k, v = torch.randn(2, 1, 4, 5, 8, generator=gen)  # 5 keys and values
    with torch.no_grad():
        out, weights = scaled_dot_product_attention(
            q, k, v, is_causal=True, bias=t5_bias
        )
    print(
        "scaled_dot_product_attention(q, k, v, is_causal=True, bias=...): "
        f"weights {_shape(weights)}, output {_shape(out)}"
    )


def main() -> None:
    """Print the demo to standard output."""
    _permutation_part()
    _absolute_part()
    _rope_part()
    _bias_part()
