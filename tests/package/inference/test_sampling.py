"""Sampling and beam search against oracles we did not write.

* Temperature, top-k, top-p and the repetition penalty vs Hugging Face's
  ``TemperatureLogitsWarper``, ``TopKLogitsWarper``, ``TopPLogitsWarper`` and
  ``RepetitionPenaltyLogitsProcessor`` (random logits and hypothesis).
* Top-p vs brute force over every subset of a small vocabulary: the kept set
  is the smallest set with mass >= p. Top-k keeps exactly k without ties.
* ``sample_next_token``: greedy is ``torch.argmax``; 200,000 draws match
  ``filtered_probs`` by a chi-square test (``scipy.stats.chisquare``,
  p-value > 1e-3, seeds fixed) and within 0.005 per token.
* ``beam_search`` vs brute force over every continuation of a lookup-table
  model, and vs ``GPT2LMHeadModel.generate(num_beams=...)`` of a randomly
  initialised GPT-2 built from a config (no download).
* Page claims of ``inference/sampling``, the figures and the demo.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402
from transformers.generation.logits_process import (  # noqa: E402
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from transformer_atlas.demos.inference import sampling as demo  # noqa: E402
from transformer_atlas.figures.inference.sampling import (  # noqa: E402
    nucleus_adapts,
    nucleus_sizes,
    sampling_filters,
)
from transformer_atlas.inference.sampling import (  # noqa: E402
    apply_repetition_penalty,
    apply_temperature,
    beam_search,
    filtered_probs,
    sample_next_token,
    top_k_filter,
    top_p_filter,
)
from transformer_atlas.inference.sampling_examples import (  # noqa: E402
    EXAMPLE_WORDS,
    TOY_WORDS,
    bigram_model,
    example_logits,
    toy_bigram_table,
)

hf_logging.set_verbosity_error()

SETTINGS = settings(max_examples=40, deadline=None)
N_DRAWS = 200_000
MIN_P_VALUE = 1e-3
MAX_DEVIATION = 0.005


def _randn(*shape: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=dtype)


def _ids(batch: int) -> torch.Tensor:
    """Dummy ``input_ids`` for the HF warpers (they ignore them)."""
    return torch.zeros(batch, 1, dtype=torch.int64)


distinct_logits = st.lists(
    st.floats(-8.0, 8.0, allow_nan=False, allow_subnormal=False, width=32),
    min_size=2,
    max_size=24,
    unique=True,
).map(lambda v: torch.tensor([v], dtype=torch.float32))


def _boundary_margin(logits: torch.Tensor, p: float) -> float:
    """Distance of ``p`` from the nearest "mass ranked above" value."""
    probs = torch.softmax(logits.double(), -1).sort(-1, descending=True)[0]
    above = probs.cumsum(-1) - probs
    return float((above - p).abs().min())


# ================================================================ temperature
@SETTINGS
@given(
    logits=distinct_logits,
    temperature=st.floats(0.05, 20.0, allow_nan=False),
)
def test_temperature_matches_hf(logits: torch.Tensor, temperature: float) -> None:
    ours = apply_temperature(logits, temperature)
    theirs = TemperatureLogitsWarper(temperature)(_ids(1), logits.clone())
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_temperature_rejects_non_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="temperature must be"):
        apply_temperature(torch.zeros(3), bad)


# ====================================================================== top-k
@pytest.mark.parametrize("k", [1, 2, 5, 17, 50, 80])
def test_top_k_matches_hf_on_random_logits(k: int) -> None:
    logits = _randn(6, 50, seed=k)
    theirs = TopKLogitsWarper(k)(_ids(6), logits.clone())
    torch.testing.assert_close(top_k_filter(logits, k), theirs)


@SETTINGS
@given(logits=distinct_logits, k=st.integers(1, 30))
def test_top_k_keeps_exactly_the_k_largest(logits: torch.Tensor, k: int) -> None:
    out = top_k_filter(logits, k)
    kept = torch.isfinite(out)
    expected = min(k, logits.shape[-1])
    assert int(kept.sum()) == expected
    largest = logits.topk(expected, -1).indices
    assert set(largest[0].tolist()) == set(kept[0].nonzero()[:, 0].tolist())
    torch.testing.assert_close(out[kept], logits[kept], rtol=0, atol=0)
    theirs = TopKLogitsWarper(k)(_ids(1), logits.clone())
    torch.testing.assert_close(out, theirs, rtol=0, atol=0)


def test_top_k_ties_keep_every_tied_logit_like_hf() -> None:
    logits = torch.tensor([[1.0, 2.0, 2.0, 0.0, 2.0]])
    for k in (1, 2, 3):
        out = top_k_filter(logits, k)
        theirs = TopKLogitsWarper(k)(_ids(1), logits.clone())
        torch.testing.assert_close(out, theirs)
        assert int(torch.isfinite(out).sum()) == 3


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_top_k_rejects_bad_k(bad: object) -> None:
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        top_k_filter(torch.zeros(4), bad)  # type: ignore[arg-type]


# ====================================================================== top-p
@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8, 0.9, 0.95, 0.999])
def test_top_p_matches_hf_on_random_logits(p: float) -> None:
    logits = _randn(8, 50, seed=int(p * 1000)) * 2.0
    margins = [_boundary_margin(row, p) for row in logits]
    assert min(margins) > 1e-5  # no row sits on the boundary
    theirs = TopPLogitsWarper(p)(_ids(8), logits.clone())
    torch.testing.assert_close(top_p_filter(logits, p), theirs)


@SETTINGS
@given(logits=distinct_logits, p=st.floats(0.01, 0.99))
def test_top_p_matches_hf_hypothesis(logits: torch.Tensor, p: float) -> None:
    assume(_boundary_margin(logits[0], p) > 1e-5)
    theirs = TopPLogitsWarper(p)(_ids(1), logits.clone())
    torch.testing.assert_close(top_p_filter(logits, p), theirs)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-6.0, 6.0, allow_nan=False), min_size=1, max_size=7),
    p=st.floats(0.01, 1.0),
)
def test_top_p_is_the_smallest_set_with_mass_at_least_p(values: list[float], p: float) -> None:
    logits = torch.tensor(values, dtype=torch.float64)
    probs = torch.softmax(logits, -1)
    assume(_boundary_margin(logits, p) > 1e-9)
    kept = torch.isfinite(top_p_filter(logits, p))
    n = len(values)
    reach = p - 1e-12  # the mass of all tokens may round to just below 1
    # brute force: every subset whose mass reaches p, smallest first
    best = min(
        (
            subset
            for r in range(1, n + 1)
            for subset in itertools.combinations(range(n), r)
            if float(probs[list(subset)].sum()) >= reach
        ),
        key=lambda s: (len(s), -float(probs[list(s)].sum())),
    )
    assert int(kept.sum()) == len(best)
    assert float(probs[kept].sum()) >= reach
    # among the smallest sets, the kept one has the largest mass
    assert float(probs[kept].sum()) == pytest.approx(float(probs[list(best)].sum()), abs=1e-12)


def test_top_p_keeps_the_top_token_and_p_one_keeps_all() -> None:
    logits = _randn(4, 30, seed=3) * 5
    tiny = top_p_filter(logits, 1e-6)
    assert torch.isfinite(tiny).sum(-1).tolist() == [1, 1, 1, 1]
    assert (tiny.argmax(-1) == logits.argmax(-1)).all()
    torch.testing.assert_close(top_p_filter(logits, 1.0), logits)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01, float("nan")])
def test_top_p_rejects_bad_p(bad: float) -> None:
    with pytest.raises(ValueError, match=r"p must be in \(0, 1\]"):
        top_p_filter(torch.zeros(4), bad)


# ========================================================= repetition penalty
@pytest.mark.parametrize("penalty", [0.5, 1.0, 1.2, 2.0])
def test_repetition_penalty_matches_hf(penalty: float) -> None:
    logits = _randn(3, 20, seed=1) * 3
    previous = torch.randint(
        0, 20, (3, 9), generator=torch.Generator().manual_seed(2)
    )  # with repeats
    ours = apply_repetition_penalty(logits, previous, penalty)
    theirs = RepetitionPenaltyLogitsProcessor(penalty)(previous, logits.clone())
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@SETTINGS
@given(
    logits=distinct_logits,
    penalty=st.floats(0.1, 5.0),
    data=st.data(),
)
def test_repetition_penalty_matches_hf_hypothesis(
    logits: torch.Tensor, penalty: float, data: st.DataObject
) -> None:
    vocab = logits.shape[-1]
    seen = data.draw(st.lists(st.integers(0, vocab - 1), max_size=12))
    previous = torch.tensor([seen], dtype=torch.int64).reshape(1, -1)
    ours = apply_repetition_penalty(logits, previous, penalty)
    theirs = RepetitionPenaltyLogitsProcessor(penalty)(previous, logits.clone())
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    # the rule moves every seen logit down for penalty > 1
    if penalty > 1 and seen:
        idx = torch.tensor(sorted(set(seen)))
        moved = ours[0, idx] - logits[0, idx]
        assert (moved <= 0).all()


def test_repetition_penalty_rejects_bad_input() -> None:
    logits = torch.zeros(2, 5)
    with pytest.raises(ValueError, match="previous_tokens must be int64"):
        apply_repetition_penalty(logits, torch.zeros(3, 4).long(), 1.2)
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        apply_repetition_penalty(logits, torch.full((2, 1), 5), 1.2)
    with pytest.raises(ValueError, match="penalty must be"):
        apply_repetition_penalty(logits, torch.zeros(2, 1).long(), 0.0)
    with pytest.raises(ValueError, match=r"\[batch, vocab\]"):
        apply_repetition_penalty(torch.zeros(5), torch.zeros(2, 1).long(), 2)


# ==================================================== the pipeline and draws
@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"),
    [(0.7, None, None), (1.0, 10, None), (1.3, None, 0.9), (0.8, 20, 0.7)],
)
def test_filtered_probs_matches_hf_warper_chain(
    temperature: float, top_k: int | None, top_p: float | None
) -> None:
    logits = _randn(5, 40, seed=7) * 2
    warpers = [TemperatureLogitsWarper(temperature)]
    if top_k is not None:
        warpers.append(TopKLogitsWarper(top_k))
    if top_p is not None:
        warpers.append(TopPLogitsWarper(top_p))
    theirs = LogitsProcessorList(warpers)(_ids(5), logits.clone())
    ours = filtered_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    assert torch.equal(ours > 0, torch.isfinite(theirs))
    torch.testing.assert_close(ours, torch.softmax(theirs, -1))


@SETTINGS
@given(
    logits=distinct_logits,
    temperature=st.floats(0.1, 5.0),
    top_k=st.one_of(st.none(), st.integers(1, 30)),
    top_p=st.one_of(st.none(), st.floats(0.01, 1.0)),
)
def test_greedy_is_argmax_and_filters_keep_the_argmax(
    logits: torch.Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> None:
    greedy = sample_next_token(
        logits, greedy=True, temperature=temperature, top_k=top_k, top_p=top_p
    )
    assert greedy.dtype == torch.int64 and greedy.shape == (1,)
    assert int(greedy) == int(torch.argmax(logits, -1))
    probs = filtered_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    # the argmax keeps the largest probability (logits that differ by
    # less than float resolution may tie after the softmax)
    assert float(probs[0, greedy]) == float(probs.max())
    torch.testing.assert_close(probs.sum(-1), torch.ones(1))


def _frequency_check(probs: torch.Tensor, draws: torch.Tensor) -> tuple[float, float]:
    """(chi-square p-value, max |frequency - probability|) of one row."""
    vocab = probs.shape[-1]
    counts = torch.bincount(draws, minlength=vocab).double()
    kept = probs > 0
    assert counts[~kept].sum() == 0, "a filtered token was drawn"
    p = probs[kept].double()
    expected = p / p.sum() * counts.sum()
    result = chisquare(counts[kept].numpy(), expected.numpy())
    deviation = (counts / counts.sum() - probs.double()).abs().max()
    return float(result.pvalue), float(deviation)


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p", "seed"),
    [
        (1.0, None, None, 0),
        (0.7, None, None, 1),
        (1.0, 3, None, 2),
        (1.0, None, 0.9, 3),
        (0.7, 5, 0.8, 4),
    ],
)
def test_empirical_frequencies_match_the_filtered_distribution(
    temperature: float, top_k: int | None, top_p: float | None, seed: int
) -> None:
    logits = example_logits()[None, :].expand(N_DRAWS, -1)
    gen = torch.Generator().manual_seed(seed)
    draws = sample_next_token(
        logits,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        generator=gen,
    )
    assert draws.shape == (N_DRAWS,) and draws.dtype == torch.int64
    probs = filtered_probs(example_logits(), temperature=temperature, top_k=top_k, top_p=top_p)
    p_value, deviation = _frequency_check(probs, draws)
    assert p_value > MIN_P_VALUE
    assert deviation < MAX_DEVIATION


def test_each_row_samples_from_its_own_distribution() -> None:
    rows = _randn(2, 9, seed=5) * 2
    logits = rows.repeat_interleave(N_DRAWS // 2, dim=0)
    gen = torch.Generator().manual_seed(11)
    draws = sample_next_token(logits, top_p=0.95, generator=gen)
    draws = draws.reshape(2, -1)
    for row, d in zip(rows, draws):
        p_value, deviation = _frequency_check(filtered_probs(row, top_p=0.95), d)
        assert p_value > MIN_P_VALUE and deviation < MAX_DEVIATION


def test_same_seed_same_draws() -> None:
    logits = _randn(16, 30, seed=9)
    a = sample_next_token(logits, generator=torch.Generator().manual_seed(4))
    b = sample_next_token(logits, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)


def test_sample_next_token_wants_batch_vocab() -> None:
    with pytest.raises(ValueError, match=r"\[batch, vocab\]"):
        sample_next_token(torch.zeros(5))


# ================================================================ beam search
def _brute_force(
    table: torch.Tensor,
    prompt: list[int],
    max_new: int,
    eos: int | None,
    length_penalty: float,
) -> tuple[list[int], float]:
    """Best continuation over ALL continuations of a bigram table.

    A continuation ends at its first ``eos`` or after ``max_new`` tokens;
    its score is ``sum log p / length ** length_penalty``.
    """
    logp = torch.log_softmax(table.double(), -1)
    vocab = table.shape[0]
    best: tuple[float, list[int]] = (-math.inf, [])
    for length in range(1, max_new + 1):
        for cont in itertools.product(range(vocab), repeat=length):
            if eos is not None and eos in cont[:-1]:
                continue  # it would have ended earlier
            if length < max_new and cont[-1] != eos:
                continue  # not finished yet
            tokens = prompt + list(cont)
            total = sum(
                float(logp[a, b]) for a, b in zip(tokens[len(prompt) - 1 :], tokens[len(prompt) :])
            )
            score = total / length**length_penalty
            best = max(best, (score, tokens))
    return best[1], best[0]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("eos", [None, 0])
@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 2.0])
def test_wide_beam_equals_brute_force(seed: int, eos: int | None, length_penalty: float) -> None:
    vocab = 4 + seed % 2  # 4 or 5
    table = _randn(vocab, vocab, seed=seed, dtype=torch.float64) * 2
    prompt = [seed % vocab]
    expected, expected_score = _brute_force(table, prompt, 3, eos, length_penalty)
    tokens, score = beam_search(
        bigram_model(table),
        torch.tensor(prompt),
        num_beams=vocab**3,  # every sequence survives: exhaustive
        max_new_tokens=3,
        eos_token_id=eos,
        length_penalty=length_penalty,
    )
    assert tokens.tolist() == expected
    assert score == pytest.approx(expected_score, rel=1e-12)


def test_one_beam_without_eos_is_greedy() -> None:
    table = _randn(6, 6, seed=3, dtype=torch.float64)
    model = bigram_model(table)
    tokens = torch.tensor([2])
    for _ in range(5):
        nxt = sample_next_token(model(tokens[None]), greedy=True)
        tokens = torch.cat([tokens, nxt])
    ours, _ = beam_search(model, torch.tensor([2]), 1, 5)
    assert torch.equal(ours, tokens)


def test_beam_search_rejects_bad_input() -> None:
    model = bigram_model(torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"prompt must have 1 dimensions"):
        beam_search(model, torch.zeros(1, 2).long(), 2, 3)
    with pytest.raises(ValueError, match="num_beams and max_new_tokens"):
        beam_search(model, torch.tensor([0]), 0, 3)
    with pytest.raises(ValueError, match="square"):
        bigram_model(torch.zeros(3, 4))


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run every test of this file on one torch thread.

    Many small ops on two OpenMP threads slow down badly when other
    processes share the cores; one thread is faster here.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def gpt2() -> GPT2LMHeadModel:
    """A tiny GPT-2 with random weights (initializer_range 0.3), no hub."""
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=2,
        vocab_size=50,
        n_positions=64,
        initializer_range=0.3,
        bos_token_id=0,
        eos_token_id=0,
    )
    return GPT2LMHeadModel(config).eval()


# (prompt, num_beams, max_new_tokens, eos, length_penalty)
HF_CASES = [
    ([3, 14, 15], 2, 6, None, 1.0),
    ([3, 14, 15], 4, 6, None, 1.0),
    ([3, 14, 15], 2, 6, 8, 0.0),
    ([3, 14, 15], 3, 6, 8, -1.0),
    ([3, 14, 15], 2, 6, 8, 1.0),
    ([3, 14, 15], 4, 6, 8, 2.0),
    ([21, 2, 40, 11], 3, 5, 8, 1.0),
    ([7], 2, 5, None, 1.0),
]


def test_beam_search_equals_hf_generate(gpt2: GPT2LMHeadModel) -> None:
    """Same tokens and score as ``generate(early_stopping="never")``."""
    ended_early = differs_from_greedy = 0
    with torch.no_grad():
        for prompt, beams, new, eos, alpha in HF_CASES:
            prompt_t = torch.tensor(prompt)
            ours, score = beam_search(
                lambda t: gpt2(t).logits[:, -1],
                prompt_t,
                num_beams=beams,
                max_new_tokens=new,
                eos_token_id=eos,
                length_penalty=alpha,
            )
            out = gpt2.generate(
                prompt_t[None],
                num_beams=beams,
                do_sample=False,
                max_new_tokens=new,
                early_stopping="never",
                length_penalty=alpha,
                eos_token_id=eos,
                pad_token_id=0 if eos is None else eos,
                return_dict_in_generate=True,
                output_scores=True,
            )
            assert ours.tolist() == out.sequences[0].tolist()
            assert score == pytest.approx(float(out.sequences_scores[0]), rel=1e-5)
            ended_early += len(ours) < len(prompt) + new
            greedy, _ = beam_search(lambda t: gpt2(t).logits[:, -1], prompt_t, 1, new)
            differs_from_greedy += not torch.equal(ours, greedy)
    # both ways of finishing, and beams that matter, were exercised
    assert ended_early >= 3 and differs_from_greedy >= 3


def test_hf_num_beams_one_is_greedy_that_stops_at_eos(
    gpt2: GPT2LMHeadModel,
) -> None:
    """The documented exception: HF does not run beam search for 1 beam."""
    prompt = torch.tensor([3, 14, 15])
    with torch.no_grad():
        out = gpt2.generate(
            prompt[None],
            num_beams=1,
            do_sample=False,
            max_new_tokens=6,
            eos_token_id=8,
            pad_token_id=8,
            length_penalty=2.0,
        )[0]
        tokens = prompt
        for _ in range(6):
            nxt = sample_next_token(gpt2(tokens[None]).logits[:, -1], greedy=True)
            tokens = torch.cat([tokens, nxt])
            if int(nxt) == 8:
                break
        ours, _ = beam_search(
            lambda t: gpt2(t).logits[:, -1],
            prompt,
            1,
            6,
            eos_token_id=8,
            length_penalty=2.0,
        )
    assert out.tolist() == tokens.tolist() and int(out[-1]) == 8
    assert len(ours) > len(out)  # one beam kept going and scored better


# ================================================================ page claims
def test_claim_example_distribution() -> None:
    """inference/sampling: "mat" 0.33, floor 0.18; 0.45 at T = 0.7 and 0.24
    at T = 1.5; top-k k = 3 gives mat 0.51, floor 0.28, sofa 0.21."""
    z = example_logits()
    raw = filtered_probs(z)
    assert EXAMPLE_WORDS[:2] == ("mat", "floor")
    assert round(float(raw[0]), 2) == 0.33 and round(float(raw[1]), 2) == 0.18
    assert round(float(filtered_probs(z, temperature=0.7)[0]), 2) == 0.45
    assert round(float(filtered_probs(z, temperature=1.5)[0]), 2) == 0.24
    k3 = filtered_probs(z, top_k=3)
    assert [round(float(v), 2) for v in k3[:3]] == [0.51, 0.28, 0.21]
    assert int((k3 > 0).sum()) == 3


def test_claim_example_first_four() -> None:
    """inference/sampling: the page prints mat 0.329, floor 0.181,
    sofa 0.134, bed 0.110."""
    p = filtered_probs(example_logits())
    assert EXAMPLE_WORDS[:4] == ("mat", "floor", "sofa", "bed")
    assert [round(float(v), 3) for v in p[:4]] == [0.329, 0.181, 0.134, 0.110]


def test_claim_beam_search_runs_the_model_on_b_sequences() -> None:
    """inference/sampling: "Each step runs the model on a batch of B
    sequences" (after the first step, which has one beam)."""
    table = _randn(10, 10, seed=4)
    shapes: list[tuple[int, ...]] = []

    def next_logits(tokens: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(tokens.shape))
        return bigram_model(table)(tokens)

    beam_search(next_logits, torch.tensor([1, 2]), 3, 4)
    assert shapes == [(1, 2), (3, 3), (3, 4), (3, 5)]


