"""Tokenization: text -> token ids -> text.

* :mod:`~transformer_atlas.blocks.tokenization.pretokenize`: GPT-2's regex
  pre-tokenizer, special-token splitting, GPT-2's byte-to-unicode table.
* :mod:`~transformer_atlas.blocks.tokenization.bpe`: byte-level BPE (training
  with incremental pair counts, encoding, decoding, save/load).
* :mod:`~transformer_atlas.blocks.tokenization.wordpiece`: BERT's WordPiece
  (greedy longest-match-first with ``##`` continuations and ``[UNK]``).
* :mod:`~transformer_atlas.blocks.tokenization.walkthrough`: the tables of the
  guide's page (Wikipedia's ``aaabdaaabac``, merges learned step by step).
* :mod:`~transformer_atlas.blocks.tokenization.samples`: fixed sample texts
  (the Zen of Python; a held-out multilingual text).

Page: ``blocks/tokenization``.
"""

from transformer_atlas.blocks.tokenization.bpe import (
    BPETokenizer,
    Merge,
    count_words,
    encode_chunk,
    learn_merges,
    merge,
    train_bpe,
)
from transformer_atlas.blocks.tokenization.pretokenize import (
    GPT2_PATTERN,
    GPT4_PATTERN,
    bytes_to_unicode,
    pretokenize,
    split_special,
)
from transformer_atlas.blocks.tokenization.wordpiece import (
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
