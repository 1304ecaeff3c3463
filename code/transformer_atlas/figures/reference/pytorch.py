"""Figure for the PyTorch reference page: the char-level LM's loss curve.

* ``pytorch-loss``: the training loss of every step of
  :func:`transformer_atlas.reference.pytorch.train_tiny_transformer` with
  the page's settings, its moving average, and the chance level
  ``ln(vocab)``.

The run is seeded and single-threaded, so the figure is the same on every
build; it trains at figure time (the benchmark ``pytorch`` times it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from matplotlib.figure import Figure

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
    PAGE_CONFIG,
    train_tiny_transformer,
)

__all__ = ["loss_curve"]


@figure("pytorch-loss")
def loss_curve(
    iters: int = PAGE_CONFIG.iters,
    seed: int = PAGE_CONFIG.seed,
    bound: float = 2.6,
) -> Figure:
    """Training loss per step of the page's character-level model.

    Args:
        iters: optimizer steps (the page's run: 200); the schedule's
            warm-up stays at a tenth of them, at most 20.
        seed: seed of the weights and the batches.
        bound: the loss bound the page states, drawn dotted.
    """
    cfg = dataclasses.replace(  # raises ValueError for iters < 1
        PAGE_CONFIG,
        iters=iters,
        seed=seed,
        warmup_iters=min(PAGE_CONFIG.warmup_iters, iters // 10),
    )
    run = train_tiny_transformer(cfg, progress=False)
    losses = np.array(run.losses)
    window = min(20, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    vocab = run.tokenizer.vocab_size
    chance = math.log(vocab)

    fig = new_figure((6.0, 3.6))
    ax = fig.add_subplot()
    style_axes(ax)
    x = np.arange(len(losses))
    ax.plot(x, losses, color=BLUE, lw=0.8, alpha=0.45, label="loss per step")
    ax.plot(
        x[window - 1 :],
        smooth,
        color=BLUE,
        lw=2.0,
        label=f"mean of last {window} steps",
    )
    ax.axhline(
        chance,
        color=ORANGE,
        ls="--",
        lw=1.2,
        label=f"chance: ln({vocab}) = {chance:.2f}",
    )
    ax.axhline(
        bound,
        color=GREEN,
        ls=":",
        lw=1.4,
        label=f"the page's bound: {bound:g}",
    )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_ylim(0, chance + 0.4)
    ax.grid(True, color=MUTED, alpha=0.2)
    ax.legend(frameon=False, fontsize=8, labelcolor=INK)
    ax.set_title(
        "A 1-block character transformer learning Python source", fontsize=10
    )
    return fig
