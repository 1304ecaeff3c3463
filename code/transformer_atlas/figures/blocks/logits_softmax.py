"""Figure for the logits and softmax page: one logit vector at several
temperatures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from transformer_atlas.blocks.logits_softmax import softmax_numpy
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    INK,
    new_figure,
    style_axes,
)


# ----------------------------------------------------------------- temperature
@figure("logits-softmax-temperatures")
def softmax_temperatures(
    logits: Sequence[float] = (2.0, 1.0, 0.5, 0.0, -1.0),
    temperatures: Sequence[float] = (0.25, 1.0, 2.0, 4.0),
) -> Figure:
    """Grouped bars: ``softmax(logits / T)`` for each temperature ``T``.

    Args:
        logits: one logit vector ``[vocab]``.
        temperatures: the temperatures ``T > 0`` to compare.
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 1 or z.size < 2:
        raise ValueError(
            "logits must be one vector [vocab] with vocab >= 2, "
            f"got shape {z.shape}"
        )
    temperatures = [float(t) for t in temperatures]
    if not temperatures:
        raise ValueError(
            "temperatures must name at least one temperature, got none"
        )
    # softmax_numpy validates T > 0
    probs = [softmax_numpy(z, temperature=t) for t in temperatures]

    fig = new_figure()
    ax = fig.add_subplot()
    n_t = len(temperatures)
    width = 0.8 / n_t
    colors = [_shade(i, n_t) for i in range(n_t)]
    x = np.arange(z.size)
    for i, (t, p) in enumerate(zip(temperatures, probs)):
        offset = (i - (n_t - 1) / 2) * width
        ax.bar(x + offset, p, width, color=colors[i], label=f"T = {t:g}")
    ax.set_xticks(x, [f"{v:g}" for v in z])
    ax.set_xlabel("logit")
    ax.set_ylabel("probability")
    ax.set_ylim(0.0, 1.0)
    ax.set_title("Softmax at several temperatures")
    ax.legend(fontsize=8, frameon=False, labelcolor=INK)
    style_axes(ax)
    return fig


def _shade(i: int, n: int) -> tuple[float, float, float]:
    """From dark blue (low T, sharp) to light orange (high T, flat)."""
    a, b = np.array([0.12, 0.37, 0.66]), np.array([0.90, 0.62, 0.35])
    s = 0.0 if n == 1 else i / (n - 1)
    r, g, bl = (1 - s) * a + s * b
    return (float(r), float(g), float(bl))
