"""The KV cache's speed-up: generation timed with and without the cache.

``make bench`` (and ``python -m transformer_atlas bench kv-cache``) times
a greedy generation of ``new_tokens`` tokens after a 1-token prompt on
:func:`kv_bench_model`, with the cache and without it
(:func:`time_generation_steps`), and, side by side in the same process,
Hugging Face's ``GPT2LMHeadModel.generate`` on a GPT-2 of the same sizes
built from a config (random weights, nothing downloaded), both ways. The
page ``inference/kv-cache`` shows the report.
"""

from __future__ import annotations

# --8<-- [start:imports]
from dataclasses import replace

import torch

from transformer_atlas.common.timing import Laps, ms_summary, time_call
from transformer_atlas.common.validation import check_positive_int
from transformer_atlas.families.decoder_only import GPT, gpt2_config

# --8<-- [end:imports]

__all__ = [
    "kv_bench_model",
    "time_generation_steps",
    "run",
    "report",
]

#: The sizes ``run(quick=True)`` uses: seconds, not minutes.
QUICK_SIZES = {
    "n_layers": 1,
    "d_model": 32,
    "n_heads": 2,
    "vocab_size": 97,
    "max_seq_len": 64,
}


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
    check_positive_int(new_tokens=new_tokens, prompt_len=prompt_len)
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    tokens = torch.randint(0, vocab, (1, prompt_len), generator=g)
    cache = model.new_cache(1) if use_cache else None
    logits = model(tokens, cache, last_only=True)[:, -1]  # prefill

    def step(tokens: torch.Tensor, logits: torch.Tensor):
        next_token = logits.argmax(dim=-1, keepdim=True)  # [1, 1]
        tokens = torch.cat([tokens, next_token], dim=1)
        if cache is not None:  # the new token only
            return tokens, model(next_token, cache)[:, -1]
        return tokens, model(tokens, last_only=True)[:, -1]  # everything

    times = []
    for _ in range(new_tokens):
        (tokens, logits), seconds = time_call(step, tokens, logits)
        times.append(seconds)
    return times


# --8<-- [end:kv_bench]


def _hugging_face_steps(
    sizes: dict[str, int], new_tokens: int, use_cache: bool
) -> list[float] | None:
    """Seconds of each step of Hugging Face's greedy ``generate`` on a GPT-2
    of ``sizes``: the time between two consecutive calls of a logits
    processor, which ``generate`` calls once per new token (its own
    per-step work included). ``None`` when ``transformers`` is not
    installed (a test dependency, not one of the package).
    """
    try:
        import transformers
    except ImportError:
        return None
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_layer=sizes["n_layers"],
        n_embd=sizes["d_model"],
        n_head=sizes["n_heads"],
        vocab_size=sizes["vocab_size"],
        n_positions=sizes["max_seq_len"],
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(config).eval()
    prompt = torch.randint(
        1,
        sizes["vocab_size"],
        (1, 1),
        generator=torch.Generator().manual_seed(0),
    )
    laps: list[Laps] = []
    times: list[float] = []

    class Lap(transformers.LogitsProcessor):
        def __call__(self, input_ids, scores):  # once per new token
            if laps:
                times.append(laps[0].lap())
            else:
                laps.append(Laps())
            return scores

    def generate(n: int) -> torch.Tensor:
        return model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            do_sample=False,
            max_new_tokens=n,
            min_new_tokens=n,
            use_cache=use_cache,
            logits_processor=transformers.LogitsProcessorList([Lap()]),
        )

    generate(min(8, new_tokens))  # warm up
    laps.clear()
    times.clear()
    tokens = generate(new_tokens + 1)  # n steps between n + 1 calls
    assert tokens.shape[1] == 2 + new_tokens and len(times) == new_tokens
    return times


