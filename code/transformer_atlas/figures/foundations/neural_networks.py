"""Figures for the neural-networks and MLP pages.

* ``neural-networks-perceptron``: the line a perceptron learns on a
  linearly separable set.
* ``neural-networks-xor``: the decision regions of a 2-layer net trained
  on XOR, and its loss curve.
* ``mlp-circles``: an MLP's decision regions on two rings, and its loss.

Everything random comes from fixed seeds, so the figures are the same on
every build.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    INK,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)
from transformer_atlas.foundations.mlp import (
    Params,
    forward,
)
from transformer_atlas.foundations.neural_networks import (
    separable_dataset,
    train_perceptron,
    train_xor,
    xor_dataset,
)

__all__ = [
    "perceptron_boundary",
    "xor_boundary",
    "scatter_classes",
    "decision_regions",
    "loss_panel",
]

_REGIONS = ListedColormap(["#fbe3d6", "#dce8f6"])


def scatter_classes(
    ax: Axes, x: np.ndarray, y: np.ndarray, size: float
) -> None:
    for label, color, marker in ((0, ORANGE, "o"), (1, BLUE, "s")):
        pts = x[y == label]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=size,
            c=color,
            marker=marker,
            edgecolors=INK,
            linewidths=0.5,
            label=f"class {label}",
            zorder=3,
        )


def decision_regions(
    ax: Axes, params: Params, lim: tuple[float, float], activation: str
) -> None:
    grid = np.linspace(lim[0], lim[1], 200)
    gx, gy = np.meshgrid(grid, grid)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    p = forward(params, pts, activation)["p"].reshape(gx.shape)
    ax.contourf(gx, gy, p > 0.5, levels=[-0.5, 0.5, 1.5], cmap=_REGIONS)
    ax.contour(gx, gy, p, levels=[0.5], colors=INK, linewidths=1.2)
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)


def loss_panel(ax: Axes, losses: list[float], title: str) -> None:
    style_axes(ax)
    ax.plot(losses, color=BLUE, linewidth=1.5)
    ax.set_yscale("log")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("loss (binary cross-entropy)")
    ax.set_title(title, fontsize=10)
    ax.grid(color=MUTED, alpha=0.2)


@figure("neural-networks-perceptron")
def perceptron_boundary(n: int = 40, seed: int = 0) -> Figure:
    """The perceptron's line ``x @ w + b = 0`` on a separable set.

    Args:
        n: number of points.
        seed: seed of
        :func:`~transformer_atlas.foundations.neural_networks.separable_dataset`.
    """
    x, y = separable_dataset(n=n, seed=seed)
    model = train_perceptron(x, y)
    fig = new_figure((6.0, 4.2))
    ax = fig.add_subplot()
    style_axes(ax)
    scatter_classes(ax, x, y, 30)
    xs = np.linspace(-1.1, 1.1, 2)
    w, b = model.w, model.b
    ax.plot(
        xs,
        -(w[0] * xs + b) / w[1],
        color=INK,
        linewidth=1.5,
        label="w·x + b = 0",
    )
    mid = np.array([0.0, -b / w[1]])
    arrow = 0.35 * w / np.linalg.norm(w)
    ax.annotate(
        "",
        xy=mid + arrow,
        xytext=mid,
        arrowprops={"arrowstyle": "->", "color": INK},
    )
    ax.text(*(mid + 1.15 * arrow), "w", color=INK, fontsize=10)
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(
        f"Perceptron: converged after {model.epochs} epochs",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


@figure("neural-networks-xor")
def xor_boundary(d_hidden: int = 4, seed: int = 1) -> Figure:
    """Decision regions of the 2-layer XOR net, and its loss curve.

    Args:
        d_hidden: hidden units of
        :func:`~transformer_atlas.foundations.neural_networks.
            train_xor`.
        seed: its initialisation seed.
    """
    params, losses = train_xor(d_hidden=d_hidden, seed=seed)
    x, y = xor_dataset()
    fig = new_figure((8.0, 3.6))
    ax, ax_loss = fig.subplots(1, 2)
    style_axes(ax)
    decision_regions(ax, params, (-0.5, 1.5), "tanh")
    scatter_classes(ax, x, y, 80)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("XOR: regions where p > 0.5 (blue)", fontsize=10)
    loss_panel(ax_loss, losses, f"loss, {d_hidden} tanh hidden units")
    return fig
