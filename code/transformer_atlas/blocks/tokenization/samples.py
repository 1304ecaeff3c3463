"""Fixed sample texts for the tokenization page and its tests.

* :data:`ZEN`: the Zen of Python (PEP 20, by Tim Peters), a small fixed
  English text for tables whose numbers the guide's page prints.
* :data:`HELD_OUT`: a few sentences in several scripts with code and
  emoji, never used for training: the text on which our encoders are
  compared with Hugging Face's.

The training corpus (the standard library's own source) is
:func:`transformer_atlas.common.data.stdlib_corpus`.
"""

from __future__ import annotations

__all__ = ["ZEN", "HELD_OUT"]

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