def test_claim_nucleus_of_the_example() -> None:
    """inference/sampling: "with p = 0.9 the nucleus is the 7 most probable
    words, which hold 0.94 of the mass; the 6 most probable hold 0.90 -
    just short of p"."""
    z = example_logits()
    raw = filtered_probs(z)
    kept = filtered_probs(z, top_p=0.9) > 0
    assert int(kept.sum()) == 7 and bool(kept[:7].all())
    assert round(float(raw[kept].sum()), 2) == 0.94
    six = float(raw[:6].sum())
    assert six < 0.9 and round(six, 3) == 0.895


def test_claim_nucleus_adapts() -> None:
    """inference/sampling: "with p = 0.9 the nucleus holds 4 words at
    T = 0.5 and 9 at T = 2; top-k with k = 5 keeps 5 in both"."""
    assert nucleus_sizes(example_logits(), (0.5, 2.0), 0.9) == [4, 9]
    for t in (0.5, 2.0):
        probs = filtered_probs(example_logits(), temperature=t, top_k=5)
        assert int((probs > 0).sum()) == 5


def test_claim_top_k_tie() -> None:
    """inference/sampling: top_k_filter([1, 2, 2, 0], k=1) keeps both 2s."""
    out = top_k_filter(torch.tensor([1.0, 2.0, 2.0, 0.0]), 1)
    assert out.tolist() == [-math.inf, 2.0, 2.0, -math.inf]


