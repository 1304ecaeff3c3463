"""Figures for the generation and KV-cache pages: measurements, drawn.

* ``generation-time-per-token``: time of each new token, with and without
  the KV cache, on a small GPT;
* ``generation-batch-scaling``: time of one cached decode step and tokens
  per second as the batch grows;
* ``kv-cache-speedup`` (in :mod:`.kv_cache`): uncached time over cached
  time, per position and over a whole generation.

Nothing is timed when a figure is drawn: the figures draw what the
``generation`` benchmark measured
(:mod:`transformer_atlas.benchmarks.inference.generation`), as ``make
bench`` recorded it (:func:`~transformer_atlas.benchmarks.recorded`), and
say in their title which run, commit and machine that was. Pass your own
measurement to redraw them::

    from transformer_atlas.benchmarks.inference import generation
    from transformer_atlas.figures.inference.generation import (
        generation_time_per_token,
    )
    fig = generation_time_per_token(generation.run(new_tokens=256))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from transformer_atlas.benchmarks import recorded
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
    "measured",
    "model_label",
]


def measured(
    measurement: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The ``generation`` benchmark's results and who measured them.

    ``measurement`` is a record (what ``make bench`` saves, with
    ``"results"``, ``"when"``, ``"commit"`` and ``"machine"``), the
    results of :func:`transformer_atlas.benchmarks.inference.generation.
    run`, or ``None`` for the record ``make bench`` saved last. Returns
    the results and a line of provenance for the figure's title.
    """
    if measurement is None:
        measurement = recorded("generation")
    if "results" in measurement:
        r = measurement
        return r["results"], (
            f"make bench, {r['when']}, commit {r['commit']}\n{r['machine']}"
        )
    if "per_token" not in measurement:
        raise ValueError(
            "measurement must be a record of the generation benchmark or "
            "the results of benchmarks.inference.generation.run(), got "
            f"keys {sorted(measurement)}"
        )
    return measurement, "a measurement passed to the figure, not make bench"


def model_label(sizes: dict[str, int], dtype: str, threads: int) -> str:
    """``4 layers, d_model 256, vocabulary 8,192, float32, 1 thread``."""
    return (
        f"{sizes['n_layers']} layer{'s' * (sizes['n_layers'] != 1)}, "
        f"d_model {sizes['d_model']}, "
        f"vocabulary {sizes['vocab_size']:,}, {dtype}, "
        f"{threads} thread{'s' if threads != 1 else ''}"
    )


def per_token_times(
    measurement: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """``lengths``, seconds per step with the cache and without, a label
    of the model and the provenance line (see :func:`measured`)."""
    results, source = measured(measurement)
    pt = results["per_token"]
    label = model_label(pt["model"], results["dtype"], results["threads"])
    return (
        np.asarray(pt["lengths"]),
        1e-3 * np.asarray(pt["cached_ms"]),
        1e-3 * np.asarray(pt["uncached_ms"]),
        label,
        source,
    )


@figure("generation-time-per-token")
def generation_time_per_token(
    measurement: dict[str, Any] | None = None, window: int = 9
) -> Figure:
    """Milliseconds per new token against the sequence length, both ways.

    Dots are single steps; lines are rolling medians over ``window``
    steps. ``measurement``: see :func:`measured` (default: the last
    ``make bench`` record).
    """
    lengths, cached, uncached, label, source = per_token_times(measurement)
    fig = new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    for times, colour, name in (
        (uncached, ORANGE, "without cache: the whole prefix each step"),
        (cached, BLUE, "with KV cache: the new token only"),
    ):
        ax.plot(lengths, 1e3 * times, ".", color=colour, ms=3, alpha=0.35)
        ax.plot(
            lengths,
            1e3 * rolling_median(times, window),
            color=colour,
            lw=2,
            label=name,
        )
    ax.set_xlim(0, int(lengths[-1]) + 1)
    ax.set_ylim(0, None)
    ax.set_xlabel("sequence length when the step runs (tokens)")
    ax.set_ylabel("time for one new token (ms)")
    ax.set_title(
        f"Time per generated token (batch 1)\n{label}\nmeasured by {source}",
        fontsize=8,
    )
    ax.legend(frameon=False, fontsize=8, labelcolor=INK, loc="upper left")
    style_axes(ax)
    return fig


@figure("generation-batch-scaling")
def generation_batch_scaling(
    measurement: dict[str, Any] | None = None,
) -> Figure:
    """One cached decode step as the batch grows: time and tokens/s.

    Left: the measured time of one step and, dashed, what it would be if
    time grew with the work (``batch`` times the time at batch 1). Right:
    new tokens per second, ``batch / time``. ``measurement``: see
    :func:`measured` (default: the last ``make bench`` record).
    """
    results, source = measured(measurement)
    bs = results["batch_scaling"]
    b = np.asarray(bs["batches"], dtype=float)
    ms = np.asarray(bs["step_ms"], dtype=float)
    fig = new_figure((7.6, 3.8))
    left, right = fig.subplots(1, 2)
    left.plot(
        b,
        ms[0] * b / b[0],
        "--",
        color=MUTED,
        label="if time grew with the batch",
    )
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
    label = model_label(bs["model"], results["dtype"], results["threads"])
    fig.suptitle(
        f"Batched decoding with a KV cache: {label}\nmeasured by {source}",
        fontsize=8,
        color=INK,
    )
    return fig
