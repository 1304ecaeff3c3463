"""The LLM landscape page (foundations/landscape.md), against oracles.

* The KV-cache step against the last row of PyTorch's own causal
  ``torch.nn.functional.scaled_dot_product_attention``; a change to the
  newest token leaves earlier outputs unchanged in ours and in PyTorch's.
* The pre-training loss (mean negative log-probability) and the
  prompt-masked instruction-tuning loss against ``F.cross_entropy``.
* The chain rule of probability on a small joint distribution.
* The overview figure renders, white, with every box the page names, and
  rejects a bad ``n_layers``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from transformer_atlas.blocks.attention import scaled_dot_product_attention
from transformer_atlas.figures import load_all
from transformer_atlas.figures.foundations.landscape import (
    transformer_overview,
)

F64 = torch.float64


def _texts(fig: Figure) -> str:
    """Every text drawn on the figure, joined by newlines."""
    ax = fig.get_axes()[0]
    return "\n".join(t.get_text() for t in ax.texts)


# ------------------------------------------------------------------ figure
def test_overview_is_registered() -> None:
    assert load_all()["landscape-transformer-overview"] is transformer_overview


@pytest.mark.parametrize("pre_norm", [False, True])
def test_overview_renders_with_key_labels(pre_norm: bool) -> None:
    fig = transformer_overview(n_layers=6, pre_norm=pre_norm)
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    assert "</svg>" in buffer.getvalue()
    text = _texts(fig)
    for label in (
        "Inputs: token ids",
        "Input embedding + positions",
        "Multi-head self-attention",
        "Masked multi-head self-attention",
        "Multi-head cross-attention",
        "Feed-forward",
        "ncoder output",
        "keys and values",
        "inear (to vocabulary logits)",
        "Softmax",
        "ENCODER",
        "DECODER",
        "6 x",
    ):
        assert label in text, label
    assert ("Add & Norm" in text) != pre_norm
    assert ("Add (residual)" in text) == pre_norm


def test_overview_default_label_is_n() -> None:
    assert "N x" in _texts(transformer_overview())


@pytest.mark.parametrize("bad", [0, -2, True, 2.5])
def test_overview_rejects_bad_n_layers(bad: object) -> None:
    with pytest.raises(ValueError, match="n_layers"):
        transformer_overview(n_layers=bad)  # type: ignore[arg-type]


# ------------------------------------------------------------- page claims
@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(1, 12),
    d_k=st.integers(1, 16),
    seed=st.integers(0, 2**31 - 1),
)
def test_cached_step_equals_last_row_of_causal_attention(n: int, d_k: int, seed: int) -> None:
    """landscape: "the new token's output from the cache equals the last
    row of full causal attention" - ours and PyTorch's."""
    gen = torch.Generator().manual_seed(seed)
    q, k, v = torch.randn(3, n, d_k, generator=gen, dtype=F64)
    full, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    oracle = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    step, _ = scaled_dot_product_attention(q[-1:], k, v)
    torch.testing.assert_close(full, oracle)
    torch.testing.assert_close(step, oracle[-1:])


@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(2, 12),
    d_k=st.integers(1, 16),
    seed=st.integers(0, 2**31 - 1),
)
def test_changing_newest_token_leaves_earlier_outputs(n: int, d_k: int, seed: int) -> None:
    """landscape: "changing the newest token leaves every earlier output as
    it was" (so earlier keys and values can be cached)."""
    gen = torch.Generator().manual_seed(seed)
    q, k, v = torch.randn(3, n, d_k, generator=gen)
    q2, k2, v2 = q.clone(), k.clone(), v.clone()
    q2[-1], k2[-1], v2[-1] = torch.randn(3, d_k, generator=gen)
    ours = scaled_dot_product_attention(q, k, v, is_causal=True)[0]
    ours2 = scaled_dot_product_attention(q2, k2, v2, is_causal=True)[0]
    # Equal up to float rounding: BLAS results may depend on memory alignment,
    # so bit-for-bit equality is not a property of the code.
    torch.testing.assert_close(ours2[:-1], ours[:-1], rtol=0, atol=1e-6)
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    theirs2 = F.scaled_dot_product_attention(q2, k2, v2, is_causal=True)
    torch.testing.assert_close(theirs2[:-1], theirs[:-1])


