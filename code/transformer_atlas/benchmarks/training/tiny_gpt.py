"""Training speed of the baby GPT, side by side with nanoGPT's loop.

``make bench`` (and ``python -m transformer_atlas bench tiny-gpt``)
trains nanoGPT's "baby GPT" configuration (4 layers, 4 heads, d_model
128, block 64, batch 12, dropout 0) two ways in one process, on the same
batches and the same torch threads, alternating step by step:

* this guide's :class:`~transformer_atlas.families.decoder_only.GPT`
  trained by :func:`~transformer_atlas.training.tiny_gpt.fit` (the loop of
  ``train gpt``), and
* a re-creation of nanoGPT's model and training step
  (:mod:`._nanogpt`), which gets each batch right after ours.

Each iteration's wall time is recorded (batch drawing included, as both
loops draw their batches), and the report gives the median milliseconds
per iteration of each, their ratio and the losses each reaches. nanoGPT
itself does not run here: the one figure of it the report shows is
quoted, and labelled so.
"""

from __future__ import annotations

import math

import torch

from transformer_atlas.benchmarks.training import _nanogpt as nano
from transformer_atlas.common.data import (
    CharTokenizer,
    get_batch,
    load_corpus,
    split_train_val,
)
from transformer_atlas.common.timing import Laps, ms_summary
from transformer_atlas.families.decoder_only import GPT
from transformer_atlas.training.tiny_gpt import (
    TrainConfig,
    estimate_loss,
    fit,
)

__all__ = ["run", "report", "QUOTED_NANOGPT"]

#: nanoGPT itself, same configuration, 2,000 iterations on Tiny
#: Shakespeare: measured by the project's maintainers on a 2-core machine
#: (quoted, not measured by ``make bench``).
QUOTED_NANOGPT = {
    "ms_per_iter": 67.0,
    "val_loss": 1.8857,
    "corpus": "Tiny Shakespeare",
    "iters": 2000,
}


