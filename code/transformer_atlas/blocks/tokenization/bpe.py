"""Byte-level byte-pair encoding (BPE): training, encoding, decoding.

The model of GPT-2. Text is UTF-8 bytes, so the 256 byte values are the
base vocabulary and no text is ever out of vocabulary. Training repeatedly
merges the most frequent adjacent pair of tokens into a new token; encoding
replays those merges, earliest first; decoding concatenates the tokens'
bytes.

Token ids: ``0..255`` are the bytes themselves, merged tokens follow in the
order they were learned, special tokens (``<|endoftext|>``) come last.

Ties: when several pairs share the highest count, the pair with the
smallest ids wins, compared left id first (``(97, 98)`` before
``(256, 97)``). This favours pairs of older tokens, is the rule of Hugging
Face's ``BpeTrainer`` (whose ids differ from ours, so its tie winners can
differ), and reproduces Wikipedia's ``aaabdaaabac`` example.

Counting: a pair is counted at every position where it occurs, overlapping
ones included (``aaa`` holds ``aa`` twice), as minbpe and Hugging Face do;
merging replaces occurrences left to right (``aaa`` -> ``Z a``).

The guide's page ``blocks/tokenization`` shows this module;
``tests/package/blocks/test_tokenization.py`` checks it against a naive trainer
and against Hugging Face ``tokenizers`` loaded with our vocabulary and merges.
"""

from __future__ import annotations

# --8<-- [start:imports]
import heapq
import json
import math
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from transformer_atlas.blocks.tokenization.pretokenize import (
    GPT2_PATTERN,
    bytes_to_unicode,
    pretokenize,
    split_special,
)

# --8<-- [end:imports]

__all__ = [
    "Merge",
    "merge",
    "count_words",
    "learn_merges",
    "train_bpe",
    "encode_chunk",
    "BPETokenizer",
    "FORMAT",
]

#: The ``format`` field of a saved tokenizer file.
FORMAT = "transformer-atlas/byte-level-bpe"

# --8<-- [start:types]
Pair = tuple[int, int]  # two adjacent token ids
Symbol = TypeVar("Symbol", bytes, str)  # a token's content


class Merge(NamedTuple):
    """One learned merge: ``pair`` became token ``new_id``.

    ``count`` is how often the pair occurred when it was chosen.
    """

    pair: Pair
    new_id: int
    count: int


# --8<-- [end:types]


