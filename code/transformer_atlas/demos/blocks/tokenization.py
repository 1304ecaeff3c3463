"""Demo ``tokenization``: BPE by hand on aaabdaaabac, byte-level BPE on stdlib
code, WordPiece.

Byte-level BPE learning its merges, then encoding.

Run it with ``python -m transformer_atlas demo tokenization``. Part 1 is
Wikipedia's BPE example, ``aaabdaaabac``, merge by merge
(:func:`~transformer_atlas.blocks.tokenization.walkthrough.bpe_walkthrough`).
Part 2 trains a byte-level BPE with GPT-2's pre-tokenizer on 100 KB of the
Python standard library's source
(:func:`~transformer_atlas.blocks.tokenization.bpe.train_bpe`) and encodes a
sentence and a line of code, printing tokens and ids, then decodes them.
Part 3 cuts the same sentence with WordPiece.
"""

from __future__ import annotations

from transformer_atlas.blocks.tokenization.bpe import train_bpe
from transformer_atlas.blocks.tokenization.pretokenize import (
    pretokenize,
    split_special,
)
from transformer_atlas.blocks.tokenization.walkthrough import (
    bpe_walkthrough,
    merge_table,
    show_token,
)
from transformer_atlas.blocks.tokenization.wordpiece import (
    WordPiece,
    wordpiece_vocab,
)
from transformer_atlas.common.data import stdlib_corpus

__all__ = ["main"]

TRAIN_BYTES = 100_000
VOCAB_SIZE = 1024
SENTENCES = (
    "The tokenizer returns a list of integers.",
    "    def encode(self, text: str) -> list[int]:",
    "Größe 😀<|endoftext|>",
)


def main() -> None:
    """Print the demo to standard output."""
    print("Part 1 - BPE by hand: Wikipedia's example")
    text = "aaabdaaabac"
    print(f"start:  {text}   ({len(text)} tokens)")
    for step in bpe_walkthrough(text, 3):
        counts = ", ".join(f"{p}:{n}" for p, n in step.counts[:3])
        print(
            f"merge {step.token} = {step.pair}  (counts {counts}, ...)  "
            f"-> {step.sequence}   ({len(step.sequence)} tokens)"
        )
    print(
        "ties (ab:2 and Za:2) go to the pair with the smallest ids: "
        "a, b (97, 98) before Z, a (256, 97)"
    )
    print()

    print(
        f"Part 2 - byte-level BPE trained on {TRAIN_BYTES:,} bytes "
        "of the standard library"
    )
    corpus = stdlib_corpus(TRAIN_BYTES)
    special = ["<|endoftext|>"]
    tok = train_bpe(corpus, VOCAB_SIZE, special_tokens=special)
    n_merges = len(tok.merges)
    print(
        f"vocab_size = {tok.vocab_size} = 256 bytes + {n_merges} merges "
        f"+ {len(special)} special token"
    )
    print("first merges learned (rank: left + right -> new token, count):")
    for row in merge_table(corpus, 8):
        left, right = show_token(row.left), show_token(row.right)
        print(
            f"  {row.rank}: '{left}' + '{right}' -> "
            f"'{show_token(row.token)}'  ({row.count})"
        )
    for sentence in SENTENCES:
        chunks = [
            piece if piece in special else show_token(chunk.encode())
            for piece in split_special(sentence, special)
            for chunk in ([piece] if piece in special else pretokenize(piece))
        ]
        ids = tok.encode(sentence)
        pieces = [show_token(tok.vocab[i]) for i in ids]
        print()
        print(f"text:    {sentence!r}")
        print(f"chunks:  {' | '.join(chunks)}")
        print(f"tokens:  {' | '.join(pieces)}")
        print(f"ids:     {ids}")
        n_bytes = len(sentence.encode("utf-8"))
        print(
            f"{len(sentence)} characters, {n_bytes} bytes -> "
            f"{len(ids)} tokens; decode(encode(text)) == text: "
            f"{tok.decode(ids) == sentence}"
        )
    print()

    print(
        f"Part 3 - WordPiece (BERT), {VOCAB_SIZE} pieces learned "
        "on the same corpus"
    )
    wordpiece = WordPiece(wordpiece_vocab(corpus, VOCAB_SIZE))
    for sentence in SENTENCES[:1]:
        print(f"text:    {sentence!r}")
        print(f"pieces:  {' | '.join(wordpiece.tokenize(sentence))}")
        print(f"ids:     {wordpiece.encode(sentence)}")
