"""Positional information: five ways to tell attention where a token is.

Self-attention without positions is permutation-equivariant: it sees a set
of tokens, not a sequence. This module holds the five schemes of the guide's
page ``blocks/positional-encoding``, one section each:

1. learned absolute positions (GPT-2's ``wpe``): a table ``[max_len,
   d_model]`` added to the token embeddings;
2. sinusoidal positions (Vaswani et al., 2017): a fixed table of sines and
   cosines, added the same way;
3. rotary position embedding, RoPE (Su et al., 2021): rotates pairs of
   query/key features by an angle proportional to the position, in every
   attention layer; "rotate_half" pairing (GPT-NeoX, Hugging Face LLaMA);
   with LLaMA-3.1's frequency scaling for longer contexts;
4. ALiBi (Press et al., 2022): a per-head linear penalty ``m_h (j - i)``
   added to the attention scores;
5. T5's relative position bias (Raffel et al., 2020): a learned scalar per
   (log-spaced distance bucket, head) added to the scores.

Shapes follow the guide's conventions: hidden states
``[batch, seq, d_model]``; queries and keys ``[batch, heads, seq,
head_dim]``; score biases ``[heads, q_len, k_len]``, which broadcast to the
scores ``[batch, heads, q_len, k_len]``. When ``k_len > q_len`` (new queries
after cached keys) query ``i`` sits at position ``i + k_len - q_len``, the
alignment of :func:`transformer_atlas.blocks.attention.causal_mask`.

``tests/package/blocks/test_positional_encoding.py`` checks every function
against an oracle we did not write: NumPy formulas, a Meta-LLaMA-style
complex-number RoPE, the ALiBi authors' ``get_slopes``, T5's bucket formula,
and ``torch.nn.functional.scaled_dot_product_attention`` with a float mask.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import numpy as np
import torch
from torch import nn

from transformer_atlas.common.validation import (
    check_positive_float,
    check_positive_int,
    check_rank,
    shape_of,
)

# --8<-- [end:imports]

__all__ = [
    "LearnedPositionalEmbedding",
    "sinusoidal_encoding",
    "sinusoidal_encoding_numpy",
    "sinusoidal_shift_matrix",
    "rope_frequencies",
    "llama3_rope_frequencies",
    "rotate_half",
    "apply_rope",
    "alibi_slopes",
    "alibi_bias",
    "relative_position_bucket",
    "T5RelativePositionBias",
    "relative_positions",
]


# --8<-- [start:checks]
def _check_even(name: str, value: int) -> None:
    """Raise unless ``value`` is a positive even int."""
    check_positive_int(**{name: value})
    if value % 2 != 0:
        raise ValueError(f"{name} must be even, got {value}")


# --8<-- [end:checks]


# --8<-- [start:learned]
class LearnedPositionalEmbedding(nn.Module):
    """Learned absolute positions, GPT-2's ``wpe``.

    A table ``weight [max_len, d_model]`` whose row ``p`` is added to the
    token vector at position ``p``. Positions ``>= max_len`` have no row:
    they raise ``ValueError``.
    """

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        check_positive_int(max_len=max_len)
        check_positive_int(d_model=d_model)
        self.max_len = max_len
        self.weight = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.weight, std=0.02)  # as nanoGPT and HF's GPT-2

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Add positions ``start .. start + seq - 1`` to ``x``.

        ``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``.
        """
        check_rank("x", x, 3, "[batch, seq, d_model]")
        seq = x.shape[1]
        if start < 0 or start + seq > self.max_len:
            raise ValueError(
                f"positions {start}..{start + seq - 1} do not fit in the "
                f"table of max_len={self.max_len} learned positions"
            )
        if x.shape[-1] != self.weight.shape[1]:
            raise ValueError(
                f"x must be [batch, seq, d_model={self.weight.shape[1]}], "
                f"got shape {shape_of(x)}"
            )
        return x + self.weight[start : start + seq]


# --8<-- [end:learned]