def _eval_batches(
    data: torch.Tensor, cfg: TrainConfig, n: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The ``n`` batches :func:`estimate_loss` draws (seed ``cfg.seed+1``)."""
    g = torch.Generator().manual_seed(cfg.seed + 1)
    return [
        get_batch(data, cfg.batch_size, cfg.block_size, g) for _ in range(n)
    ]


def run(
    quick: bool = False,
    *,
    iters: int = 2000,
    corpus: str = "stdlib",
    max_bytes: int = 1_000_000,
    eval_iters: int = 200,
) -> dict:
    """Train both models ``iters`` iterations side by side; time each step.

    ``corpus`` and ``max_bytes`` as for ``train gpt`` (the default, the
    standard library's source, needs no download). Losses are estimated
    before and after training on the same ``eval_iters`` batches of each
    split for both models. ``quick=True``: 20 iterations on 50 kB.
    """
    if quick:
        iters, max_bytes, eval_iters = min(iters, 20), 50_000, 2
    if iters < 10:
        raise ValueError(f"iters must be >= 10, got {iters}")
    cfg = TrainConfig(
        corpus=corpus,
        max_bytes=max_bytes,
        iters=iters,
        warmup_iters=min(100, iters // 10),
        eval_iters=eval_iters,
    )
    text = load_corpus(corpus, max_bytes=max_bytes)
    tokenizer = CharTokenizer.from_text(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_ids, val_ids = split_train_val(ids)
    vocab = tokenizer.vocab_size

    torch.manual_seed(cfg.seed)
    ours = GPT(cfg.model_config(vocab))
    torch.manual_seed(cfg.seed)
    theirs = nano.NanoGPT(
        nano.NanoConfig(
            vocab_size=vocab,
            block_size=cfg.block_size,
            n_layer=cfg.n_layers,
            n_head=cfg.n_heads,
            n_embd=cfg.d_model,
            dropout=cfg.dropout,
        )
    )
    their_opt = nano.configure_optimizers(
        theirs, cfg.weight_decay, cfg.max_lr, cfg.betas
    )
    evals = {
        "train": _eval_batches(train_ids, cfg, eval_iters),
        "val": _eval_batches(val_ids, cfg, eval_iters),
    }

    def losses() -> dict[str, dict[str, float]]:
        return {
            "ours": {
                split: estimate_loss(
                    ours,
                    data,
                    cfg.batch_size,
                    cfg.block_size,
                    eval_iters,
                    cfg.seed + 1,
                )
                for split, data in (("train", train_ids), ("val", val_ids))
            },
            "nanogpt": {
                split: nano.estimate_loss(theirs, batches)
                for split, batches in evals.items()
            },
        }

    before = losses()
    # the batches fit draws (a generator seeded with cfg.seed), again
    twin = torch.Generator().manual_seed(cfg.seed)
    seconds: dict[str, list[float]] = {"ours": [], "nanogpt": []}

    def after_our_step(step: int, loss: float) -> None:
        seconds["ours"].append(laps.lap())
        x, y = get_batch(train_ids, cfg.batch_size, cfg.block_size, twin)
        lr = nano.get_lr(
            step - 1, cfg.max_lr, cfg.min_lr, cfg.warmup_iters, cfg.iters
        )
        nano.train_step(theirs, their_opt, x, y, lr, cfg.grad_clip)
        seconds["nanogpt"].append(laps.lap())

    laps = Laps()
    fit(ours, train_ids, cfg, on_step=after_our_step, progress=False)
    after = losses()
    skip = min(5, iters // 10)  # the first steps warm up
    timing = {k: ms_summary(v[skip:]) for k, v in seconds.items()}
    tokens = cfg.batch_size * cfg.block_size
    return {
        "config": {
            "n_layers": cfg.n_layers,
            "n_heads": cfg.n_heads,
            "d_model": cfg.d_model,
            "block_size": cfg.block_size,
            "batch_size": cfg.batch_size,
            "dropout": cfg.dropout,
            "iters": iters,
            "corpus": corpus,
            "max_bytes": max_bytes,
            "vocab_size": vocab,
            "eval_iters": eval_iters,
            "threads": torch.get_num_threads(),
        },
        **{
            name: {
                **timing[name],
                "tokens_per_s": round(
                    1e3 * tokens / timing[name]["median_ms"]
                ),
                "init_loss": round(before[name]["val"], 4),
                "train_loss": round(after[name]["train"], 4),
                "val_loss": round(after[name]["val"], 4),
            }
            for name in ("ours", "nanogpt")
        },
        "ratio": round(
            timing["ours"]["median_ms"] / timing["nanogpt"]["median_ms"], 3
        ),
    }


def report(results: dict) -> str:
    """Markdown: ms per iteration and losses of both, their ratio."""
    c, q = results["config"], QUOTED_NANOGPT
    corpus = (
        "the standard library's source"
        if c["corpus"] == "stdlib"
        else c["corpus"]
    )
    rows = (
        ("this guide's `GPT` and `fit` (fused AdamW)", "ours"),
        (
            "nanoGPT's model and training step, re-created here "
            "(`benchmarks/training/_nanogpt.py`)",
            "nanogpt",
        ),
    )
    lines = [
        f"Baby GPT ({c['n_layers']} layers, {c['n_heads']} heads, d_model "
        f"{c['d_model']}, block {c['block_size']}, batch {c['batch_size']}, "
        f"dropout {c['dropout']}), {c['iters']:,} iterations on "
        f"{c['max_bytes']:,} bytes of {corpus} (vocabulary "
        f"{c['vocab_size']}, ln V = {math.log(c['vocab_size']):.2f}); both "
        f"in one process, alternating step by step on the same batches, "
        f"{c['threads']} torch threads. Losses on the same "
        f"{c['eval_iters']} batches of each split.",
        "",
        "| training loop | ms per iteration (median) | tokens per second "
        "| loss at init | train loss | validation loss |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, key in rows:
        r = results[key]
        lines.append(
            f"| {label} | {r['median_ms']:.1f} | {r['tokens_per_s']:,} | "
            f"{r['init_loss']:.3f} | {r['train_loss']:.4f} | "
            f"{r['val_loss']:.4f} |"
        )
    lines += [
        "",
        f"Our iteration takes **{results['ratio']:.2f}x** the time of the "
        "nanoGPT re-creation's.",
        "",
        f"Quoted, not measured here: nanoGPT itself, same configuration, "
        f"{q['iters']:,} iterations on {q['corpus']}: median "
        f"{q['ms_per_iter']:.0f} ms per iteration, validation loss "
        f"{q['val_loss']} (measured by the project's maintainers on a "
        "2-core machine, in another process and at another time, so not "
        "comparable with the rows above).",
    ]
    return "\n".join(lines) + "\n"
