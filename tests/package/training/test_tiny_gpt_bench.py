"""The tiny-GPT training benchmark and its re-creation of nanoGPT.

The re-creation (``benchmarks/training/_nanogpt.py``) is timed beside our loop by ``make bench``;
here it is checked as a model: the same architecture and parameter count as our baby GPT, a loss
at initialisation of about ln(vocab), nanoGPT's learning-rate schedule, and a loss that falls in
a few steps. The benchmark runs on tiny sizes and its report is checked for its format; no time
is asserted.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from transformer_atlas.benchmarks.training import _nanogpt as nano
from transformer_atlas.benchmarks.training import tiny_gpt as bench
from transformer_atlas.common.data import CharTokenizer, get_batch, stdlib_corpus
from transformer_atlas.common.threads import torch_threads
from transformer_atlas.families.decoder_only import GPT
from transformer_atlas.training.tiny_gpt import TrainConfig, learning_rate


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with torch_threads(1):
        yield


def _data(max_bytes: int = 30_000) -> tuple[torch.Tensor, int]:
    text = stdlib_corpus(max_bytes)
    tokenizer = CharTokenizer.from_text(text)
    return torch.tensor(tokenizer.encode(text)), tokenizer.vocab_size


def test_nanogpt_has_our_baby_gpt_architecture_and_size():
    """Same parameter count as our GPT with the baby-GPT config (no biases, tied head)."""
    cfg = TrainConfig()
    ours = GPT(cfg.model_config(65))
    theirs = nano.NanoGPT(nano.NanoConfig(vocab_size=65))
    count = sum(p.numel() for p in theirs.parameters())  # the tied weight once
    assert count == sum(p.numel() for p in ours.parameters())
    assert theirs.lm_head.weight is theirs.transformer.wte.weight
    assert all(not name.endswith("bias") for name, _ in theirs.named_parameters())


def test_nanogpt_loss_at_init_is_about_ln_vocab_as_ours():
    """An untrained model guesses almost uniformly: about ln V nats. (A little below: with the
    head tied to the embedding, each position slightly favours its own token, and characters
    repeat.) Our GPT, initialised alike, starts at the same loss on the same batches."""
    ids, vocab = _data()
    g = torch.Generator().manual_seed(0)
    batches = [get_batch(ids, 12, 64, g) for _ in range(8)]
    torch.manual_seed(1337)
    model = nano.NanoGPT(nano.NanoConfig(vocab_size=vocab))
    torch.manual_seed(1337)
    ours = GPT(TrainConfig().model_config(vocab)).eval()
    loss = nano.estimate_loss(model, batches)
    with torch.no_grad():
        our_loss = sum(
            F.cross_entropy(ours(x).flatten(0, 1), y.flatten()).item() for x, y in batches
        ) / len(batches)
    assert abs(loss - math.log(vocab)) < 0.25
    assert abs(loss - our_loss) < 0.05
    logits, none = model(batches[0][0])  # no targets: the last position only
    assert logits.shape == (12, 1, vocab) and none is None


def test_nanogpt_trains_in_a_few_steps():
    torch.manual_seed(1337)
    ids, vocab = _data()
    model = nano.NanoGPT(nano.NanoConfig(vocab_size=vocab))
    opt = nano.configure_optimizers(model, 0.1, 1e-3, (0.9, 0.99))
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    g = torch.Generator().manual_seed(0)
    losses = [nano.train_step(model, opt, *get_batch(ids, 12, 64, g), lr=1e-3) for _ in range(40)]
    assert abs(losses[0] - math.log(vocab)) < 0.25
    assert sum(losses[-5:]) / 5 < losses[0] - 1.0


def test_nanogpt_schedule_equals_ours():
    cfg = TrainConfig(iters=300, warmup_iters=30)
    for it in range(cfg.iters + 5):
        theirs = nano.get_lr(it, cfg.max_lr, cfg.min_lr, cfg.warmup_iters, cfg.iters)
        assert theirs == pytest.approx(learning_rate(it, cfg), rel=1e-12)


def test_benchmark_quick_run_and_report():
    results = bench.run(quick=True)
    assert set(results) == {"config", "ours", "nanogpt", "ratio"}
    assert results["config"]["iters"] == 20
    for side in ("ours", "nanogpt"):
        r = results[side]
        assert set(r) == {
            "median_ms",
            "mean_ms",
            "steady_mean_ms",
            "min_ms",
            "n",
            "tokens_per_s",
            "init_loss",
            "train_loss",
            "val_loss",
        }
        assert r["n"] == 18  # 20 steps, the first 2 left out
        assert isinstance(r["median_ms"], float) and isinstance(r["tokens_per_s"], int)
        # untrained, both start near ln(vocab)
        assert abs(r["init_loss"] - math.log(results["config"]["vocab_size"])) < 0.25
    assert isinstance(results["ratio"], float)
    text = bench.report(results)
    assert "| this guide's `GPT` and `fit` (fused AdamW) |" in text
    assert "Quoted, not measured here: nanoGPT itself" in text
    with pytest.raises(ValueError, match="iters must be >= 10, got 3"):
        bench.run(iters=3)


def test_benchmark_report_format():
    side = {
        "median_ms": 60.0,
        "mean_ms": 61.0,
        "min_ms": 55.0,
        "n": 1995,
        "tokens_per_s": 12_800,
        "init_loss": 4.6,
        "train_loss": 1.5,
        "val_loss": 1.62,
    }
    results = {
        "config": {
            "n_layers": 4,
            "n_heads": 4,
            "d_model": 128,
            "block_size": 64,
            "batch_size": 12,
            "dropout": 0.0,
            "iters": 2000,
            "corpus": "stdlib",
            "max_bytes": 1_000_000,
            "vocab_size": 100,
            "eval_iters": 200,
            "threads": 2,
        },
        "ours": side,
        "nanogpt": {**side, "median_ms": 59.4},
        "ratio": 1.0101,
    }
    lines = bench.report(results).splitlines()
    assert lines[0].startswith(
        "Baby GPT (4 layers, 4 heads, d_model 128, block 64, batch 12, dropout 0.0), 2,000 "
        "iterations on 1,000,000 bytes of the standard library's source (vocabulary 100, "
        "ln V = 4.61); both in one process, alternating step by step on the same batches, "
        "2 torch threads."
    )
    assert lines[4] == (
        "| this guide's `GPT` and `fit` (fused AdamW) | 60.0 | 12,800 | 4.600 | 1.5000 | 1.6200 |"
    )
    assert lines[5].endswith("| 59.4 | 12,800 | 4.600 | 1.5000 | 1.6200 |")
    assert "Our iteration takes **1.01x** the time of the nanoGPT re-creation's." in lines
    assert lines[-1].startswith(
        "Quoted, not measured here: nanoGPT itself, same "
        "configuration, 2,000 iterations on Tiny Shakespeare: median "
        "67 ms per iteration, validation loss 1.8857 (measured by the "
        "project's maintainers on a 2-core machine"
    )