# --8<-- [start:sinusoidal_numpy]
def sinusoidal_encoding_numpy(
    seq_len: int, d_model: int, base: float = 10000.0, start: int = 0
) -> np.ndarray:
    """Sinusoidal positions ``PE [seq_len, d_model]`` in NumPy.

    ``PE[p, 2i] = sin(p * w_i)``, ``PE[p, 2i+1] = cos(p * w_i)`` with
    ``w_i = base ** (-2i / d_model)``, for positions
    ``p = start .. start + seq_len - 1``.
    """
    check_positive_int(seq_len=seq_len)
    _check_even("d_model", d_model)
    check_positive_float("base", base)
    p = np.arange(start, start + seq_len, dtype=np.float64)[:, None]
    i = np.arange(d_model // 2)[None, :]
    angles = p * base ** (-2 * i / d_model)  # [seq_len, d_model / 2]
    pe = np.empty((seq_len, d_model))
    pe[:, 0::2] = np.sin(angles)  # even features
    pe[:, 1::2] = np.cos(angles)  # odd features
    return pe


# --8<-- [end:sinusoidal_numpy]


# --8<-- [start:sinusoidal_torch]
def sinusoidal_encoding(
    seq_len: int,
    d_model: int,
    base: float = 10000.0,
    start: int = 0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Sinusoidal positions ``PE [seq_len, d_model]``, added to the tokens.

    ``PE[p, 2i] = sin(p * w_i)``, ``PE[p, 2i+1] = cos(p * w_i)`` with
    ``w_i = base ** (-2i / d_model)``, for positions
    ``p = start .. start + seq_len - 1``.
    """
    check_positive_int(seq_len=seq_len)
    _check_even("d_model", d_model)
    check_positive_float("base", base)
    p = torch.arange(start, start + seq_len, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)[None, :]
    angles = p * base ** (-2 * i / d_model)  # [seq_len, d_model / 2]
    pe = torch.stack([angles.sin(), angles.cos()], dim=-1)  # sin, cos pairs
    return pe.reshape(seq_len, d_model).to(dtype)


# --8<-- [end:sinusoidal_torch]


# --8<-- [start:sinusoidal_shift]
def sinusoidal_shift_matrix(
    k: int, d_model: int, base: float = 10000.0
) -> torch.Tensor:
    """The matrix ``M_k [d_model, d_model]`` with ``PE(p + k) = PE(p) M_k``.

    Block-diagonal: block ``i`` rotates the pair ``(sin, cos)`` of frequency
    ``w_i`` by the angle ``k * w_i``. It depends on ``k`` only, not on
    ``p``. Float64.
    """
    _check_even("d_model", d_model)
    check_positive_float("base", base)
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angle = k * base ** (-2 * i / d_model)  # [d_model / 2]
    c, s = angle.cos(), angle.sin()
    blocks = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)])
    # blocks [row, d_model / 2, col] -> one 2x2 rotation per frequency
    return torch.block_diag(*blocks.permute(1, 0, 2))


# --8<-- [end:sinusoidal_shift]


# --8<-- [start:rope]
def rope_frequencies(
    head_dim: int, base: float = 10000.0, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """The rotation frequencies ``theta [head_dim / 2]``.

    ``theta_i = base ** (-2i / head_dim)``, from 1 down to nearly
    ``1 / base``.
    """
    _check_even("head_dim", head_dim)
    check_positive_float("base", base)
    i = torch.arange(head_dim // 2, dtype=dtype)
    return base ** (-2 * i / head_dim)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[x1, x2] -> [-x2, x1]`` on the last axis, split into two halves.

    Pairs feature ``i`` with feature ``i + head_dim / 2``.
    ``x [..., head_dim]`` -> ``[..., head_dim]``.
    """
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(
    x: torch.Tensor,
    positions: torch.Tensor | None = None,
    base: float = 10000.0,
    scaling: dict[str, float] | None = None,
) -> torch.Tensor:
    """Rotate queries or keys by their positions (RoPE, rotate_half pairs).

    Feature ``i`` and feature ``i + head_dim / 2`` form a pair that is
    rotated by the angle ``p * theta_i`` at position ``p``.

    Args:
        x: queries or keys ``[batch, heads, seq, head_dim]``.
        positions: ``[seq]`` position of each row (default
            ``0 .. seq - 1``); may be fractional (position interpolation).
        base: ``theta_i = base ** (-2i / head_dim)``.
        scaling: LLaMA-3.1's frequency scaling, the keyword arguments of
            :func:`llama3_rope_frequencies`; ``None``: plain RoPE.

    Returns:
        ``[batch, heads, seq, head_dim]``, the rotated ``x``.
    """
    check_rank("x", x, 4, "[batch, heads, seq, head_dim]")
    seq, head_dim = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(seq, device=x.device)
    check_rank("positions", positions, 1, "[seq]")
    if positions.shape[0] != seq:
        raise ValueError(
            f"positions must be [seq={seq}], got shape {shape_of(positions)}"
        )
    if scaling is None:
        theta = rope_frequencies(head_dim, base)
    else:
        theta = llama3_rope_frequencies(head_dim, base, **scaling)
    theta = theta.to(x.device)
    angles = positions.to(torch.float64)[:, None] * theta  # [seq, d/2]
    angles = torch.cat([angles, angles], dim=-1)  # [seq, head_dim]
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    return x * cos + rotate_half(x) * sin


# --8<-- [end:rope]


# --8<-- [start:rope_llama3]
def llama3_rope_frequencies(
    head_dim: int,
    base: float = 500000.0,
    factor: float = 8.0,
    low_freq_factor: float = 1.0,
    high_freq_factor: float = 4.0,
    original_max_len: int = 8192,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """LLaMA-3.1's scaled RoPE frequencies ``theta' [head_dim / 2]``.

    LLaMA-3.1 stretches the context it was pre-trained on,
    ``original_max_len`` tokens, by ``factor``. Pair ``i`` turns once
    every ``lambda_i = 2 pi / theta_i`` positions (its wavelength), and
    the wavelength decides what happens to it:

    * ``lambda_i < original_max_len / high_freq_factor``, fast pairs that
      turned more than ``high_freq_factor`` times within the original
      context: kept. They encode local order, which does not change
      with the length.
    * ``lambda_i > original_max_len / low_freq_factor``, slow pairs that
      turned fewer than ``low_freq_factor`` times (LLaMA-3.1: not once):
      ``theta_i / factor`` (position interpolation), so positions up to
      ``factor * original_max_len`` give them only angles already seen
      in training.
    * between the two: ``(1 - s) theta_i / factor + s theta_i`` with
      ``s = (original_max_len / lambda_i - low_freq_factor) /
      (high_freq_factor - low_freq_factor)``, which runs from 0 at the
      slow end to 1 at the fast end.

    ``s`` clipped to ``[0, 1]`` gives all three cases at once. The
    defaults are LLaMA-3.1's (base 500,000, factor 8, 1, 4, 8,192).
    """
    check_positive_float("factor", factor)
    check_positive_float("low_freq_factor", low_freq_factor)
    check_positive_float("high_freq_factor", high_freq_factor)
    check_positive_int(original_max_len=original_max_len)
    if high_freq_factor <= low_freq_factor:
        raise ValueError(
            "high_freq_factor must exceed low_freq_factor, got "
            f"{high_freq_factor} <= {low_freq_factor}"
        )
    theta = rope_frequencies(head_dim, base, dtype)  # [head_dim / 2]
    wavelength = 2 * math.pi / theta  # positions per full turn
    s = (original_max_len / wavelength - low_freq_factor) / (
        high_freq_factor - low_freq_factor
    )
    s = s.clamp(0.0, 1.0)  # 0: slow pairs, 1: fast pairs
    return (1 - s) * theta / factor + s * theta


# --8<-- [end:rope_llama3]


# --8<-- [start:relative_positions]
def relative_positions(
    q_len: int, k_len: int | None = None, device: torch.device | None = None
) -> torch.Tensor:
    """Relative position ``j - i`` of key ``j`` seen from query ``i``.

    Returns ``[q_len, k_len]`` integers. With ``k_len > q_len`` query ``i``
    is at position ``i + k_len - q_len`` (queries after cached keys), so the
    last query is always at the last key's position.
    """
    k_len = q_len if k_len is None else k_len
    check_positive_int(q_len=q_len)
    check_positive_int(k_len=k_len)
    if k_len < q_len:
        raise ValueError(
            f"need q_len <= k_len, got q_len={q_len}, k_len={k_len}"
        )
    i = torch.arange(k_len - q_len, k_len, device=device)  # query positions
    j = torch.arange(k_len, device=device)  # key positions
    return j[None, :] - i[:, None]


# --8<-- [end:relative_positions]


# --8<-- [start:alibi]
def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes ``m [n_heads]``, float64.

    For ``H`` a power of 2: ``m_h = 2 ** (-8 h / H)``, ``h = 1 .. H``. For
    other ``H``: the slopes of the closest power of 2 below, ``n``, then
    every other slope of ``2n`` heads until there are ``H``.
    """
    check_positive_int(n_heads=n_heads)

    def power_of_2(n: int) -> list[float]:
        return [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]

    n = 2 ** math.floor(math.log2(n_heads))
    slopes = power_of_2(n) + power_of_2(2 * n)[0::2][: n_heads - n]
    return torch.tensor(slopes, dtype=torch.float64)


def alibi_bias(
    n_heads: int,
    q_len: int,
    k_len: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """ALiBi's score bias ``m_h (j - i)``, shape ``[n_heads, q_len, k_len]``.

    ``j - i <= 0`` for the keys a causal model sees, so the bias is a
    penalty growing linearly with distance (use it with a causal mask).
    Add it to the scores with ``scaled_dot_product_attention(...,
    bias=...)``.
    """
    rel = relative_positions(q_len, k_len).to(torch.float64)  # j - i
    return (alibi_slopes(n_heads)[:, None, None] * rel).to(dtype)


# --8<-- [end:alibi]


# --8<-- [start:t5_bucket]
def relative_position_bucket(
    relative_position: torch.Tensor,
    bidirectional: bool = True,
    num_buckets: int = 32,
    max_distance: int = 128,
) -> torch.Tensor:
    """T5's bucket for each relative position ``j - i``; same shape, int64.

    Distances below ``max_exact`` get a bucket each; larger ones share
    log-spaced buckets up to ``max_distance``; anything further falls in
    the last bucket. Bidirectional: half the buckets for keys before the
    query, half for keys after it. Causal: keys after the query share
    bucket 0 (a causal mask hides them anyway).
    """
    _check_even("num_buckets", num_buckets)
    if relative_position.is_floating_point():
        raise ValueError(
            "relative_position must hold integers, "
            f"got dtype {relative_position.dtype}"
        )
    if bidirectional:
        num_buckets //= 2  # half for the past, half for the future
    max_exact = num_buckets // 2
    if max_distance <= max_exact:
        raise ValueError(
            f"max_distance must exceed the {max_exact} exact buckets, "
            f"got max_distance={max_distance}"
        )
    n = -relative_position.long()  # distance into the past: i - j
    bucket = torch.zeros_like(n)
    if bidirectional:
        bucket += (n < 0).long() * num_buckets  # the future: upper half
        n = n.abs()
    else:
        n = n.clamp(min=0)  # the future: bucket 0
    # log-spaced: max_exact at distance max_exact, num_buckets at
    # max_distance (float32, as in T5; clamp(min=1) only avoids log(0))
    log_ratio = torch.log(n.float().clamp(min=1) / max_exact) / math.log(
        max_distance / max_exact
    )
    large = max_exact + (log_ratio * (num_buckets - max_exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return bucket + torch.where(n < max_exact, n, large)


# --8<-- [end:t5_bucket]


# --8<-- [start:t5_bias]
class T5RelativePositionBias(nn.Module):
    """T5's learned relative position bias.

    ``weight [num_buckets, n_heads]`` holds one learned scalar per (bucket,
    head); the bias of query ``i`` and key ``j`` in head ``h`` is
    ``weight[bucket(j - i), h]``.
    """

    def __init__(
        self,
        n_heads: int,
        num_buckets: int = 32,
        max_distance: int = 128,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int(n_heads=n_heads)
        _check_even("num_buckets", num_buckets)
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.bidirectional = bidirectional
        self.weight = nn.Parameter(torch.empty(num_buckets, n_heads))
        nn.init.normal_(self.weight)

    def forward(self, q_len: int, k_len: int | None = None) -> torch.Tensor:
        """The score bias ``[n_heads, q_len, k_len]``."""
        rel = relative_positions(q_len, k_len, self.weight.device)
        buckets = relative_position_bucket(
            rel, self.bidirectional, self.num_buckets, self.max_distance
        )  # [q_len, k_len]
        return self.weight[buckets].permute(2, 0, 1)  # [H, q_len, k_len]


# --8<-- [end:t5_bias]
