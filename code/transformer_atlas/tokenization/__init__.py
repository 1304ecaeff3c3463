"""Tokenization: text -> token ids -> text.

* :mod:`~transformer_atlas.tokenization.pretokenize`: GPT-2's regex
  pre-tokenizer, special-token splitting, GPT-2's byte-to-unicode table.
* :mod:`~transformer_atlas.tokenization.bpe`: byte-level BPE (training with
  incremental pair counts, encoding, decoding, save/load).
* :mod:`~transformer_atlas.tokenization.wordpiece`: BERT's WordPiece
  (greedy longest-match-first with ``##`` continuations and ``[UNK]``).
* :mod:`~transformer_atlas.tokenization.walkthrough`: the tables of the
  guide's page (Wikipedia's ``aaabdaaabac``, merges learned step by step).
* :mod:`~transformer_atlas.tokenization.corpus`: fixed sample texts and the
  standard-library corpus of the benchmark.

Page: ``blocks/tokenization``.
"""

from transformer_atlas.tokenization.bpe import (
    BPETokenizer,
    Merge,
    count_words,
    encode_chunk,
    learn_merges,
    merge,
    train_bpe,
)
from transformer_atlas.tokenization.pretokenize import (
    GPT2_PATTERN,
    GPT4_PATTERN,
    bytes_to_unicode,
    pretokenize,
    split_special,
)
from transformer_atlas.tokenization.wordpiece import (
    BERT_SPECIAL_TOKENS,
    WordPiece,
    bert_pretokenize,
    wordpiece_vocab,
)

__all__ = [
    "BPETokenizer",
    "Merge",
    "count_words",
    "encode_chunk",
    "learn_merges",
    "merge",
    "train_bpe",
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "bytes_to_unicode",
    "pretokenize",
    "split_special",
    "BERT_SPECIAL_TOKENS",
    "WordPiece",
    "bert_pretokenize",
    "wordpiece_vocab",
]