# --8<-- [start:merge]
def merge(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` in ``ids``, left to right.

    ``merge([97, 97, 97, 98], (97, 97), 256)`` is ``[256, 97, 98]``.
    """
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


# --8<-- [end:merge]


# --8<-- [start:count_words]
def count_words(
    text: str,
    special_tokens: Sequence[str] = (),
    pattern: str = GPT2_PATTERN,
) -> Counter[tuple[int, ...]]:
    """The training data of BPE: each distinct chunk's bytes, with its count.

    Special tokens are cut out first and never counted; the rest is cut by
    ``pattern`` (:func:`pretokenize`).
    """
    chunks: Counter[str] = Counter()
    for piece in split_special(text, special_tokens):
        if piece not in special_tokens:
            chunks.update(pretokenize(piece, pattern))
    return Counter(
        {tuple(chunk.encode("utf-8")): n for chunk, n in chunks.items()}
    )


# --8<-- [end:count_words]


# --8<-- [start:learn_merges]
def learn_merges(
    word_counts: Mapping[tuple[int, ...], int],
    vocab: Sequence[Symbol],
    vocab_size: int,
    join: Callable[[Symbol, Symbol], Symbol] = operator.add,
) -> list[Merge]:
    """Learn merges until the vocabulary has ``vocab_size`` tokens.

    Args:
        word_counts: each distinct word (a tuple of token ids) -> its count.
        vocab: the base tokens; token ``i`` is ``vocab[i]``.
        vocab_size: stop when the vocabulary is this big (or no pair is
            left).
        join: the content of a merged token from its two parts
            (``bytes + bytes`` for BPE).

    A merge whose content is already a token reuses that token's id, so
    the vocabulary never holds the same content twice.
    """
    words = [list(word) for word in word_counts]
    freq = list(word_counts.values())
    tokens = list(vocab)
    id_of = {content: i for i, content in enumerate(tokens)}
    counts: Counter[Pair] = Counter()  # pair -> weighted count
    where: defaultdict[Pair, set[int]] = defaultdict(set)  # pair -> words
    for w, word in enumerate(words):
        for pair in zip(word, word[1:]):
            counts[pair] += freq[w]
            where[pair].add(w)
    # max-count pair = min of (-count, pair): ties go to the smallest ids
    heap = [(-n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)
    merges = []
    while len(tokens) < vocab_size and heap:
        neg_count, pair = heapq.heappop(heap)
        if counts.get(pair) != -neg_count:
            continue  # stale entry: the count changed after it was pushed
        content = join(tokens[pair[0]], tokens[pair[1]])
        if content not in id_of:
            id_of[content] = len(tokens)
            tokens.append(content)
        new_id = id_of[content]
        merges.append(Merge(pair, new_id, -neg_count))
        changed = set()
        for w in where.pop(pair):  # only the words that contain the pair
            old = words[w]
            new = merge(old, pair, new_id)
            if len(new) == len(old):
                continue  # the pair left this word in an earlier merge
            for p in zip(old, old[1:]):
                counts[p] -= freq[w]
                changed.add(p)
            for p in zip(new, new[1:]):
                counts[p] += freq[w]
                changed.add(p)
                where[p].add(w)
            words[w] = new
        for p in changed:
            if counts[p] > 0:
                heapq.heappush(heap, (-counts[p], p))
            else:
                del counts[p]
    return merges


# --8<-- [end:learn_merges]


# --8<-- [start:train_bpe]
def train_bpe(
    text: str,
    vocab_size: int,
    special_tokens: Sequence[str] = (),
    pattern: str = GPT2_PATTERN,
) -> "BPETokenizer":
    """Train a byte-level BPE tokenizer on ``text``.

    ``vocab_size`` counts everything: 256 bytes, the merged tokens and the
    special tokens. Training stops early if no pair is left to merge.
    """
    n_special = len(special_tokens)
    if vocab_size < 256 + n_special:
        raise ValueError(
            "vocab_size must be at least 256 + len(special_tokens) = "
            f"{256 + n_special}, got {vocab_size}"
        )
    byte_tokens = [bytes([b]) for b in range(256)]
    merges = learn_merges(
        count_words(text, special_tokens, pattern),
        byte_tokens,
        vocab_size - n_special,
    )
    return BPETokenizer([m.pair for m in merges], special_tokens, pattern)


# --8<-- [end:train_bpe]


# --8<-- [start:encode_chunk]
def encode_chunk(
    chunk: bytes, ranks: Mapping[Pair, int], merges: Mapping[Pair, int]
) -> list[int]:
    """Token ids of one pre-token: replay the merges, earliest first.

    ``ranks[pair]`` is when the pair was learned (0 = first), and
    ``merges[pair]`` the id of the token it makes.
    """
    ids = list(chunk)  # the bytes are the base token ids
    while len(ids) > 1:
        pairs = zip(ids, ids[1:])
        pair = min(pairs, key=lambda p: ranks.get(p, math.inf))
        if pair not in ranks:
            break  # no pair of this chunk was ever merged
        ids = merge(ids, pair, merges[pair])
    return ids


# --8<-- [end:encode_chunk]


class BPETokenizer:
    """A trained byte-level BPE tokenizer: ``encode``, ``decode``, ``save``.

    Args:
        merges: the learned pairs of token ids, in the order learned; the
            ``k``-th pair makes token ``256 + k`` unless its bytes are
            already a token.
        special_tokens: strings encoded as one token each, never split or
            merged; their ids follow the merged tokens.
        pattern: the pre-tokenizer (a ``regex`` pattern).

    Attributes:
        vocab: ``vocab[i]`` is the bytes of token ``i`` (special tokens:
            their UTF-8 bytes).
        special_tokens: special token string -> id.
    """

    def __init__(
        self,
        merges: Iterable[Pair],
        special_tokens: Sequence[str] = (),
        pattern: str = GPT2_PATTERN,
    ) -> None:
        self.pattern = pattern
        self.vocab: list[bytes] = [bytes([b]) for b in range(256)]
        id_of = {content: i for i, content in enumerate(self.vocab)}
        self.merges: dict[Pair, int] = {}  # pair -> new id, in rank order
        for k, pair in enumerate(merges):
            a, b = (int(x) for x in pair)
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise ValueError(
                    f"merge {k} refers to a token that does not exist yet: "
                    f"{(a, b)}, vocabulary size {len(self.vocab)}"
                )
            if (a, b) in self.merges:
                raise ValueError(f"merge {k} repeats the pair {(a, b)}")
            content = self.vocab[a] + self.vocab[b]
            if content not in id_of:
                id_of[content] = len(self.vocab)
                self.vocab.append(content)
            self.merges[(a, b)] = id_of[content]
        self.ranks = {pair: k for k, pair in enumerate(self.merges)}
        if len(set(special_tokens)) != len(special_tokens) or any(
            not isinstance(s, str) or not s for s in special_tokens
        ):
            raise ValueError(
                "special tokens must be distinct non-empty strings, "
                f"got {list(special_tokens)!r}"
            )
        self.special_tokens: dict[str, int] = {}
        for s in special_tokens:
            self.special_tokens[s] = len(self.vocab)
            self.vocab.append(s.encode("utf-8"))
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """Number of tokens: bytes, merged tokens and special tokens."""
        return len(self.vocab)

    # --8<-- [start:encode]
    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Token ids of ``text``.

        With ``allow_special`` a special token's string in ``text`` becomes
        its id; without, it is encoded like any other text (use this for
        text from users, so they cannot inject ``<|endoftext|>``).
        """
        specials = self.special_tokens if allow_special else {}
        ids: list[int] = []
        for piece in split_special(text, list(specials)):
            if piece in specials:
                ids.append(specials[piece])
                continue
            for chunk in pretokenize(piece, self.pattern):
                if chunk not in self._cache:
                    if len(self._cache) > 100_000:
                        self._cache.clear()
                    self._cache[chunk] = encode_chunk(
                        chunk.encode("utf-8"), self.ranks, self.merges
                    )
                ids.extend(self._cache[chunk])
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of token ``ids``.

        Bytes that are not valid UTF-8 (a multi-byte character cut between
        two slices of ids) become U+FFFD, the replacement character.
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # --8<-- [end:encode]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of token ``ids``, concatenated."""
        parts = []
        for i in ids:
            if not 0 <= i < len(self.vocab):
                raise ValueError(
                    f"token ids must lie in [0, {len(self.vocab)}), got {i}"
                )
            parts.append(self.vocab[i])
        return b"".join(parts)

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Each token of ``ids`` as readable text (cut characters: U+FFFD)."""
        return [
            self.vocab[i].decode("utf-8", errors="replace")
            for i in self._checked(ids)
        ]

    def _checked(self, ids: Iterable[int]) -> list[int]:
        ids = list(ids)
        for i in ids:
            if not 0 <= i < len(self.vocab):
                raise ValueError(
                    f"token ids must lie in [0, {len(self.vocab)}), got {i}"
                )
        return ids

    # --------------------------------------------------------- save / load
    def to_dict(self) -> dict[str, Any]:
        """The tokenizer as the JSON object :meth:`save` writes.

        Keys: ``format``, ``pattern``, ``vocab`` (token -> id, each token's
        bytes written with :func:`bytes_to_unicode`, so a space is ``Ġ``),
        ``merges`` (``"left right"`` strings in the order learned: rank 0
        first) and ``special_tokens`` (string -> id). ``vocab`` and
        ``merges`` are what GPT-2's ``vocab.json`` and ``merges.txt`` hold
        and what ``tokenizers.models.BPE(vocab, merges)`` takes.
        """
        n_ordinary = len(self.vocab) - len(self.special_tokens)
        vocab = {_printable(self.vocab[i]): i for i in range(n_ordinary)}
        merges = [
            f"{_printable(self.vocab[a])} {_printable(self.vocab[b])}"
            for a, b in self.merges
        ]
        return {
            "format": FORMAT,
            "pattern": self.pattern,
            "vocab": vocab,
            "merges": merges,
            "special_tokens": dict(self.special_tokens),
        }

    def save(self, path: str | Path) -> None:
        """Write the tokenizer to ``path`` as UTF-8 JSON (see ``to_dict``)."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        Path(path).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BPETokenizer:
        """Rebuild a tokenizer from :meth:`to_dict`'s object; check it."""
        if data.get("format") != FORMAT:
            raise ValueError(
                f"expected format {FORMAT!r}, got {data.get('format')!r}"
            )
        vocab = data["vocab"]
        to_byte = {c: b for b, c in bytes_to_unicode().items()}
        for b, c in bytes_to_unicode().items():
            if vocab.get(c) != b:
                raise ValueError(
                    f"vocab must map the byte token {c!r} to {b}, "
                    f"got {vocab.get(c)!r}"
                )
        if len(vocab) != len(set(vocab.values())):
            raise ValueError("vocab must give every token its own id")
        merges = []
        for k, line in enumerate(data["merges"]):
            parts = line.split(" ")
            if len(parts) != 2 or not all(p in vocab for p in parts):
                raise ValueError(
                    f"merge {k} must be two vocabulary tokens separated by "
                    f"one space, got {line!r}"
                )
            merges.append((vocab[parts[0]], vocab[parts[1]]))
        specials = sorted(data["special_tokens"].items(), key=lambda s: s[1])
        tokenizer = cls(merges, [s for s, _ in specials], data["pattern"])
        for token, i in vocab.items():
            content = bytes(to_byte[c] for c in token)
            if i >= len(tokenizer.vocab) or tokenizer.vocab[i] != content:
                raise ValueError(
                    f"vocab entry {token!r}: {i} disagrees with the merges"
                )
        n_ordinary = tokenizer.vocab_size - len(tokenizer.special_tokens)
        if len(vocab) != n_ordinary:
            raise ValueError(
                f"the merges make {n_ordinary} tokens, "
                f"but vocab has {len(vocab)}"
            )
        if tokenizer.special_tokens != dict(data["special_tokens"]):
            raise ValueError(
                "special token ids must follow the merged tokens, got "
                f"{dict(data['special_tokens'])!r}"
            )
        return tokenizer

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text("utf-8")))

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, "
            f"merges={len(self.merges)}, "
            f"special_tokens={list(self.special_tokens)})"
        )


_BYTE_CHAR = bytes_to_unicode()


def _printable(token: bytes) -> str:
    """A token's bytes as GPT-2's printable string (space -> ``Ġ``)."""
    return "".join(_BYTE_CHAR[b] for b in token)
