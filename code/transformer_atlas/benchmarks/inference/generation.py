"""Measured cost of generation: decode steps, prefill, batch scaling.

The cost model (FLOPs, bytes, arithmetic intensity) is
:mod:`transformer_atlas.inference.generation`; this module times the real
thing. :func:`time_decode_steps`, :func:`time_prefill` and
:func:`decode_batch_scaling` run in ``make bench``, never in a test.
"""

from __future__ import annotations

# --8<-- [start:imports]
import statistics
import time
from collections.abc import Sequence

import torch

from transformer_atlas.families.decoder_only import GPT
from transformer_atlas.common.validation import check_positive_int

# --8<-- [end:imports]

__all__ = [
    "decode_batch_scaling",
    "time_decode_steps",
    "time_prefill",
]





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
    check_positive_int(batch=batch, prefix_len=prefix_len, steps=steps)
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

    As :func:`~transformer_atlas.inference.generation.generate` does it: one
    forward pass over the whole prompt, logits for the last position.
    """
    check_positive_int(prompt_len=prompt_len, repeats=repeats)
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
