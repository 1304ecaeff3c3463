"""Generation: the cache changes nothing but the work; HF agrees.

Oracles: running the model on the full prefix at every step (the
definition of auto-regressive generation), Hugging Face's
``GPT2LMHeadModel.generate`` (greedy, repetition penalty, beam search)
with the same weights.
"""

from __future__ import annotations

import pytest
import torch
import transformers

from transformer_atlas.generation import generate, generate_beam
from transformer_atlas.gpt import GPT, gpt2_config, llama_config
from transformer_atlas.hf_interop import gpt2_config_from_hf, load_hf_gpt2

transformers.logging.set_verbosity_error()


def small_model(family: str, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    make = gpt2_config if family == "gpt2" else llama_config
    kv = {"n_kv_heads": 2} if family == "llama" else {}
    return GPT(make(vocab_size=60, max_seq_len=48, n_layers=2, n_heads=4,
                    d_model=32, **kv)).eval()


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_cached_and_uncached_generation_are_identical(family):
    """Same tokens, and the same logits at every step (1e-5)."""
    model = small_model(family)
    prompt = torch.randint(0, 60, (2, 5))
    kwargs = dict(temperature=0.9, top_k=20, top_p=0.95,
                  repetition_penalty=1.2)
    a, la = generate(model, prompt, 30, use_cache=True,
                     generator=torch.Generator().manual_seed(3), **kwargs)
    b, lb = generate(model, prompt, 30, use_cache=False,
                     generator=torch.Generator().manual_seed(3), **kwargs)
    assert torch.equal(a, b)
    assert la.shape == (2, 30, 60)
    torch.testing.assert_close(la, lb, atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_greedy_equals_running_the_full_prefix_each_step(family):
    model = small_model(family, seed=1)
    tokens = torch.randint(0, 60, (1, 4))
    ours, _ = generate(model, tokens, 20, greedy=True)
    with torch.no_grad():
        for _ in range(20):  # the definition, with no cleverness at all
            next_token = model(tokens)[:, -1].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, next_token], dim=1)
    assert torch.equal(ours, tokens)


def hf_and_ours(seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        n_layer=2, n_embd=32, n_head=4, vocab_size=50, n_positions=64,
        bos_token_id=0, eos_token_id=0, pad_token_id=0,
        initializer_range=0.3,
    )
    hf = transformers.GPT2LMHeadModel(config).eval()
    ours = load_hf_gpt2(GPT(gpt2_config_from_hf(config)), hf).eval()
    return hf, ours


@pytest.mark.parametrize("penalty", [1.0, 1.5])
def test_greedy_tokens_equal_hugging_face_generate(penalty):
    hf, ours = hf_and_ours()
    prompt = torch.tensor([[5, 17, 3, 42]])
    theirs = hf.generate(prompt, do_sample=False, max_new_tokens=25,
                         repetition_penalty=penalty, min_new_tokens=25)
    mine, _ = generate(ours, prompt, 25, greedy=True,
                       repetition_penalty=penalty)
    assert torch.equal(mine, theirs)


@pytest.mark.parametrize("num_beams", [2, 4])
def test_beam_search_equals_hugging_face(num_beams):
    hf, ours = hf_and_ours(seed=1)
    prompt = torch.tensor([7, 8, 9])
    theirs = hf.generate(prompt[None], do_sample=False, num_beams=num_beams,
                         max_new_tokens=8, min_new_tokens=8,
                         early_stopping="never", length_penalty=1.0)
    mine = generate_beam(ours, prompt, 8, num_beams)
    assert torch.equal(mine, theirs[0])


def test_one_beam_is_greedy():
    model = small_model("gpt2", seed=4)
    prompt = torch.randint(0, 60, (1, 3))
    greedy, _ = generate(model, prompt, 12, greedy=True)
    assert torch.equal(generate_beam(model, prompt[0], 12, 1), greedy[0])


def test_streaming_sees_every_token_in_order():
    model = small_model("llama")
    seen: list[int] = []
    tokens, _ = generate(model, torch.tensor([[1, 2]]), 9, greedy=True,
                         on_token=lambda t: seen.append(int(t)))
    assert seen == tokens[0, 2:].tolist()


def test_uncached_generation_crops_to_the_context():
    """Past the context, the uncached loop keeps the last max_seq_len."""
    model = small_model("gpt2")
    tokens, _ = generate(model, torch.randint(0, 60, (1, 40)), 20,
                         greedy=True, use_cache=False)
    assert tokens.shape == (1, 60)


def test_bad_arguments_raise_value_errors():
    model = small_model("gpt2")
    with pytest.raises(ValueError, match="must fit the model's context"):
        generate(model, torch.zeros(1, 40, dtype=torch.long), 20)
    with pytest.raises(ValueError, match=r"idx must be \[batch, seq\]"):
        generate(model, torch.zeros(5, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        generate(model, torch.zeros(1, 2, dtype=torch.long), 0)


def test_kv_cache_speedup_at_256_new_tokens_is_at_least_3x():
    """'at least 3x faster per new token at 256 new tokens' (6 x 512 model).

    The measured ratio on the 2-core build machine is far above 3 (see
    the README's table); 3 is the issue's bar, so a loaded machine still
    passes while a cache that stopped caching would not.
    """
    from transformer_atlas.benchmarks import bench_kv_cache

    bench = bench_kv_cache(256)
    assert bench.config.n_layers == 6 and bench.config.d_model == 512
    assert len(bench.cached) == len(bench.uncached) == 256
    assert bench.speedup >= 3.0