def test_claim_repetition_penalty_example() -> None:
    """inference/sampling: with penalty 1.2 after "dog" and "mat", mat's
    logit 3.0 becomes 2.5, dog's -0.6 becomes -0.72 (dividing would give
    -0.5, a rise), and P(mat) falls from 0.33 to 0.23."""
    z = example_logits()[None, :]
    seen = torch.tensor([[EXAMPLE_WORDS.index("dog"), EXAMPLE_WORDS.index("mat")]])
    out = apply_repetition_penalty(z, seen, 1.2)
    mat, dog = EXAMPLE_WORDS.index("mat"), EXAMPLE_WORDS.index("dog")
    assert float(out[0, mat]) == pytest.approx(2.5)
    assert float(out[0, dog]) == pytest.approx(-0.72)
    assert float(z[0, dog]) / 1.2 == pytest.approx(-0.5)
    assert round(float(filtered_probs(z)[0, mat]), 2) == 0.33
    assert round(float(filtered_probs(out)[0, mat]), 2) == 0.23
    unseen = [i for i in range(12) if i not in (mat, dog)]
    assert torch.equal(out[0, unseen], z[0, unseen])


def test_claim_repetition_penalty_applies_once_per_token() -> None:
    """inference/sampling: "A token is penalised once however often it
    occurred"."""
    z = example_logits()[None, :]
    once = apply_repetition_penalty(z, torch.tensor([[0]]), 1.2)
    thrice = apply_repetition_penalty(z, torch.tensor([[0, 0, 0]]), 1.2)
    assert torch.equal(once, thrice)


