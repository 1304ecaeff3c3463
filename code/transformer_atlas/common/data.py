"""Text corpora, the character tokenizer and random training batches.

The data side of character-level language modelling, as nanoGPT does it,
shared by every model in the guide that trains on text:

* :func:`stdlib_corpus`: the Python standard library's own source (every
  Python installation has it, so it needs no download; its exact bytes
  depend on the Python version).
* :func:`load_corpus`: a text to train on: ``"stdlib"``, ``"shakespeare"``
  (Tiny Shakespeare, 1,115,394 bytes, Karpathy's char-rnn corpus,
  downloaded once by :func:`transformer_atlas.common.download.download`
  and checked against its SHA-256) or the path of a UTF-8 text file.
* :class:`CharTokenizer`: one id per distinct character, sorted, so the
  vocabulary is a function of the text alone and fits in a checkpoint as a
  short JSON string.
* :func:`split_train_val` and :func:`get_batch`: the last 10% of the ids
  held out for validation, and random windows ``x`` with their next-token
  targets ``y`` (``y[b, t] == x[b, t + 1]``).

``tests/package/common/test_data.py`` checks it, without the internet.
"""

from __future__ import annotations

# --8<-- [start:imports]
import codecs
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from transformer_atlas.common.download import default_cache_dir, download

# --8<-- [end:imports]

__all__ = [
    "stdlib_files",
    "stdlib_corpus",
    "SHAKESPEARE_URL",
    "SHAKESPEARE_SHA256",
    "SHAKESPEARE_BYTES",
    "CharTokenizer",
    "load_corpus",
    "split_train_val",
    "get_batch",
]

#: Tiny Shakespeare, as nanoGPT's ``shakespeare_char`` downloads it.
SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/"
    "data/tinyshakespeare/input.txt"
)
#: SHA-256 of that file (lowercase hex).
SHAKESPEARE_SHA256 = (
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
)
#: Its size in bytes (all ASCII, so also its length in characters).
SHAKESPEARE_BYTES = 1_115_394


