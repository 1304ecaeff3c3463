"""Figures for the attention and softmax pages.

Each function returns a fresh :class:`matplotlib.figure.Figure` (no pyplot,
no global state) and is registered by name for the site build:

* ``attention-heatmap``: self-attention weights on the toy sentence, queries
  as rows.
* ``attention-dot-product-variance``: why scores are divided by ``sqrt(d_k)``.
* ``logits-softmax-temperatures``: one logit vector at several temperatures.
* ``attention-causal-mask``: a causal mask and a padding mask side by side.

Everything random is drawn from ``numpy.random.default_rng(seed)``, so a
figure is the same on every build.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from transformer_atlas.blocks.attention import causal_mask_numpy
from transformer_atlas.blocks.logits_softmax import softmax_numpy
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
    "attention_heatmap",
    "dot_product_variance",
    "causal_and_padding_masks",
]


# --------------------------------------------------------------------- heatmap
@figure("attention-heatmap")
def attention_heatmap(
    tokens: Sequence[str] | None = None,
    weights: np.ndarray | None = None,
    annotate: bool = True,
    title: str | None = None,
) -> Figure:
    """Heatmap of attention weights: queries as rows, keys as columns.

    The weights are ``[q_len, k_len]``.

    Args:
        tokens: labels for both axes (self-attention). Default: the toy
            sentence of :mod:`transformer_atlas.blocks.attention_walkthrough`.
        weights: ``[len(tokens), len(tokens)]`` rows of attention weights.
            Default: the toy sentence's hand-set single-head self-attention.
        annotate: write each weight in its cell.
        title: the axes title.
    """
    if weights is None:
        from transformer_atlas.blocks.attention_walkthrough import (
            attention_steps,
        )

        steps = attention_steps()
        weights = steps.weights
        tokens = steps.tokens if tokens is None else tokens
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2:
        raise ValueError(
            f"weights must be [q_len, k_len], got shape {weights.shape}"
        )
    if tokens is None:
        tokens = [str(i) for i in range(max(weights.shape))]
    tokens = list(tokens)
    if len(tokens) != weights.shape[0] or len(tokens) != weights.shape[1]:
        raise ValueError(
            f"tokens must label both axes of weights {weights.shape}, "
            f"got {len(tokens)} tokens"
        )

    fig = new_figure((6.0, 5.0))
    ax = fig.add_subplot()
    vmax = max(1e-12, float(weights.max()))
    image = ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=vmax)
    n = len(tokens)
    ax.set_xticks(range(n), tokens, rotation=45, ha="right")
    ax.set_yticks(range(n), tokens)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title or "Self-attention weights (each row sums to 1)")
    if annotate:
        threshold = 0.6 * float(weights.max())
        for i in range(weights.shape[0]):
            for j in range(weights.shape[1]):
                ax.text(
                    j,
                    i,
                    f"{weights[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if weights[i, j] > threshold else INK,
                )
    style_axes(ax)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("attention weight", color=INK)
    bar.ax.tick_params(colors=INK, labelsize=8)
    return fig


# -------------------------------------------------------------------- variance
def dot_product_statistics(
    d_ks: Sequence[int] = (4, 16, 64, 256),
    n_samples: int = 4000,
    n_keys: int = 16,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Measure what the figure ``attention-dot-product-variance`` draws.

    For each ``d_k``: ``n_samples`` pairs ``q, k`` with i.i.d. ``N(0, 1)``
    entries give the variance of ``q . k`` (about ``d_k``) and of
    ``q . k / sqrt(d_k)`` (about 1); and ``n_samples // 8`` queries against
    ``n_keys`` keys each give the mean largest softmax weight of raw and
    scaled scores (1 means one-hot: saturated).

    Returns:
        ``d_k``, ``var_raw``, ``var_scaled``, ``max_weight_raw``,
        ``max_weight_scaled``, each ``[len(d_ks)]``.
    """
    if not d_ks or any(int(d) < 1 for d in d_ks):
        raise ValueError(f"d_ks must be positive integers, got {tuple(d_ks)}")
    if n_samples < 16 or n_keys < 2:
        raise ValueError(
            "need n_samples >= 16 and n_keys >= 2, "
            f"got n_samples={n_samples}, n_keys={n_keys}"
        )
    rng = np.random.default_rng(seed)
    keys = ("var_raw", "var_scaled", "max_weight_raw", "max_weight_scaled")
    out: dict[str, list[float]] = {key: [] for key in keys}
    n_rows = max(2, n_samples // 8)
    for d in d_ks:
        d = int(d)
        q_k = rng.standard_normal((2, n_samples, d))
        # [n_samples] values of q . k
        dots = np.einsum("nd,nd->n", q_k[0], q_k[1])
        out["var_raw"].append(float(dots.var()))
        out["var_scaled"].append(float((dots / math.sqrt(d)).var()))
        q = rng.standard_normal((n_rows, 1, d))
        k = rng.standard_normal((n_rows, n_keys, d))
        scores = (q * k).sum(-1)  # [n_rows, n_keys]
        raw = softmax_numpy(scores)
        scaled = softmax_numpy(scores / math.sqrt(d))
        out["max_weight_raw"].append(float(raw.max(-1).mean()))
        out["max_weight_scaled"].append(float(scaled.max(-1).mean()))
    result = {k: np.array(v) for k, v in out.items()}
    result["d_k"] = np.array([int(d) for d in d_ks])
    return result


@figure("attention-dot-product-variance")
def dot_product_variance(
    d_ks: Sequence[int] = (4, 16, 64, 256),
    n_samples: int = 4000,
    n_keys: int = 16,
    seed: int = 0,
) -> Figure:
    """Variance of raw vs scaled dot products and the saturation it causes.

    Left: ``Var(q . k)`` grows like ``d_k`` while ``Var(q . k / sqrt(d_k))``
    stays at 1 (log axes). Right: the mean largest softmax weight over
    ``n_keys`` keys, raw scores tending to 1 (one-hot) and scaled scores
    staying put. Numbers from :func:`dot_product_statistics`.

    Args:
        d_ks: head widths to measure.
        n_samples: ``(q, k)`` pairs per width.
        n_keys: keys per query for the softmax panel.
        seed: seed of the random generator.
    """
    stats = dot_product_statistics(d_ks, n_samples, n_keys, seed)
    d = stats["d_k"]
    fig = new_figure()
    left, right = fig.subplots(1, 2)

    left.plot(d, stats["var_raw"], "o-", color=ORANGE, label=r"$q \cdot k$")
    left.plot(
        d,
        stats["var_scaled"],
        "s-",
        color=BLUE,
        label=r"$q \cdot k / \sqrt{d_k}$",
    )
    left.plot(d, d, ":", color=MUTED, label=r"$d_k$ (theory)")
    left.set_xscale("log", base=2)
    left.set_yscale("log", base=2)
    left.set_xlabel(r"head width $d_k$")
    left.set_ylabel("variance of the score")
    left.set_title("Score variance")
    left.legend(fontsize=7, frameon=False, labelcolor=INK)

    right.plot(
        d, stats["max_weight_raw"], "o-", color=ORANGE, label="raw scores"
    )
    right.plot(
        d, stats["max_weight_scaled"], "s-", color=BLUE, label="scaled scores"
    )
    right.axhline(
        1.0 / n_keys, ls=":", color=MUTED, label=f"uniform (1/{n_keys})"
    )
    right.set_xscale("log", base=2)
    right.set_ylim(0.0, 1.05)
    right.set_xlabel(r"head width $d_k$")
    right.set_ylabel("mean largest softmax weight")
    right.set_title(f"Softmax saturation ({n_keys} keys)")
    right.legend(fontsize=7, frameon=False, labelcolor=INK)
    for ax in (left, right):
        style_axes(ax)
    return fig


# ----------------------------------------------------------------------- masks
@figure("attention-causal-mask")
def causal_and_padding_masks(seq_len: int = 6, length: int = 4) -> Figure:
    """A causal mask and a key-padding mask side by side.

    Filled cells = may attend (True). Left: the causal mask
    ``[seq_len, seq_len]``. Right: the key-padding mask of a sequence of
    ``length`` real tokens padded to ``seq_len`` (every query row sees the
    same keys).

    Args:
        seq_len: number of positions (queries and keys).
        length: real tokens before the padding (``0 <= length <= seq_len``).
    """
    if seq_len < 1 or not 0 <= length <= seq_len:
        raise ValueError(
            "need seq_len >= 1 and 0 <= length <= seq_len, "
            f"got seq_len={seq_len}, length={length}"
        )
    causal = causal_mask_numpy(seq_len)
    padding = np.broadcast_to(np.arange(seq_len) < length, (seq_len, seq_len))
    cmap = ListedColormap(["#f2f2f2", BLUE])

    fig = new_figure((6.0, 3.8))
    axes = fig.subplots(1, 2)
    panels = (
        (causal, "Causal: key j ≤ query i"),
        (padding, f"Padding: {length} tokens + {seq_len - length} pad"),
    )
    labels = [str(i) for i in range(seq_len)]
    key_labels = [
        f"{i}" if i < length else f"{i}\npad" for i in range(seq_len)
    ]
    for ax, (mask, title), xlabels in zip(axes, panels, (labels, key_labels)):
        ax.imshow(mask, cmap=cmap, vmin=0, vmax=1)
        for i in range(seq_len):
            for j in range(seq_len):
                ax.text(
                    j,
                    i,
                    "T" if mask[i, j] else "F",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if mask[i, j] else MUTED,
                )
        ax.set_xticks(range(seq_len), xlabels)
        ax.set_yticks(range(seq_len), labels)
        ax.set_xlabel("key position")
        ax.set_ylabel("query position")
        ax.set_title(title, fontsize=9)
        style_axes(ax)
    fig.suptitle(
        "Boolean masks: True (filled) = may attend", color=INK, fontsize=10
    )
    return fig
