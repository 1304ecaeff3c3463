"""Helpers for measurements: the one clock, and robust summaries.

Every benchmark (``make bench``, :mod:`transformer_atlas.benchmarks`)
reads the clock through :func:`time_call` or :class:`Laps`, so there is
one timing loop in the package. The figures that draw what a benchmark
measured use :func:`rolling_median`. No test asserts a time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = ["Laps", "ms_summary", "rolling_median", "time_call"]

T = TypeVar("T")


def time_call(
    fn: Callable[..., T], /, *args: Any, **kwargs: Any
) -> tuple[T, float]:
    """Call ``fn(*args, **kwargs)``; return its result and the seconds.

    Wall-clock time (``time.perf_counter``), which is what a reader waits
    for.
    """
    tick = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - tick


class Laps:
    """A stopwatch read in laps: :meth:`lap` returns the seconds since the
    previous lap (or since the stopwatch was made).

    For loops that hand control to other code between two readings, such
    as a training loop's per-step callback.
    """

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self) -> float:
        """Seconds since the previous call (or since creation)."""
        now = time.perf_counter()
        seconds, self._last = now - self._last, now
        return seconds


def ms_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Robust summaries of ``seconds``, in milliseconds.

    Returns ``{"median_ms", "mean_ms", "steady_mean_ms", "min_ms", "n"}``,
    rounded to a microsecond. ``steady_mean_ms`` is the mean of the
    :func:`rolling_median` (window 9): the time per step of the whole run
    with the occasional step slowed down by other work on the machine
    replaced by its neighbours, while a steady trend (steps that grow
    with the length) is kept.
    """
    if len(seconds) == 0:
        raise ValueError("need at least one time, got none")
    ms = [1e3 * s for s in seconds]
    window = min(9, len(ms) - (1 - len(ms) % 2))  # odd, at most n
    return {
        "median_ms": round(statistics.median(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "steady_mean_ms": round(float(rolling_median(ms, window).mean()), 3),
        "min_ms": round(min(ms), 3),
        "n": len(ms),
    }


def rolling_median(values: Sequence[float], window: int = 9) -> np.ndarray:
    """Median of each value and its neighbours (``window`` wide, odd).

    Near the ends the window shrinks. Medians ignore the occasional slow
    step caused by other work on the machine.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd int, got {window}")
    v = np.asarray(values, dtype=float)
    half = window // 2
    return np.array(
        [np.median(v[max(0, i - half) : i + half + 1]) for i in range(len(v))]
    )
