"""Helpers for measurements: robust summaries of noisy timings.

Used by the benchmarks (``make bench``) and the figures that draw what they
measured; never by a test to assert a speed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["rolling_median"]



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
        [
            np.median(v[max(0, i - half) : i + half + 1])
            for i in range(len(v))
        ]
    )
