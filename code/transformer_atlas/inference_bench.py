"""What one generated token costs: FLOPs, bytes, and measured time.

A decode step (one new token per sequence, with a KV cache) multiplies
the new token's vector by every weight matrix of the model once: 2 FLOPs
(a multiply and an add) per weight. It must also *read* every weight from
memory, 4 bytes each in float32. That ratio, 2 FLOPs per 4 bytes, is the
step's arithmetic intensity, and it is far below what a processor needs
to keep its arithmetic units busy: decode is limited by memory bandwidth,
not by arithmetic. A batch of ``B`` sequences reuses each weight ``B``
times, so the time of a step grows much more slowly than ``B``.

:func:`matmul_weights`, :func:`decode_flops` and :func:`decode_intensity`
count; :func:`time_decode_steps`, :func:`time_prefill` and
:func:`decode_batch_scaling` measure. Per-token times of whole generation
runs, with and without the cache, come from
:func:`transformer_atlas.benchmarks.time_generation_steps`.
"""

from __future__ import annotations

# --8<-- [start:imports]
import statistics
import time
from collections.abc import Sequence

import torch

from transformer_atlas.gpt import GPT, GPTConfig
from transformer_atlas.kv_cache import kv_cache_bytes
from transformer_atlas.residual import torch_threads

# --8<-- [end:imports]

__all__ = [
    "decode_batch_scaling",
    "decode_flops",
    "decode_intensity",
    "matmul_weights",
    "time_decode_steps",
    "time_prefill",
    "torch_threads",
]


# --8<-- [start:flops]
def _check_positive(**values: int) -> None:
    """Raise a ValueError unless every value is a positive int."""
    for name, value in values.items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


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
    _check_positive(n_keys=n_keys, batch=batch)
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


# --8<-- [start:measure]
@torch.no_grad()
def time_decode_steps(
    model: GPT,
    batch: int,
    prefix_len: int = 32,
    steps: int = 8,
    warmup: int = 2,
) -> list[float]:
    """Seconds of each of ``steps`` cached decode steps at ``batch``.

    A random prompt ``[batch, prefix_len]`` is prefilled first (not
    timed); then each step feeds ``[batch, 1]`` new tokens (the greedy
    choices) through the model with the cache. ``warmup`` steps run
    before the timed ones.
    """
    _check_positive(batch=batch, prefix_len=prefix_len, steps=steps)
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    prompt = torch.randint(0, vocab, (batch, prefix_len), generator=g)
    cache = model.new_cache(batch, prefix_len + warmup + steps)
    logits = model(prompt, cache, last_only=True)[:, -1]  # prefill
    times = []
    for step in range(warmup + steps):
        next_token = logits.argmax(dim=-1, keepdim=True)  # [batch, 1]
        tick = time.perf_counter()
        logits = model(next_token, cache)[:, -1]  # [batch, vocab]
        if step >= warmup:
            times.append(time.perf_counter() - tick)
    return times


@torch.no_grad()
def time_prefill(model: GPT, prompt_len: int, repeats: int = 3) -> float:
    """Median seconds of one prefill: ``[1, prompt_len]`` into a cache.

    As :func:`~transformer_atlas.generation.generate` does it: one
    forward pass over the whole prompt, logits for the last position.
    """
    _check_positive(prompt_len=prompt_len, repeats=repeats)
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    prompt = torch.randint(0, vocab, (1, prompt_len), generator=g)
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        cache = model.new_cache(1, prompt_len)
        tick = time.perf_counter()
        model(prompt, cache, last_only=True)
        times.append(time.perf_counter() - tick)
    return statistics.median(times[1:])


def decode_batch_scaling(
    model: GPT,
    batches: Sequence[int] = (1, 2, 4, 8, 16),
    prefix_len: int = 32,
    steps: int = 8,
) -> dict[int, float]:
    """Median seconds of one cached decode step, for each batch size."""
    return {
        b: statistics.median(time_decode_steps(model, b, prefix_len, steps))
        for b in batches
    }
# --8<-- [end:measure]
