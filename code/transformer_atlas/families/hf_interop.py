"""Copy Hugging Face GPT-2 and LLaMA weights into the guide's :class:`GPT`.

These functions are how the tests prove that our models *are* GPT-2 and
LLaMA: build a Hugging Face model from a small config with random weights
(no download), copy its weights here, and compare the logits.

Two layout facts do all the work. GPT-2's ``Conv1D`` layers already store
``W [d_in, d_out]`` and compute ``x @ W + b``, our convention, and its
``c_attn`` holds ``W_Q | W_K | W_V`` side by side. LLaMA's ``nn.Linear``
layers store ``W^T [d_out, d_in]``, so each is transposed.

A converter must not build a different model quietly. Every field of the
Hugging Face config (every key of its ``to_dict()``) is read into our
:class:`GPTConfig`, or listed below as having no effect on the logits, or
refused with a ``ValueError`` that names it, its value and what is
supported; an unknown field is refused too. Loading then copies every
tensor of the Hugging Face model, or raises.
"""

from __future__ import annotations

# --8<-- [start:imports]
from typing import Any

import torch
from torch import nn

from transformer_atlas.families.decoder_only import (
    GPT,
    GPTConfig,
    gpt2_config,
    llama_config,
)

# --8<-- [end:imports]

__all__ = [
    "NO_EFFECT",
    "GPT2_FIELDS",
    "LLAMA_FIELDS",
    "gpt2_config_from_hf",
    "llama_config_from_hf",
    "load_hf_gpt2",
    "load_hf_llama",
]


# --8<-- [start:fields]
#: Fields that leave the logits of an eval-mode forward pass unchanged,
#: with the reason. Every config class has the first block.
NO_EFFECT = {
    "transformers_version": "bookkeeping",
    "architectures": "bookkeeping: the classes the weights were saved from",
    "_name_or_path": "bookkeeping: where the config was read from",
    "dtype": "the dtype weights are loaded in; ours is the caller's model's",
    "output_hidden_states": "what forward returns besides the logits",
    "output_attentions": "what forward returns besides the logits",
    "return_dict": "what forward returns besides the logits",
    "use_cache": "whether generation keeps a KV cache",
    "bos_token_id": "token ids are for tokenizers and generation",
    "eos_token_id": "token ids are for tokenizers and generation",
    "pad_token_id": "padding: LLaMA's padding_idx only zeroes a row at init",
    "is_encoder_decoder": "read by generate(), not by the forward pass",
    "chunk_size_feed_forward": "unused by GPT-2 and LLaMA",
    "id2label": "classification heads only",
    "label2id": "classification heads only",
    "problem_type": "classification heads only",
    "initializer_range": "initialisation only: the weights are copied",
}
_DROPOUT = "dropout is the identity in eval mode: call .eval()"
_GPT2_NO_EFFECT = {
    "resid_pdrop": _DROPOUT,
    "embd_pdrop": _DROPOUT,
    "attn_pdrop": _DROPOUT,
    "reorder_and_upcast_attn": "the same scores, upcast to float32",
    "n_ctx": "old name of n_positions in GPT-2's hub config; unused",
    "task_specific_params": "generation settings in GPT-2's hub config",
    **{
        name: "GPT2DoubleHeadsModel's or a classifier's head only"
        for name in (
            "summary_type",
            "summary_use_proj",
            "summary_activation",
            "summary_proj_to_labels",
            "summary_first_dropout",
            "summary_last_dropout",
            "classifier_dropout",
            "hidden_dropout",
        )
    },
}
_LLAMA_NO_EFFECT = {
    "attention_dropout": _DROPOUT,
    "pretraining_tp": "ignored by transformers 5 (same matmuls, sliced)",
}