def test_claim_ctrl_penalty_value() -> None:
    """inference/sampling: "the CTRL paper suggests about 1.2" (as HF's
    documentation of the processor quotes it)."""
    doc = RepetitionPenaltyLogitsProcessor.__doc__ or ""
    assert "penalty of around\n    1.2" in doc or "around 1.2" in doc


def test_claim_greedy_versus_beam_on_the_toy_bigram() -> None:
    """inference/sampling: greedy picks "the cat sat" (0.55 x 0.36 = 0.198),
    two beams find "the dog barked" (0.45 x 0.9 = 0.405)."""
    model = bigram_model(toy_bigram_table())
    prompt = torch.tensor([TOY_WORDS.index("the")])
    results = {}
    for beams in (1, 2):
        tokens, score = beam_search(model, prompt, beams, 2, length_penalty=0.0)
        results[beams] = (
            " ".join(TOY_WORDS[int(i)] for i in tokens),
            round(math.exp(score), 3),
        )
    assert results[1] == ("the cat sat", 0.198)
    assert results[2] == ("the dog barked", 0.405)
    assert 0.55 * 0.36 == pytest.approx(0.198)
    assert 0.45 * 0.9 == pytest.approx(0.405)


def test_claim_page_frequency_block() -> None:
    """inference/sampling: the page's 200,000 draws (T = 0.7, top-p = 0.9,
    seed 0) deviate from the distribution by less than 0.005 per word;
    the nucleus at T = 0.7 is 5 words."""
    logits = example_logits()[None, :]
    draws = sample_next_token(
        logits.expand(N_DRAWS, -1),
        temperature=0.7,
        top_p=0.9,
        generator=torch.Generator().manual_seed(0),
    )
    probs = filtered_probs(logits, temperature=0.7, top_p=0.9)[0]
    assert int((probs > 0).sum()) == 5
    p_value, deviation = _frequency_check(probs, draws)
    assert deviation < MAX_DEVIATION and p_value > MIN_P_VALUE


