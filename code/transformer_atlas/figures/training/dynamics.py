"""Figures for the training-dynamics page.

* ``dynamics-lr-schedule``: linear warm-up and cosine decay
  (:func:`~transformer_atlas.training.dynamics.warmup_cosine`) with the
  baby-GPT settings, and torch's own schedulers landing on the same curve.
* ``dynamics-init-depth``: the residual stream's standard deviation
  through a deep stack at initialization, with and without GPT-2's
  ``1 / sqrt(2 N)`` scaling (:func:`~transformer_atlas.training.dynamics.\
residual_std_by_depth`).

Both are deterministic (fixed seeds).
"""

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
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)
from transformer_atlas.figures.training.tiny_gpt import loss_curve
from transformer_atlas.training.dynamics import (
    residual_std_by_depth,
    warmup_cosine,
    warmup_cosine_scheduler,
)

__all__ = ["lr_schedule", "init_depth"]


def _torch_lrs(
    max_lr: float,
    min_lr: float,
    warmup_steps: int,
    total_steps: int,
    n_steps: int,
) -> np.ndarray:
    """The lr of torch's schedulers at steps ``0 .. n_steps - 1``."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=max_lr)
    scheduler = warmup_cosine_scheduler(
        optimizer,
        min_lr=min_lr,
        warmup_steps=warmup_steps,
        total_steps=total_steps,
    )
    lrs = []
    for _ in range(n_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


@figure("dynamics-lr-schedule")
def lr_schedule(
    max_lr: float = 1e-3,
    min_lr: float = 1e-4,
    warmup_steps: int = 100,
    total_steps: int = 2000,
    zoom_steps: int = 150,
) -> Figure:
    """The learning rate against the step, whole run and warm-up zoomed.

    Args:
        max_lr, min_lr, warmup_steps, total_steps: the schedule
            (default: nanoGPT's baby GPT on Shakespeare characters, with
            2000 steps).
        zoom_steps: how many first steps the right panel shows.
    """
    n_steps = int(total_steps * 1.1) + 1
    steps = np.arange(n_steps)
    ours = np.array(
        [
            warmup_cosine(
                int(s),
                max_lr=max_lr,
                min_lr=min_lr,
                warmup_steps=warmup_steps,
                total_steps=total_steps,
            )
            for s in steps
        ]
    )
    torch_lrs = _torch_lrs(max_lr, min_lr, warmup_steps, total_steps, n_steps)
    fig = new_figure((8.0, 3.6))
    whole, zoom = fig.subplots(1, 2, width_ratios=(2.2, 1.0))
    every = max(1, total_steps // 20)
    for ax, last in ((whole, n_steps), (zoom, min(zoom_steps, n_steps))):
        ax.plot(
            steps[:last],
            ours[:last],
            color=BLUE,
            lw=1.8,
            label="warmup_cosine",
        )
        mark = steps[:last][:: every if ax is whole else max(1, last // 15)]
        ax.plot(
            mark,
            torch_lrs[mark],
            "o",
            ms=3.5,
            color=ORANGE,
            label="torch SequentialLR",
        )
        ax.axhline(max_lr, color=MUTED, lw=0.8, ls=":")
        ax.axhline(min_lr, color=MUTED, lw=0.8, ls=":")
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        style_axes(ax)
    whole.axvline(warmup_steps, color=GREEN, lw=0.8, ls="--")
    whole.axvline(total_steps, color=GREEN, lw=0.8, ls="--")
    whole.text(
        warmup_steps,
        min_lr * 0.3,
        " warmup_steps",
        color=GREEN,
        fontsize=7,
        va="bottom",
    )
    whole.text(
        total_steps,
        min_lr * 0.3,
        "total_steps ",
        color=GREEN,
        fontsize=7,
        ha="right",
        va="bottom",
    )
    whole.text(
        n_steps * 0.7, max_lr, "max_lr", color=INK, fontsize=7, va="bottom"
    )
    whole.text(
        n_steps * 0.25, min_lr, "min_lr", color=INK, fontsize=7, va="bottom"
    )
    whole.set_title("Linear warm-up, cosine decay, then flat")
    zoom.set_title(f"The first {min(zoom_steps, n_steps)} steps")
    whole.legend(fontsize=7, frameon=False, loc="center right")
    return fig


@figure("dynamics-init-depth")
def init_depth(
    n_layers: int = 48,
    d_model: int = 768,
    std: float = 0.02,
    scaled_depths: Sequence[int] = (12, 48),
    seed: int = 0,
) -> Figure:
    """Residual-stream std after each block, plain and scaled init.

    Args:
        n_layers: depth of the plain-init stack (the first ``N`` blocks of
            it are also an ``N``-block stack: plain init does not depend on
            the depth).
        d_model: width of the stream.
        std: the init standard deviation (GPT-2: 0.02).
        scaled_depths: depths ``N`` drawn with ``std / sqrt(2 N)``.
        seed: random seed.
    """
    fig = new_figure((6.4, 3.8))
    ax = fig.add_subplot()
    var0 = std**2
    per_add = d_model * std**2  # variance one residual add contributes
    plain = residual_std_by_depth(n_layers, d_model, std, False, seed=seed)
    blocks = np.arange(n_layers + 1)
    ax.plot(
        blocks,
        plain.numpy(),
        color=ORANGE,
        lw=1.8,
        label=f"std {std} everywhere",
    )
    theory = np.sqrt(var0 + 2 * blocks * per_add)
    colours = (BLUE, GREEN, INK)
    for colour, depth in zip(colours, scaled_depths):
        out = residual_std_by_depth(depth, d_model, std, True, seed=seed)
        ax.plot(
            np.arange(depth + 1),
            out.numpy(),
            color=colour,
            lw=1.8,
            label=f"std {std} / sqrt(2 * {depth}), N = {depth}",
        )
        ax.plot(
            np.arange(depth + 1),
            np.sqrt(var0 + np.arange(depth + 1) * per_add / depth),
            color=INK,
            lw=0.7,
            ls="--",
        )
    ax.plot(
        blocks,
        theory,
        color=INK,
        lw=0.7,
        ls="--",
        label="theory: variances add",
    )
    ax.axhline(np.sqrt(var0 + per_add), color=MUTED, lw=0.8, ls=":")
    ax.set_xlabel("block l")
    ax.set_ylabel("std of the residual stream")
    ax.set_title(f"Residual stream at init (d_model = {d_model})")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    style_axes(ax)
    return fig


@figure("dynamics-loss-curves")
def baby_gpt_loss_curves(iters: int = 250, eval_interval: int = 25) -> Figure:
    """Train and validation loss of the baby GPT on the stdlib's source.

    Trains nanoGPT's baby GPT (4 layers, 4 heads, d_model 128, context
    64, batch 12) for ``iters`` steps with the ``train gpt`` loop (about 15
    seconds on 2 cores) and plots its history.
    """
    from transformer_atlas.training.tiny_gpt import TrainConfig, train

    cfg = TrainConfig(
        iters=iters,
        eval_interval=eval_interval,
        eval_iters=10,
        warmup_iters=min(100, iters // 10),
    )
    result = train(cfg, progress=False)
    return loss_curve(
        result.history,
        result.tokenizer.vocab_size,
        f"Baby GPT on the standard library's source, {iters} steps",
    )
