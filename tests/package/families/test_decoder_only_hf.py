"""The GPT track's models: our GPT-2 and LLaMA equal Hugging Face's.

Oracles: ``transformers.GPT2LMHeadModel`` and ``LlamaForCausalLM`` built
from small configs with random weights (no hub), their parameter counts
(on the meta device for the full-size configs), and closed-form
properties (causality, the KV cache reproducing the full forward pass).

The converters read or refuse every field of ``GPT2Config`` and ``LlamaConfig``: the settings
they once ignored (exact GELU, an untied GPT-2 head, LLaMA attention biases, LLaMA-3.1 RoPE
scaling) now give Hugging Face's logits, and a sweep changes every field in turn.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.architecture.decoder import (
    CausalSelfAttention,
    DecoderBlock,
)
from transformer_atlas.common.threads import single_thread
from transformer_atlas.families.decoder_only import (
    GPT,
    GPTConfig,
    baby_gpt_config,
    count_parameters,
    gpt2_config,
    llama_config,
)
from transformer_atlas.families.hf_interop import (
    GPT2_FIELDS,
    LLAMA_FIELDS,
    gpt2_config_from_hf,
    llama_config_from_hf,
    load_hf_gpt2,
    load_hf_llama,
)
from transformer_atlas.inference.kv_cache import KVCache, kv_cache_bytes

transformers.logging.set_verbosity_error()


def hf_gpt2(
    n_layer: int, n_embd: int, n_head: int, vocab: int = 97, n_positions: int = 64, seed: int = 0
):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        vocab_size=vocab,
        n_positions=n_positions,
        bos_token_id=0,
        eos_token_id=0,
        initializer_range=0.1,
    )
    return transformers.GPT2LMHeadModel(config).eval()


def hf_llama(
    n_layer: int,
    d: int,
    n_head: int,
    n_kv: int,
    ffn: int,
    vocab: int = 97,
    theta: float = 10000.0,
    seed: int = 0,
):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        num_hidden_layers=n_layer,
        hidden_size=d,
        num_attention_heads=n_head,
        num_key_value_heads=n_kv,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_position_embeddings=64,
        rope_theta=theta,
        initializer_range=0.1,
        bos_token_id=0,
        eos_token_id=0,
    )
    return transformers.LlamaForCausalLM(config).eval()


def ours_gpt2(hf) -> GPT:
    return load_hf_gpt2(GPT(gpt2_config_from_hf(hf.config)), hf).eval()


def ours_llama(hf) -> GPT:
    return load_hf_llama(GPT(llama_config_from_hf(hf.config)), hf).eval()


# ======================================================== equal to HF
@pytest.mark.parametrize(
    ("n_layer", "n_embd", "n_head", "batch", "seq"),
    [(1, 32, 2, 1, 7), (2, 48, 4, 3, 16), (3, 64, 8, 2, 64)],
)
def test_gpt2_logits_equal_hugging_face(n_layer, n_embd, n_head, batch, seq):
    hf = hf_gpt2(n_layer, n_embd, n_head)
    ours = ours_gpt2(hf)
    idx = torch.randint(0, 97, (batch, seq), generator=torch.Generator().manual_seed(seq))
    with torch.no_grad():
        theirs = hf(idx).logits
        mine = ours(idx)
    assert theirs.abs().max() > 1.0  # weights large enough to matter
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("n_layer", "d", "n_head", "n_kv", "ffn", "theta", "seq"),
    [
        (1, 32, 4, 4, 48, 10000.0, 9),  # MHA
        (2, 64, 8, 2, 96, 10000.0, 33),  # GQA: 4 queries per K/V head
        (2, 48, 4, 1, 80, 500000.0, 64),  # MQA, LLaMA-3's RoPE base
    ],
)
def test_llama_logits_equal_hugging_face(n_layer, d, n_head, n_kv, ffn, theta, seq):
    hf = hf_llama(n_layer, d, n_head, n_kv, ffn, theta=theta)
    ours = ours_llama(hf)
    assert ours.config.kv_heads == n_kv and ours.config.rope_base == theta
    idx = torch.randint(0, 97, (2, seq), generator=torch.Generator().manual_seed(seq))
    with torch.no_grad():
        theirs = hf(idx).logits
        mine = ours(idx)
    assert theirs.abs().max() > 1.0
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)


def test_equal_in_float64_to_round_off():
    """In float64 our GPT-2 equals HF's to ~1e-15: the same function.

    LLaMA agrees to ~4e-7 in float64: Hugging Face computes the RoPE
    angles in float32 whatever the model's dtype (its rotary embedding
    casts to ``.float()``), ours in float64.
    """
    for hf, convert, atol in (
        (hf_gpt2(2, 32, 4), ours_gpt2, 1e-12),
        (hf_llama(2, 32, 4, 2, 40), ours_llama, 2e-6),
    ):
        hf = hf.double()
        ours = convert(hf).double()
        idx = torch.randint(0, 97, (2, 20))
        with torch.no_grad():
            torch.testing.assert_close(ours(idx), hf(idx).logits, atol=atol, rtol=0)


def test_loading_checks_shapes():
    hf = hf_gpt2(1, 32, 2)
    wrong = GPT(gpt2_config(n_layers=1, d_model=64, n_heads=2, vocab_size=97, max_seq_len=64))
    with pytest.raises(ValueError, match="cannot copy a tensor of shape"):
        load_hf_gpt2(wrong, hf)


# ======================================================== every config field: read or refused
TINY_GPT2 = dict(
    n_layer=2, n_embd=32, n_head=4, vocab_size=97, n_positions=64, initializer_range=0.1
)
TINY_LLAMA = dict(
    num_hidden_layers=2,
    hidden_size=32,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=48,
    vocab_size=97,
    max_position_embeddings=64,
    initializer_range=0.1,
)
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 10000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 16,
}


def _perturbed(hf):
    """Nudge every weight, so biases (initialised to 0) and norm gains (1) matter."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return hf.eval()


