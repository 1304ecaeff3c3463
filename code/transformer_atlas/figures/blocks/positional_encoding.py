"""Figures for the positional-encoding page.

* ``positional-encoding-schemes``: one heat-map (or curve) per scheme: the
  learned table at initialisation, the sinusoidal table, RoPE's score for every
  pair of positions, one ALiBi head's bias, T5's buckets and one head's
  bias.
* ``positional-encoding-extrapolation``: what each scheme gives at relative
  distances from 0 to 4x the training length.

Every number comes from :mod:`transformer_atlas.blocks.positional_encoding`;
everything random is drawn from a seeded generator, so a figure is the same on
every build.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from transformer_atlas.blocks.positional_encoding import (
    LearnedPositionalEmbedding,
    T5RelativePositionBias,
    alibi_bias,
    alibi_slopes,
    apply_rope,
    relative_position_bucket,
    rope_frequencies,
    sinusoidal_encoding_numpy,
)
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    GREEN,
    INK,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)

__all__ = [
    "positional_schemes",
    "positional_extrapolation",
    "rope_score_by_distance",
]


def _colorbar(fig: Figure, image, ax, label: str) -> None:  # noqa: ANN001
    bar = fig.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label(label, color=INK, fontsize=8)
    bar.ax.tick_params(colors=INK, labelsize=7)


def rope_score_by_distance(
    distances: np.ndarray, head_dim: int = 128, base: float = 10000.0
) -> np.ndarray:
    """RoPE's score ``q_m . k_n / head_dim`` for ``q = k = (1, ..., 1)``.

    It depends on ``m - n`` only: ``mean_i cos((m - n) theta_i)``, which
    starts at 1 and decays, with oscillations, as the distance grows.
    ``distances [n]`` -> ``[n]``.
    """
    theta = rope_frequencies(head_dim, base).numpy()
    d = np.asarray(distances, dtype=np.float64)[:, None]
    return np.cos(d * theta).mean(-1)


# ------------------------------------------------------------------ schemes
@figure("positional-encoding-schemes")
def positional_schemes(
    seq_len: int = 32,
    d_model: int = 64,
    n_heads: int = 8,
    head: int = 2,
    seed: int = 0,
) -> Figure:
    """The five schemes side by side.

    Row 1: the learned table at initialisation (std 0.02) and the sinusoidal
    table (positions as rows, features as columns). Row 2: RoPE's score
    ``q_m . k_n`` for one random ``q`` and ``k`` placed at every pair of
    positions; one ALiBi head's bias (causal: the future is blank). Row 3:
    T5's bucket of each offset ``j - i``; one T5 head's bias at
    initialisation.

    Args:
        seq_len: positions shown in the heat-maps.
        d_model: width of the learned and sinusoidal tables (also RoPE's
            head width).
        n_heads: heads of ALiBi (fixes the slopes).
        head: the ALiBi and T5 head to show (0-based).
        seed: seed of the random initialisations.
    """
    if not 0 <= head < n_heads:
        raise ValueError(
            f"head must lie in [0, n_heads={n_heads}), got head={head}"
        )
    torch.manual_seed(seed)
    learned = LearnedPositionalEmbedding(seq_len, d_model).weight.detach()
    sinus = sinusoidal_encoding_numpy(seq_len, d_model)
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, 1, d_model, generator=gen, dtype=torch.float64)
    k = torch.randn(1, 1, 1, d_model, generator=gen, dtype=torch.float64)
    positions = torch.arange(seq_len)
    q_rot = apply_rope(q.expand(1, 1, seq_len, d_model), positions)
    k_rot = apply_rope(k.expand(1, 1, seq_len, d_model), positions)
    rope_scores = (q_rot @ k_rot.transpose(-2, -1))[0, 0].numpy()
    alibi = alibi_bias(n_heads, seq_len, dtype=torch.float64)[head].numpy()
    alibi = np.where(np.tril(np.ones_like(alibi)) > 0, alibi, np.nan)
    slope = float(alibi_slopes(n_heads)[head])
    t5 = T5RelativePositionBias(n_heads)
    t5_bias = t5(seq_len)[head].detach().numpy()
    offsets = torch.arange(-160, 161)
    bidir = relative_position_bucket(offsets, bidirectional=True).numpy()
    causal = relative_position_bucket(offsets, bidirectional=False).numpy()

    fig = new_figure((7.5, 9.6))
    axes = fig.subplots(3, 2)
    tables = (
        (axes[0, 0], learned.numpy(), "Learned (random init, std 0.02)", 0.05),
        (axes[0, 1], sinus, "Sinusoidal", 1.0),
    )
    for ax, table, title, vmax in tables:
        image = ax.imshow(
            table, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto"
        )
        ax.set_xlabel("feature")
        ax.set_ylabel("position p")
        ax.set_title(title, fontsize=10)
        _colorbar(fig, image, ax, "value added to x")

    ax = axes[1, 0]
    vmax = float(np.abs(rope_scores).max())
    image = ax.imshow(rope_scores, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_xlabel("key position n")
    ax.set_ylabel("query position m")
    ax.set_title("RoPE: score q_m · k_n", fontsize=10)
    _colorbar(fig, image, ax, "score (constant on diagonals)")

    ax = axes[1, 1]
    image = ax.imshow(alibi, cmap="Blues_r")
    ax.set_xlabel("key position j")
    ax.set_ylabel("query position i")
    ax.set_title(f"ALiBi head {head}: m (j - i), m = {slope:g}", fontsize=10)
    _colorbar(fig, image, ax, "bias added to score")

    ax = axes[2, 0]
    ax.step(offsets, bidir, where="mid", color=BLUE, label="bidirectional")
    ax.step(offsets, causal, where="mid", color=ORANGE, label="causal")
    for x in (-128, 128):
        ax.axvline(x, ls=":", color=MUTED)
    ax.set_xlabel("offset j - i (key minus query)")
    ax.set_ylabel("bucket")
    ax.set_title("T5 buckets (32, max_distance 128)", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, frameon=False, labelcolor=INK)

    ax = axes[2, 1]
    vmax = float(np.abs(t5_bias).max())
    image = ax.imshow(t5_bias, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_xlabel("key position j")
    ax.set_ylabel("query position i")
    ax.set_title(f"T5 head {head} bias (random init)", fontsize=10)
    _colorbar(fig, image, ax, "bias added to score")
    for ax in axes.flat:
        style_axes(ax)
    return fig


# ------------------------------------------------------------ extrapolation
@figure("positional-encoding-extrapolation")
def positional_extrapolation(
    train_len: int = 512,
    factor: int = 4,
    head_dim: int = 128,
    n_heads: int = 8,
) -> Figure:
    """What each scheme gives from distance 0 to ``factor * train_len``.

    The dashed line marks the training length. Learned: a table row exists
    only below ``max_len = train_len``. Sinusoidal and RoPE:
    ``PE(p) . PE(p + d) / (d_model / 2)`` and RoPE's score for
    ``q = k = (1, ..., 1)``, both ``mean_i cos(d theta_i)``: defined at
    every distance. ALiBi: the bias ``-m_h d`` of every head, linear
    forever. T5 (causal): the bucket of distance ``d``, constant from
    ``max_distance = 128`` on.

    Args:
        train_len: the training length (and the learned table's size).
        factor: how far past it to draw, as a multiple.
        head_dim: width used for the sinusoidal and RoPE curve.
        n_heads: ALiBi heads drawn.
    """
    if train_len < 2 or factor < 1:
        raise ValueError(
            "need train_len >= 2 and factor >= 1, "
            f"got train_len={train_len}, factor={factor}"
        )
    d = np.arange(factor * train_len + 1)
    torch.manual_seed(0)
    table = LearnedPositionalEmbedding(train_len, head_dim).weight.detach()
    row_norm = table.norm(dim=-1).numpy()
    similarity = rope_score_by_distance(d, head_dim)
    slopes = alibi_slopes(n_heads).numpy()
    buckets = relative_position_bucket(
        -torch.from_numpy(d), bidirectional=False
    ).numpy()

    fig = new_figure((8.0, 6.4))
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    ax.plot(np.arange(train_len), row_norm, color=BLUE, lw=0.8)
    ax.text(
        train_len * 1.1,
        float(row_norm.mean()),
        "no row for p ≥ max_len:\nValueError",
        color=ORANGE,
        fontsize=9,
        va="center",
    )
    ax.set_ylabel("norm of row p")
    ax.set_title("Learned absolute (max_len = training length)", fontsize=10)

    ax = axes[0, 1]
    ax.plot(d, similarity, color=BLUE, lw=0.8)
    ax.set_ylabel("mean cos(d θ_i)")
    ax.set_title(
        f"Sinusoidal / RoPE similarity (width {head_dim})", fontsize=10
    )

    ax = axes[1, 0]
    for h, m in enumerate(slopes):
        shade = h / max(1, n_heads - 1)
        ax.plot(d, -m * d, color=(0.12 + 0.7 * shade, 0.37, 0.66), lw=1)
    ax.set_ylabel("bias -m_h d")
    ax.set_title(
        f"ALiBi, slopes 1/{1 / slopes[0]:g} ... 1/{1 / slopes[-1]:g}",
        fontsize=10,
    )

    ax = axes[1, 1]
    ax.plot(d, buckets, color=GREEN, lw=1)
    ax.axvline(128, ls=":", color=MUTED)
    ax.set_ylabel("bucket (causal)")
    ax.set_title("T5: last bucket from max_distance = 128 on", fontsize=10)

    for ax in axes.flat:
        ax.axvline(train_len, ls="--", color=INK, lw=0.8)
        ax.axvspan(train_len, d[-1], color="#f0f0f0", zorder=0)
        ax.set_xlim(0, d[-1])
        style_axes(ax)
    axes[0, 0].set_xlabel("position p (dashed: max_len)")
    for ax in axes.flat[1:]:
        ax.set_xlabel("distance d = i - j (dashed: training length)")
    return fig