# --8<-- [start:tokenizer]
class CharTokenizer:
    """Character-level tokenizer: id ``i`` is the character ``chars[i]``.

    Build it with :meth:`from_text`; the vocabulary is the sorted set of the
    text's characters, so the same text always gives the same ids.
    """

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str) or not chars:
            raise ValueError(
                "chars must be a non-empty string (the vocabulary in id "
                f"order), got {chars!r}"
            )
        if len(set(chars)) != len(chars):
            seen: set[str] = set()
            dups = sorted({c for c in chars if c in seen or seen.add(c)})
            raise ValueError(
                f"chars must list each character once, got duplicates {dups!r}"
            )
        self.chars = chars
        self._index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is ``sorted(set(text))``."""
        if not isinstance(text, str) or not text:
            raise ValueError(
                "from_text needs a non-empty string, "
                f"got {type(text).__name__} of length "
                f"{len(text) if hasattr(text, '__len__') else '?'}"
            )
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        """Number of distinct ids, ``len(chars)``."""
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """``text`` -> one id per character, ``[len(text)]``.

        Raises ``ValueError`` naming every character of ``text`` that is not
        in the vocabulary (nothing is dropped silently).
        """
        index = self._index
        unknown = set(text) - index.keys()
        if unknown:
            shown = sorted(unknown)[:20]
            more = len(unknown) - len(shown)
            raise ValueError(
                f"cannot encode {len(unknown)} character(s) outside the "
                f"vocabulary of {self.vocab_size}: {shown!r}"
                + (f" and {more} more" if more else "")
                + "; build the tokenizer from a text that contains them"
            )
        return [index[c] for c in text]

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Ids ``[n]`` (a list or a 1-D integer tensor) -> their string."""
        if isinstance(ids, torch.Tensor):
            if ids.ndim != 1:
                raise ValueError(
                    "decode needs ids [n] (1 dimension), "
                    f"got shape {tuple(ids.shape)}"
                )
            ids = ids.tolist()
        chars, n = self.chars, len(self.chars)
        bad = [i for i in ids if not 0 <= i < n]
        if bad:
            raise ValueError(
                f"ids must lie in [0, {n}) for a vocabulary of {n}, "
                f"got {bad[:10]!r}" + (" ..." if len(bad) > 10 else "")
            )
        return "".join(chars[i] for i in ids)

    def to_json(self) -> str:
        """A JSON string that :meth:`from_json` turns back into ``self``."""
        return json.dumps({"type": "char", "chars": self.chars})

    @classmethod
    def from_json(cls, data: str) -> CharTokenizer:
        """Inverse of :meth:`to_json`."""
        try:
            obj = json.loads(data)
        except (TypeError, json.JSONDecodeError) as error:
            raise ValueError(
                "expected the JSON string of CharTokenizer.to_json(), "
                f"got {str(data)[:60]!r} ({error})"
            ) from None
        if (
            not isinstance(obj, dict)
            or obj.get("type") != "char"
            or not isinstance(obj.get("chars"), str)
        ):
            raise ValueError(
                'expected a JSON object {"type": "char", "chars": "..."}, '
                f"got {str(data)[:60]!r}"
            )
        return cls(obj["chars"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CharTokenizer):
            return NotImplemented
        return self.chars == other.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        preview = (
            self.chars if len(self.chars) <= 20 else (self.chars[:20] + "...")
        )
        return f"CharTokenizer(vocab_size={self.vocab_size}, {preview!r})"


# --8<-- [end:tokenizer]


def stdlib_files() -> list[Path]:
    """The ``*.py`` files next to the ``os`` module, sorted by name."""
    return sorted(Path(os.__file__).parent.glob("*.py"))


def stdlib_corpus(max_bytes: int = 1_000_000, skip_bytes: int = 0) -> str:
    """Bytes ``skip_bytes`` to ``skip_bytes + max_bytes`` of the stdlib.

    The files of :func:`stdlib_files`, concatenated in order, as text.
    A character cut at either end is dropped; the result is at most
    ``max_bytes`` bytes of UTF-8.
    """
    if max_bytes < 1 or skip_bytes < 0:
        raise ValueError(
            "need max_bytes >= 1 and skip_bytes >= 0, "
            f"got max_bytes={max_bytes}, skip_bytes={skip_bytes}"
        )
    end = skip_bytes + max_bytes
    parts, size = [], 0
    for path in stdlib_files():
        if size >= end:
            break
        data = path.read_bytes()
        parts.append(data)
        size += len(data)
    data = b"".join(parts)[skip_bytes:end]
    return data.decode("utf-8", errors="ignore")


# --8<-- [start:corpus]
def load_corpus(
    source: str | os.PathLike[str] = "stdlib",
    *,
    max_bytes: int = 1_000_000,
    cache_dir: Path | None = None,
) -> str:
    """The first ``max_bytes`` bytes of a corpus, as text.

    Args:
        source: ``"stdlib"`` (the standard library's source, see
            :func:`stdlib_corpus`),
            ``"shakespeare"`` (Tiny Shakespeare, downloaded once into
            ``cache_dir``) or the path of a UTF-8 text file. Write
            ``./stdlib`` to mean a file that happens to be named ``stdlib``.
        max_bytes: at most this many bytes of UTF-8 are kept (a character
            cut at the end is dropped). It applies to every source: pass
            ``max_bytes=SHAKESPEARE_BYTES`` for all of Tiny Shakespeare.
        cache_dir: where downloads go; default :func:`default_cache_dir`.
    """
    if not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be an int >= 1, got {max_bytes!r}")
    if source == "stdlib":
        return stdlib_corpus(max_bytes)
    if source == "shakespeare":
        folder = default_cache_dir() if cache_dir is None else cache_dir
        path = download(
            SHAKESPEARE_URL,
            SHAKESPEARE_SHA256,
            Path(folder) / "tinyshakespeare.txt",
        )
        return _read_text(path, max_bytes)
    return _read_text(Path(source), max_bytes)


def _read_text(path: Path, max_bytes: int) -> str:
    """The first ``max_bytes`` bytes of the UTF-8 file ``path``."""
    if not path.is_file():
        what = "a directory" if path.is_dir() else "no such file"
        raise ValueError(
            "corpus must be 'stdlib', 'shakespeare' or the path of a UTF-8 "
            f"text file, got {str(path)!r} ({what})"
        )
    with open(path, "rb") as f:
        data = f.read(max_bytes)
    if not data:
        raise ValueError(f"corpus file {str(path)!r} is empty")
    # final=False: an incomplete character at the cut is held back, not an
    # error; invalid bytes anywhere else are.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(data, final=False)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"corpus file {str(path)!r} is not UTF-8 text: byte "
            f"{error.start} is {data[error.start : error.start + 1]!r} "
            f"({error.reason}); convert it to UTF-8 first"
        ) from None
    if not text:
        raise ValueError(
            f"corpus file {str(path)!r} has no complete character in its "
            f"first {max_bytes} bytes"
        )
    return text


