"""Parameter counts by part, and the claims of ``docs/families/decoder-only.md``.

The logits of our GPT-2 and LLaMA equal Hugging Face's in ``test_gpt.py``
(the lead's file); this file backs what the decoder-only page adds:

* :func:`parameter_breakdown` (closed form) against Hugging Face
  ``GPT2LMHeadModel`` / ``LlamaForCausalLM`` built on the ``meta`` device
  (no memory), their parameters grouped by name into the same parts, for
  GPT-2 small and LLaMA-2 7B; the totals of GPT-2 medium, large, XL, a
  GPT-2 with GPT-3's shapes and LLaMA-2 70B (grouped-query attention)
  against the same models.
* The parts sum to :func:`count_parameters` (hypothesis over configs) and
  equal :func:`count_by_part` of a real module.
* The 12 N d^2 rule of thumb, the figure, the demo, and every number and
  statement of the page ("page claims").
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.common.threads import single_thread
from transformer_atlas.families.decoder_only import (
    GPT,
    PARTS,
    GPTConfig,
    block_breakdown,
    count_by_part,
    count_parameters,
    gpt2_config,
    llama_config,
    parameter_breakdown,
)
from transformer_atlas.families.hf_interop import (
    gpt2_config_from_hf,
    llama_config_from_hf,
)
from transformer_atlas.figures.families.decoder_only import (
    parameter_breakdown_figure,
)

transformers.logging.set_verbosity_error()


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread is faster, and the machine is shared."""
    with single_thread():
        yield


# ------------------------------------------------------------ HF on meta
def hf_gpt2_meta(n_layer: int = 12, n_embd: int = 768, n_head: int = 12, n_positions: int = 1024):
    config = transformers.GPT2Config(
        n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=n_positions
    )
    with torch.device("meta"):
        return transformers.GPT2LMHeadModel(config)


