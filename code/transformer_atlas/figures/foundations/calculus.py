"""Figures for the calculus page and the tensors notebook.

* ``calculus-chain-rule``: the computation graph of ``y = (a x + b)^2``,
  forward values on top, gradients flowing back underneath, numbers from
  :func:`transformer_atlas.foundations.calculus.scalar_chain`.
* ``tensors-broadcasting``: two shapes aligned on the right and the shape
  they broadcast to, from
  :func:`transformer_atlas.foundations.tensors.broadcast_shape`.

Both are deterministic (no randomness).
"""

from __future__ import annotations

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
from transformer_atlas.foundations.calculus import scalar_chain

__all__ = ["chain_rule_graph"]


def _box(ax, x: float, y: float, text: str, color: str = INK) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - 0.55, y - 0.32),
            1.1,
            0.64,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor="white",
            edgecolor=color,
            linewidth=1.4,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=11, color=INK)


def _arrow(ax, x0: float, x1: float, y: float, color: str) -> None:
    ax.annotate(
        "",
        xy=(x1, y),
        xytext=(x0, y),
        arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.4},
    )


def _fmt(v: float) -> str:
    return f"{v:g}"


@figure("calculus-chain-rule")
def chain_rule_graph(x: float = 1.0, a: float = 3.0, b: float = 1.0) -> Figure:
    """The graph ``x -> u = a x + b -> y = u^2``, forward and backward.

    Forward values (blue) flow left to right above the nodes; gradients
    (orange) flow right to left below them, each the incoming gradient
    times the local derivative.

    Args:
        x: the input.
        a: slope of the inner function.
        b: offset of the inner function.
    """
    s = scalar_chain(x, a, b)
    fig = new_figure((7.0, 3.0))
    ax = fig.add_subplot()
    ax.set_xlim(-0.9, 8.9)
    ax.set_ylim(-1.9, 1.6)
    bare_axes(ax)
    ax.set_title(
        f"Chain rule on y = ({_fmt(a)}x + {_fmt(b)})² at x = {_fmt(x)}",
        fontsize=10,
        color=INK,
    )
    ax.set_xlabel(
        "the computation graph, input on the left", color=MUTED, fontsize=8
    )
    ax.set_ylabel("values / gradients", color=MUTED, fontsize=8)
    xs = (0.0, 4.0, 8.0)
    _box(ax, xs[0], 0.0, f"x = {_fmt(x)}")
    _box(ax, xs[1], 0.0, f"u = {_fmt(s['u'])}")
    _box(ax, xs[2], 0.0, f"y = {_fmt(s['y'])}")
    # forward
    for (x0, x1), label in zip(
        ((xs[0], xs[1]), (xs[1], xs[2])),
        (f"u = {_fmt(a)}x + {_fmt(b)}", "y = u²"),
    ):
        _arrow(ax, x0 + 0.6, x1 - 0.6, 0.12, BLUE)
        ax.text(
            (x0 + x1) / 2, 0.35, label, ha="center", color=BLUE, fontsize=10
        )
    ax.text(
        4.0,
        1.2,
        "forward: compute values, left to right",
        ha="center",
        color=BLUE,
        fontsize=10,
    )
    # backward
    for (x0, x1), label in zip(
        ((xs[2], xs[1]), (xs[1], xs[0])),
        (
            f"local dy/du = 2u = {_fmt(s['dy_du'])}",
            f"local du/dx = a = {_fmt(s['du_dx'])}",
        ),
    ):
        _arrow(ax, x0 - 0.6, x1 + 0.6, -0.12, ORANGE)
        ax.text(
            (x0 + x1) / 2, -0.45, label, ha="center", color=ORANGE, fontsize=10
        )
    for xpos, grad in zip(xs, (s["dy_dx"], s["dy_du"], 1.0)):
        name = {xs[0]: "dy/dx", xs[1]: "dy/du", xs[2]: "dy/dy"}[xpos]
        ax.text(
            xpos,
            -0.95,
            f"{name} = {_fmt(grad)}",
            ha="center",
            color=ORANGE,
            fontsize=10,
            fontweight="bold",
        )
    ax.text(
        4.0,
        -1.6,
        "backward: each gradient = the one to its right × the local "
        "derivative, "
        f"dy/dx = {_fmt(s['dy_du'])} × {_fmt(s['du_dx'])} "
        f"= {_fmt(s['dy_dx'])}",
        ha="center",
        color=ORANGE,
        fontsize=10,
    )
    return fig
