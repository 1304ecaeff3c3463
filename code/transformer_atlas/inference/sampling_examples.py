"""The worked examples of the sampling page: hand-set logits and a toy model.

* :data:`EXAMPLE_PROMPT`, :data:`EXAMPLE_WORDS` and :func:`example_logits`:
  twelve candidate words after "The cat sat on the", with logits set by
  hand, on which the page runs every filter of
  :mod:`transformer_atlas.inference.sampling`.
* :func:`bigram_model` and :func:`toy_bigram_table`: a "model" whose next
  logits depend on the last word only, small enough that beam search can be
  checked against every possible sequence.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import torch

from transformer_atlas.common.validation import check_rank, shape_of
from transformer_atlas.inference.sampling import NextLogits

# --8<-- [end:imports]

__all__ = [
    "EXAMPLE_PROMPT",
    "EXAMPLE_WORDS",
    "example_logits",
    "TOY_WORDS",
    "toy_bigram_table",
    "bigram_model",
]


# --8<-- [start:bigram_model]
def bigram_model(table: torch.Tensor) -> NextLogits:
    """A toy "model": the next logits depend on the last token only.

    Args:
        table: ``[vocab, vocab]``; row ``i`` holds the logits of the token
            that follows token ``i``.

    Returns:
        ``next_logits(tokens [beams, cur_len]) -> [beams, vocab]``.
    """
    check_rank("table", table, 2, "[vocab, vocab]")
    if table.shape[0] != table.shape[1]:
        raise ValueError(
            f"table must be square [vocab, vocab], got {shape_of(table)}"
        )
    return lambda tokens: table[tokens[:, -1]]


# --8<-- [end:bigram_model]


# --8<-- [start:example]
EXAMPLE_PROMPT = "The cat sat on the"
EXAMPLE_WORDS = (
    "mat", "floor", "sofa", "bed", "chair", "rug",
    "table", "roof", "grass", "dog", "moon", "banana",
)  # fmt: skip


def example_logits() -> torch.Tensor:
    """Hand-set logits ``[12]`` for the word after :data:`EXAMPLE_PROMPT`."""
    return torch.tensor(
        [3.0, 2.4, 2.1, 1.9, 1.6, 1.3, 1.0, 0.5, 0.1, -0.6, -1.3, -2.2]
    )


# --8<-- [end:example]


# --8<-- [start:toy_bigram]
TOY_WORDS = ("the", "cat", "dog", "sat", "ran", "slept", "barked", ".")

_TOY_NEXT = {  # word -> probabilities of the next word
    "the": {"cat": 0.55, "dog": 0.45},
    "cat": {"sat": 0.36, "ran": 0.34, "slept": 0.30},
    "dog": {"barked": 0.9, "sat": 0.05, "ran": 0.05},
}


def toy_bigram_table() -> torch.Tensor:
    """Logits ``[8, 8]`` of a hand-written bigram model over TOY_WORDS.

    Row ``i`` is ``log p(next | TOY_WORDS[i])``; impossible words get
    ``-inf``; a word without an entry in ``_TOY_NEXT`` is followed by "."
    (and "." by "the").
    """
    index = {w: i for i, w in enumerate(TOY_WORDS)}
    table = torch.full((len(TOY_WORDS), len(TOY_WORDS)), -math.inf)
    for word in TOY_WORDS:
        default = {"the": 1.0} if word == "." else {".": 1.0}
        for nxt, prob in _TOY_NEXT.get(word, default).items():
            table[index[word], index[nxt]] = math.log(prob)
    return table


# --8<-- [end:toy_bigram]
