"""Figures for the LLM landscape page.

* ``landscape-transformer-overview``: the encoder-decoder transformer of
  2017 as boxes and arrows, with the encoder's output read by the
  decoder's cross-attention.

The figure is drawn with patches and text only (no data, no randomness),
so it is the same on every build.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    GREEN,
    INK,
    MUTED,
    ORANGE,
    new_figure,
)

__all__ = ["transformer_overview"]

_BOX_W = 3.4
_BOX_H = 0.62


def _box(
    ax: Axes, x: float, y: float, text: str, color: str, w: float = _BOX_W
) -> None:
    """A rounded box of width ``w`` centred at ``(x, y)`` with ``text``."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - _BOX_H / 2),
            w,
            _BOX_H,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor="white",
            edgecolor=color,
            linewidth=1.6,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=9, color=INK)


def _arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str = INK,
    rad: float = 0.0,
) -> None:
    """An arrow from ``start`` to ``end`` (curved by ``rad``)."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=11,
            color=color,
            linewidth=1.3,
            connectionstyle=f"arc3,rad={rad}",
        )
    )


def _stack(
    ax: Axes,
    x: float,
    y0: float,
    steps: list[tuple[str, str]],
    n_label: str,
    color: str,
) -> list[float]:
    """Draw a repeated block: boxes from ``y0`` upwards in a frame.

    Returns the centre heights of the boxes.
    """
    gap = 0.85
    ys = [y0 + i * gap for i in range(len(steps))]
    pad = 0.28
    bottom = ys[0] - _BOX_H / 2 - pad
    top = ys[-1] + _BOX_H / 2 + pad
    ax.add_patch(
        FancyBboxPatch(
            (x - _BOX_W / 2 - pad, bottom),
            _BOX_W + 2 * pad,
            top - bottom,
            boxstyle="round,pad=0.02,rounding_size=0.2",
            facecolor="#f4f6fa",
            edgecolor=color,
            linewidth=1.2,
            linestyle="--",
        )
    )
    side = -1.0 if x < 5 else 1.0
    ax.text(
        x + side * (_BOX_W / 2 + pad + 0.15),
        (bottom + top) / 2,
        n_label,
        ha="right" if side < 0 else "left",
        va="center",
        fontsize=11,
        fontweight="bold",
        color=color,
    )
    for (text, box_color), y in zip(steps, ys):
        _box(ax, x, y, text, box_color)
    for lower, upper in zip(ys, ys[1:]):
        _arrow(ax, (x, lower + _BOX_H / 2), (x, upper - _BOX_H / 2))
    return ys


def _sublayers(
    kinds: list[tuple[str, str]], pre_norm: bool
) -> list[tuple[str, str]]:
    """Each sub-layer with its norm and residual add, in either order."""
    steps: list[tuple[str, str]] = []
    for text, color in kinds:
        if pre_norm:
            steps += [
                ("Norm", MUTED),
                (text, color),
                ("Add (residual)", MUTED),
            ]
        else:
            steps += [(text, color), ("Add & Norm", MUTED)]
    return steps


@figure("landscape-transformer-overview")
def transformer_overview(
    n_layers: int | str = "N",
    pre_norm: bool = False,
    size: tuple[float, float] = (8.0, 10.5),
) -> Figure:
    """The encoder-decoder transformer, bottom (inputs) to top (outputs).

    Left: the encoder, ``n_layers`` blocks of multi-head self-attention and
    a feed-forward network. Right: the decoder, ``n_layers`` blocks of
    masked self-attention, cross-attention that reads the encoder's output
    (its keys and values), and a feed-forward network; then a linear layer
    and a softmax give next-token probabilities.

    Args:
        n_layers: how many times each block is repeated, shown as
            ``"<n_layers> x"`` (the paper's ``N``).
        pre_norm: draw each sub-layer as Norm -> sub-layer -> Add (pre-LN,
            this guide's convention) instead of the 2017 paper's
            sub-layer -> Add & Norm (post-LN).
        size: figure size in inches.
    """
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, str)):
        raise ValueError(
            f"n_layers must be an int or a str, got {type(n_layers).__name__}"
        )
    if isinstance(n_layers, int) and n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    fig = new_figure(size)
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    enc_x, dec_x = 2.6, 7.4
    n_label = f"{n_layers} x"

    enc_steps = _sublayers(
        [("Multi-head self-attention", BLUE), ("Feed-forward", GREEN)],
        pre_norm,
    )
    dec_steps = _sublayers(
        [
            ("Masked multi-head self-attention", BLUE),
            ("Multi-head cross-attention", ORANGE),
            ("Feed-forward", GREEN),
        ],
        pre_norm,
    )
    # Inputs, embeddings and positions under each stack.
    _box(ax, enc_x, 0.0, "Inputs: token ids", INK)
    _box(ax, enc_x, 0.9, "Input embedding + positions", INK)
    _box(ax, dec_x, 0.0, "Outputs so far (shifted right)", INK)
    _box(ax, dec_x, 0.9, "Output embedding + positions", INK)
    for x in (enc_x, dec_x):
        _arrow(ax, (x, _BOX_H / 2), (x, 0.9 - _BOX_H / 2))

    y0 = 2.2
    enc_ys = _stack(ax, enc_x, y0, enc_steps, n_label, BLUE)
    dec_ys = _stack(ax, dec_x, y0, dec_steps, n_label, ORANGE)
    for x, ys in ((enc_x, enc_ys), (dec_x, dec_ys)):
        _arrow(ax, (x, 0.9 + _BOX_H / 2), (x, ys[0] - _BOX_H / 2))

    # The encoder's output feeds every decoder block's cross-attention.
    enc_top = enc_ys[-1] + _BOX_H / 2
    final = "Norm, then encoder output" if pre_norm else "Encoder output"
    _box(ax, enc_x, enc_top + 0.9, final, BLUE)
    _arrow(ax, (enc_x, enc_top), (enc_x, enc_top + 0.9 - _BOX_H / 2))
    cross_index = next(i for i, (t, _) in enumerate(dec_steps) if "cross" in t)
    cross_y = dec_ys[cross_index]
    _arrow(
        ax,
        (enc_x + _BOX_W / 2, enc_top + 0.9),
        (dec_x - _BOX_W / 2, cross_y),
        color=ORANGE,
        rad=-0.25,
    )
    ax.text(
        (enc_x + dec_x) / 2,
        enc_top + 0.9 + 0.12,
        "keys and values",
        ha="center",
        va="bottom",
        fontsize=9,
        color=ORANGE,
        style="italic",
    )

    # Linear and softmax over the decoder.
    dec_top = dec_ys[-1] + _BOX_H / 2
    head = [
        (
            ("Norm, then linear" if pre_norm else "Linear")
            + " (to vocabulary logits)",
            INK,
        ),
        ("Softmax", INK),
        ("Next-token probabilities", INK),
    ]
    prev = dec_top
    for i, (text, color) in enumerate(head):
        y = dec_top + 0.9 + i * 0.85
        _box(ax, dec_x, y, text, color)
        _arrow(ax, (dec_x, prev), (dec_x, y - _BOX_H / 2))
        prev = y + _BOX_H / 2

    ax.text(
        enc_x,
        -0.75,
        "ENCODER",
        ha="center",
        fontsize=11,
        fontweight="bold",
        color=BLUE,
    )
    ax.text(
        dec_x,
        -0.75,
        "DECODER",
        ha="center",
        fontsize=11,
        fontweight="bold",
        color=ORANGE,
    )
    ax.set_xlim(-0.2, 10.2)
    ax.set_ylim(-1.1, prev + 0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    norm = "pre-norm" if pre_norm else "post-norm, as in the 2017 paper"
    ax.set_title(f"The encoder-decoder transformer ({norm})", color=INK)
    ax.set_xlabel(
        "data flows upwards; the decoder's cross-attention reads the "
        "encoder output",
        color=MUTED,
        fontsize=9,
    )
    ax.set_ylabel("layers (inputs at the bottom)", color=MUTED, fontsize=9)
    return fig
