"""Copy Hugging Face GPT-2 and LLaMA weights into the guide's :class:`GPT`.

These functions are how the tests prove that our models *are* GPT-2 and
LLaMA: build a Hugging Face model from a small config with random weights
(no download), copy its weights here, and compare the logits.

Two layout facts do all the work. GPT-2's ``Conv1D`` layers already store
``W [d_in, d_out]`` and compute ``x @ W + b``, our convention, and its
``c_attn`` holds ``W_Q | W_K | W_V`` side by side. LLaMA's ``nn.Linear``
layers store ``W^T [d_out, d_in]``, so each is transposed.
"""

from __future__ import annotations

# --8<-- [start:imports]
from typing import Any

import torch
from torch import nn

from transformer_atlas.families.decoder_only import GPT, GPTConfig, gpt2_config, llama_config
# --8<-- [end:imports]

__all__ = [
    "gpt2_config_from_hf",
    "llama_config_from_hf",
    "load_hf_gpt2",
    "load_hf_llama",
]


def gpt2_config_from_hf(hf_config: Any) -> GPTConfig:
    """Our :class:`GPTConfig` for a ``transformers.GPT2Config``."""
    return gpt2_config(
        vocab_size=hf_config.vocab_size,
        max_seq_len=hf_config.n_positions,
        n_layers=hf_config.n_layer,
        n_heads=hf_config.n_head,
        d_model=hf_config.n_embd,
        d_ff=hf_config.n_inner or 4 * hf_config.n_embd,
        norm_eps=hf_config.layer_norm_epsilon,
    )


def llama_config_from_hf(hf_config: Any) -> GPTConfig:
    """Our :class:`GPTConfig` for a ``transformers.LlamaConfig``."""
    rope = getattr(hf_config, "rope_parameters", None) or {}
    return llama_config(
        vocab_size=hf_config.vocab_size,
        max_seq_len=hf_config.max_position_embeddings,
        n_layers=hf_config.num_hidden_layers,
        n_heads=hf_config.num_attention_heads,
        n_kv_heads=hf_config.num_key_value_heads,
        d_model=hf_config.hidden_size,
        d_ff=hf_config.intermediate_size,
        norm_eps=hf_config.rms_norm_eps,
        rope_base=rope.get("rope_theta", 10000.0),
        tie_embeddings=hf_config.tie_word_embeddings,
    )


def _copy(dst: nn.Parameter | None, src: torch.Tensor) -> None:
    if dst is None or dst.shape != src.shape:
        got = None if dst is None else tuple(dst.shape)
        raise ValueError(
            f"cannot copy a tensor of shape {tuple(src.shape)} into {got}"
        )
    with torch.no_grad():
        dst.copy_(src)


# --8<-- [start:gpt2]
def load_hf_gpt2(model: GPT, hf_model: nn.Module) -> GPT:
    """Copy a ``GPT2LMHeadModel``'s weights into ``model``; return it."""
    hf = {k: v.detach() for k, v in hf_model.state_dict().items()}
    d = model.config.d_model
    _copy(model.tok.weight, hf["transformer.wte.weight"])
    _copy(model.pos.weight, hf["transformer.wpe.weight"])
    for i, block in enumerate(model.blocks):
        p = f"transformer.h.{i}."
        w_q, w_k, w_v = hf[p + "attn.c_attn.weight"].split(d, dim=1)
        b_q, b_k, b_v = hf[p + "attn.c_attn.bias"].split(d)
        attn, ffn = block.attn, block.ffn
        pairs = [
            (block.norm_attn.gamma, p + "ln_1.weight"),
            (block.norm_attn.beta, p + "ln_1.bias"),
            (attn.w_o, p + "attn.c_proj.weight"),
            (attn.b_o, p + "attn.c_proj.bias"),
            (block.norm_ffn.gamma, p + "ln_2.weight"),
            (block.norm_ffn.beta, p + "ln_2.bias"),
            (ffn.w_1, p + "mlp.c_fc.weight"),
            (ffn.b_1, p + "mlp.c_fc.bias"),
            (ffn.w_2, p + "mlp.c_proj.weight"),
            (ffn.b_2, p + "mlp.c_proj.bias"),
        ]
        for dst, key in pairs:
            _copy(dst, hf[key])  # Conv1D: already [d_in, d_out]
        for dst, src in zip(
            (attn.w_q, attn.w_k, attn.w_v, attn.b_q, attn.b_k, attn.b_v),
            (w_q, w_k, w_v, b_q, b_k, b_v),
        ):
            _copy(dst, src)
    _copy(model.norm_f.gamma, hf["transformer.ln_f.weight"])
    _copy(model.norm_f.beta, hf["transformer.ln_f.bias"])
    return model  # the head is tied to wte, as in GPT-2
# --8<-- [end:gpt2]


# --8<-- [start:llama]
def load_hf_llama(model: GPT, hf_model: nn.Module) -> GPT:
    """Copy a ``LlamaForCausalLM``'s weights into ``model``; return it."""
    hf = {k: v.detach() for k, v in hf_model.state_dict().items()}
    _copy(model.tok.weight, hf["model.embed_tokens.weight"])
    for i, block in enumerate(model.blocks):
        p = f"model.layers.{i}."
        attn, ffn = block.attn, block.ffn
        _copy(block.norm_attn.gamma, hf[p + "input_layernorm.weight"])
        _copy(block.norm_ffn.gamma, hf[p + "post_attention_layernorm.weight"])
        linear = [  # nn.Linear stores W^T: transpose
            (attn.w_q, "self_attn.q_proj"),
            (attn.w_k, "self_attn.k_proj"),
            (attn.w_v, "self_attn.v_proj"),
            (attn.w_o, "self_attn.o_proj"),
            (ffn.w_gate, "mlp.gate_proj"),
            (ffn.w_up, "mlp.up_proj"),
            (ffn.w_down, "mlp.down_proj"),
        ]
        for dst, key in linear:
            _copy(dst, hf[p + key + ".weight"].T)
    _copy(model.norm_f.gamma, hf["model.norm.weight"])
    if not model.config.tie_embeddings:
        _copy(model.head.w_out, hf["lm_head.weight"].T)
    return model
# --8<-- [end:llama]
