"""Figures for the feed-forward page.

* ``feed-forward-activations``: ReLU, GELU (exact and tanh), SiLU and their
  derivatives, side by side. The curves are the package's own functions
  from :mod:`transformer_atlas.blocks.activations`, the derivatives its closed
  forms (``relu_grad`` ...), which the tests check against autograd.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure

from transformer_atlas.blocks.activations import ACTIVATIONS, DERIVATIVES
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    INK,
    new_figure,
    style_axes,
)

__all__ = ["activation_curves"]


#: name -> (label, colour, line style)
STYLES = {
    "relu": ("ReLU", "#1a1a1a", "-"),
    "gelu": ("GELU (exact)", "#1f5fa8", "-"),
    "gelu_tanh": ("GELU (tanh approx.)", "#8fb8e6", "--"),
    "silu": ("SiLU (swish)", "#c8551b", "-"),
}


@figure("feed-forward-activations")
def activation_curves(
    names: Sequence[str] = ("relu", "gelu", "gelu_tanh", "silu"),
    x_min: float = -4.0,
    x_max: float = 4.0,
    n_points: int = 801,
) -> Figure:
    """Activation functions (left) and their derivatives (right).

    Args:
        names: keys of
        :data:`~transformer_atlas.blocks.activations.ACTIVATIONS`. x_min: left
        end of the x axis. x_max: right end of the x axis.
        n_points: points per curve.
    """
    unknown = [n for n in names if n not in ACTIVATIONS]
    if not names or unknown:
        raise ValueError(
            f"names must be keys of ACTIVATIONS {sorted(ACTIVATIONS)}, "
            f"got {tuple(names)}"
        )
    if not x_min < x_max or n_points < 2:
        raise ValueError(
            "need x_min < x_max and n_points >= 2, got "
            f"x_min={x_min}, x_max={x_max}, n_points={n_points}"
        )
    x = torch.linspace(x_min, x_max, n_points, dtype=torch.float64)
    fig = new_figure((7.2, 3.5))
    left, right = fig.subplots(1, 2)
    for name in names:
        label, colour, ls = STYLES.get(name, (name, INK, "-"))
        left.plot(x, ACTIVATIONS[name](x), ls, color=colour, label=label)
        right.plot(x, DERIVATIVES[name](x), ls, color=colour, label=label)
    left.set_title("Activation f(x)", fontsize=10)
    left.set_ylabel("f(x)")
    right.set_title("Derivative f'(x)", fontsize=10)
    right.set_ylabel("f'(x)")
    right.set_ylim(-0.2, 1.2)
    for ax in (left, right):
        ax.set_xlabel("x (pre-activation)")
        ax.set_xlim(x_min, x_max)
        style_axes(ax)
    left.legend(fontsize=7.5, frameon=False, labelcolor=INK)
    return fig
