"""A toy sentence for attention: "the cat sat on the mat because it was tired".

Everything here is **hand-set for teaching, not learned**. Each token gets an
8-number embedding whose features a reader can name (is it an animal? a
pronoun? a verb? ...), plus a little deterministic noise from a fixed-seed
generator so that the two copies of "the" are not bit-identical. The
projections ``W_Q``, ``W_K``, ``W_V`` were written by hand so that the
attention pattern tells a story:

* a query column asks a question ("I want an animate subject", "I want a
  noun", ...),
* a key column answers it ("I am animate", "I am a noun", ...),
* so "it", the verbs "sat" / "was" and the adjective "tired" all look mostly
  at "cat", and after attention the output row of "it" carries the "animate"
  feature of "cat".

A trained model learns such patterns (and much messier ones) from data;
nothing in a real model is this tidy. There are no positional encodings here,
so attention cannot tell the two "the"s apart except by their noise.

Shapes: ``X [seq, d_model] = [10, 8]``, ``W_Q, W_K [d_model, d_k] = [8, 4]``,
``W_V [d_model, d_v] = [8, 4]``. Row vectors throughout: ``Q = X @ W_Q``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from transformer_atlas.blocks.attention import (
    causal_mask_numpy,
    scaled_dot_product_attention_numpy,
)

__all__ = [
    "SENTENCE",
    "FEATURES",
    "QK_FEATURES",
    "V_FEATURES",
    "tokens",
    "embeddings",
    "projections",
    "AttentionSteps",
    "attention_steps",
]

SENTENCE = "the cat sat on the mat because it was tired"

#: Names of the 8 embedding features (columns of ``X``).
FEATURES: tuple[str, ...] = (
    "animal",  # 0
    "pronoun",  # 1
    "verb",  # 2
    "place",  # 3
    "determiner",  # 4
    "link",  # 5: preposition or conjunction
    "adjective",  # 6
    "noun",  # 7
)

#: What each of the 4 query/key columns means: a query asks for it, a key
#: offers it.
QK_FEATURES: tuple[str, ...] = ("animate", "noun", "verb", "place")

#: What each of the 4 value columns carries.
V_FEATURES: tuple[str, ...] = ("animate", "action", "place", "state")

_TOKEN_FEATURES: dict[str, tuple[str, ...]] = {
    "the": ("determiner",),
    "cat": ("animal", "noun"),
    "sat": ("verb",),
    "on": ("link",),
    "mat": ("place", "noun"),
    "because": ("link",),
    "it": ("pronoun",),
    "was": ("verb",),
    "tired": ("adjective",),
}

NOISE_SCALE = 0.05
NOISE_SEED = 0


def tokens(sentence: str = SENTENCE) -> list[str]:
    """The sentence split on spaces: ``[seq]`` token strings."""
    words = sentence.split()
    unknown = [w for w in words if w not in _TOKEN_FEATURES]
    if not words or unknown:
        raise ValueError(
            f"the toy vocabulary is {sorted(_TOKEN_FEATURES)}, "
            f"got a sentence with unknown words {unknown} "
            f"(sentence={sentence!r})"
        )
    return words


def embeddings(
    sentence: str = SENTENCE,
    noise: float = NOISE_SCALE,
    seed: int = NOISE_SEED,
) -> np.ndarray:
    """Hand-set token embeddings ``X [seq, d_model] = [len(tokens), 8]``.

    Float64. Feature ``FEATURES[j]`` of a token is 1 if the token has it,
    else 0, plus ``noise`` times standard normal noise from
    ``numpy.random.default_rng(seed)`` (the same every call).
    """
    words = tokens(sentence)
    x = np.zeros((len(words), len(FEATURES)))
    for i, word in enumerate(words):
        for feature in _TOKEN_FEATURES[word]:
            x[i, FEATURES.index(feature)] = 1.0
    return x + noise * np.random.default_rng(seed).standard_normal(x.shape)


def projections() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-set projections ``(W_Q [8, 4], W_K [8, 4], W_V [8, 4])``.

    Row ``j`` of a matrix says how embedding feature ``FEATURES[j]`` feeds
    each column; the columns of ``W_Q``/``W_K`` are :data:`QK_FEATURES`,
    those of ``W_V`` :data:`V_FEATURES`.
    """
    f = FEATURES.index
    w_q = np.zeros((8, 4))
    w_q[f("pronoun"), 0] = 2.0  # "it" asks: which animate thing am I?
    w_q[f("verb"), 0] = 1.5  # a verb asks: who is my (animate) subject?
    w_q[f("adjective"), 0] = 1.5  # "tired" asks: whom do I describe?
    w_q[f("determiner"), 1] = 1.5  # "the" asks: which noun do I introduce?
    # "on", "because" ask for the verb they attach to ...
    w_q[f("link"), 2] = 1.0
    w_q[f("link"), 3] = 1.5  # ... and for a place
    w_q[f("animal"), 2] = 1.5  # the subject looks for its verb

    w_k = np.zeros((8, 4))
    w_k[f("animal"), 0] = 3.0  # "I am animate"
    w_k[f("pronoun"), 0] = 0.5  # a pronoun may stand for something animate
    w_k[f("noun"), 1] = 2.5  # "I am a noun"
    w_k[f("verb"), 2] = 2.5  # "I am a verb"
    w_k[f("place"), 3] = 2.5  # "I am a place"

    w_v = np.zeros((8, 4))
    w_v[f("animal"), 0] = 1.0  # what a token hands on: its animacy ...
    w_v[f("pronoun"), 0] = 0.2
    w_v[f("verb"), 1] = 1.0  # ... its action ...
    w_v[f("place"), 2] = 1.0  # ... its place ...
    w_v[f("adjective"), 3] = 1.0  # ... its state
    return w_q, w_k, w_v


