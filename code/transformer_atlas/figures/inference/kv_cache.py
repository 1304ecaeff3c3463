"""Figure for the KV-cache page: the cache's speed-up against the sequence length."""

from __future__ import annotations

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
from transformer_atlas.figures.inference.generation import (
    generation_times,
    model_label,
)


@figure("kv-cache-speedup")
def kv_cache_speedup(
    n_layers: int = 4,
    d_model: int = 256,
    n_heads: int = 4,
    vocab_size: int = 8192,
    new_tokens: int = 128,
    threads: int | None = 1,
    window: int = 15,
) -> Figure:
    """Speed-up of the KV cache against the sequence length.

    Solid: the time of one step without the cache over the time with it
    (rolling medians). Dashed: the mean time per token over a whole
    generation of ``n`` tokens, without over with, which is what
    ``python -m transformer_atlas bench kv-cache`` reports for its ``n``.
    """
    lengths, cached, uncached = generation_times(
        n_layers, d_model, n_heads, vocab_size, new_tokens, threads
    )
    per_step = rolling_median(uncached, window) / rolling_median(
        cached, window
    )
    whole = np.cumsum(uncached) / np.cumsum(cached)
    fig = new_figure((6.4, 4.0))
    ax = fig.add_subplot()
    ax.axhline(1.0, color=MUTED, lw=0.8)
    ax.plot(lengths, per_step, color=BLUE, lw=2, label="one step at this "
            "length")
    ax.plot(lengths, whole, "--", color=ORANGE, lw=2, label="a whole "
            "generation of this many tokens")
    ax.set_xlim(0, int(lengths[-1]) + 1)
    ax.set_ylim(0, None)
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("speed-up (time without / with the cache)")
    ax.set_title(
        "KV-cache speed-up (batch 1)\n"
        + model_label(n_layers, d_model, vocab_size, threads),
        fontsize=9,
    )
    ax.legend(frameon=False, fontsize=8, labelcolor=INK, loc="upper left")
    style_axes(ax)
    return fig
