"""How fast does our BPE trainer learn its merges?

``python -m transformer_atlas bench bpe`` trains a byte-level BPE with a
1,024-token vocabulary (768 merges) on about 1 MB of the Python standard
library's source (:func:`~transformer_atlas.common.data.
stdlib_corpus`) and prints the corpus size, the number of merges, the
seconds and the merges per second. The time covers all of
:func:`~transformer_atlas.blocks.tokenization.bpe.train_bpe`: pre-tokenizing,
counting and merging.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass

from transformer_atlas.blocks.tokenization.bpe import train_bpe
from transformer_atlas.common.data import stdlib_corpus

__all__ = ["BenchResult", "bench_bpe", "format_bench"]


@dataclass(frozen=True)
class BenchResult:
    """What :func:`bench_bpe` measured."""

    n_bytes: int
    vocab_size: int
    n_merges: int
    seconds: float
    python: str

    @property
    def merges_per_second(self) -> float:
        """Merges learned per second of training."""
        return self.n_merges / self.seconds if self.seconds > 0 else 0.0


def bench_bpe(
    vocab_size: int = 1024, max_bytes: int = 1_000_000
) -> BenchResult:
    """Train on the first ``max_bytes`` of the standard library; time it."""
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be >= 256, got {vocab_size}")
    text = stdlib_corpus(max_bytes)
    start = time.perf_counter()
    tokenizer = train_bpe(text, vocab_size)
    seconds = time.perf_counter() - start
    return BenchResult(
        n_bytes=len(text.encode("utf-8")),
        vocab_size=tokenizer.vocab_size,
        n_merges=len(tokenizer.merges),
        seconds=seconds,
        python=platform.python_version(),
    )


def format_bench(result: BenchResult) -> str:
    """The lines ``bench bpe`` prints."""
    return "\n".join(
        [
            f"corpus: {result.n_bytes:,} bytes of the Python "
            f"{result.python} standard library (*.py next to os.py)",
            f"vocabulary: {result.vocab_size:,} tokens",
            f"merges: {result.n_merges:,}",
            f"time: {result.seconds:.2f} s",
            f"speed: {result.merges_per_second:,.0f} merges/s",
        ]
    )
