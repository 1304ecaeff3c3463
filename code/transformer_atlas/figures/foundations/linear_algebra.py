"""Figures for the linear algebra and probability pages.

* ``linear-algebra-projection``: two vectors, the angle between them, and
  the projection of one onto the other (the geometry of a dot product).
* ``probability-entropy``: a uniform, a medium and a peaked distribution
  over the same outcomes, each titled with its entropy in bits.

Both are deterministic: no randomness is involved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    GREEN,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)
from transformer_atlas.foundations.linear_algebra import (
    cosine_similarity,
    dot,
    project,
)

__all__ = ["dot_product_projection"]


@figure("linear-algebra-projection")
def dot_product_projection(
    a: Sequence[float] = (1.0, 2.0),
    b: Sequence[float] = (3.0, 1.0),
) -> Figure:
    """Vectors ``a`` and ``b`` in 2-D and the projection of ``a`` on ``b``.

    The projection has length ``a . b / |b|``; the dotted segment from it
    to the tip of ``a`` is perpendicular to ``b``.
    """
    ta = torch.tensor(a, dtype=torch.float64)
    tb = torch.tensor(b, dtype=torch.float64)
    if ta.shape != (2,) or tb.shape != (2,):
        raise ValueError(
            f"a and b must be 2-D vectors, got {len(a)} and {len(b)} values"
        )
    p = project(ta, tb).numpy()
    d = float(dot(ta, tb))
    cos = float(cosine_similarity(ta, tb))
    fig = new_figure((5.5, 4.2))
    ax = fig.add_subplot()
    style_axes(ax)
    for vec, colour, name in ((ta, BLUE, "a"), (tb, ORANGE, "b")):
        x, y = (float(v) for v in vec)
        ax.annotate(
            "",
            xy=(x, y),
            xytext=(0, 0),
            arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 2},
        )
        ax.text(x * 1.05, y * 1.05 + 0.08, name, color=colour, fontsize=12)
    ax.annotate(
        "",
        xy=(p[0], p[1]),
        xytext=(0, 0),
        arrowprops={"arrowstyle": "-|>", "color": GREEN, "lw": 3},
    )
    ax.text(
        p[0],
        p[1] - 0.35,
        "projection of a on b",
        color=GREEN,
        fontsize=9,
        ha="center",
    )
    ax.plot([p[0], float(ta[0])], [p[1], float(ta[1])], ":", color=MUTED)
    angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
    ax.set_title(
        f"a . b = {d:.2f},  cos = {cos:.3f},  angle = {angle:.1f} deg",
        fontsize=10,
    )
    pts = np.array([[0.0, 0.0], list(a), list(b), list(p)])
    lo, hi = pts.min(axis=0) - 0.6, pts.max(axis=0) + 0.6
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.axhline(0, color=MUTED, lw=0.5)
    ax.axvline(0, color=MUTED, lw=0.5)
    ax.grid(True, color="#e6e6e6", lw=0.5)
    ax.set_xlabel("coordinate 1", fontsize=9)
    ax.set_ylabel("coordinate 2", fontsize=9)
    return fig