def hf_model(family: str, **changes):
    """A tiny HF GPT-2 or LLaMA with ``changes`` to its config, weights nudged."""
    torch.manual_seed(0)
    if family == "gpt2":
        config = transformers.GPT2Config(**{**TINY_GPT2, **changes})
        return _perturbed(transformers.GPT2LMHeadModel(config))
    config = transformers.LlamaConfig(**{**TINY_LLAMA, **changes})
    return _perturbed(transformers.LlamaForCausalLM(config))


def convert(family: str, hf) -> GPT:
    return ours_gpt2(hf) if family == "gpt2" else ours_llama(hf)


def assert_logits_equal(family: str, hf, ours: GPT, dtype=torch.float32) -> None:
    """Ours == HF on a batch of 2 x 24 tokens: 1e-5 in float32; GPT-2 1e-12, LLaMA 2e-6 in
    float64 (HF computes LLaMA's RoPE angles in float32, see test_equal_in_float64...)."""
    atol = 1e-5 if dtype == torch.float32 else (1e-12 if family == "gpt2" else 2e-6)
    idx = torch.randint(0, 97, (2, 24), generator=torch.Generator().manual_seed(5))
    # return_dict=False only changes what forward returns, yet HF's GPT-2 forward fails with
    # it (transformers 5.25: GPT2Model returns a tuple its head does not expect); reset it
    hf.config.return_dict = True
    with torch.no_grad():
        theirs = hf.to(dtype)(idx).logits
        torch.testing.assert_close(ours.to(dtype)(idx), theirs, atol=atol, rtol=0)
    assert theirs.abs().max() > 1.0


# the four settings the converters once dropped, and what dropping them meant in our config
ONCE_DROPPED = [
    ("gpt2", {"activation_function": "gelu"}, {"ffn": "gelu_tanh"}),
    ("gpt2", {"tie_word_embeddings": False}, {"tie_embeddings": True}),
    ("llama", {"attention_bias": True}, {"bias": False}),
    ("llama", {"rope_parameters": LLAMA3_ROPE}, {"rope_scaling": None}),
]