# ==================================================================== figures
def test_figures_draw_from_the_package() -> None:
    fig = sampling_filters()
    axes = fig.get_axes()
    assert len(axes) == 4
    titles = [ax.get_title() for ax in axes]
    assert titles[3] == "top-p, p = 0.9: 7 words hold 0.94"
    # the solid bars of panel 2 are filtered_probs at T = 0.7
    t07 = filtered_probs(example_logits().double(), temperature=0.7)
    heights = [
        patch.get_height()
        for patch in axes[1].patches
        if patch.get_fill() and patch.get_facecolor()[2] > 0.5
    ]
    np.testing.assert_allclose(heights[-12:], t07.numpy())
    adapts = nucleus_adapts()
    legends = [t.get_text() for ax in adapts.get_axes() for t in ax.get_legend().get_texts()]
    assert "top-p cut: 4" in legends and "top-p cut: 9" in legends


def test_figure_rejects_mismatched_words() -> None:
    with pytest.raises(ValueError, match="one word per logit"):
        sampling_filters(logits=[1.0, 2.0], words=["a"])


# ======================================================================= demo
def test_demo_prints_key_lines(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "logits [1, 12] (batch, vocab)" in out
    assert "T = 0.7: P(mat) = 0.446" in out
    assert "mat 0.511, floor 0.281, sofa 0.208" in out
    assert "7 words, raw mass 0.940" in out
    assert "mat: logit +3.00 -> +2.50" in out
    assert "dog: logit -0.60 -> -0.72" in out
    assert "draws [200000] int64" in out
    assert "greedy (argmax): mat" in out
    assert "1 beam(s): 'the cat sat'  P = 0.198" in out
    assert "2 beam(s): 'the dog barked'  P = 0.405" in out
