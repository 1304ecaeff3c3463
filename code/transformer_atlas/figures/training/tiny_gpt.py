"""Figures of a GPT training run: the loss curves."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from transformer_atlas.figures._style import (
    BLUE,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)


def loss_curve(
    history: list[dict[str, float]],
    vocab_size: int | None = None,
    title: str = "Train and validation loss",
) -> Figure:
    """Train and validation loss against the step, from a run's history.

    ``history`` is :attr:`TrainResult.history` (rows with ``step``,
    ``train_loss``, ``val_loss``). With ``vocab_size``, a dotted line marks
    ``ln(vocab_size)``, the loss of a uniform guess.
    """
    fig = new_figure((6.0, 3.6))
    ax = fig.add_subplot()
    steps = [row["step"] for row in history]
    ax.plot(
        steps,
        [r["train_loss"] for r in history],
        "o-",
        color=BLUE,
        ms=3,
        label="train",
    )
    ax.plot(
        steps,
        [r["val_loss"] for r in history],
        "s-",
        color=ORANGE,
        ms=3,
        label="validation",
    )
    if vocab_size is not None:
        ax.axhline(math.log(vocab_size), color=MUTED, ls=":", lw=1)
        ax.text(
            steps[-1],
            math.log(vocab_size),
            f"ln {vocab_size}",
            color=MUTED,
            ha="right",
            va="bottom",
            fontsize=8,
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    style_axes(ax)
    return fig
