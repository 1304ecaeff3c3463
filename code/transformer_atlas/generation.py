"""Auto-regressive generation: one token at a time, with or without a cache.

A decoder-only model turns a prefix into a distribution over the next
token. Generation loops: score the prefix, choose a token (see
:mod:`transformer_atlas.sampling`), append it, repeat. Without a cache each
step runs the model over the whole prefix again; with a
:class:`~transformer_atlas.kv_cache.KVCache` each step runs it over the one
new token and reuses the stored keys and values. Both give the same tokens
and the same logits; the cache only removes repeated work.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Callable

import torch

from transformer_atlas.gpt import GPT
from transformer_atlas.sampling import (
    apply_repetition_penalty,
    beam_search,
    sample_next_token,
)
# --8<-- [end:imports]

__all__ = ["generate", "generate_beam"]


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
    top-k, top-p; see :func:`~transformer_atlas.sampling.sample_next_token`).
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
    to :func:`~transformer_atlas.sampling.beam_search`.
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