@pytest.mark.parametrize(
    ("family", "setting", "dropped"), ONCE_DROPPED, ids=[next(iter(s)) for _, s, _ in ONCE_DROPPED]
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_settings_once_dropped_now_give_hugging_faces_logits(family, setting, dropped, dtype):
    hf = hf_model(family, **setting)
    ours = convert(family, hf).eval()
    assert_logits_equal(family, hf, ours, dtype)
    # the setting matters: the same weights without it are far from HF's logits
    without = GPT(replace(ours.config, **dropped)).to(dtype).eval()
    without.load_state_dict(ours.state_dict(), strict=False)  # drops b_*, w_out
    idx = torch.randint(0, 97, (2, 24), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert (without(idx) - hf(idx).logits).abs().max() > 1e-4


def test_llama_mlp_bias_is_refused_by_name():
    hf = hf_model("llama", mlp_bias=True)
    with pytest.raises(ValueError, match=r"mlp_bias=True is not supported; supported: \[False\]"):
        ours_llama(hf)


def test_rope_types_other_than_default_and_llama3_are_refused():
    config = transformers.LlamaConfig(
        **TINY_LLAMA, rope_parameters={"rope_type": "linear", "factor": 2.0}
    )
    with pytest.raises(
        ValueError,
        match=r"rope_parameters=\{'rope_type': 'linear', .* is not "
        "supported; supported: rope_type 'default' with "
        "rope_theta, or 'llama3' with rope_theta and factor",
    ):
        llama_config_from_hf(config)


def test_legacy_rope_scaling_argument_is_read():
    """transformers 4's ``rope_scaling=...`` and ``rope_theta=...`` arrive as rope_parameters."""
    legacy = {k: v for k, v in LLAMA3_ROPE.items() if k != "rope_theta"}
    config = transformers.LlamaConfig(**TINY_LLAMA, rope_scaling=legacy, rope_theta=5e5)
    ours = llama_config_from_hf(config)
    assert ours.rope_base == 5e5
    assert ours.rope_scaling == {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_len": 16,
    }


def test_loading_refuses_a_model_that_computes_something_else():
    """A model whose config disagrees with HF's in a way no shape shows is refused."""
    hf = hf_model("gpt2", activation_function="gelu")
    wrong = GPT(gpt2_config_from_hf(transformers.GPT2Config(**TINY_GPT2)))  # tanh GELU
    with pytest.raises(
        ValueError, match="model.config.ffn='gelu_tanh' but the Hugging Face model needs ffn='gelu'"
    ):
        load_hf_gpt2(wrong, hf)
    hf = hf_model("llama")
    hf.extra = torch.nn.Parameter(torch.zeros(3))  # a tensor our model has no place for
    with pytest.raises(ValueError, match=r"no place for Hugging Face tensors \['extra'\]"):
        ours_llama(hf)


def test_the_other_familys_config_is_refused_by_model_type():
    """model_type is not in the sweep (to_dict() always writes the class's own)."""
    with pytest.raises(
        ValueError,
        match="model_type='llama' is not supported; supported: "
        r"\['gpt2'\]",
    ):
        gpt2_config_from_hf(transformers.LlamaConfig(**TINY_LLAMA))
    with pytest.raises(ValueError, match="model_type='gpt2'"):
        llama_config_from_hf(transformers.GPT2Config(**TINY_GPT2))


# field -> [(a non-default value, what must happen)]: "equal" (ours == HF) or "refused"
# (a ValueError naming the field). Fields that do not appear in a default to_dict() (set by
# hub configs or other heads) are swept too, and so is a field no version of transformers has.
GPT2_SWEEP = {
    "architectures": [(["GPT2LMHeadModel"], "equal")],
    "output_hidden_states": [(True, "equal")],
    "output_attentions": [(True, "equal")],
    "return_dict": [(False, "equal")],
    "dtype": [("float64", "equal")],
    "chunk_size_feed_forward": [(4, "equal")],
    "is_encoder_decoder": [(True, "equal")],
    "id2label": [({0: "a", 1: "b", 2: "c"}, "equal")],
    "label2id": [({"a": 0, "b": 1, "c": 2}, "equal")],
    "problem_type": [("regression", "equal")],
    "_name_or_path": [("somewhere/gpt2", "equal")],
    "vocab_size": [(101, "equal")],
    "n_positions": [(40, "equal")],
    "n_embd": [(48, "equal")],
    "n_layer": [(3, "equal")],
    "n_head": [(2, "equal")],
    "n_inner": [(40, "equal")],
    "activation_function": [
        ("gelu", "equal"),
        ("gelu_python", "equal"),
        ("gelu_pytorch_tanh", "equal"),
        ("relu", "equal"),
        ("silu", "equal"),
        ("swish", "equal"),
        ("quick_gelu", "refused"),
        ("gelu_fast", "refused"),
        ("tanh", "refused"),
    ],
    "resid_pdrop": [(0.5, "equal")],
    "embd_pdrop": [(0.5, "equal")],
    "attn_pdrop": [(0.5, "equal")],
    "layer_norm_epsilon": [(1e-2, "equal")],
    "initializer_range": [(0.2, "equal")],
    "summary_type": [("mean", "equal")],
    "summary_use_proj": [(False, "equal")],
    "summary_activation": [("tanh", "equal")],
    "summary_proj_to_labels": [(False, "equal")],
    "summary_first_dropout": [(0.5, "equal")],
    "scale_attn_weights": [(False, "refused")],
    "use_cache": [(False, "equal")],
    "bos_token_id": [(5, "equal")],
    "eos_token_id": [([5, 6], "equal")],
    "pad_token_id": [(7, "equal")],
    "scale_attn_by_inverse_layer_idx": [(True, "refused")],
    "reorder_and_upcast_attn": [(True, "equal")],
    "add_cross_attention": [(True, "refused")],
    "tie_word_embeddings": [(False, "equal")],
    # not in a default to_dict(): GPT-2's hub config and other heads
    "n_ctx": [(5, "equal")],
    "task_specific_params": [({"text-generation": {"do_sample": True}}, "equal")],
    "summary_last_dropout": [(0.5, "equal")],
    "classifier_dropout": [(0.5, "equal")],
    "hidden_dropout": [(0.5, "equal")],
    "no_such_field": [(1, "refused")],
}
LLAMA_SWEEP = {
    **{
        f: GPT2_SWEEP[f]
        for f in (
            "architectures",
            "output_hidden_states",
            "output_attentions",
            "return_dict",
            "dtype",
            "chunk_size_feed_forward",
            "is_encoder_decoder",
            "id2label",
            "label2id",
            "problem_type",
            "_name_or_path",
            "initializer_range",
            "use_cache",
            "bos_token_id",
            "eos_token_id",
            "pad_token_id",
            "tie_word_embeddings",
            "no_such_field",
        )
    },
    "tie_word_embeddings": [(True, "equal")],
    "vocab_size": [(101, "equal")],
    "hidden_size": [(48, "equal")],
    "intermediate_size": [(40, "equal")],
    "num_hidden_layers": [(3, "equal")],
    "num_attention_heads": [(2, "equal"), (8, "equal")],
    "num_key_value_heads": [(4, "equal"), (1, "equal")],
    "hidden_act": [("swish", "equal"), ("gelu", "refused"), ("relu", "refused")],
    "max_position_embeddings": [(40, "equal")],
    "rms_norm_eps": [(1e-2, "equal")],
    "pretraining_tp": [(2, "equal")],
    "rope_parameters": [
        ({"rope_type": "default", "rope_theta": 500000.0}, "equal"),
        (LLAMA3_ROPE, "equal"),
        ({"rope_type": "linear", "factor": 2.0}, "refused"),
        ({"rope_type": "dynamic", "factor": 2.0}, "refused"),
        ({"rope_type": "yarn", "factor": 2.0}, "refused"),
        ({"rope_type": "default", "partial_rotary_factor": 0.5}, "refused"),
    ],
    "attention_bias": [(True, "equal")],
    "attention_dropout": [(0.5, "equal")],
    "mlp_bias": [(True, "refused")],
    "head_dim": [(16, "refused")],
}
# to_dict() always writes these two itself, so a config cannot change them
SWEEP_SKIPPED = {
    "transformers_version": "to_dict() writes the running version",
    "model_type": "to_dict() writes the class's own (see test_the_other_familys_config...)",
}
SWEEP = {"gpt2": GPT2_SWEEP, "llama": LLAMA_SWEEP}
FIELDS = {"gpt2": GPT2_FIELDS, "llama": LLAMA_FIELDS}
DEFAULT_CONFIG = {"gpt2": transformers.GPT2Config, "llama": transformers.LlamaConfig}


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_the_sweep_covers_every_field(family):
    """Every field of a default config and of the converter's table is swept or skipped."""
    fields = set(DEFAULT_CONFIG[family]().to_dict()) | set(FIELDS[family])
    assert fields - set(SWEEP_SKIPPED) <= set(SWEEP[family])


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_every_hf_config_field_is_read_or_refused(family):
    """Change each field in turn: ours == HF, or a ValueError naming the field."""
    outcomes = {}
    with single_thread():  # tiny matrices; the machine is shared
        for field, cases in SWEEP[family].items():
            for value, expected in cases:
                change = {"name_or_path" if field == "_name_or_path" else field: value}
                hf = hf_model(family, **change)
                try:
                    ours = convert(family, hf)
                except ValueError as error:
                    assert f"{field}={value!r}" in str(error), (field, str(error))
                    outcomes[field, repr(value)] = "refused"
                    continue
                assert_logits_equal(family, hf, ours)
                outcomes[field, repr(value)] = "equal"
    wanted = {(f, repr(v)): e for f, cases in SWEEP[family].items() for v, e in cases}
    assert outcomes == wanted


# ======================================================== causality
@settings(max_examples=15, deadline=None)
@given(t=st.integers(0, 15), family=st.sampled_from(["gpt2", "llama"]))
def test_a_future_token_never_changes_earlier_logits(t: int, family: str):
    """Changing token t changes no logits at positions < t."""
    torch.manual_seed(1)
    make = gpt2_config if family == "gpt2" else llama_config
    config = make(vocab_size=50, max_seq_len=16, n_layers=2, n_heads=4, d_model=32)
    model = GPT(config).eval()
    idx = torch.randint(0, 50, (1, 16))
    changed = idx.clone()
    changed[0, t] = (idx[0, t] + 1) % 50
    with torch.no_grad():
        a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :t], b[:, :t], atol=1e-6, rtol=0)
    assert not torch.allclose(a[:, t], b[:, t], atol=1e-4)


