"""How long does the PyTorch reference page's model take to train?

``make bench`` runs the page's run,
:func:`~transformer_atlas.reference.pytorch.train_tiny_transformer` with
:data:`~transformer_atlas.reference.pytorch.PAGE_CONFIG` (a one-block
character-level transformer, 200 steps of 32 windows of 32 characters, on
one thread), a few times, and records the seconds of each whole run
(loading and tokenizing the corpus included) and of every training step.
The page ``reference/pytorch`` shows the report.
"""

from __future__ import annotations

import dataclasses

import torch

from transformer_atlas.common.timing import Laps, ms_summary, time_call
from transformer_atlas.common.validation import check_positive_int
from transformer_atlas.reference.pytorch import (
    PAGE_CONFIG,
    train_tiny_transformer,
)

__all__ = ["run", "report"]


def run(quick: bool = False, *, runs: int = 3) -> dict:
    """Train the page's model ``runs`` times; time each run and step.

    Returns the configuration, the seconds of every run and of the
    fastest, the per-step summary of all runs (:func:`ms_summary`, the
    first 5 steps of each run left out as warm-up) and the final losses
    of the fastest run. ``quick=True``: 10 steps on 50 kB, once.
    """
    check_positive_int(runs=runs)
    cfg = PAGE_CONFIG
    if quick:
        cfg = dataclasses.replace(
            cfg, iters=10, warmup_iters=1, max_bytes=50_000, eval_iters=2
        )
        runs = 1
    steps: list[float] = []
    seconds: list[float] = []
    best = None
    for _ in range(runs):
        laps: list[float] = []
        stopwatch = Laps()
        result, s = time_call(
            train_tiny_transformer,
            cfg,
            progress=False,
            on_step=lambda step, loss: laps.append(stopwatch.lap()),
        )
        steps += laps[min(5, len(laps) // 2) :]  # skip the warm-up steps
        seconds.append(s)
        if best is None or s <= min(seconds):
            best = result
    n_params = sum(p.numel() for p in best.model.parameters())
    last = best.losses[-20:]
    return {
        "iters": cfg.iters,
        "batch_size": cfg.batch_size,
        "block_size": cfg.block_size,
        "n_params": n_params,
        "threads": 1,  # train_tiny_transformer runs single-threaded
        "cpu_threads_available": torch.get_num_threads(),
        "runs": runs,
        "seconds": [round(s, 3) for s in seconds],
        "best_s": round(min(seconds), 3),
        "step": ms_summary(steps),
        "last_loss": round(sum(last) / len(last), 3),
        "val_loss": round(best.val_loss, 3),
    }


def report(results: dict) -> str:
    """One sentence and a small table: seconds per run and per step."""
    r = results
    step = r["step"]
    return (
        f"The page's run ({r['iters']} steps of {r['batch_size']} x "
        f"{r['block_size']} characters, {r['n_params']:,} parameters, "
        f"{r['threads']} thread), fastest of {r['runs']} "
        f"run{'s' * (r['runs'] != 1)}:\n\n"
        "| whole run (corpus loading included) | one training step "
        "(median) | final loss (mean of last 20 steps) | held-out loss |\n"
        "|---:|---:|---:|---:|\n"
        f"| {r['best_s']:.1f} s | {step['median_ms']:.1f} ms | "
        f"{r['last_loss']:.2f} | {r['val_loss']:.2f} |\n"
    )
