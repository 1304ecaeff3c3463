"""The KV cache's speed-up: generation timed with and without the cache.

``python -m transformer_atlas bench kv-cache`` (and ``make bench``) times
:func:`time_generation_steps` both ways on :func:`kv_bench_model`.
"""

from __future__ import annotations

# --8<-- [start:imports]
import statistics
import time
from dataclasses import dataclass, replace

import torch

from transformer_atlas.families.decoder_only import GPT, GPTConfig, gpt2_config
# --8<-- [end:imports]

__all__ = [
    "KVBench",
    "kv_bench_model",
    "time_generation_steps",
    "bench_kv_cache",
    "format_kv_bench",
]


# --8<-- [start:kv_bench]
def kv_bench_model(seed: int = 0, **overrides: object) -> GPT:
    """The model the KV-cache numbers use: GPT-2 parts, 6 layers, 512 wide.

    8 heads, GPT-2's vocabulary (50,257) and a 1,024-token context.
    """
    torch.manual_seed(seed)
    config = gpt2_config(n_layers=6, d_model=512, n_heads=8)
    return GPT(replace(config, **overrides)).eval()


@torch.no_grad()
def time_generation_steps(
    model: GPT, new_tokens: int, use_cache: bool, prompt_len: int = 1
) -> list[float]:
    """Seconds for each of ``new_tokens`` greedy steps after a prompt.

    Step ``i`` produces the token at position ``prompt_len + i``: with a
    cache it runs the model on one token; without, on the whole prefix.
    """
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    tokens = torch.randint(0, vocab, (1, prompt_len), generator=g)
    cache = model.new_cache(1) if use_cache else None
    times = []
    logits = model(tokens, cache, last_only=True)[:, -1]
    for _ in range(new_tokens):
        tick = time.perf_counter()
        next_token = logits.argmax(dim=-1, keepdim=True)  # [1, 1]
        tokens = torch.cat([tokens, next_token], dim=1)
        if cache is not None:
            logits = model(next_token, cache)[:, -1]
        else:
            logits = model(tokens, last_only=True)[:, -1]
        times.append(time.perf_counter() - tick)
    return times
# --8<-- [end:kv_bench]


@dataclass
class KVBench:
    """Per-step times of generation with and without a KV cache."""

    config: GPTConfig
    cached: list[float]
    uncached: list[float]

    @property
    def speedup(self) -> float:
        """Mean time per new token without the cache / with it."""
        return statistics.fmean(self.uncached) / statistics.fmean(
            self.cached
        )


def bench_kv_cache(new_tokens: int = 256, seed: int = 0) -> KVBench:
    """Time ``new_tokens`` greedy steps both ways on :func:`kv_bench_model`.

    Each run is timed whole, the cached one first, after a few warm-up
    steps that are not counted.
    """
    model = kv_bench_model(seed)
    time_generation_steps(model, 8, use_cache=True)  # warm up kernels
    time_generation_steps(model, 8, use_cache=False)
    cached = time_generation_steps(model, new_tokens, use_cache=True)
    uncached = time_generation_steps(model, new_tokens, use_cache=False)
    return KVBench(model.config, cached, uncached)


def format_kv_bench(b: KVBench) -> str:
    """The report ``bench kv-cache`` prints."""
    c = b.config
    n = len(b.cached)
    return "\n".join(
        [
            f"model: {c.n_layers} layers, d_model {c.d_model}, "
            f"{c.n_heads} heads, vocabulary {c.vocab_size:,}; "
            f"{n} new tokens after a 1-token prompt, batch 1, float32, "
            f"{torch.get_num_threads()} threads",
            f"with the KV cache:    {1e3 * statistics.fmean(b.cached):7.2f}"
            " ms/token",
            f"without (full prefix): "
            f"{1e3 * statistics.fmean(b.uncached):6.2f} ms/token",
            f"speed-up per new token at {n} new tokens: {b.speedup:.1f}x",
        ]
    )