#: Field -> {supported value: our value (None: nothing to set)}; any
#: other value is refused.
_GPT2_CHOICES: dict[str, dict[Any, Any]] = {
    "model_type": {"gpt2": None},
    "activation_function": {  # HF name -> our FeedForward activation
        "gelu_new": "gelu_tanh",  # GPT-2's own tanh approximation
        "gelu_pytorch_tanh": "gelu_tanh",
        "gelu": "gelu",  # the exact erf GELU
        "gelu_python": "gelu",
        "relu": "relu",
        "silu": "silu",
        "swish": "silu",
    },
    "scale_attn_weights": {True: None},  # we always divide by sqrt(d)
    "scale_attn_by_inverse_layer_idx": {False: None},  # no 1/(layer+1)
    "add_cross_attention": {False: None},  # decoder-only: none
}
_LLAMA_CHOICES: dict[str, dict[Any, Any]] = {
    "model_type": {"llama": None},
    "hidden_act": {"silu": None, "swish": None},  # SwiGLU's gate
    "mlp_bias": {False: None},  # our SwiGLU has no biases
}

#: Every field of ``GPT2Config`` / ``LlamaConfig`` and what happens to it:
#: "read" (into our config), "choice" (see the tables) or "no effect".
GPT2_FIELDS = {
    **{f: "no effect" for f in NO_EFFECT | _GPT2_NO_EFFECT},
    **{f: "choice" for f in _GPT2_CHOICES},
    **{
        f: "read"
        for f in (
            "vocab_size",  # -> vocab_size
            "n_positions",  # -> max_seq_len
            "n_layer",  # -> n_layers
            "n_head",  # -> n_heads
            "n_embd",  # -> d_model
            "n_inner",  # -> d_ff (None: 4 d_model)
            "layer_norm_epsilon",  # -> norm_eps
            "tie_word_embeddings",  # -> tie_embeddings
        )
    },
}
LLAMA_FIELDS = {
    **{f: "no effect" for f in NO_EFFECT | _LLAMA_NO_EFFECT},
    **{f: "choice" for f in _LLAMA_CHOICES},
    **{
        f: "read"
        for f in (
            "vocab_size",  # -> vocab_size
            "max_position_embeddings",  # -> max_seq_len
            "num_hidden_layers",  # -> n_layers
            "num_attention_heads",  # -> n_heads
            "num_key_value_heads",  # -> n_kv_heads (GQA)
            "hidden_size",  # -> d_model
            "intermediate_size",  # -> d_ff
            "head_dim",  # must be hidden_size / num_attention_heads
            "rms_norm_eps",  # -> norm_eps
            "tie_word_embeddings",  # -> tie_embeddings
            "attention_bias",  # -> bias (b_Q, b_K, b_V, b_O)
            "rope_parameters",  # -> rope_base, rope_scaling
        )
    },
}
# --8<-- [end:fields]


def _check_fields(
    hf_config: Any, family: str, fields: dict[str, str], choices: dict
) -> dict[str, Any]:
    """Refuse unknown fields and unsupported values; return ours."""
    ours = {}
    items = hf_config.to_dict()
    items = {"model_type": items.pop("model_type", None), **items}  # first
    for field, value in items.items():
        if field not in fields:
            raise ValueError(
                f"{family} config field {field}={value!r} is unknown to "
                "this converter: it reads, checks or ignores only the "
                "fields in hf_interop.py's tables"
            )
        if field in choices:
            if value not in choices[field]:
                raise ValueError(
                    f"{family} config field {field}={value!r} is not "
                    f"supported; supported: {list(choices[field])}"
                )
            ours[field] = choices[field][value]
    return ours


def gpt2_config_from_hf(hf_config: Any) -> GPTConfig:
    """Our :class:`GPTConfig` for a ``transformers.GPT2Config``.

    Raises ``ValueError`` for a field we cannot honour (see the tables).
    """
    ours = _check_fields(hf_config, "GPT-2", GPT2_FIELDS, _GPT2_CHOICES)
    return gpt2_config(
        vocab_size=hf_config.vocab_size,
        max_seq_len=hf_config.n_positions,
        n_layers=hf_config.n_layer,
        n_heads=hf_config.n_head,
        d_model=hf_config.n_embd,
        d_ff=hf_config.n_inner,  # None: 4 d_model, as in GPT-2
        ffn=ours["activation_function"],
        norm_eps=hf_config.layer_norm_epsilon,
        tie_embeddings=hf_config.tie_word_embeddings,
    )


