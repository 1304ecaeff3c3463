"""Figures for the RNN page.

* ``rnn-gradient-norms``: ``||dL/dh_t||`` over time steps for several
  recurrent weight scales, log y-axis, measured by
  :func:`transformer_atlas.foundations.rnn.hidden_grad_norms` (BPTT by hand).
* ``rnn-unrolled``: the recurrence unrolled over "cat sat here".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

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
from transformer_atlas.foundations.rnn import hidden_grad_norms

__all__ = ["gradient_norms", "unrolled"]


@figure("rnn-gradient-norms")
def gradient_norms(
    w_scales: Sequence[float] = (0.5, 1.0, 3.0),
    seq: int = 50,
    d_h: int = 32,
    seed: int = 0,
) -> Figure:
    """``||dL/dh_t||`` against t when the loss reads only the last state.

    Args:
        w_scales: recurrent weight scales (``W_hh = s * G / sqrt(d_h)``).
        seq: sequence length T.
        d_h: hidden width.
        seed: seed of the random inputs and weights.
    """
    if not w_scales:
        raise ValueError("w_scales must name at least one scale, got none")
    fig = new_figure((6.0, 3.8))
    ax = fig.add_subplot()
    colours = [BLUE, GREEN, ORANGE, INK, MUTED]
    steps = np.arange(1, seq + 1)
    for i, scale in enumerate(w_scales):
        norms = hidden_grad_norms(scale, seq=seq, d_h=d_h, seed=seed)
        ax.semilogy(
            steps,
            norms,
            color=colours[i % len(colours)],
            lw=1.8,
            label=f"w_scale = {scale:g}",
        )
    ax.axhline(norms[-1], color=MUTED, lw=0.8, ls=":")
    ax.set_xlabel(f"time step $t$ (the loss reads $h_{{{seq}}}$)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$  (log scale)")
    ax.set_title("Gradient reaching step t, measured by BPTT")
    ax.legend(frameon=False, fontsize=8, labelcolor=INK)
    style_axes(ax)
    return fig


@figure("rnn-unrolled")
def unrolled(tokens: Sequence[str] = ("cat", "sat", "here")) -> Figure:
    """The RNN unrolled over ``tokens``: one cell per step, shared weights.

    Args:
        tokens: the words under the cells.
    """
    if not tokens:
        raise ValueError("tokens must be non-empty, got an empty sequence")
    n = len(tokens)
    fig = new_figure((1.9 * n + 1.6, 2.6))
    ax = fig.add_subplot()
    ax.set_xlim(-0.2, 1.9 * n + 1.2)
    ax.set_ylim(-0.2, 2.5)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("time step t, left to right", color=MUTED, fontsize=8)
    ax.set_ylabel("input, state, output", color=MUTED, fontsize=8)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={"arrowstyle": "->", "color": INK, "lw": 1.2},
        )

    ax.text(0.15, 1.2, "$h_0$", ha="center", va="center", color=INK)
    for t, word in enumerate(tokens, start=1):
        cx = 1.9 * t - 0.4
        box = FancyBboxPatch(
            (cx - 0.55, 0.9),
            1.1,
            0.6,
            boxstyle="round,pad=0.05",
            facecolor="#e8eef7",
            edgecolor=BLUE,
        )
        ax.add_patch(box)
        ax.text(cx, 1.2, "tanh", ha="center", va="center", color=INK)
        ax.text(
            cx,
            0.05,
            f"$x_{{{t}}}$\n{word}",
            ha="center",
            va="center",
            color=INK,
            fontsize=9,
        )
        arrow(cx, 0.35, cx, 0.85)
        ax.text(cx, 2.25, f"$h_{{{t}}}$", ha="center", va="center", color=INK)
        arrow(cx, 1.55, cx, 2.05)
        start = cx - 1.9 + 0.62 if t > 1 else 0.4
        arrow(start, 1.2, cx - 0.62, 1.2)
    ax.text(1.9 * n + 0.6, 1.2, "...", ha="center", va="center", color=MUTED)
    ax.set_title(
        "Unrolled: the same $W_{xh}$, $W_{hh}$, $b$ in every box",
        fontsize=9,
    )
    ax.title.set_color(INK)
    return fig
