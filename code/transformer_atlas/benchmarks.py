"""Benchmarks of the GPT track: training speed and the KV cache.

``python -m transformer_atlas bench train`` times the training loop on
nanoGPT's baby-GPT configuration; ``bench kv-cache`` times generation
with and without the cache. Both print what they measured and the
configuration, so the numbers can be compared across machines.

NANOGPT_MS_PER_ITER is nanoGPT's own figure for the same configuration on
a 2-core machine like the one that built this guide (median 67 ms per
iteration, final validation loss 1.8857 on Tiny Shakespeare after 2,000
iterations): nanoGPT does not run here, so its number is quoted, ours is
measured.
"""

from __future__ import annotations

# --8<-- [start:imports]
import statistics
import time
from dataclasses import dataclass, replace

import torch

from transformer_atlas.gpt import GPT, GPTConfig, gpt2_config
from transformer_atlas.training import TrainConfig, train
# --8<-- [end:imports]

__all__ = [
    "NANOGPT_MS_PER_ITER",
    "NANOGPT_VAL_LOSS",
    "bench_train",
    "format_train_bench",
    "KVBench",
    "kv_bench_model",
    "time_generation_steps",
    "bench_kv_cache",
    "format_kv_bench",
]

NANOGPT_MS_PER_ITER = 67.0
NANOGPT_VAL_LOSS = 1.8857


def bench_train(
    iters: int = 200,
    corpus: str = "stdlib",
    max_bytes: int = 1_000_000,
    eval_iters: int = 20,
    progress: bool = True,
) -> tuple[TrainConfig, dict[str, float]]:
    """Train the baby GPT for ``iters`` iterations; time every iteration.

    Returns the configuration and ``{"ms_per_iter", "tokens_per_s",
    "val_loss", "train_loss", "seconds"}`` (median iteration time; losses
    at the end, estimated on ``eval_iters`` batches).
    """
    cfg = TrainConfig(
        corpus=corpus,
        max_bytes=max_bytes,
        iters=iters,
        warmup_iters=min(100, iters // 10),
        eval_interval=iters,
        eval_iters=eval_iters,
    )
    start = time.perf_counter()
    result = train(cfg, progress=progress)
    last = result.history[-1]
    return cfg, {
        "ms_per_iter": result.ms_per_iter,
        "tokens_per_s": result.tokens_per_second,
        "train_loss": last["train_loss"],
        "val_loss": last["val_loss"],
        "seconds": time.perf_counter() - start,
    }


def format_train_bench(cfg: TrainConfig, r: dict[str, float]) -> str:
    """The report ``bench train`` prints."""
    tokens = cfg.batch_size * cfg.block_size
    ratio = NANOGPT_MS_PER_ITER / r["ms_per_iter"]
    return "\n".join(
        [
            f"baby GPT: {cfg.n_layers} layers, {cfg.n_heads} heads, "
            f"d_model {cfg.d_model}, block {cfg.block_size}, "
            f"batch {cfg.batch_size}, dropout {cfg.dropout}; "
            f"corpus {cfg.corpus} ({cfg.max_bytes:,} bytes); "
            f"{torch.get_num_threads()} threads",
            f"{cfg.iters} iterations in {r['seconds']:.1f} s; median "
            f"{r['ms_per_iter']:.1f} ms/iteration = "
            f"{r['tokens_per_s']:,.0f} tokens/s ({tokens} tokens each)",
            f"nanoGPT, same configuration, 2-core reference machine: "
            f"{NANOGPT_MS_PER_ITER:.0f} ms/iteration -> ours is "
            f"{ratio:.2f}x its speed",
            f"loss after {cfg.iters} iterations: train "
            f"{r['train_loss']:.4f}, validation {r['val_loss']:.4f} "
            f"(nanoGPT on Tiny Shakespeare after 2000: "
            f"{NANOGPT_VAL_LOSS})",
        ]
    )


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