# --8<-- [end:corpus]


# --8<-- [start:batches]
def split_train_val(
    ids: torch.Tensor, val_fraction: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ids ``[n]`` into ``(train [n_train], val [n - n_train])``.

    ``n_train = int(n * (1 - val_fraction))``: the last ``val_fraction`` of
    the text is held out, as in nanoGPT (a contiguous tail, not a random
    sample, so no validation window overlaps a training window except at
    the seam). Both are views of ``ids``, not copies.
    """
    if ids.ndim != 1:
        raise ValueError(
            f"ids must have 1 dimension [n], got shape {tuple(ids.shape)}"
        )
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(
            f"val_fraction must lie in [0, 1), got {val_fraction!r}"
        )
    n = len(ids)
    n_train = int(n * (1.0 - val_fraction))
    if n_train < 1 or (val_fraction > 0 and n_train == n):
        raise ValueError(
            f"cannot split {n} ids with val_fraction={val_fraction}: "
            f"it gives {n_train} train and {n - n_train} validation ids; "
            "need at least one of each"
        )
    return ids[:n_train], ids[n_train:]


def get_batch(
    data: torch.Tensor,
    batch_size: int,
    block_size: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``data [n]`` and their targets.

    Returns ``x [batch, block]`` and ``y [batch, block]`` with
    ``y[b, t] = x[b, t + 1]`` (``y`` is ``x`` shifted by one token): each
    window holds ``block_size`` next-token examples. Window starts are
    uniform over ``[0, n - block_size)`` and drawn from ``generator``, so
    a seeded generator gives the same batches every run. ``x`` and ``y``
    are on ``data``'s device.
    """
    if data.ndim != 1 or data.dtype.is_floating_point or data.is_complex():
        raise ValueError(
            "data must be integer token ids [n], "
            f"got shape {tuple(data.shape)} and dtype {data.dtype}"
        )
    if batch_size < 1 or block_size < 1:
        raise ValueError(
            "batch_size and block_size must be >= 1, "
            f"got batch_size={batch_size}, block_size={block_size}"
        )
    n = len(data)
    if n < block_size + 1:
        raise ValueError(
            f"data has {n} tokens; a window of block_size={block_size} "
            f"and its targets need at least block_size + 1 = "
            f"{block_size + 1}"
        )
    starts = torch.randint(
        n - block_size,
        (batch_size,),
        generator=generator,
        device=generator.device,
    ).to(data.device)  # [batch]
    offsets = torch.arange(block_size, device=data.device)  # [block]
    index = starts[:, None] + offsets[None, :]  # [batch, block]
    return data[index], data[index + 1]


# --8<-- [end:batches]
