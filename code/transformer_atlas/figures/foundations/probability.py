"""Figure for the probability page: entropy of uniform and peaked
distributions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    GREEN,
    INK,
    ORANGE,
    new_figure,
    style_axes,
)
from transformer_atlas.foundations.probability import entropy


@figure("probability-entropy")
def entropy_of_distributions(
    distributions: Sequence[Sequence[float]] = (
        (0.25, 0.25, 0.25, 0.25),
        (0.5, 0.25, 0.125, 0.125),
        (0.97, 0.01, 0.01, 0.01),
    ),
    labels: Sequence[str] = ("uniform", "medium", "peaked"),
) -> Figure:
    """Bar charts of distributions, each titled with its entropy in bits.

    Every distribution must have the same number of outcomes.
    """
    probs = torch.tensor(distributions, dtype=torch.float64)
    if probs.ndim != 2 or len(labels) != probs.shape[0]:
        raise ValueError(
            "distributions must be [n_dists, n_outcomes] with one label "
            f"each, got {len(distributions)} and {len(labels)} labels"
        )
    h_bits = entropy(probs, base=2)
    n = probs.shape[1]
    fig = new_figure((7.5, 2.8))
    axes = fig.subplots(1, probs.shape[0], sharey=True)
    axes = np.atleast_1d(axes)
    colours = (BLUE, GREEN, ORANGE)
    for i, ax in enumerate(axes):
        style_axes(ax)
        ax.bar(range(n), probs[i].numpy(), color=colours[i % 3])
        ax.set_title(
            f"{labels[i]}: H = {float(h_bits[i]):.2f} bits", fontsize=10
        )
        ax.set_xticks(range(n))
        ax.set_xlabel("outcome", fontsize=9, color=INK)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability", fontsize=9, color=INK)
    return fig
