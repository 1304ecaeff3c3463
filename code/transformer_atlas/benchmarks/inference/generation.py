"""Measured cost of generation: time per token, batch scaling, prefill.

The cost model (FLOPs, bytes, arithmetic intensity) is
:mod:`transformer_atlas.inference.generation`; this module times the real
thing. ``make bench`` (and ``python -m transformer_atlas bench
generation``) runs :func:`run`, which measures, on one thread:

* the time of every step of a greedy generation from a 1-token prompt,
  with and without the KV cache (:func:`~transformer_atlas.benchmarks.
  inference.kv_cache.time_generation_steps`), which the figures
  ``generation-time-per-token`` and ``kv-cache-speedup`` draw;
* one cached decode step at several batch sizes
  (:func:`decode_batch_scaling`), which ``generation-batch-scaling`` draws;
* a 128-token prefill against a decode step (:func:`time_prefill`).
"""

from __future__ import annotations

# --8<-- [start:imports]
import statistics
from collections.abc import Sequence

import torch

from transformer_atlas.benchmarks.inference.kv_cache import (
    kv_bench_model,
    time_generation_steps,
)
from transformer_atlas.common.threads import torch_threads
from transformer_atlas.common.timing import ms_summary, time_call
from transformer_atlas.common.validation import check_positive_int
from transformer_atlas.families.decoder_only import GPT

# --8<-- [end:imports]

__all__ = [
    "decode_batch_scaling",
    "time_decode_steps",
    "time_prefill",
    "run",
    "report",
    "PER_TOKEN_MODEL",
    "BATCH_MODEL",
]

#: The model whose per-token times the figures draw: ``kv_bench_model``
#: shrunk so that a whole run takes seconds.
PER_TOKEN_MODEL = {
    "n_layers": 4,
    "d_model": 256,
    "n_heads": 4,
    "vocab_size": 8192,
}
#: The model of the batch-scaling and prefill measurements: the same with
#: GPT-2's vocabulary, 16.0 million weights in matrices.
BATCH_MODEL = {
    "n_layers": 4,
    "d_model": 256,
    "n_heads": 4,
    "vocab_size": 50257,
}
_QUICK_MODEL = {"n_layers": 1, "d_model": 32, "n_heads": 2, "vocab_size": 97}


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
        out, seconds = time_call(model, next_token, cache)
        logits = out[:, -1]  # [batch, vocab]
        if step >= warmup:
            times.append(seconds)
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
        _, seconds = time_call(model, prompt, cache, last_only=True)
        times.append(seconds)
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


def _ms(seconds: Sequence[float]) -> list[float]:
    return [round(1e3 * s, 4) for s in seconds]


def run(
    quick: bool = False,
    *,
    new_tokens: int = 128,
    max_batch: int = 16,
    prompt_len: int = 128,
    threads: int = 1,
) -> dict:
    """Time per token both ways, batch scaling and a prefill.

    ``new_tokens`` greedy steps from a 1-token prompt on
    :data:`PER_TOKEN_MODEL`; one cached decode step (median of 8, after a
    32-token prompt) at batches 1, 2, 4, ... up to ``max_batch`` and a
    ``prompt_len``-token prefill on :data:`BATCH_MODEL`; all on
    ``threads`` torch threads (one keeps the shapes steady on a shared
    machine). ``quick=True``: a 1-layer, 32-wide model, 4 tokens,
    batches 1 and 2.
    """
    check_positive_int(
        new_tokens=new_tokens,
        max_batch=max_batch,
        prompt_len=prompt_len,
        threads=threads,
    )
    if quick:
        new_tokens, max_batch, prompt_len = min(new_tokens, 4), 2, 8
        per_token_sizes = batch_sizes = _QUICK_MODEL
    else:
        per_token_sizes, batch_sizes = PER_TOKEN_MODEL, BATCH_MODEL
    batches = [
        2**i for i in range(max_batch.bit_length()) if 2**i <= max_batch
    ]
    prefix_len, steps = 32, 8
    with torch_threads(threads):
        model = kv_bench_model(**per_token_sizes)
        if new_tokens + 1 > model.config.max_seq_len:
            raise ValueError(
                f"new_tokens must be at most {model.config.max_seq_len - 1},"
                f" got {new_tokens}"
            )
        time_generation_steps(model, 4, use_cache=True)  # warm up
        time_generation_steps(model, 4, use_cache=False)
        cached = time_generation_steps(model, new_tokens, use_cache=True)
        uncached = time_generation_steps(model, new_tokens, use_cache=False)

        model = kv_bench_model(**batch_sizes)
        decode_batch_scaling(model, (max(batches),), prefix_len, 2)  # warm
        seconds = decode_batch_scaling(model, batches, prefix_len, steps)
        prefill = time_prefill(model, prompt_len)
        step = statistics.median(time_decode_steps(model, 1, steps=steps))
    return {
        "threads": threads,
        "dtype": "float32",
        "per_token": {
            "model": dict(per_token_sizes),
            "prompt_len": 1,
            # step i runs on a sequence of 1 + (i + 1) tokens
            "lengths": list(range(2, new_tokens + 2)),
            "cached_ms": _ms(cached),
            "uncached_ms": _ms(uncached),
        },
        "batch_scaling": {
            "model": dict(batch_sizes),
            "prefix_len": prefix_len,
            "steps": steps,
            "batches": batches,
            "step_ms": [round(1e3 * seconds[b], 4) for b in batches],
        },
        "prefill": {
            "model": dict(batch_sizes),
            "prompt_len": prompt_len,
            "prefill_ms": round(1e3 * prefill, 4),
            "decode_step_ms": round(1e3 * step, 4),
        },
    }


