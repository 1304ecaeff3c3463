"""Figure for the KV-cache page: the cache's speed-up against the length.

Drawn from the per-token times the ``generation`` benchmark recorded
(see :mod:`transformer_atlas.figures.inference.generation`); nothing is
timed when it is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from transformer_atlas.common.timing import rolling_median
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    INK,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)
from transformer_atlas.figures.inference.generation import per_token_times

__all__ = ["kv_cache_speedup", "speedups"]


def speedups(
    cached: np.ndarray, uncached: np.ndarray, window: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step and whole-generation speed-ups of the cache.

    With both step times smoothed by a rolling median over ``window``
    steps (a step slowed down by other work on the machine does not
    count): ``per_step[i]`` is the uncached time of step ``i`` over the
    cached one; ``whole[i]`` the total time of the first ``i + 1`` steps
    without the cache over that with it.
    """
    cached = rolling_median(cached, window)
    uncached = rolling_median(uncached, window)
    return uncached / cached, np.cumsum(uncached) / np.cumsum(cached)


@figure("kv-cache-speedup")
def kv_cache_speedup(
    measurement: dict[str, Any] | None = None, window: int = 15
) -> Figure:
    """Speed-up of the KV cache against the sequence length.

    Solid: the time of one step without the cache over the time with it.
    Dashed: the mean time per token over a whole generation of ``n``
    tokens, without over with, which is what ``python -m
    transformer_atlas bench kv-cache`` reports for its ``n``. Both from
    rolling medians over ``window`` steps (see :func:`speedups`).
    ``measurement``: a record or the results of the ``generation``
    benchmark (default: the last ``make bench`` record).
    """
    lengths, cached, uncached, label, source = per_token_times(measurement)
    per_step, whole = speedups(cached, uncached, window)
    fig = new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    ax.axhline(1.0, color=MUTED, lw=0.8)
    ax.plot(
        lengths, per_step, color=BLUE, lw=2, label="one step at this length"
    )
    ax.plot(
        lengths,
        whole,
        "--",
        color=ORANGE,
        lw=2,
        label="a whole generation of this many tokens",
    )
    ax.set_xlim(0, int(lengths[-1]) + 1)
    ax.set_ylim(0, None)
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("speed-up (time without / with the cache)")
    ax.set_title(
        f"KV-cache speed-up (batch 1)\n{label}\nmeasured by {source}",
        fontsize=8,
    )
    ax.legend(frameon=False, fontsize=8, labelcolor=INK, loc="upper left")
    style_axes(ax)
    return fig