#: The keys of LLaMA-3.1's ``rope_parameters`` -> our ``rope_scaling``.
_LLAMA3_KEYS = {
    "factor": "factor",
    "low_freq_factor": "low_freq_factor",
    "high_freq_factor": "high_freq_factor",
    "original_max_position_embeddings": "original_max_len",
}


def _rope_from_hf(rope: dict[str, Any]) -> tuple[float, dict | None]:
    """``rope_parameters`` -> our ``(rope_base, rope_scaling)``."""
    rope_type = rope.get("rope_type", "default")
    supported = {"default": {}, "llama3": _LLAMA3_KEYS}
    keys = supported.get(rope_type)
    extra = None if keys is None else set(rope) - {"rope_type", "rope_theta"}
    if keys is None or extra != set(keys):
        raise ValueError(
            f"LLaMA config field rope_parameters={rope!r} is not supported; "
            "supported: rope_type 'default' with rope_theta, or 'llama3' "
            f"with rope_theta and {', '.join(_LLAMA3_KEYS)}"
        )
    scaling = {ours: rope[hf] for hf, ours in keys.items()} or None
    return rope.get("rope_theta", 10000.0), scaling


def llama_config_from_hf(hf_config: Any) -> GPTConfig:
    """Our :class:`GPTConfig` for a ``transformers.LlamaConfig``.

    Raises ``ValueError`` for a field we cannot honour (see the tables).
    """
    _check_fields(hf_config, "LLaMA", LLAMA_FIELDS, _LLAMA_CHOICES)
    d, heads = hf_config.hidden_size, hf_config.num_attention_heads
    if hf_config.head_dim != d // heads:
        raise ValueError(
            f"LLaMA config field head_dim={hf_config.head_dim} is not "
            f"supported; supported: hidden_size / num_attention_heads "
            f"= {d // heads}"
        )
    rope_base, rope_scaling = _rope_from_hf(hf_config.rope_parameters)
    return llama_config(
        vocab_size=hf_config.vocab_size,
        max_seq_len=hf_config.max_position_embeddings,
        n_layers=hf_config.num_hidden_layers,
        n_heads=heads,
        n_kv_heads=hf_config.num_key_value_heads,
        d_model=d,
        d_ff=hf_config.intermediate_size,
        norm_eps=hf_config.rms_norm_eps,
        bias=hf_config.attention_bias,  # SwiGLU, RMSNorm: none anyway
        rope_base=rope_base,
        rope_scaling=rope_scaling,
        tie_embeddings=hf_config.tie_word_embeddings,
    )


def _check_same_function(model: GPT, expected: GPTConfig) -> None:
    """Raise unless ``model`` computes what ``expected`` describes.

    Shapes are checked tensor by tensor when copying; these fields are
    not visible in any shape.
    """
    names = ["norm", "positions", "ffn", "bias", "tie_embeddings", "norm_eps"]
    if expected.positions == "rope":
        names += ["rope_base", "rope_scaling"]
    for name in names:
        ours, theirs = getattr(model.config, name), getattr(expected, name)
        if ours != theirs:
            raise ValueError(
                f"model.config.{name}={ours!r} but the Hugging Face model "
                f"needs {name}={theirs!r}: build the model from "
                "*_config_from_hf(hf_model.config)"
            )


def _copy(dst: nn.Parameter | None, src: torch.Tensor) -> None:
    if dst is None or dst.shape != src.shape:
        got = None if dst is None else tuple(dst.shape)
        raise ValueError(
            f"cannot copy a tensor of shape {tuple(src.shape)} into {got}"
        )
    with torch.no_grad():
        dst.copy_(src)