def run(quick: bool = False, *, new_tokens: int = 256) -> dict:
    """Time ``new_tokens`` greedy steps both ways, ours and Hugging Face's.

    Ours: :func:`time_generation_steps` on :func:`kv_bench_model`, the
    cached run first, each after a few untimed warm-up steps. Hugging
    Face's: every step of a ``generate`` call each way, after a short
    untimed one. Each summary is :func:`~transformer_atlas.common.timing.
    ms_summary`; the speed-up is the ratio of the steady means (the time
    per token of the whole generation, spikes from other work on the
    machine removed). ``quick=True`` uses a 1-layer, 32-wide model and 4
    tokens.
    """
    check_positive_int(new_tokens=new_tokens)
    if quick:
        new_tokens = min(new_tokens, 4)
        model = kv_bench_model(**QUICK_SIZES)
    else:
        model = kv_bench_model()
    c = model.config
    if new_tokens + 1 > c.max_seq_len:
        raise ValueError(
            f"new_tokens must be at most {c.max_seq_len - 1} (the context "
            f"minus the prompt), got {new_tokens}"
        )
    sizes = {
        "n_layers": c.n_layers,
        "d_model": c.d_model,
        "n_heads": c.n_heads,
        "vocab_size": c.vocab_size,
        "max_seq_len": c.max_seq_len,
    }
    time_generation_steps(model, 8, use_cache=True)  # warm up kernels
    time_generation_steps(model, 8, use_cache=False)
    ours = {}
    for name, use_cache in (("cached", True), ("uncached", False)):
        ours[name] = ms_summary(
            time_generation_steps(model, new_tokens, use_cache)
        )
    hf = {}
    for name, use_cache in (("cached", True), ("uncached", False)):
        seconds = _hugging_face_steps(sizes, new_tokens, use_cache)
        if seconds is not None:
            hf[name] = ms_summary(seconds)
    for r in (ours, hf):
        if r:
            r["speedup"] = round(
                r["uncached"]["steady_mean_ms"]
                / r["cached"]["steady_mean_ms"],
                3,
            )
    return {
        "model": sizes,
        "new_tokens": new_tokens,
        "prompt_len": 1,
        "batch": 1,
        "dtype": "float32",
        "threads": torch.get_num_threads(),
        "ours": ours,
        "hugging_face": hf or None,
    }


def report(results: dict) -> str:
    """A Markdown table: ms per new token both ways, and the speed-up."""
    m, n = results["model"], results["new_tokens"]
    ours, hf = results["ours"], results["hugging_face"]
    lines = [
        f"Greedy generation of {n} new tokens after a 1-token prompt, "
        f"batch 1, {results['dtype']}, {results['threads']} torch "
        f"threads; model: {m['n_layers']} layer{'s' * (m['n_layers'] != 1)}, "
        f"d_model {m['d_model']}, "
        f"{m['n_heads']} heads, vocabulary {m['vocab_size']:,} (random "
        "weights).",
        "",
        "| implementation | ms per new token, with the cache | "
        "without (whole prefix each step) | speed-up |",
        "|---|---:|---:|---:|",
        f"| this guide's `GPT` (`kv_bench_model`) | "
        f"{ours['cached']['steady_mean_ms']:.2f} | "
        f"{ours['uncached']['steady_mean_ms']:.2f} | {ours['speedup']:.2f}x |",
    ]
    if hf:
        lines.append(
            "| Hugging Face `GPT2LMHeadModel.generate`, same sizes | "
            f"{hf['cached']['steady_mean_ms']:.2f} | "
            f"{hf['uncached']['steady_mean_ms']:.2f} | {hf['speedup']:.2f}x |"
        )
    lines += [
        "",
        "Milliseconds per new token: the mean over the whole generation of "
        "every step's time, each step's replaced by the median of it and "
        "its 8 neighbours, so that a step slowed down by other work on the "
        "machine does not count; the speed-up is their ratio.",
    ]
    return "\n".join(lines) + "\n"
