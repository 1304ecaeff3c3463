"""Figure for the tensors notebook: how two shapes broadcast."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    INK,
    MUTED,
    ORANGE,
    bare_axes,
    new_figure,
)
from transformer_atlas.foundations.tensors import broadcast_shape


@figure("tensors-broadcasting")
def broadcasting_diagram(
    shape_a: Sequence[int] = (2, 3, 1),
    shape_b: Sequence[int] = (4,),
) -> Figure:
    """Two shapes aligned on the right, and the shape they broadcast to.

    Missing axes (padded on the left) are drawn dashed; axes of size 1
    that get stretched are drawn in orange.

    Args:
        shape_a: the first shape.
        shape_b: the second shape (must broadcast with the first).
    """
    out = broadcast_shape(shape_a, shape_b)
    rank = len(out)
    fig = new_figure((1.6 + 1.0 * rank, 2.6))
    ax = fig.add_subplot()
    ax.set_xlim(-2.4, rank + 0.2)
    ax.set_ylim(-0.3, 3.2)
    bare_axes(ax)
    ax.set_xlabel("axes, aligned on the right", color=MUTED, fontsize=8)
    ax.set_ylabel("shapes", color=MUTED, fontsize=8)
    rows = (
        ("a", tuple(shape_a), 2.4),
        ("b", tuple(shape_b), 1.4),
        ("a + b", out, 0.2),
    )
    for name, shape, y in rows:
        ax.text(
            -0.3,
            y + 0.35,
            name,
            ha="right",
            va="center",
            fontsize=11,
            color=INK,
        )
        pad = rank - len(shape)
        for i in range(rank):
            missing = i < pad
            n = 1 if missing else shape[i - pad]
            stretched = name != "a + b" and n == 1 and out[i] != 1
            color = ORANGE if stretched else (BLUE if name == "a + b" else INK)
            ax.add_patch(
                FancyBboxPatch(
                    (i + 0.05, y),
                    0.9,
                    0.7,
                    boxstyle="round,pad=0.0,rounding_size=0.08",
                    facecolor="white",
                    edgecolor=color,
                    linewidth=1.4,
                    linestyle="--" if missing else "-",
                )
            )
            label = "(1)" if missing else str(n)
            ax.text(
                i + 0.5,
                y + 0.35,
                label,
                ha="center",
                va="center",
                fontsize=12,
                color=MUTED if missing else color,
            )
    ax.plot([0, rank], [1.15, 1.15], color=MUTED, lw=1.0)
    ax.set_title(
        "align on the right; size-1 axes (orange) are stretched",
        fontsize=9,
        color=INK,
    )
    return fig
