"""Figures for the normalization and residual-connections page.

Each function returns a fresh :class:`matplotlib.figure.Figure` (no pyplot)
and is registered by name for the site build:

* ``normalization-gradient-norms``: gradient norm of each block's
  parameters at initialization, pre-norm vs post-norm, measured by
  :func:`transformer_atlas.blocks.residual.gradient_norms_at_init`.
* ``normalization-stream-norms``: the size of the residual stream after
  each block, measured by
  :func:`transformer_atlas.blocks.residual.residual_stream_norms`.

Everything random is seeded, so a figure is the same on every build.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

from transformer_atlas.blocks.residual import (
    gradient_norms_at_init,
    residual_stream_norms,
)
from transformer_atlas.common.threads import single_thread
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    INK,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)

__all__ = ["gradient_norms", "stream_norms"]

SIZE = (6.0, 3.8)


def _check_sizes(n_layers: int, d_model: int, n_heads: int) -> None:
    if n_layers < 2 or d_model < 1 or n_heads < 1 or d_model % n_heads:
        raise ValueError(
            "need n_layers >= 2 and d_model a positive multiple of "
            f"n_heads, got n_layers={n_layers}, d_model={d_model}, "
            f"n_heads={n_heads}"
        )


@figure("normalization-gradient-norms")
def gradient_norms(
    n_layers: int = 24,
    d_model: int = 64,
    n_heads: int = 4,
    seed: int = 0,
) -> Figure:
    """Gradient norm per block at initialization, pre- vs post-norm.

    Both stacks get the same weights, input and loss (see
    :func:`~transformer_atlas.blocks.residual.gradient_norms_at_init`); the
    y-axis is logarithmic.

    Args:
        n_layers: number of blocks ``N``.
        d_model: width of the residual stream.
        n_heads: attention heads per block.
        seed: seed of the weights, the input and the target.
    """
    _check_sizes(n_layers, d_model, n_heads)
    with single_thread():
        norms = gradient_norms_at_init(n_layers, d_model, n_heads, seed=seed)
    blocks = np.arange(1, n_layers + 1)
    fig = new_figure(SIZE)
    ax = fig.add_subplot()
    ax.plot(
        blocks,
        norms["pre"].numpy(),
        "o-",
        color=BLUE,
        markersize=3.5,
        label="pre-norm: x + F(LN(x)), final LN",
    )
    ax.plot(
        blocks,
        norms["post"].numpy(),
        "s-",
        color=ORANGE,
        markersize=3.5,
        label="post-norm: LN(x + F(x))",
    )
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(0.5, n_layers + 0.5)
    ax.set_xlabel("block (1 = next to the input)")
    ax.set_ylabel("gradient norm of the block's parameters")
    ax.set_title(
        f"At initialization: {n_layers} blocks, "
        f"$d_{{\\mathrm{{model}}}}$ = {d_model}, seed {seed}",
        fontsize=10,
    )
    ax.legend(fontsize=8, frameon=False, labelcolor=INK)
    style_axes(ax)
    return fig


@figure("normalization-stream-norms")
def stream_norms(
    n_layers: int = 24,
    d_model: int = 64,
    n_heads: int = 4,
    seed: int = 0,
) -> Figure:
    """Mean norm of a token vector of the residual stream after each block.

    Pre-norm adds every block's output to the stream, so it grows;
    post-norm ends every block with a LayerNorm, so it stays at about
    ``sqrt(d_model)`` (dotted line). Numbers from
    :func:`~transformer_atlas.blocks.residual.residual_stream_norms`.

    Args:
        n_layers: number of blocks ``N``.
        d_model: width of the residual stream.
        n_heads: attention heads per block.
        seed: seed of the weights and the input.
    """
    _check_sizes(n_layers, d_model, n_heads)
    with single_thread():
        norms = residual_stream_norms(n_layers, d_model, n_heads, seed=seed)
    depth = np.arange(n_layers + 1)
    fig = new_figure(SIZE)
    ax = fig.add_subplot()
    ax.plot(
        depth,
        norms["pre"].numpy(),
        "o-",
        color=BLUE,
        markersize=3.5,
        label="pre-norm (before the final LN)",
    )
    ax.plot(
        depth,
        norms["post"].numpy(),
        "s-",
        color=ORANGE,
        markersize=3.5,
        label="post-norm",
    )
    ax.axhline(
        math.sqrt(d_model),
        ls=":",
        color=MUTED,
        label=f"$\\sqrt{{d_{{\\mathrm{{model}}}}}}$ = {math.sqrt(d_model):g}",
    )
    ax.set_ylim(0.0, None)
    ax.set_xlabel("depth (0 = the input, l = after block l)")
    ax.set_ylabel("mean norm of a token vector")
    ax.set_title(
        f"Size of the residual stream ({n_layers} blocks, seed {seed})",
        fontsize=10,
    )
    ax.legend(fontsize=8, frameon=False, labelcolor=INK)
    style_axes(ax)
    return fig
