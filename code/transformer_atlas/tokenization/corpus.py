"""Texts to train and test tokenizers on, with no download.

* :data:`ZEN`: the Zen of Python (PEP 20, by Tim Peters), a small fixed
  English text for tables whose numbers the guide's page prints.
* :data:`HELD_OUT`: a few sentences in several scripts with code and
  emoji, never used for training: the text on which our encoders are
  compared with Hugging Face's.
* :func:`stdlib_corpus`: the Python standard library's own source files,
  a corpus every Python installation has (its exact bytes depend on the
  Python version).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ZEN", "HELD_OUT", "stdlib_files", "stdlib_corpus"]

#: The Zen of Python (``import this``), PEP 20.
ZEN = """\
Beautiful is better than ugly.
Explicit is better than implicit.
Simple is better than complex.
Complex is better than complicated.
Flat is better than nested.
Sparse is better than dense.
Readability counts.
Special cases aren't special enough to break the rules.
Although practicality beats purity.
Errors should never pass silently.
Unless explicitly silenced.
In the face of ambiguity, refuse the temptation to guess.
There should be one-- and preferably only one --obvious way to do it.
Although that way may not be obvious at first unless you're Dutch.
Now is better than never.
Although never is often better than *right* now.
If the implementation is hard to explain, it's a bad idea.
If the implementation is easy to explain, it may be a good idea.
Namespaces are one honking great idea -- let's do more of those!
"""

#: Held-out text: several scripts, accents, emoji, code and odd spacing.
HELD_OUT = (
    "Tokenizers don't see letters; they see bytes.\n"
    "Größe, café, naïve — façade. "
    "Ελληνικά: καλημέρα κόσμε. "
    "Русский: привет, мир! "
    "東京タワーは高い。 "
    "한국어 문장입니다.\n"
    "Emoji: 👍🏽 🇫🇷 😀!  "
    "Numbers: 3.14159, 2024-06-01, 1,000,000.\n"
    "def area(r: float) -> float:\n"
    "    return 3.14159 * r ** 2  # it's πr²\n"
    "\tTabs,\u00a0no-break spaces  and   runs of spaces.\r\n"
)


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
