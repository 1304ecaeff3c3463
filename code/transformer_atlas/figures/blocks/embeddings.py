"""Figures for the embeddings page: what a trained embedding looks like.

Both figures draw the embedding table ``E [vocab, d_model]`` of the small
next-character model of the embeddings page (tied embeddings, trained on
the standard library's source by the guide's one loop):
:func:`~transformer_atlas.blocks.embeddings.trained_char_lm` caches it, so
the two figures train it once.

* ``embeddings-similarity``: cosine similarities between a few characters,
  before and after training.
* ``embeddings-pca``: every character's trained vector projected to 2-D
  with :func:`~transformer_atlas.blocks.embeddings.pca_2d`, coloured by
  kind of character.

Training is seeded and single-threaded, so a figure is the same on every
build.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from transformer_atlas.blocks.embeddings import (
    CHAR_KINDS,
    CHAR_LM_SETTINGS,
    cosine_similarity,
    pca_2d,
    trained_char_lm,
)
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    INK,
    MUTED,
    new_figure,
    style_axes,
)

__all__ = ["DEFAULT_GROUPS", "char_similarity", "char_pca"]

#: The colour of each kind of character (CHAR_KINDS) in the PCA figure.
KIND_COLOURS = {
    "digit": "#c8551b",
    "vowel": "#1f5fa8",
    "other lowercase": "#6fa0d6",
    "uppercase": "#2e8b57",
    "bracket": "#8e3fa0",
    "other punctuation / space": MUTED,
}
ITERS = CHAR_LM_SETTINGS["iters"]

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


@figure("embeddings-similarity")
def char_similarity(
    groups: Sequence[str] = DEFAULT_GROUPS,
    seed: int = 0,
    iters: int = ITERS,
) -> Figure:
    """Cosine similarity between characters, untrained vs trained.

    Left: the embedding table at initialisation (random). Right: after
    ``iters`` training steps of the next-character model. Groups of
    characters that occur in similar contexts (digits, vowels, brackets)
    become blocks of high similarity.

    Args:
        groups: the characters to compare (rows and columns), in groups
            that thin lines separate.
        seed: seed of the initialisation and of the batches.
        iters: training steps.
    """
    result = trained_char_lm(seed, iters)
    chars = "".join(groups)
    unknown = sorted(set(chars) - set(result.tokenizer.chars))
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
        (result.embedding, f"Trained ({iters} steps)"),
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
def char_pca(seed: int = 0, iters: int = ITERS) -> Figure:
    """Every character's trained embedding, projected to 2-D with PCA.

    Each character is drawn at its coordinates from :func:`pca_2d` of the
    trained table ``E [vocab, d_model]``, coloured by its kind in
    :data:`~transformer_atlas.blocks.embeddings.CHAR_KINDS`.

    Args:
        seed: seed of the initialisation and of the batches.
        iters: training steps.
    """
    result = trained_char_lm(seed, iters)
    table = result.embedding.numpy()
    xy = pca_2d(table)
    centred = table - table.mean(axis=0)
    variance = np.linalg.svd(centred, compute_uv=False) ** 2
    share = variance[:2] / variance.sum()

    fig = new_figure((7.0, 5.2))
    ax = fig.add_subplot()
    vocab = result.tokenizer.chars
    for name, chars in CHAR_KINDS.items():
        colour = KIND_COLOURS[name]
        for c in chars:
            if c not in vocab:
                continue  # a corpus without this character
            i = vocab.index(c)
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
        f"Trained character embeddings ({table.shape[1]}-D), projected to 2-D",
        fontsize=10,
    )
    ax.legend(fontsize=7.5, frameon=False, labelcolor=INK, loc="best")
    style_axes(ax)
    return fig