def _model(m: dict) -> str:
    layers = m["n_layers"]
    return (
        f"{layers} layer{'s' * (layers != 1)}, d_model {m['d_model']}, "
        f"{m['n_heads']} heads, vocabulary {m['vocab_size']:,}"
    )


def report(results: dict) -> str:
    """Markdown: time per token both ways, batch scaling, prefill."""
    pt, bs, pf = (
        results[k] for k in ("per_token", "batch_scaling", "prefill")
    )
    n = len(pt["lengths"])
    k = max(1, min(16, n // 4))  # steps summarised at each end
    c, u = pt["cached_ms"], pt["uncached_ms"]
    med = statistics.median
    steady = {
        k: ms_summary([1e-3 * t for t in pt[k]])["steady_mean_ms"]
        for k in ("cached_ms", "uncached_ms")
    }
    threads = results["threads"]
    lines = [
        f"Time per new token: greedy generation of {n} tokens from a "
        f"1-token prompt, batch 1, {_model(pt['model'])}, "
        f"{results['dtype']}, {threads} thread{'s' * (threads != 1)}.",
        "",
        f"| | first {k} steps (ms, median) | last {k} steps (ms, median) "
        f"| whole generation (ms per token) |",
        "|---|---:|---:|---:|",
        f"| with the KV cache | {med(c[:k]):.2f} | {med(c[-k:]):.2f} | "
        f"{steady['cached_ms']:.2f} |",
        f"| without (whole prefix each step) | {med(u[:k]):.2f} | "
        f"{med(u[-k:]):.2f} | {steady['uncached_ms']:.2f} |",
        "",
        "Whole generation: the mean time per token over the run, each "
        "step's time replaced by the median of it and its 8 neighbours "
        "(its steady mean), so that a step slowed down by other work on "
        "the machine does not count.",
        "",
        f"Batched decoding: one cached decode step (median of "
        f"{bs['steps']}) after a {bs['prefix_len']}-token prompt, "
        f"{_model(bs['model'])}.",
        "",
        "| batch | ms per step | new tokens per second | "
        "step time / batch-1 step time |",
        "|---:|---:|---:|---:|",
    ]
    first = bs["step_ms"][0]
    for b, ms in zip(bs["batches"], bs["step_ms"]):
        lines.append(
            f"| {b} | {ms:.2f} | {1e3 * b / ms:,.0f} | {ms / first:.2f} |"
        )
    ratio = pf["prefill_ms"] / pf["decode_step_ms"]
    lines += [
        "",
        f"Prefill: a {pf['prompt_len']}-token prompt took "
        f"{pf['prefill_ms']:.2f} ms in one pass, as long as {ratio:.1f} "
        f"decode steps at batch 1 ({pf['decode_step_ms']:.2f} ms each), "
        "on the same model.",
    ]
    return "\n".join(lines) + "\n"
