"""Figures for the embeddings page: what a trained embedding looks like.

Both figures train the small next-character model of
:func:`transformer_atlas.blocks.embeddings.train_char_lm` (tied embeddings, on the
source code of a few standard-library modules; about a second on one CPU
core) and draw its embedding table ``E [vocab, d_model]``:

* ``embeddings-similarity``: cosine similarities between a few characters,
  before and after training.
* ``embeddings-pca``: every character's trained vector projected to 2-D
  with PCA (NumPy SVD), coloured by kind of character.

Training is seeded and single-threaded, so a figure is the same on every
build; :func:`trained_char_lm` caches the model, so the two figures train it
once.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from transformer_atlas.blocks.embeddings import (
    CharLMResult,
    cosine_similarity,
    train_char_lm,
)
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    INK,
    MUTED,
    new_figure,
    style_axes,
)

__all__ = [
    "CHAR_GROUPS",
    "trained_char_lm",
    "pca_2d",
    "char_similarity",
    "char_pca",
]


#: Kinds of character -> (characters, colour) for the PCA figure.
CHAR_GROUPS: dict[str, tuple[str, str]] = {
    "digit": (string.digits, "#c8551b"),
    "vowel": ("aeiou", "#1f5fa8"),
    "other lowercase": (
        "".join(c for c in string.ascii_lowercase if c not in "aeiou"),
        "#6fa0d6",
    ),
    "uppercase": (string.ascii_uppercase, "#2e8b57"),
    "bracket": ("()[]{}", "#8e3fa0"),
    "other punctuation / space": (
        "".join(c for c in string.punctuation if c not in "()[]{}")
        + " \n",
        MUTED,
    ),
}

#: The character groups of ``embeddings-similarity``, in drawing order.
DEFAULT_GROUPS = (
    "0123456789",
    "aeiou",
    "stnr",
    "([{",
    ")]}",
    "+-*/<=",
    ",.:;",
)




def _label(c: str) -> str:
    return {" ": "␣", "\n": "\\n"}.get(c, c)


@functools.lru_cache(maxsize=4)
def trained_char_lm(seed: int = 0, steps: int = 300) -> CharLMResult:
    """:func:`train_char_lm` with default settings, cached per arguments."""
    return train_char_lm(seed=seed, steps=steps)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """Project the rows of ``x [n, d]`` on its top two principal axes.

    Centre the rows, take the SVD ``X = U S V^T``; the coordinates are
    ``X V[:, :2]`` (``[n, 2]``), the first column the direction of largest
    variance. Signs are fixed so that each axis's largest loading is
    positive.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(
            f"x must be [n, d] with n >= 2 and d >= 2, got shape {x.shape}"
        )
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]  # [2, d]
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    return centred @ (axes * signs[:, None]).T


@figure("embeddings-similarity")
def char_similarity(
    groups: Sequence[str] = DEFAULT_GROUPS, seed: int = 0, steps: int = 300
) -> Figure:
    """Cosine similarity between characters, untrained vs trained.

    Left: the embedding table at initialisation (random). Right: after
    ``steps`` training steps of the next-character model. Groups of
    characters that occur in similar contexts (digits, vowels, brackets)
    become blocks of high similarity.

    Args:
        groups: the characters to compare (rows and columns), in groups
            that thin lines separate.
        seed: seed of the initialisation and of the batches.
        steps: training steps.
    """
    result = trained_char_lm(seed, steps)
    chars = "".join(groups)
    unknown = sorted(set(chars) - set(result.vocab))
    if len(chars) < 2 or unknown or len(set(chars)) != len(chars):
        raise ValueError(
            "groups must hold at least 2 distinct characters of the "
            f"model's vocabulary, got {tuple(groups)} (unknown: {unknown})"
        )
    ids = result.ids(chars)
    fig = new_figure((7.6, 4.2))
    axes = fig.subplots(1, 2)
    labels = [_label(c) for c in chars]
    panels = (
        (result.initial_embedding, "Untrained (random rows)"),
        (result.embedding, f"Trained ({steps} steps)"),
    )
    edges = np.cumsum([len(g) for g in groups])[:-1] - 0.5
    image = None
    for ax, (table, title) in zip(axes, panels):
        rows = table[ids]  # [n, d_model]
        sims = cosine_similarity(rows[:, None, :], rows[None, :, :])
        image = ax.imshow(sims.numpy(), cmap="RdBu_r", vmin=-1.0, vmax=1.0)
        for edge in edges:
            ax.axhline(edge, color="white", lw=1.2)
            ax.axvline(edge, color="white", lw=1.2)
        n = len(chars)
        ax.set_xticks(range(n), labels, family="monospace")
        ax.set_yticks(range(n), labels, family="monospace")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("character")
        ax.set_ylabel("character")
        style_axes(ax)
        ax.tick_params(length=0, labelsize=7.5)
        ax.tick_params(axis="y", labelsize=6.3)
    bar = fig.colorbar(image, ax=list(axes), shrink=0.75)
    bar.set_label("cosine similarity", color=INK)
    bar.ax.tick_params(colors=INK, labelsize=8)
    return fig


@figure("embeddings-pca")
def char_pca(seed: int = 0, steps: int = 300) -> Figure:
    """Every character's trained embedding, projected to 2-D with PCA.

    Each character is drawn at its coordinates from :func:`pca_2d` of the
    trained table ``E [96, 16]``, coloured by its group in
    :data:`CHAR_GROUPS`.

    Args:
        seed: seed of the initialisation and of the batches.
        steps: training steps.
    """
    result = trained_char_lm(seed, steps)
    table = result.embedding.numpy()
    xy = pca_2d(table)
    centred = table - table.mean(axis=0)
    variance = np.linalg.svd(centred, compute_uv=False) ** 2
    share = variance[:2] / variance.sum()

    fig = new_figure((7.0, 5.2))
    ax = fig.add_subplot()
    for name, (chars, colour) in CHAR_GROUPS.items():
        for c in chars:
            i = result.vocab.index(c)
            ax.text(
                xy[i, 0],
                xy[i, 1],
                _label(c),
                color=colour,
                fontsize=9,
                family="monospace",
                ha="center",
                va="center",
                fontweight="bold",
            )
        ax.plot([], [], "s", color=colour, label=name)
    pad = 0.06 * (xy.max(axis=0) - xy.min(axis=0))
    ax.set_xlim(xy[:, 0].min() - pad[0], xy[:, 0].max() + pad[0])
    ax.set_ylim(xy[:, 1].min() - pad[1], xy[:, 1].max() + pad[1])
    ax.set_xlabel(f"principal axis 1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"principal axis 2 ({share[1]:.0%} of variance)")
    ax.set_title(
        "Trained character embeddings (16-D), projected to 2-D", fontsize=10
    )
    ax.legend(fontsize=7.5, frameon=False, labelcolor=INK, loc="best")
    style_axes(ax)
    return fig

