"""The tables of the tokenization page, computed by the package's own BPE.

* :func:`bpe_walkthrough`: Wikipedia's example, ``aaabdaaabac`` ->
  ``XdXac``, one merge per step, with every pair count before the merge.
* :func:`merge_table`: the first merges learned on a text, with counts.

Both come with a ``*_markdown`` twin that writes the table as Markdown;
the tests check that the page holds exactly those tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from transformer_atlas.blocks.tokenization.bpe import (
    count_words,
    learn_merges,
    merge,
)
from transformer_atlas.blocks.tokenization.pretokenize import GPT2_PATTERN

__all__ = [
    "WalkStep",
    "bpe_walkthrough",
    "walkthrough_markdown",
    "MergeRow",
    "merge_table",
    "merge_table_markdown",
    "show_token",
]


@dataclass(frozen=True)
class WalkStep:
    """One step of :func:`bpe_walkthrough`.

    Attributes:
        counts: every adjacent pair before the merge with its count, in the
            order the trainer ranks them (highest count, then smallest
            ids), so ``counts[0]`` is the pair merged.
        token: the name of the new token (``"Z"``).
        sequence: the text after the merge, new tokens written by name.
    """

    counts: tuple[tuple[str, int], ...]
    token: str
    sequence: str

    @property
    def pair(self) -> str:
        """The pair merged at this step."""
        return self.counts[0][0]


def bpe_walkthrough(
    text: str = "aaabdaaabac", n_merges: int = 3, names: str = "ZYXWVUTS"
) -> list[WalkStep]:
    """BPE on one string, no pre-tokenizer, as in Wikipedia's example.

    The merges are
    :func:`~transformer_atlas.blocks.tokenization.bpe.learn_merges` on the
    bytes of ``text`` (so ties go to the pair with the smallest ids); the
    ``k``-th new token is written ``names[k]``. Stops early when no pair is
    left.
    """
    if not text.isascii() or any(c in text for c in names):
        raise ValueError(
            "text must be ASCII and must not use the names of new tokens "
            f"{names!r}, got {text!r}"
        )
    if not 0 <= n_merges <= len(names):
        raise ValueError(
            f"n_merges must lie in [0, {len(names)}], got {n_merges}"
        )
    ids = list(text.encode("ascii"))
    base = [bytes([b]) for b in range(256)]
    merges = learn_merges({tuple(ids): 1}, base, 256 + n_merges)
    name = {b: chr(b) for b in range(256)}
    steps = []
    for m in merges:
        name[m.new_id] = names[m.new_id - 256]
        counts = Counter(zip(ids, ids[1:]))
        ranked = sorted(counts.items(), key=lambda pc: (-pc[1], pc[0]))
        if ranked[0][0] != m.pair:  # the rule shown is the rule used
            raise AssertionError(f"trainer merged {m.pair}, not {ranked}")
        ids = merge(ids, m.pair, m.new_id)
        steps.append(
            WalkStep(
                counts=tuple((name[a] + name[b], n) for (a, b), n in ranked),
                token=name[m.new_id],
                sequence="".join(name[i] for i in ids),
            )
        )
    return steps


def walkthrough_markdown(
    text: str = "aaabdaaabac", n_merges: int = 3, names: str = "ZYXWVUTS"
) -> str:
    """:func:`bpe_walkthrough` as a Markdown table, one row per step."""
    lines = [
        "| step | pair counts, in the trainer's order | merge | text |",
        "|---|---|---|---|",
        f"| 0 | | | `{text}` |",
    ]
    for k, step in enumerate(bpe_walkthrough(text, n_merges, names), 1):
        counts = ", ".join(f"`{p}` {n}" for p, n in step.counts)
        lines.append(
            f"| {k} | {counts} | `{step.token}` = `{step.pair}` "
            f"| `{step.sequence}` |"
        )
    return "\n".join(lines)


def show_token(token: bytes) -> str:
    """A token's bytes as readable text: space ``␣``, newline ``\\n``.

    Bytes that are not valid UTF-8 on their own (a piece of a multi-byte
    character) show as escapes: ``b"\\xc3"`` is ``\\xc3``.
    """
    text = token.decode("utf-8", errors="backslashreplace")
    return text.replace(" ", "␣").replace("\n", "\\n").replace("\t", "\\t")


@dataclass(frozen=True)
class MergeRow:
    """One learned merge of :func:`merge_table`."""

    rank: int
    new_id: int
    left: bytes
    right: bytes
    count: int

    @property
    def token(self) -> bytes:
        """The bytes of the new token."""
        return self.left + self.right


def merge_table(
    text: str,
    n_merges: int,
    special_tokens: Sequence[str] = (),
    pattern: str = GPT2_PATTERN,
) -> list[MergeRow]:
    """The first ``n_merges`` merges byte-level BPE learns on ``text``."""
    if n_merges < 0:
        raise ValueError(f"n_merges must be >= 0, got {n_merges}")
    tokens = [bytes([b]) for b in range(256)]
    merges = learn_merges(
        count_words(text, special_tokens, pattern), tokens, 256 + n_merges
    )
    rows = []
    for rank, m in enumerate(merges):
        left, right = tokens[m.pair[0]], tokens[m.pair[1]]
        if m.new_id == len(tokens):
            tokens.append(left + right)
        rows.append(MergeRow(rank, m.new_id, left, right, m.count))
    return rows


def merge_table_markdown(
    text: str,
    n_merges: int,
    special_tokens: Sequence[str] = (),
    pattern: str = GPT2_PATTERN,
) -> str:
    """:func:`merge_table` as a Markdown table (spaces shown as ``␣``)."""
    lines = [
        "| rank | id | left | right | count | new token |",
        "|---:|---:|---|---|---:|---|",
    ]
    for row in merge_table(text, n_merges, special_tokens, pattern):
        cells = [
            show_token(t).replace("|", "\\|")
            for t in (row.left, row.right, row.token)
        ]
        lines.append(
            f"| {row.rank} | {row.new_id} | `{cells[0]}` | "
            f"`{cells[1]}` | {row.count} | `{cells[2]}` |"
        )
    return "\n".join(lines)
