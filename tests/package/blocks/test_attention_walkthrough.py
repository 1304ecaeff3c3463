"""The toy sentence: its hand-set attention tells the story the pages tell, and every
intermediate agrees with the package's attention functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from transformer_atlas.blocks.attention import (
    causal_mask_numpy,
    scaled_dot_product_attention_numpy,
)
from transformer_atlas.blocks.attention_walkthrough import (
    FEATURES,
    SENTENCE,
    attention_steps,
    embeddings,
    projections,
    tokens,
)
from transformer_atlas.blocks.logits_softmax import softmax_numpy


def test_shapes_and_tokens() -> None:
    assert tokens() == SENTENCE.split() == "the cat sat on the mat because it was tired".split()
    x = embeddings()
    w_q, w_k, w_v = projections()
    assert x.shape == (10, 8) == (len(tokens()), len(FEATURES))
    assert w_q.shape == w_k.shape == w_v.shape == (8, 4)
    np.testing.assert_array_equal(embeddings(), x)  # deterministic noise
    assert 0 < np.abs(embeddings(noise=0.0) - x).max() < 0.25  # a little noise, not much


def test_it_attends_most_to_cat() -> None:
    s = attention_steps()
    it, cat = s.tokens.index("it"), s.tokens.index("cat")
    assert int(np.argmax(s.weights[it])) == cat
    assert s.weights[it, cat] > 0.5  # not just the largest: most of the mass
    assert s.top_key("it") == "cat"


@pytest.mark.parametrize("verb", ["sat", "was"])
def test_verbs_attend_to_their_subject(verb: str) -> None:
    assert attention_steps().top_key(verb) == "cat"


def test_output_of_it_carries_the_animate_feature() -> None:
    s = attention_steps()
    it = s.tokens.index("it")
    assert int(np.argmax(s.output[it])) == 0  # V column 0 is "animate"


@pytest.mark.parametrize("causal", [False, True])
def test_attention_steps_agree_with_the_package(causal: bool) -> None:
    s = attention_steps(causal=causal)
    np.testing.assert_array_equal(s.q, s.x @ s.w_q)
    np.testing.assert_array_equal(s.k, s.x @ s.w_k)
    np.testing.assert_array_equal(s.v, s.x @ s.w_v)
    np.testing.assert_allclose(s.scores, s.q @ s.k.T, rtol=1e-12)
    np.testing.assert_allclose(
        s.scaled_scores[np.isfinite(s.scaled_scores)],
        (s.scores / math.sqrt(s.d_k))[np.isfinite(s.scaled_scores)],
        rtol=1e-12,
    )
    mask = causal_mask_numpy(10) if causal else None
    out, weights = scaled_dot_product_attention_numpy(s.q, s.k, s.v, mask=mask)
    np.testing.assert_array_equal(s.output, out)
    np.testing.assert_array_equal(s.weights, weights)
    np.testing.assert_allclose(
        softmax_numpy(s.scaled_scores, axis=-1), s.weights, rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(s.weights.sum(-1), 1.0, rtol=1e-12)
    if causal:
        assert (s.weights[~causal_mask_numpy(10)] == 0).all()


def test_unknown_word_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown words \['dog'\]"):
        tokens("the dog sat")
