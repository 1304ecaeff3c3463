"""Figures for the tokenization page.

Each function returns a fresh :class:`matplotlib.figure.Figure` and is
registered by name for the site build:

* ``tokenization-compression``: bytes per token as the vocabulary grows,
  on the training text and on held-out text.
* ``tokenization-segments``: the same lines cut into tokens by
  vocabularies of several sizes.

Both train a byte-level BPE on the first ``train_bytes`` of the Python
standard library's source (:func:`~transformer_atlas.common.data.
stdlib_corpus`): no download, no randomness, the same figure on every
build with the same Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from transformer_atlas.blocks.tokenization.bpe import BPETokenizer, train_bpe
from transformer_atlas.blocks.tokenization.walkthrough import show_token
from transformer_atlas.common.data import stdlib_corpus
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
    "compression_statistics",
    "compression_curve",
    "segment_lines",
    "token_segments",
]

BOXES = ("#dbe7f5", "#f8e1d2")  # alternating token backgrounds

#: Where the held-out text starts: past the first 2 MB, other files.
HELD_OUT_SKIP = 2_000_000


def _trained(train_bytes: int, vocab_size: int) -> BPETokenizer:
    if train_bytes < 1000:
        raise ValueError(f"train_bytes must be >= 1000, got {train_bytes}")
    return train_bpe(stdlib_corpus(train_bytes), vocab_size)


# ----------------------------------------------------------------- compression
def compression_statistics(
    vocab_sizes: Sequence[int] = (256, 288, 320, 384, 512, 640, 768, 1024),
    train_bytes: int = 64_000,
    held_out_bytes: int = 32_000,
) -> dict[str, list[float]]:
    """Bytes per token of the training and a held-out text, per vocabulary.

    One tokenizer is trained to ``max(vocab_sizes)``; the one of size
    ``V`` keeps its first ``V - 256`` merges (BPE's merges are learned in
    order, so this is what training to ``V`` gives). The held-out text is
    ``held_out_bytes`` of the standard library starting 2 MB in.

    Returns:
        ``vocab_size``, ``train`` and ``held_out`` (bytes per token).
    """
    sizes = sorted({int(v) for v in vocab_sizes})
    if not sizes or sizes[0] < 256:
        raise ValueError(
            f"vocab_sizes must be integers >= 256, got {tuple(vocab_sizes)}"
        )
    full = _trained(train_bytes, sizes[-1])
    merges = list(full.merges)
    texts = {
        "train": stdlib_corpus(train_bytes),
        "held_out": stdlib_corpus(held_out_bytes, skip_bytes=HELD_OUT_SKIP),
    }
    out: dict[str, list[float]] = {"vocab_size": [float(v) for v in sizes]}
    for name, text in texts.items():
        n_bytes = len(text.encode("utf-8"))
        out[name] = [
            n_bytes / len(BPETokenizer(merges[: v - 256]).encode(text))
            for v in sizes
        ]
    return out


@figure("tokenization-compression")
def compression_curve(
    vocab_sizes: Sequence[int] = (256, 288, 320, 384, 512, 640, 768, 1024),
    train_bytes: int = 64_000,
    held_out_bytes: int = 32_000,
) -> Figure:
    """Bytes per token as the BPE vocabulary grows (higher = shorter).

    Args:
        vocab_sizes: vocabulary sizes to measure (each >= 256).
        train_bytes: bytes of standard-library source to train on.
        held_out_bytes: bytes of other standard-library files to encode.
    """
    stats = compression_statistics(vocab_sizes, train_bytes, held_out_bytes)
    fig = new_figure((6.0, 3.6))
    ax = fig.add_subplot()
    v = stats["vocab_size"]
    ax.plot(
        v,
        stats["train"],
        "o-",
        color=BLUE,
        label=f"training text ({train_bytes // 1000} KB)",
    )
    ax.plot(
        v,
        stats["held_out"],
        "s--",
        color=ORANGE,
        label=f"held-out text ({held_out_bytes // 1000} KB, other files)",
    )
    ax.axhline(1.0, ls=":", color=MUTED)
    ax.text(
        v[-1],
        1.05,
        "bytes alone: 1 byte per token",
        ha="right",
        color=MUTED,
        fontsize=7,
    )
    ax.set_xlabel("vocabulary size (256 bytes + merges)")
    ax.set_ylabel("bytes per token")
    ax.set_ylim(0.0, max(stats["train"]) * 1.15)
    ax.set_title("BPE on Python source: more merges, fewer tokens")
    ax.legend(fontsize=7, frameon=False, labelcolor=INK, loc="lower right")
    style_axes(ax)
    return fig


# -------------------------------------------------------------------- segments
#: The default lines of ``tokenization-segments``.
SEGMENT_LINES = (
    "    def encode(self, text):",
    "Return the number of tokens in the string.",
)


def segment_lines(
    lines: Sequence[str] = SEGMENT_LINES,
    vocab_sizes: Sequence[int] = (256, 320, 512, 1024),
    train_bytes: int = 64_000,
) -> dict[int, list[list[str]]]:
    """The tokens of each line under each vocabulary size, as text.

    Returns ``{vocab_size: [tokens of line 0, tokens of line 1, ...]}``;
    each token is written with ``show_token`` (space ``␣``).
    """
    sizes = [int(v) for v in vocab_sizes]
    if not sizes or min(sizes) < 256 or not lines:
        raise ValueError(
            "need at least one line and vocab_sizes >= 256, got "
            f"{len(lines)} lines and vocab_sizes {tuple(vocab_sizes)}"
        )
    merges = list(_trained(train_bytes, max(sizes)).merges)
    out = {}
    for v in sizes:
        tok = BPETokenizer(merges[: v - 256])
        out[v] = [
            [show_token(tok.vocab[i]) for i in tok.encode(line)]
            for line in lines
        ]
    return out


@figure("tokenization-segments")
def token_segments(
    lines: Sequence[str] = SEGMENT_LINES,
    vocab_sizes: Sequence[int] = (256, 320, 512, 1024),
    train_bytes: int = 64_000,
) -> Figure:
    """The same lines cut into tokens by vocabularies of several sizes.

    Each box is one token (``␣`` is a space); the count on the right is
    the number of tokens of the line.

    Args:
        lines: the text to cut, one row block per line.
        vocab_sizes: the vocabulary sizes to compare (each >= 256).
        train_bytes: bytes of standard-library source to train on.
    """
    cuts = segment_lines(lines, vocab_sizes, train_bytes)
    sizes = list(cuts)
    width = max(
        sum(len(t) for t in tokens) for per in cuts.values() for tokens in per
    )
    n_rows = len(sizes) * len(lines)
    fig = new_figure((7.2, 0.9 + 0.42 * n_rows))
    ax = fig.add_subplot()
    labels, row = [], 0
    for k in range(len(lines)):
        for v in sizes:
            tokens = cuts[v][k]
            x = 0
            for j, token in enumerate(tokens):
                ax.add_patch(
                    Rectangle(
                        (x, row - 0.38),
                        len(token),
                        0.76,
                        facecolor=BOXES[j % 2],
                        edgecolor=MUTED,
                        linewidth=0.5,
                    )
                )
                for c, char in enumerate(token):
                    ax.text(
                        x + c + 0.5,
                        row,
                        char,
                        ha="center",
                        va="center",
                        family="DejaVu Sans Mono",
                        fontsize=9,
                        color=INK,
                    )
                x += len(token)
            ax.text(
                width + 0.8,
                row,
                f"{len(tokens)} tokens",
                va="center",
                fontsize=7,
                color=MUTED,
            )
            labels.append(f"V = {v}")
            row += 1
        row += 0.4  # a gap between lines
    positions = [
        k * (len(sizes) + 0.4) + j
        for k in range(len(lines))
        for j in range(len(sizes))
    ]
    ax.set_yticks(positions, labels)
    ax.set_xlim(-0.5, width + 7)
    ax.set_ylim(row - 0.4, -0.7)
    ax.set_xticks([])
    ax.set_xlabel("one box per token, one cell per character")
    ax.set_ylabel("vocabulary size")
    ax.set_title(
        f"Tokens of BPE trained on {train_bytes // 1000} KB of Python source"
    )
    style_axes(ax)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig
