"""WordPiece, BERT's tokenizer: greedy longest-match-first.

A word is cut into the longest vocabulary entry that starts it, then the
longest entry (written with the continuation prefix ``##``) that starts
the rest, and so on. If some rest has no match at all, the whole word
becomes ``[UNK]``. Encoding needs only the vocabulary: no merges, no
scores.

Words come from :func:`bert_pretokenize`: split at whitespace, and every
punctuation character is a word of its own (Hugging Face's
``BertPreTokenizer``). BERT's lower-casing and accent stripping happen
before this step (a normalizer) and are left out here.

:func:`wordpiece_vocab` builds a vocabulary the way Hugging Face's
``WordPieceTrainer`` does: BPE merges over characters, where every
character after the first of a word carries the ``##`` prefix.

The guide's page ``blocks/tokenization`` shows this module;
``tests/package/blocks/test_tokenization_wordpiece.py`` checks it against
``tokenizers.models.WordPiece`` with the same vocabulary.
"""

from __future__ import annotations

# --8<-- [start:imports]
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import regex

from transformer_atlas.blocks.tokenization.bpe import learn_merges

# --8<-- [end:imports]

__all__ = [
    "BERT_SPECIAL_TOKENS",
    "bert_pretokenize",
    "WordPiece",
    "wordpiece_vocab",
]

#: BERT's special tokens, in the order of its vocabulary files.
BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

# --8<-- [start:bert_pretokenize]
_WHITESPACE = regex.compile(r"[\p{White_Space}]+")


def _is_punctuation(char: str) -> bool:
    """ASCII punctuation or any Unicode punctuation (categories P*)."""
    category = unicodedata.category(char)
    return char in string.punctuation or category.startswith("P")


def bert_pretokenize(text: str) -> list[str]:
    """Split at whitespace; every punctuation character is its own word.

    ``bert_pretokenize("Hi, you!")`` is ``["Hi", ",", "you", "!"]``.
    """
    words = []
    for chunk in _WHITESPACE.split(text):
        word = ""
        for char in chunk:
            if _is_punctuation(char):
                words += [word, char] if word else [char]
                word = ""
            else:
                word += char
        if word:
            words.append(word)
    return words


# --8<-- [end:bert_pretokenize]


class WordPiece:
    """A WordPiece encoder over a fixed vocabulary.

    Args:
        vocab: the tokens, their ids in order (a list), or token -> id.
            Continuation pieces carry ``prefix`` (``"##ing"``).
        unk_token: the token for a word that cannot be cut; must be in
            ``vocab``.
        prefix: the continuation prefix.
        max_word_chars: a longer word is ``unk_token`` without trying
            (BERT: 100).
    """

    def __init__(
        self,
        vocab: Sequence[str] | Mapping[str, int],
        unk_token: str = "[UNK]",
        prefix: str = "##",
        max_word_chars: int = 100,
    ) -> None:
        if isinstance(vocab, Mapping):
            self.vocab = dict(vocab)
        else:
            self.vocab = {token: i for i, token in enumerate(vocab)}
            if len(self.vocab) != len(vocab):
                raise ValueError("vocab must not repeat a token")
        if unk_token not in self.vocab:
            raise ValueError(
                f"unk_token {unk_token!r} must be in the vocabulary"
            )
        if max_word_chars < 1:
            raise ValueError(
                f"max_word_chars must be >= 1, got {max_word_chars}"
            )
        self.unk_token = unk_token
        self.prefix = prefix
        self.max_word_chars = max_word_chars
        self.tokens = {i: token for token, i in self.vocab.items()}

    # --8<-- [start:tokenize_word]
    def tokenize_word(self, word: str) -> list[str]:
        """Greedy longest-match-first pieces of one word.

        ``"unaffable"`` with a vocabulary holding ``un``, ``##aff`` and
        ``##able`` is ``["un", "##aff", "##able"]``.
        """
        if len(word) > self.max_word_chars:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            for end in range(len(word), start, -1):  # longest first
                piece = word[start:end]
                if start > 0:
                    piece = self.prefix + piece
                if piece in self.vocab:
                    break
            else:  # no prefix of the rest is in the vocabulary
                return [self.unk_token]
            pieces.append(piece)
            start = end
        return pieces

    # --8<-- [end:tokenize_word]

    def tokenize(self, text: str) -> list[str]:
        """The pieces of ``text``: :func:`bert_pretokenize`, then per word."""
        return [
            piece
            for word in bert_pretokenize(text)
            for piece in self.tokenize_word(word)
        ]

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``."""
        return [self.vocab[piece] for piece in self.tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Pieces joined by spaces, ``##`` pieces glued to the one before.

        Lossy: the spaces around punctuation and what became ``[UNK]`` are
        gone (``"Hi, you!"`` comes back as ``"Hi , you !"``).
        """
        words: list[str] = []
        for i in ids:
            if i not in self.tokens:
                raise ValueError(
                    f"token id {i} is not in the vocabulary "
                    f"(size {len(self.tokens)})"
                )
            piece = self.tokens[i]
            if piece.startswith(self.prefix) and words:
                words[-1] += piece[len(self.prefix) :]
            else:
                words.append(piece)
        return " ".join(words)

    def __repr__(self) -> str:
        return (
            f"WordPiece(vocab_size={len(self.vocab)}, "
            f"unk_token={self.unk_token!r}, prefix={self.prefix!r})"
        )


def wordpiece_vocab(
    text: str,
    vocab_size: int,
    special_tokens: Sequence[str] = BERT_SPECIAL_TOKENS,
    prefix: str = "##",
) -> list[str]:
    """A WordPiece vocabulary learned from ``text`` by BPE merges.

    The alphabet is every character that starts a word and every
    ``prefix + character`` that continues one; merges join two pieces,
    dropping the right one's prefix (``"un" + "##aff" -> "unaff"``).
    Returns ``special_tokens``, the alphabet (sorted), then the merged
    pieces in the order learned: at most ``vocab_size`` tokens.
    """
    words = Counter(bert_pretokenize(text))
    alphabet = sorted(
        {w[0] for w in words} | {prefix + c for w in words for c in w[1:]}
    )
    base = [*special_tokens, *alphabet]
    if len(set(base)) != len(base):
        raise ValueError("special tokens must differ from the alphabet")
    if vocab_size < len(base):
        raise ValueError(
            f"vocab_size must be at least {len(base)} (special tokens and "
            f"alphabet), got {vocab_size}"
        )
    id_of = {piece: i for i, piece in enumerate(base)}
    word_counts = {
        tuple(
            id_of[c if k == 0 else prefix + c] for k, c in enumerate(word)
        ): n
        for word, n in words.items()
    }

    def join(left: str, right: str) -> str:
        return left + right.removeprefix(prefix)

    merges = learn_merges(word_counts, base, vocab_size, join)
    vocab = list(base)
    for m in merges:
        if m.new_id == len(vocab):
            left, right = vocab[m.pair[0]], vocab[m.pair[1]]
            vocab.append(join(left, right))
    return vocab
