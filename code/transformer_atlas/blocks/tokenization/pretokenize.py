"""Pre-tokenization: cutting text into chunks before BPE sees it.

BPE never merges across the boundary of a chunk, so the chunks decide what a
token *can* be. GPT-2 cuts text with one regular expression
(:data:`GPT2_PATTERN`): contractions, words and numbers each with their
leading space, runs of punctuation, runs of whitespace. Special tokens such
as ``<|endoftext|>`` are cut out even earlier (:func:`split_special`), so
they are never pre-tokenized or merged.

:func:`bytes_to_unicode` is GPT-2's table that gives each of the 256 bytes a
printable character (a space byte prints as ``Ġ``); vocabulary files and
Hugging Face ``tokenizers`` use it to write byte strings as text.

The guide's page ``blocks/tokenization`` shows these functions.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Sequence

import regex

# --8<-- [end:imports]

__all__ = [
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "pretokenize",
    "split_special",
    "bytes_to_unicode",
]

# --8<-- [start:pattern]
#: GPT-2's pre-tokenizer (openai/gpt-2, ``src/encoder.py``), one
#: alternative per line.
GPT2_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d"  # English contractions
    r"| ?\p{L}+"  # a run of letters, with its leading space
    r"| ?\p{N}+"  # a run of digits, with its leading space
    r"| ?[^\s\p{L}\p{N}]+"  # punctuation and symbols, leading space
    r"|\s+(?!\S)"  # spaces, except the last one before a word
    r"|\s+"  # any other whitespace
)


def pretokenize(text: str, pattern: str = GPT2_PATTERN) -> list[str]:
    """Cut ``text`` into the chunks BPE merges within, never across.

    Every character of ``text`` lands in exactly one chunk, so
    ``"".join(pretokenize(text)) == text``.
    """
    return regex.findall(pattern, text)


# --8<-- [end:pattern]


#: GPT-4's pre-tokenizer (tiktoken's ``cl100k_base``): contractions in any
#: case, numbers in groups of at most three digits, newlines kept apart.
GPT4_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)


# --8<-- [start:split_special]
def split_special(text: str, special_tokens: Sequence[str]) -> list[str]:
    """Cut ``text`` at every special token, keeping the tokens as pieces.

    ``split_special("a<|endoftext|>b", ["<|endoftext|>"])`` is
    ``["a", "<|endoftext|>", "b"]``. Longer special tokens are tried first,
    so one that contains another still wins. Empty pieces are dropped.
    """
    if not special_tokens:
        return [text] if text else []
    if any(not isinstance(s, str) or not s for s in special_tokens):
        raise ValueError(
            "special tokens must be non-empty strings, "
            f"got {list(special_tokens)!r}"
        )
    longest_first = sorted(set(special_tokens), key=len, reverse=True)
    alternatives = "|".join(regex.escape(s) for s in longest_first)
    # the capturing group makes regex.split keep the special tokens
    return [p for p in regex.split(f"({alternatives})", text) if p]


# --8<-- [end:split_special]


# --8<-- [start:bytes_to_unicode]
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte 0..255 to a printable character.

    The 188 bytes that are printable Latin-1 characters (``!`` to ``~``,
    ``¡`` to ``¬``, ``®`` to ``ÿ``) map to themselves; the other 68
    (control bytes, space, ...) map, in order, to ``chr(256)``,
    ``chr(257)``, ... So the space byte 32 prints as ``Ġ`` (``chr(288)``)
    and a token's bytes can be written as a string without spaces or
    control characters.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return dict(sorted(table.items()))


# --8<-- [end:bytes_to_unicode]