def hf_llama_meta(n_layers=32, d=4096, heads=32, kv_heads=32, d_ff=11008, vocab=32000):
    config = transformers.LlamaConfig(
        vocab_size=vocab,
        hidden_size=d,
        intermediate_size=d_ff,
        num_hidden_layers=n_layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        return transformers.LlamaForCausalLM(config)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # shared (tied) tensors once


def hf_by_part(model: torch.nn.Module) -> dict[str, int]:
    """Group a Hugging Face GPT-2 / LLaMA's parameters by their names."""
    rules = [  # (substring of the name, part); first match wins
        ("wte.", "token embeddings"),
        ("embed_tokens.", "token embeddings"),
        ("wpe.", "positions"),
        (".attn.", "attention"),
        (".self_attn.", "attention"),
        (".mlp.", "feed-forward"),
        ("ln_", "norms"),
        ("layernorm", "norms"),
        ("model.norm.", "norms"),
        ("lm_head.", "output head"),
    ]
    parts = dict.fromkeys(PARTS, 0)
    for name, p in model.named_parameters():
        part = next(part for key, part in rules if key in name)
        parts[part] += p.numel()
    return parts


GPT2_SIZES = {  # name: (n_layer, n_embd, n_head, parameters)
    "GPT-2 medium": (24, 1024, 16, 354_823_168),
    "GPT-2 large": (36, 1280, 20, 774_030_080),
    "GPT-2 XL": (48, 1600, 25, 1_557_611_200),
}


def test_gpt2_small_by_part_equals_hugging_face() -> None:
    """decoder-only.md, the worked table: 38,597,376 + 786,432 + 12 x 7,087,872 + 1,536."""
    hf = hf_gpt2_meta()
    config = gpt2_config_from_hf(hf.config)
    assert parameter_breakdown(config) == parameter_breakdown(gpt2_config())
    parts = parameter_breakdown(config)
    assert parts == hf_by_part(hf)
    assert parts["token embeddings"] == 50257 * 768 == 38_597_376
    assert parts["positions"] == 1024 * 768 == 786_432
    block = block_breakdown(config)
    assert block == {"attention": 2_362_368, "feed-forward": 4_722_432, "norms": 3_072}
    assert sum(block.values()) == 7_087_872 and 12 * 7_087_872 == 85_054_464
    assert parts["norms"] - 12 * block["norms"] == 1_536  # the final LayerNorm
    assert parts["output head"] == 0  # tied
    assert 38_597_376 + 786_432 + 85_054_464 + 1_536 == 124_439_808 == sum(parts.values())


def test_llama2_7b_by_part_equals_hugging_face() -> None:
    """decoder-only.md: LLaMA-2 7B = 6,738,415,616, of which 131,072,000 embeddings and as many
    in the untied head."""
    hf = hf_llama_meta()
    config = llama_config_from_hf(hf.config)
    assert count_parameters(config) == count_parameters(llama_config())
    parts = parameter_breakdown(config)
    assert parts == hf_by_part(hf)
    assert parts["token embeddings"] == parts["output head"] == 131_072_000
    assert sum(parts.values()) == 6_738_415_616


@pytest.mark.parametrize("name", sorted(GPT2_SIZES))
def test_larger_gpt2_counts_equal_hugging_face(name: str) -> None:
    """decoder-only.md table: GPT-2 medium 354,823,168, large 774,030,080, XL 1,557,611,200."""
    n_layer, n_embd, n_head, expected = GPT2_SIZES[name]
    config = gpt2_config(n_layers=n_layer, d_model=n_embd, n_heads=n_head)
    assert count_parameters(config) == expected
    assert n_params(hf_gpt2_meta(n_layer, n_embd, n_head)) == expected


def test_gpt3_shapes_give_175b() -> None:
    """decoder-only.md: GPT-2's parts at GPT-3's shapes (96 layers, 12,288 wide, 96 heads,
    2,048 positions) give 174,604,259,328 parameters, the "175B"."""
    config = gpt2_config(n_layers=96, d_model=12288, n_heads=96, max_seq_len=2048)
    assert count_parameters(config) == 174_604_259_328
    assert n_params(hf_gpt2_meta(96, 12288, 96, 2048)) == 174_604_259_328
    assert round(count_parameters(config) / 1e9) == 175


def test_llama2_70b_with_gqa_equals_hugging_face() -> None:
    """decoder-only.md table: LLaMA-2 70B (80 layers, 8,192 wide, 64 query and 8 key/value
    heads, d_ff 28,672) has 68,976,648,192 parameters."""
    config = llama_config(n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, d_ff=28672)
    assert count_parameters(config) == 68_976_648_192
    hf = hf_llama_meta(n_layers=80, d=8192, heads=64, kv_heads=8, d_ff=28672)
    assert n_params(hf) == 68_976_648_192
    assert parameter_breakdown(config) == hf_by_part(hf)


# ------------------------------------------------- parts sum to the total
CONFIGS = st.builds(
    lambda n_layers, n_heads, kv_div, head, norm, positions, ffn, bias, tie, d_ff: GPTConfig(
        vocab_size=37,
        max_seq_len=9,
        n_layers=n_layers,
        n_heads=n_heads,
        d_model=n_heads * head,
        n_kv_heads=max(1, n_heads // kv_div),
        d_ff=d_ff,
        norm=norm,
        positions=positions,
        ffn=ffn,
        bias=bias,
        tie_embeddings=tie,
    ),
    n_layers=st.integers(1, 3),
    n_heads=st.sampled_from([1, 2, 4]),
    kv_div=st.sampled_from([1, 2, 4]),
    head=st.sampled_from([2, 4]),
    norm=st.sampled_from(["layer", "rms"]),
    positions=st.sampled_from(["learned", "rope"]),
    ffn=st.sampled_from(["gelu_tanh", "gelu", "swiglu"]),
    bias=st.booleans(),
    tie=st.booleans(),
    d_ff=st.one_of(st.none(), st.integers(1, 24)),
)


@settings(max_examples=25, deadline=None)
@given(config=CONFIGS)
def test_parts_sum_to_count_parameters_and_match_the_module(config: GPTConfig) -> None:
    parts = parameter_breakdown(config)
    assert list(parts) == list(PARTS)
    assert sum(parts.values()) == count_parameters(config)
    assert count_by_part(GPT(config)) == parts


def test_count_by_part_on_the_meta_device() -> None:
    with torch.device("meta"):
        model = GPT(gpt2_config())
    assert count_by_part(model) == parameter_breakdown(gpt2_config())


def test_count_by_part_rejects_unknown_parameters() -> None:
    model = GPT(gpt2_config(vocab_size=11, max_seq_len=4, n_layers=1, n_heads=1, d_model=4))
    model.extra = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="a parameter of no known part: 'extra'"):
        count_by_part(model)


# ------------------------------------------------------------------ figure
def test_figure_draws_one_bar_per_model() -> None:
    fig = parameter_breakdown_figure()
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["GPT-2 small", "LLaMA-2 7B"]
    labels = {t.get_text() for t in ax.texts}
    assert {"31%", "23%", "46%", "32%", "64%", "124.4M", "6.74B"} <= labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == list(PARTS)
    with pytest.raises(ValueError, match="at least one"):
        parameter_breakdown_figure(models=[])


# -------------------------------------------------------------------- demo
def test_demo_prints_counts_and_shapes(capsys) -> None:
    from transformer_atlas.demos.families.decoder_only import main

    main()
    out = capsys.readouterr().out
    assert "count_parameters(GPT-2 small) = 124,439,808" in out
    assert "count_parameters(LLaMA-2 7B) = 6,738,415,616" in out
    assert "feed-forward             56,669,184  45.5%    4,328,521,728  64.2%" in out
    assert "parameters: 29,184 (count_parameters: 29,184)" in out
    assert "parameters: 29,024 (count_parameters: 29,024)" in out
    assert out.count("logits = N_f(h) W_out              [2, 8, 100]") == 2
    assert out.count("the steps equal model(idx): True") == 2


# ------------------------------------------------------------- page claims
def test_page_shares_of_the_parts() -> None:
    """decoder-only.md: "GPT-2 small: 31% embeddings, 23% attention, 46% FFN; LLaMA-2 7B:
    32% attention, 64% FFN, 1.9% each for the embeddings and the head; norms under 0.1%"."""

    def shares(config: GPTConfig) -> dict[str, float]:
        parts = parameter_breakdown(config)
        return {k: 100 * v / sum(parts.values()) for k, v in parts.items()}

    gpt2, llama = shares(gpt2_config()), shares(llama_config())
    assert [round(gpt2[k]) for k in ("token embeddings", "attention", "feed-forward")] == [
        31,
        23,
        46,
    ]
    assert round(gpt2["positions"], 1) == 0.6
    assert [round(llama[k]) for k in ("attention", "feed-forward")] == [32, 64]
    assert round(llama["token embeddings"], 1) == round(llama["output head"], 1) == 1.9
    assert gpt2["norms"] < 0.1 and llama["norms"] < 0.1


def test_page_twelve_n_d_squared_rule() -> None:
    """decoder-only.md: "the blocks hold about 12 N d^2 parameters: within 1% for GPT-2 small
    and LLaMA-2 7B" (SwiGLU's 3 x 8/3 = 8 d^2 equals GELU's 2 x 4 = 8 d^2)."""
    for config in (gpt2_config(), llama_config()):
        parts = parameter_breakdown(config)
        blocks = parts["attention"] + parts["feed-forward"] + parts["norms"]
        rule = 12 * config.n_layers * config.d_model**2
        assert abs(blocks / rule - 1) < 0.01
    assert abs(3 * 11008 / 4096 - 8) < 0.07  # LLaMA's d_ff = 11,008 ~ 8/3 d


def test_page_tying_saves_the_head() -> None:
    """decoder-only.md: "untied, GPT-2 small would have 38,597,376 more parameters:
    163,037,184"."""
    assert count_parameters(gpt2_config(tie_embeddings=False)) == 124_439_808 + 38_597_376
    assert 124_439_808 + 38_597_376 == 163_037_184


def test_page_table_of_parts() -> None:
    """decoder-only.md, the GPT-2 vs LLaMA table."""
    g, l7 = gpt2_config(), llama_config()
    assert (g.positions, g.norm, g.ffn, g.bias, g.tie_embeddings) == (
        "learned",
        "layer",
        "gelu_tanh",
        True,
        True,
    )
    assert (l7.positions, l7.norm, l7.ffn, l7.bias, l7.tie_embeddings) == (
        "rope",
        "rms",
        "swiglu",
        False,
        False,
    )
    assert g.kv_heads == g.n_heads == 12 and l7.kv_heads == l7.n_heads == 32  # MHA at 7B
    assert (g.ffn_width, l7.ffn_width) == (3072, 11008)
    assert (g.vocab_size, g.max_seq_len, l7.vocab_size, l7.max_seq_len) == (
        50257,
        1024,
        32000,
        4096,
    )


def _page_models() -> dict[str, GPT]:
    """The example of the page: a tiny GPT-2 and a tiny LLaMA (GQA)."""
    tiny = {"vocab_size": 100, "max_seq_len": 16, "n_layers": 2, "n_heads": 4, "d_model": 32}
    torch.manual_seed(0)
    return {
        "GPT-2": GPT(gpt2_config(**tiny)),
        "LLaMA": GPT(llama_config(n_kv_heads=2, **tiny)),
    }


def test_page_tiny_models_shapes_counts_and_initial_loss() -> None:
    """decoder-only.md: logits [2, 8, 100]; 29,184 and 29,024 parameters, as count_parameters
    says; "at initialisation the loss is close to ln 100 = 4.61" (within 0.1)."""
    idx = torch.randint(0, 100, (2, 8), generator=torch.Generator().manual_seed(0))
    counts = {}
    for name, model in _page_models().items():
        x, y = idx[:, :-1], idx[:, 1:]
        with torch.no_grad():
            logits = model(idx)
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        assert logits.shape == (2, 8, 100)
        counts[name] = n_params(model)
        assert counts[name] == count_parameters(model.config)
        assert abs(loss.item() - math.log(100)) < 0.1
    assert counts == {"GPT-2": 29_184, "LLaMA": 29_024}
    assert round(math.log(100), 2) == 4.61


def test_page_gpt1_count() -> None:
    """decoder-only.md: GPT-1's shapes (post-norm, so no final norm; 40,478 tokens, 512
    positions) give 116,534,784, the "117M"."""
    config = gpt2_config(vocab_size=40478, max_seq_len=512)
    gpt1 = count_parameters(config) - 2 * 768  # no final LayerNorm in a post-norm stack
    assert gpt1 == 116_534_784
    hf = transformers.OpenAIGPTConfig()
    assert (hf.vocab_size, hf.n_positions, hf.n_layer, hf.n_embd) == (40478, 512, 12, 768)
    with torch.device("meta"):
        model = transformers.OpenAIGPTLMHeadModel(hf)
    assert n_params(model) == gpt1


def test_page_llama2_7b_worked_out() -> None:
    """decoder-only.md: a LLaMA-2 7B block holds 4d^2 = 67,108,864 attention,
    3 x 4,096 x 11,008 = 135,266,304 feed-forward and 2d = 8,192 norm parameters (202,383,360),
    32 times; a final RMSNorm of 4,096."""
    config = llama_config()
    block = block_breakdown(config)
    assert block == {"attention": 67_108_864, "feed-forward": 135_266_304, "norms": 8_192}
    assert sum(block.values()) == 202_383_360
    parts = parameter_breakdown(config)
    assert parts["norms"] - 32 * 8_192 == 4_096
    assert 2 * 131_072_000 + 32 * 202_383_360 + 4_096 == 6_738_415_616


def test_page_70b_float32_bytes() -> None:
    """decoder-only.md: "the 70B model, whose float32 weights would fill 276 GB"."""
    n = count_parameters(
        llama_config(n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, d_ff=28672)
    )
    assert round(n * 4 / 1e9) == 276


def test_page_kv_cache_outweighs_the_weights_past_25200_for_llama2_7b() -> None:
    """decoder-only.md: the KV cache "outweighs the weights at long contexts and large batches (for
    LLaMA-2 7B once the batch size times the positions passes about 25,200)"."""
    from transformer_atlas.inference.generation import matmul_weights
    from transformer_atlas.inference.kv_cache import kv_cache_bytes

    c = llama_config()
    weight_bytes = matmul_weights(c) * 2  # float16
    per_position = kv_cache_bytes(c.n_layers, 1, c.kv_heads, 1, c.d_head, torch.float16)
    assert round(weight_bytes / per_position, -2) == 25_200
    cache = kv_cache_bytes(c.n_layers, 1, c.kv_heads, 25_300, c.d_head, torch.float16)
    assert kv_cache_bytes(c.n_layers, 1, c.kv_heads, 25_100, c.d_head, torch.float16) < weight_bytes
    assert cache > weight_bytes
