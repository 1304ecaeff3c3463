"""Figure for the PyTorch reference page: the char-level LM's loss curve.

* ``pytorch-loss``: the training loss of every step of
  :func:`transformer_atlas.reference.pytorch.train` with the page's settings, its
  moving average, and the chance level ``ln(vocab)``.

The run is seeded and single-threaded, so the figure is the same on every
build; it trains at figure time (a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure

from transformer_atlas.blocks.embeddings import stdlib_text
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
from transformer_atlas.reference.pytorch import (
    CHAR_VOCAB,
    TinyTransformer,
    TrainConfig,
    encode,
    train,
)

__all__ = ["loss_curve"]


@figure("pytorch-loss")
def loss_curve(
    steps: int = TrainConfig.steps, seed: int = 0, bound: float = 2.6
) -> Figure:
    """Training loss per step of the page's character-level model.

    Args:
        steps: optimizer steps (the page's run: 200).
        seed: seed of the weights and the batches.
        bound: the loss bound the page states, drawn dotted.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    config = TrainConfig(steps=steps, seed=seed, print_every=0)
    data = encode(stdlib_text())
    torch.manual_seed(seed)
    model = TinyTransformer(len(CHAR_VOCAB), config.context)
    losses = np.array(train(model, data, config, progress=False))
    window = min(20, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    chance = math.log(len(CHAR_VOCAB))

    fig = new_figure((6.0, 3.6))
    ax = fig.add_subplot()
    style_axes(ax)
    x = np.arange(len(losses))
    ax.plot(x, losses, color=BLUE, lw=0.8, alpha=0.45, label="loss per step")
    ax.plot(x[window - 1:], smooth, color=BLUE, lw=2.0,
            label=f"mean of last {window} steps")
    ax.axhline(chance, color=ORANGE, ls="--", lw=1.2,
               label=f"chance: ln({len(CHAR_VOCAB)}) = {chance:.2f}")
    ax.axhline(bound, color=GREEN, ls=":", lw=1.4,
               label=f"the page's bound: {bound:g}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_ylim(0, chance + 0.4)
    ax.grid(True, color=MUTED, alpha=0.2)
    ax.legend(frameon=False, fontsize=8, labelcolor=INK)
    ax.set_title("A 1-block character transformer learning Python source",
                 fontsize=10)
    return fig