# ======================================================== parameter counts
def test_gpt2_small_has_124_439_808_parameters():
    """'... 124,439,808 with tied embeddings' (the page's formula)."""
    assert count_parameters(gpt2_config()) == 124_439_808
    with torch.device("meta"):
        hf = transformers.GPT2LMHeadModel(transformers.GPT2Config())
        ours = GPT(gpt2_config())
    assert sum(p.numel() for p in hf.parameters()) == 124_439_808
    assert sum(p.numel() for p in ours.parameters()) == 124_439_808


def test_llama2_7b_count_equals_hugging_face():
    """LLaMA-2 7B: 6,738,415,616 parameters (meta device: no memory)."""
    config = llama_config()
    hf_config = transformers.LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
    )
    with torch.device("meta"):
        hf = transformers.LlamaForCausalLM(hf_config)
        ours = GPT(config)
    expected = sum(p.numel() for p in hf.parameters())
    assert expected == 6_738_415_616
    assert count_parameters(config) == expected
    assert sum(p.numel() for p in ours.parameters()) == expected


@settings(max_examples=30, deadline=None)
@given(
    n_layers=st.integers(1, 3),
    n_heads=st.sampled_from([1, 2, 4]),
    kv_div=st.sampled_from([1, 2, 4]),
    head=st.sampled_from([4, 8]),
    norm=st.sampled_from(["layer", "rms"]),
    positions=st.sampled_from(["learned", "rope"]),
    ffn=st.sampled_from(["gelu_tanh", "swiglu", "relu"]),
    bias=st.booleans(),
    tie=st.booleans(),
    d_ff=st.one_of(st.none(), st.integers(1, 40)),
)
def test_formula_equals_the_real_count(
    n_layers, n_heads, kv_div, head, norm, positions, ffn, bias, tie, d_ff
):
    n_kv = max(1, n_heads // kv_div)
    config = GPTConfig(
        vocab_size=31,
        max_seq_len=12,
        n_layers=n_layers,
        n_heads=n_heads,
        d_model=n_heads * head,
        n_kv_heads=n_kv,
        d_ff=d_ff,
        norm=norm,
        positions=positions,
        ffn=ffn,
        bias=bias,
        tie_embeddings=tie,
    )
    model = GPT(config)
    assert count_parameters(config) == sum(p.numel() for p in model.parameters())


def test_baby_gpt_is_nanogpts_configuration():
    c = baby_gpt_config(65)
    assert (c.n_layers, c.n_heads, c.d_model, c.max_seq_len) == (4, 4, 128, 64)
    assert c.bias is False and c.dropout == 0.0 and c.tie_embeddings
    assert c.ffn == "gelu"
    # nanoGPT prints "number of parameters: 0.80M" (positions excluded)
    assert count_parameters(c) - 64 * 128 == 795_904


# ======================================================== initialisation
def test_gpt2_initialisation_scales_residual_projections():
    torch.manual_seed(0)
    model = GPT(gpt2_config(n_layers=8, d_model=256, n_heads=4, vocab_size=512, max_seq_len=128))
    block = model.blocks[0]
    residual = 0.02 / math.sqrt(2 * 8)
    for w, std in (
        (block.attn.w_q, 0.02),
        (block.ffn.w_1, 0.02),
        (model.tok.weight, 0.02),
        (block.attn.w_o, residual),
        (block.ffn.w_2, residual),
    ):
        assert abs(w.std().item() - std) < 0.08 * std
    assert torch.all(block.attn.b_q == 0) and torch.all(block.norm_attn.gamma == 1)


# ======================================================== the KV cache
@pytest.mark.parametrize("family", ["gpt2", "llama"])
@pytest.mark.parametrize("chunks", [[20], [1] * 20, [7, 1, 1, 11], [5, 15]])
def test_cache_reproduces_the_full_forward(family, chunks):
    """Any split of the sequence into cached chunks gives the same logits."""
    torch.manual_seed(2)
    make = gpt2_config if family == "gpt2" else llama_config
    model = GPT(
        make(
            vocab_size=40,
            max_seq_len=24,
            n_layers=2,
            n_heads=4,
            n_kv_heads=2 if family == "llama" else None,
            d_model=32,
        )
    ).eval()
    idx = torch.randint(0, 40, (3, 20))
    cache = model.new_cache(3)
    outs, start = [], 0
    with torch.no_grad():
        full = model(idx)
        for n in chunks:
            outs.append(model(idx[:, start : start + n], cache))
            start += n
    assert cache.length == 20
    torch.testing.assert_close(torch.cat(outs, dim=1), full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_cache_allocates_exactly_the_formula(dtype):
    for sizes in ((12, 1, 12, 1024, 64), (2, 3, 2, 17, 8), (32, 2, 8, 64, 128)):
        cache = KVCache(*sizes, dtype=dtype)
        assert cache.nbytes == kv_cache_bytes(*sizes, dtype=dtype)


def test_model_cache_uses_kv_heads():
    model = GPT(
        llama_config(vocab_size=10, max_seq_len=16, n_layers=3, n_heads=8, n_kv_heads=2, d_model=64)
    )
    cache = model.new_cache(batch=2)
    assert tuple(cache.k.shape) == (3, 2, 2, 16, 8)
    assert cache.nbytes == kv_cache_bytes(3, 2, 2, 16, 8)


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="positive multiple of n_heads"):
        GPTConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="positions must be"):
        GPTConfig(positions="alibi")
    with pytest.raises(ValueError, match="positive int"):
        kv_cache_bytes(0, 1, 1, 1, 1)
    model = GPT(gpt2_config(vocab_size=10, max_seq_len=8, n_layers=1, n_heads=2, d_model=8))
    with pytest.raises(ValueError, match="context holds max_seq_len=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    cache = model.new_cache(1, max_len=4)
    with pytest.raises(ValueError, match="holds max_len=4"):
        model(torch.zeros(1, 5, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="k_new must be"):
        cache.update(0, torch.zeros(1, 2, 1, 3), torch.zeros(1, 2, 1, 4))
    block = DecoderBlock(8, 2, 16)
    with pytest.raises(ValueError, match="memory must be given exactly"):
        block(torch.zeros(1, 3, 8), memory=torch.zeros(1, 2, 8))
    with pytest.raises(ValueError, match="last dimension d_model=8"):
        CausalSelfAttention(8, 2)(torch.zeros(1, 3, 6))
