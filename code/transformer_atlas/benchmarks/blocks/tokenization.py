"""How fast does our BPE trainer learn its merges?

``make bench`` (and ``python -m transformer_atlas bench tokenization``)
trains a byte-level BPE with a 1,024-token vocabulary (768 merges) on
about 1 MB of the Python standard library's source
(:func:`~transformer_atlas.common.data.stdlib_corpus`), a few times, and
keeps the fastest run. The time covers all of
:func:`~transformer_atlas.blocks.tokenization.bpe.train_bpe`:
pre-tokenizing, counting and merging. In the same process, on the same
text and vocabulary size, it times Hugging Face's ``tokenizers`` (Rust)
training a byte-level BPE, when that package is installed. The page
``blocks/tokenization`` shows the report.
"""

from __future__ import annotations

import platform

from transformer_atlas.blocks.tokenization.bpe import train_bpe
from transformer_atlas.common.data import stdlib_corpus
from transformer_atlas.common.timing import time_call
from transformer_atlas.common.validation import check_positive_int

__all__ = ["run", "report"]


def _hugging_face_seconds(text: str, vocab_size: int) -> float | None:
    """Seconds of Hugging Face's ``BpeTrainer`` on ``text`` (byte-level, GPT-2
    pre-tokenizer); ``None`` if ``tokenizers`` is not installed."""
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    except ImportError:
        return None
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    _, seconds = time_call(tokenizer.train_from_iterator, [text], trainer)
    return seconds


def run(
    quick: bool = False,
    *,
    vocab_size: int = 1024,
    max_bytes: int = 1_000_000,
    runs: int = 3,
) -> dict:
    """Train ``runs`` times on ``max_bytes`` of the standard library.

    Returns the corpus size, the vocabulary and the number of merges, the
    seconds of every run and of the fastest, and the same for Hugging
    Face's trainer (``None`` without ``tokenizers``). ``quick=True``: a
    300-token vocabulary on 20 kB, once.
    """
    check_positive_int(max_bytes=max_bytes, runs=runs)
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be >= 256, got {vocab_size}")
    if quick:
        vocab_size, max_bytes, runs = min(vocab_size, 300), 20_000, 1
    text = stdlib_corpus(max_bytes)
    seconds, hf_seconds = [], []
    for _ in range(runs):
        tokenizer, s = time_call(train_bpe, text, vocab_size)
        seconds.append(s)
        hf = _hugging_face_seconds(text, vocab_size)
        if hf is not None:
            hf_seconds.append(hf)
    best = min(seconds)
    return {
        "n_bytes": len(text.encode("utf-8")),
        "vocab_size": tokenizer.vocab_size,
        "n_merges": len(tokenizer.merges),
        "python": platform.python_version(),
        "runs": runs,
        "seconds": [round(s, 4) for s in seconds],
        "best_s": round(best, 4),
        "merges_per_s": round(len(tokenizer.merges) / best, 1),
        "hugging_face_best_s": (
            round(min(hf_seconds), 4) if hf_seconds else None
        ),
    }


def report(results: dict) -> str:
    """A Markdown table: seconds and merges per second."""
    r = results
    lines = [
        f"A {r['vocab_size']:,}-token byte-level BPE ({r['n_merges']:,} "
        f"merges) trained on {r['n_bytes']:,} bytes of the Python "
        f"{r['python']} standard library's source; fastest of "
        f"{r['runs']} run{'s' * (r['runs'] != 1)}.",
        "",
        "| trainer | seconds | merges per second |",
        "|---|---:|---:|",
        f"| this guide's `train_bpe` (pure Python) | {r['best_s']:.2f} | "
        f"{r['merges_per_s']:,.0f} |",
    ]
    hf = r.get("hugging_face_best_s")
    if hf:
        lines.append(
            "| Hugging Face `tokenizers` `BpeTrainer` (Rust), same text and "
            f"vocabulary size | {hf:.2f} | {r['n_merges'] / hf:,.0f} |"
        )
        lines += [
            "",
            f"Ours takes {r['best_s'] / hf:.2f} times as long as "
            "the Rust trainer.",
        ]
    return "\n".join(lines) + "\n"
