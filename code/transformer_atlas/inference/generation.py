"""Auto-regressive generation: one token at a time, with or without a cache.

A decoder-only model turns a prefix into a distribution over the next
token. Generation loops: score the prefix, choose a token (see
:mod:`transformer_atlas.inference.sampling`), append it, repeat. Without a
cache each step runs the model over the whole prefix again; with a
:class:`~transformer_atlas.inference.kv_cache.KVCache` each step runs it over
the one new token and reuses the stored keys and values. Both give the same
tokens and the same logits; the cache only removes repeated work.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Callable

import torch

from transformer_atlas.common.validation import check_positive_int
from transformer_atlas.families.decoder_only import GPT, GPTConfig
from transformer_atlas.inference.kv_cache import kv_cache_bytes
from transformer_atlas.inference.sampling import (
    apply_repetition_penalty,
    beam_search,
    sample_next_token,
)

# --8<-- [end:imports]

__all__ = [
    "generate",
    "generate_beam",
    "matmul_weights",
    "decode_flops",
    "decode_intensity",
]


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    on_token: Callable[[torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Extend ``idx [batch, seq]`` by ``max_new_tokens`` tokens.

    Each step scores the sequence so far, applies the repetition penalty,
    then chooses the next token greedily or by sampling (temperature,
    top-k, top-p; see
    :func:`~transformer_atlas.inference.sampling.sample_next_token`).
    ``on_token`` is called with each new ``[batch]`` token (to stream).

    Returns:
        ``tokens [batch, seq + max_new_tokens]`` and the logits each step
        chose from, ``[batch, max_new_tokens, vocab_size]`` (before the
        penalty and the filters).
    """
    if idx.dim() != 2 or idx.shape[1] == 0:
        raise ValueError(
            f"idx must be [batch, seq] with seq >= 1, got {list(idx.shape)}"
        )
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    context = model.config.max_seq_len
    if use_cache and idx.shape[1] + max_new_tokens > context:
        raise ValueError(
            f"prompt ({idx.shape[1]}) + max_new_tokens ({max_new_tokens}) "
            f"must fit the model's context of {context} tokens when "
            "generating with a cache"
        )
    model.eval()
    tokens, chosen_from = idx, []
    cache = model.new_cache(idx.shape[0]) if use_cache else None
    logits = model(idx[:, -context:], cache, last_only=True)[:, -1]
    for step in range(max_new_tokens):
        chosen_from.append(logits)
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(
                logits, tokens, repetition_penalty
            )
        next_token = sample_next_token(
            logits,
            greedy=greedy,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
        )  # [batch]
        tokens = torch.cat([tokens, next_token[:, None]], dim=1)
        if on_token is not None:
            on_token(next_token)
        if step == max_new_tokens - 1:
            break
        if cache is not None:  # run the new token only
            logits = model(next_token[:, None], cache)[:, -1]
        else:  # run the whole (cropped) prefix again
            logits = model(tokens[:, -context:], last_only=True)[:, -1]
    return tokens, torch.stack(chosen_from, dim=1)


# --8<-- [end:generate]


# --8<-- [start:beam]
@torch.no_grad()
def generate_beam(
    model: GPT,
    prompt: torch.Tensor,
    max_new_tokens: int,
    num_beams: int = 4,
    **kwargs: object,
) -> torch.Tensor:
    """Beam search with ``model`` (see :func:`sampling.beam_search`).

    ``prompt [seq]`` -> the best sequence ``[seq + new]``; ``kwargs`` go
    to :func:`~transformer_atlas.inference.sampling.beam_search`.
    """
    model.eval()
    context = model.config.max_seq_len

    def next_logits(beams: torch.Tensor) -> torch.Tensor:
        return model(beams[:, -context:], last_only=True)[:, -1]

    best, _ = beam_search(
        next_logits, prompt, num_beams, max_new_tokens, **kwargs
    )
    return best


# --8<-- [end:beam]


# --8<-- [start:flops]
def matmul_weights(c: GPTConfig) -> int:
    """Entries of the weight matrices one token is multiplied by.

    Per block: ``W_Q`` and ``W_O`` (``d x d``), ``W_K`` and ``W_V``
    (``d x d_kv``), the FFN's two ``d x d_ff`` matrices (three for
    SwiGLU); then the output projection ``d x vocab_size``. Embedding and
    position lookups, norms and biases multiply nothing.
    """
    d, f = c.d_model, c.ffn_width
    d_kv = c.kv_heads * c.d_head
    ffn = (3 if c.ffn == "swiglu" else 2) * d * f
    block = 2 * d * d + 2 * d * d_kv + ffn
    return c.n_layers * block + d * c.vocab_size


def decode_flops(c: GPTConfig, n_keys: int, batch: int = 1) -> int:
    """FLOPs of one decode step: one new token in each of ``batch`` rows.

    A multiply-add is 2 FLOPs. Every weight meets each new token once:
    ``2 * matmul_weights(c)``. Attention over ``n_keys`` positions adds
    ``q K^T`` and ``A V`` in each layer, ``2 * n_keys * d_model`` each.
    """
    check_positive_int(n_keys=n_keys, batch=batch)
    weights = 2 * matmul_weights(c)
    attention = 2 * 2 * c.n_layers * n_keys * c.d_model
    return batch * (weights + attention)


# --8<-- [end:flops]


# --8<-- [start:intensity]
def decode_intensity(
    c: GPTConfig,
    n_keys: int,
    batch: int = 1,
    dtype: torch.dtype = torch.float32,
) -> float:
    """FLOPs per byte read from memory in one decode step.

    Bytes read: every weight once (the whole batch shares it) plus the
    cached K and V of ``n_keys`` positions of every sequence.
    """
    itemsize = torch.empty((), dtype=dtype).element_size()
    weight_bytes = matmul_weights(c) * itemsize
    cache_bytes = kv_cache_bytes(
        c.n_layers, batch, c.kv_heads, n_keys, c.d_head, dtype
    )
    flops = decode_flops(c, n_keys, batch)
    return flops / (weight_bytes + cache_bytes)


# --8<-- [end:intensity]
