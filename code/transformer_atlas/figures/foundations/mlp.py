"""Figure for the MLP page: a two-layer MLP learns two circles."""

from __future__ import annotations

from matplotlib.figure import Figure

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    new_figure,
    style_axes,
)
from transformer_atlas.figures.foundations.neural_networks import (
    decision_regions,
    loss_panel,
    scatter_classes,
)
from transformer_atlas.foundations.mlp import (
    circles_dataset,
    init_mlp,
    train,
)


@figure("mlp-circles")
def mlp_circles(
    d_hidden: int = 8, steps: int = 2000, lr: float = 1.0, seed: int = 0
) -> Figure:
    """An MLP (tanh hidden layer) trained on two rings: regions and loss.

    Args:
        d_hidden: hidden units.
        steps: full-batch gradient-descent steps.
        lr: learning rate.
        seed: seed of the data and of the initial weights.
    """
    x, y = circles_dataset(seed=seed)
    params, losses = train(
        init_mlp(2, d_hidden, seed=seed), x, y, lr, steps, "tanh"
    )
    fig = new_figure((8.0, 3.6))
    ax, ax_loss = fig.subplots(1, 2)
    style_axes(ax)
    decision_regions(ax, params, (-2.0, 2.0), "tanh")
    scatter_classes(ax, x, y[:, 0], 12)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("two rings: regions where p > 0.5 (blue)", fontsize=10)
    loss_panel(ax_loss, losses, f"loss, {d_hidden} tanh hidden units")
    return fig