def _copy_head(model: GPT, lm_head: torch.Tensor) -> None:
    """Copy ``lm_head.weight [vocab, d_model]`` (an ``nn.Linear``)."""
    if model.config.tie_embeddings:  # it must be the embedding itself
        if not torch.equal(lm_head.to(model.tok.weight), model.tok.weight):
            raise ValueError(
                "model ties its head to the embedding, but the Hugging "
                "Face lm_head.weight differs from its embedding"
            )
    else:
        _copy(model.head.w_out, lm_head.T)


def _check_all_copied(hf: dict[str, torch.Tensor]) -> None:
    if hf:
        raise ValueError(
            f"the model has no place for Hugging Face tensors {sorted(hf)}"
        )


# --8<-- [start:gpt2]
def load_hf_gpt2(model: GPT, hf_model: nn.Module) -> GPT:
    """Copy a ``GPT2LMHeadModel``'s weights into ``model``; return it."""
    _check_same_function(model, gpt2_config_from_hf(hf_model.config))
    hf = {k: v.detach() for k, v in hf_model.state_dict().items()}
    d = model.config.d_model
    _copy(model.tok.weight, hf.pop("transformer.wte.weight"))
    _copy(model.pos.weight, hf.pop("transformer.wpe.weight"))
    for i, block in enumerate(model.blocks):
        p = f"transformer.h.{i}."
        w_q, w_k, w_v = hf.pop(p + "attn.c_attn.weight").split(d, dim=1)
        b_q, b_k, b_v = hf.pop(p + "attn.c_attn.bias").split(d)
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
            _copy(dst, hf.pop(key))  # Conv1D: already [d_in, d_out]
        for dst, src in zip(
            (attn.w_q, attn.w_k, attn.w_v, attn.b_q, attn.b_k, attn.b_v),
            (w_q, w_k, w_v, b_q, b_k, b_v),
        ):
            _copy(dst, src)
    _copy(model.norm_f.gamma, hf.pop("transformer.ln_f.weight"))
    _copy(model.norm_f.beta, hf.pop("transformer.ln_f.bias"))
    _copy_head(model, hf.pop("lm_head.weight"))  # GPT-2: tied to wte
    _check_all_copied(hf)  # nothing left behind
    return model


# --8<-- [end:gpt2]


# --8<-- [start:llama]
def load_hf_llama(model: GPT, hf_model: nn.Module) -> GPT:
    """Copy a ``LlamaForCausalLM``'s weights into ``model``; return it."""
    _check_same_function(model, llama_config_from_hf(hf_model.config))
    hf = {k: v.detach() for k, v in hf_model.state_dict().items()}
    _copy(model.tok.weight, hf.pop("model.embed_tokens.weight"))
    for i, block in enumerate(model.blocks):
        p = f"model.layers.{i}."
        attn, ffn = block.attn, block.ffn
        _copy(block.norm_attn.gamma, hf.pop(p + "input_layernorm.weight"))
        _copy(
            block.norm_ffn.gamma, hf.pop(p + "post_attention_layernorm.weight")
        )
        linear = [  # nn.Linear stores W^T: transpose
            (attn.w_q, attn.b_q, "self_attn.q_proj"),
            (attn.w_k, attn.b_k, "self_attn.k_proj"),
            (attn.w_v, attn.b_v, "self_attn.v_proj"),
            (attn.w_o, attn.b_o, "self_attn.o_proj"),
            (ffn.w_gate, None, "mlp.gate_proj"),
            (ffn.w_up, None, "mlp.up_proj"),
            (ffn.w_down, None, "mlp.down_proj"),
        ]
        for w, b, key in linear:
            _copy(w, hf.pop(p + key + ".weight").T)
            if b is not None:  # attention_bias=True
                _copy(b, hf.pop(p + key + ".bias"))
    _copy(model.norm_f.gamma, hf.pop("model.norm.weight"))
    _copy_head(model, hf.pop("lm_head.weight"))  # LLaMA: untied
    _check_all_copied(hf)  # nothing left behind
    return model


# --8<-- [end:llama]
