"""Figures for the generation and KV-cache pages: measured, not drawn.

* ``generation-time-per-token``: time of each new token, with and without
  the KV cache, on a small GPT (from
  :func:`~transformer_atlas.benchmarks.training.tiny_gpt.time_generation_steps`).
* ``generation-batch-scaling``: time of one cached decode step and tokens
  per second as the batch grows (from
  :func:`~transformer_atlas.benchmarks.inference.generation.decode_batch_scaling`).
* ``kv-cache-speedup``: uncached time over cached time, per position and
  averaged over a whole generation, against the sequence length.

These figures time real work on the machine that draws them, so they
differ from run to run and machine to machine; their *shapes* are what
the pages describe (and what the tests check). They run on one thread by
default, which keeps them steady on a shared machine, and are sized to
draw in a few seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from transformer_atlas.benchmarks.inference.generation import (
    decode_batch_scaling,
)
from transformer_atlas.benchmarks.inference.kv_cache import (
    kv_bench_model,
    time_generation_steps,
)
from transformer_atlas.common.threads import torch_threads
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

__all__ = [
    "generation_batch_scaling",
    "generation_time_per_token",
    "generation_times",
    "kv_cache_speedup",
    "rolling_median",
]


def generation_times(
    n_layers: int = 4,
    d_model: int = 256,
    n_heads: int = 4,
    vocab_size: int = 8192,
    new_tokens: int = 128,
    threads: int | None = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time a greedy generation from a 1-token prompt, cached and not.

    The model is :func:`~transformer_atlas.benchmarks.training.tiny_gpt.kv_bench_model` with
    the given sizes (GPT-2 parts, random weights). The two figures that
    use these times share one measurement per set of arguments (the
    last few are kept), so a site build generates only once.

    Returns:
        ``lengths`` (the sequence length each step runs on, ``[new]``),
        and the seconds of each step with the cache and without.
    """
    lengths, cached, uncached = _generation_times(
        n_layers, d_model, n_heads, vocab_size, new_tokens, threads
    )
    return lengths.copy(), cached.copy(), uncached.copy()


@functools.lru_cache(maxsize=4)
def _generation_times(
    n_layers: int,
    d_model: int,
    n_heads: int,
    vocab_size: int,
    new_tokens: int,
    threads: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = kv_bench_model(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_heads,
        vocab_size=vocab_size,
    )
    with torch_threads(threads):
        time_generation_steps(model, 4, use_cache=True)  # warm up
        time_generation_steps(model, 4, use_cache=False)
        cached = time_generation_steps(model, new_tokens, use_cache=True)
        uncached = time_generation_steps(model, new_tokens, use_cache=False)
    lengths = np.arange(2, new_tokens + 2)  # step i runs on 1 + (i + 1)
    return lengths, np.array(cached), np.array(uncached)


def model_label(
    n_layers: int, d_model: int, vocab_size: int, threads: int | None
) -> str:
    """``4 layers, d_model 256, vocabulary 8,192, float32, 1 thread``."""
    n = torch.get_num_threads() if threads is None else threads
    return (
        f"{n_layers} layers, d_model {d_model}, vocabulary {vocab_size:,}, "
        f"float32, {n} thread{'s' if n != 1 else ''}"
    )


@figure("generation-time-per-token")
def generation_time_per_token(
    n_layers: int = 4,
    d_model: int = 256,
    n_heads: int = 4,
    vocab_size: int = 8192,
    new_tokens: int = 128,
    threads: int | None = 1,
    window: int = 9,
) -> Figure:
    """Milliseconds per new token against the sequence length, both ways.

    Dots are single steps; lines are rolling medians over ``window``
    steps. See :func:`generation_times` for the arguments.
    """
    lengths, cached, uncached = generation_times(
        n_layers, d_model, n_heads, vocab_size, new_tokens, threads
    )
    fig = new_figure((6.4, 4.0))
    ax = fig.add_subplot()
    for times, colour, label in (
        (uncached, ORANGE, "without cache: the whole prefix each step"),
        (cached, BLUE, "with KV cache: the new token only"),
    ):
        ax.plot(lengths, 1e3 * times, ".", color=colour, ms=3, alpha=0.35)
        ax.plot(
            lengths,
            1e3 * rolling_median(times, window),
            color=colour,
            lw=2,
            label=label,
        )
    ax.set_xlim(0, int(lengths[-1]) + 1)
    ax.set_ylim(0, None)
    ax.set_xlabel("sequence length when the step runs (tokens)")
    ax.set_ylabel("time for one new token (ms)")
    ax.set_title(
        "Time per generated token (batch 1)\n"
        + model_label(n_layers, d_model, vocab_size, threads),
        fontsize=9,
    )
    ax.legend(frameon=False, fontsize=8, labelcolor=INK, loc="upper left")
    style_axes(ax)
    return fig


@figure("generation-batch-scaling")
def generation_batch_scaling(
    batches: Sequence[int] = (1, 2, 4, 8, 16),
    n_layers: int = 4,
    d_model: int = 256,
    n_heads: int = 4,
    vocab_size: int = 50257,
    prefix_len: int = 32,
    steps: int = 8,
    threads: int | None = 1,
) -> Figure:
    """One cached decode step as the batch grows: time and tokens/s.

    Left: the measured time of one step (median of ``steps``) and, dashed,
    what it would be if time grew with the work (``batch`` times the time
    at batch 1). Right: new tokens per second, ``batch / time``.
    """
    model = kv_bench_model(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_heads,
        vocab_size=vocab_size,
    )
    with torch_threads(threads):
        decode_batch_scaling(model, (max(batches),), prefix_len, 2)  # warm
        seconds = decode_batch_scaling(model, batches, prefix_len, steps)
    b = np.array(sorted(seconds), dtype=float)
    ms = np.array([1e3 * seconds[int(k)] for k in b])
    fig = new_figure((7.6, 3.6))
    left, right = fig.subplots(1, 2)
    left.plot(b, ms[0] * b / b[0], "--", color=MUTED, label="if time grew "
              "with the batch")
    left.plot(b, ms, "o-", color=BLUE, label="measured")
    left.set_ylim(0, 1.1 * float(max(ms.max(), 0.5 * ms[0] * b[-1] / b[0])))
    left.set_ylabel("time of one decode step (ms)")
    left.set_title("Time per step", fontsize=9)
    left.legend(frameon=False, fontsize=8, labelcolor=INK)
    right.plot(b, 1e3 * b / ms, "o-", color=ORANGE)
    right.set_ylim(0, None)
    right.set_ylabel("new tokens per second")
    right.set_title("Throughput", fontsize=9)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(b, [str(int(k)) for k in b])
        ax.minorticks_off()
        ax.set_xlabel("batch (sequences decoded together)")
        style_axes(ax)
    fig.suptitle(
        "Batched decoding with a KV cache: "
        + model_label(n_layers, d_model, vocab_size, threads),
        fontsize=9,
        color=INK,
    )
    return fig