def test_page_example_prints_true_true() -> None:
    """landscape: the code block prints True, then True."""
    torch.manual_seed(0)
    n, d_k = 6, 8
    q, k, v = torch.randn(3, n, d_k)
    full, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    step, _ = scaled_dot_product_attention(q[-1:], k, v)
    assert torch.allclose(step, full[-1:])
    k2, v2 = k.clone(), v.clone()
    k2[-1], v2[-1] = torch.randn(d_k), torch.randn(d_k)
    full2, _ = scaled_dot_product_attention(q, k2, v2, is_causal=True)
    assert torch.allclose(full2[:-1], full[:-1], rtol=0, atol=1e-6)


def test_pretraining_loss_is_mean_negative_log_probability() -> None:
    """landscape: the loss is "the average negative log-probability the
    model gave to each true next token"."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 11, generator=gen, dtype=F64)  # [seq, vocab]
    targets = torch.randint(0, 11, (7,), generator=gen)
    log_p = torch.log(torch.softmax(logits, dim=-1))
    ours = -log_p[torch.arange(7), targets].mean()
    torch.testing.assert_close(ours, F.cross_entropy(logits, targets))


def test_sft_loss_counts_only_response_tokens() -> None:
    """landscape: instruction tuning uses "the same next-token loss, counted
    only on the response tokens"."""
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(9, 13, generator=gen, dtype=F64)
    targets = torch.randint(0, 13, (9,), generator=gen)
    n_prompt = 4
    masked = targets.clone()
    masked[:n_prompt] = -100  # PyTorch's ignore_index default
    log_p = torch.log_softmax(logits, dim=-1)
    response = torch.arange(n_prompt, 9)
    ours = -log_p[response, targets[n_prompt:]].mean()
    torch.testing.assert_close(ours, F.cross_entropy(logits, masked))


def test_chain_rule_of_probability() -> None:
    """landscape: p(x_1..x_n) is the product of p(x_t | x_<t)."""
    rng = np.random.default_rng(0)
    joint = rng.random((3, 4, 5))
    joint /= joint.sum()
    p1 = joint.sum(axis=(1, 2))
    p12 = joint.sum(axis=2)
    for a, b, c in np.ndindex(joint.shape):
        product = p1[a] * (p12[a, b] / p1[a]) * (joint[a, b, c] / p12[a, b])
        assert np.isclose(product, joint[a, b, c])


def test_cached_step_runs_one_position_through_the_weights_but_reads_every_key() -> None:
    """landscape: with the cache "each generated token runs only its own position through the
    weights ... Attention still reads all t cached keys and values, so that part of a step grows
    with the context". Counted by PyTorch's FLOP counter on a cached GPT decode step."""
    from torch.utils.flop_counter import FlopCounterMode

    from transformer_atlas.families.decoder_only import GPT, gpt2_config
    from transformer_atlas.inference.generation import matmul_weights

    torch.manual_seed(0)
    config = gpt2_config(vocab_size=97, max_seq_len=40, n_layers=2, n_heads=4, d_model=32)
    model = GPT(config).eval()

    def step_flops(t: int) -> int:
        """FLOPs of one cached decode step with t positions cached before it."""
        cache = model.new_cache(1)
        with torch.no_grad():
            model(torch.randint(0, 97, (1, t)), cache)
            with FlopCounterMode(display=False) as counter:
                model(torch.randint(0, 97, (1, 1)), cache)
        return counter.get_total_flops()

    # The counter sees the matrix products with weights (the model's attention itself runs in
    # torch's fused kernel, which it does not count): one multiply-add per weight, at every t.
    for t in (4, 16, 32):
        assert step_flops(t) == 2 * matmul_weights(config)
    # Attention of the one new query over the t + 1 cached keys and values: q K^T and A V.
    heads, d_head = config.n_heads, config.d_head
    for t in (4, 16, 32):
        q = torch.randn(1, heads, 1, d_head)
        k, v = torch.randn(2, 1, heads, t + 1, d_head)
        with FlopCounterMode(display=False) as counter:
            scaled_dot_product_attention(q, k, v)  # the guide's: two counted products
        assert counter.get_total_flops() == 2 * 2 * (t + 1) * config.d_model