@dataclass(frozen=True)
class AttentionSteps:
    """Every intermediate of single-head attention on the toy sentence.

    All arrays are NumPy, float64.

    Attributes:
        tokens: ``[seq]`` token strings.
        x: embeddings ``[seq, d_model]``.
        w_q, w_k, w_v: projections ``[d_model, d_k]``, ``[d_model, d_k]``,
            ``[d_model, d_v]``.
        q, k, v: ``X @ W_Q [seq, d_k]``, ``X @ W_K [seq, d_k]``,
            ``X @ W_V [seq, d_v]``.
        scores: ``Q @ K^T [seq, seq]`` (query rows, key columns).
        scaled_scores: ``scores / sqrt(d_k)``.
        weights: ``softmax(scaled_scores)`` row by row ``[seq, seq]``
            (masked entries 0).
        output: ``weights @ V [seq, d_v]``.
        mask: the boolean mask used ``[seq, seq]`` (True = may attend), or
            None.
    """

    tokens: list[str]
    x: np.ndarray
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    scaled_scores: np.ndarray
    weights: np.ndarray
    output: np.ndarray
    mask: np.ndarray | None

    @property
    def d_k(self) -> int:
        return int(self.q.shape[-1])

    def top_key(self, query: str) -> str:
        """The token that ``query`` (its first occurrence) attends to most."""
        i = self.tokens.index(query)
        return self.tokens[int(np.argmax(self.weights[i]))]


def attention_steps(
    sentence: str = SENTENCE,
    causal: bool = False,
) -> AttentionSteps:
    """Run single-head self-attention on the toy sentence, keep every step.

    The weights and output come from
    :func:`transformer_atlas.blocks.attention.scaled_dot_product_attention_numpy`;
    ``scores`` and ``scaled_scores`` are recomputed here only to be shown.

    Args:
        sentence: words from the toy vocabulary separated by spaces.
        causal: apply
        :func:`transformer_atlas.blocks.attention.causal_mask_numpy`
            (each token sees itself and the tokens before it).
    """
    words = tokens(sentence)
    x = embeddings(sentence)
    w_q, w_k, w_v = projections()
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    mask = causal_mask_numpy(len(words)) if causal else None
    output, weights = scaled_dot_product_attention_numpy(q, k, v, mask=mask)
    scores = q @ k.T
    scaled = scores / math.sqrt(q.shape[-1])
    if mask is not None:  # what the softmax actually sees
        scaled = np.where(mask, scaled, -np.inf)
    return AttentionSteps(
        tokens=words,
        x=x,
        w_q=w_q,
        w_k=w_k,
        w_v=w_v,
        q=q,
        k=k,
        v=v,
        scores=scores,
        scaled_scores=scaled,
        weights=weights,
        output=output,
        mask=mask,
    )
