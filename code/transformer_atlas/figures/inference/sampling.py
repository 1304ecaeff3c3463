"""Figures for the sampling page.

* ``sampling-filters``: one next-token distribution (12 words after "The
  cat sat on the") as the model gives it, after temperature, after top-k
  and after top-p; every bar comes from
  :func:`transformer_atlas.inference.sampling.filtered_probs`.
* ``sampling-nucleus-adapts``: how many tokens top-k and top-p keep on a
  peaked and on a flat distribution.

Both are deterministic (no randomness at all).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    INK,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)
from transformer_atlas.inference.sampling import filtered_probs
from transformer_atlas.inference.sampling_examples import (
    EXAMPLE_PROMPT,
    EXAMPLE_WORDS,
    example_logits,
)

__all__ = ["sampling_filters", "nucleus_adapts", "nucleus_sizes"]


def _bars(
    ax: Axes,
    words: Sequence[str],
    raw: np.ndarray,
    probs: np.ndarray,
    title: str,
) -> None:
    """Kept tokens as solid bars over the raw distribution's outline."""
    x = np.arange(len(words))
    ax.bar(x, raw, width=0.8, fill=False, edgecolor=MUTED, ls=":", lw=0.8)
    kept = probs > 0
    ax.bar(x[kept], probs[kept], width=0.8, color=BLUE)
    ax.bar(x[~kept], raw[~kept], width=0.8, color="#d9d9d9")
    ax.set_xticks(x, words, rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0.0, max(0.55, 1.1 * float(probs.max())))
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("next word")
    ax.set_ylabel("probability")
    style_axes(ax)


@figure("sampling-filters")
def sampling_filters(
    logits: Sequence[float] | None = None,
    words: Sequence[str] | None = None,
    temperature: float = 0.7,
    top_k: int = 3,
    top_p: float = 0.9,
) -> Figure:
    """One distribution: raw, after temperature, after top-k, after top-p.

    Each filter is applied alone to the raw logits (``T = 1``). Solid bars
    are the distribution sampling draws from; dotted outlines are the raw
    probabilities; grey bars are the raw probabilities of removed tokens.

    Args:
        logits: ``[vocab]``; default the hand-set
            :func:`~transformer_atlas.inference.sampling_examples.example_logits`.
        words: a label per logit; default
            :data:`~transformer_atlas.inference.sampling_examples.EXAMPLE_WORDS`.
        temperature: ``T`` of the second panel.
        top_k: ``k`` of the third panel.
        top_p: ``p`` of the fourth panel.
    """
    z = example_logits() if logits is None else torch.tensor(logits)
    z = z.to(torch.float64)
    if words is None:
        words = EXAMPLE_WORDS if logits is None else range(z.shape[-1])
    words = [str(w) for w in words]
    if z.ndim != 1 or len(words) != z.shape[0]:
        raise ValueError(
            "logits must be one vector [vocab] with one word per logit, "
            f"got shape {tuple(z.shape)} and {len(words)} words"
        )
    raw = filtered_probs(z).numpy()
    panels = [
        (raw, "raw softmax (T = 1)"),
        (
            filtered_probs(z, temperature=temperature).numpy(),
            f"temperature T = {temperature:g}",
        ),
        (
            filtered_probs(z, top_k=top_k).numpy(),
            f"top-k, k = {top_k}: renormalised",
        ),
    ]
    nucleus = filtered_probs(z, top_p=top_p).numpy()
    n_kept = int((nucleus > 0).sum())
    mass = float(raw[nucleus > 0].sum())
    panels.append(
        (
            nucleus,
            f"top-p, p = {top_p:g}: {n_kept} words hold {mass:.2f}",
        )
    )
    fig = new_figure((7.5, 5.6))
    axes = fig.subplots(2, 2, sharey=True)
    for ax, (probs, title) in zip(axes.flat, panels):
        _bars(ax, words, raw, probs, title)
    fig.suptitle(
        f'Next word after "{EXAMPLE_PROMPT}"'
        if logits is None
        else "Next-token distribution",
        color=INK,
        fontsize=10,
    )
    return fig


def nucleus_sizes(
    logits: torch.Tensor,
    temperatures: Sequence[float],
    top_p: float,
) -> list[int]:
    """Tokens kept by top-p at each temperature (``logits [vocab]``)."""
    return [
        int((filtered_probs(logits, temperature=t, top_p=top_p) > 0).sum())
        for t in temperatures
    ]


@figure("sampling-nucleus-adapts")
def nucleus_adapts(
    temperatures: Sequence[float] = (0.5, 2.0),
    top_k: int = 5,
    top_p: float = 0.9,
) -> Figure:
    """Top-k keeps ``k`` tokens always; top-p follows the distribution.

    The example logits at a low temperature give a peaked distribution and
    at a high one a flat distribution. Each panel shows the sorted
    probabilities with the cut of top-k and the cut of top-p.

    Args:
        temperatures: one panel per temperature.
        top_k: ``k`` of the top-k cut.
        top_p: ``p`` of the nucleus.
    """
    z = example_logits().to(torch.float64)
    sizes = nucleus_sizes(z, temperatures, top_p)
    fig = new_figure((7.5, 3.2))
    axes = np.atleast_1d(fig.subplots(1, len(temperatures), sharey=True))
    for ax, t, n_p in zip(axes, temperatures, sizes):
        probs = np.sort(filtered_probs(z, temperature=t).numpy())[::-1]
        ranks = np.arange(1, probs.size + 1)
        ax.bar(ranks, probs, width=0.8, color=BLUE)
        ax.axvline(
            top_k + 0.5, color=ORANGE, ls="--", label=f"top-k cut: {top_k}"
        )
        ax.axvline(n_p + 0.5, color=INK, ls="-", label=f"top-p cut: {n_p}")
        ax.set_xlabel("rank of the word")
        ax.set_ylabel("probability")
        ax.set_title(f"T = {t:g}", fontsize=9)
        ax.legend(fontsize=7, frameon=False, labelcolor=INK)
        style_axes(ax)
    fig.suptitle(
        f"Tokens kept by top-k (k = {top_k}) and top-p (p = {top_p:g})",
        color=INK,
        fontsize=10,
    )
    return fig
