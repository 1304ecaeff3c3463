"""Demo ``decoder-only``: GPT-2 small vs LLaMA-2 7B: configs, parameters by
part, forwards.

GPT-2 and LLaMA side by side, counted and run.

Run it with ``python -m transformer_atlas demo decoder-only``. Part 1 prints
the configurations of GPT-2 small and LLaMA-2 7B; Part 2 their parameters by
part (from the closed-form :func:`~transformer_atlas.families.decoder_only.\
parameter_breakdown`; no big model is built). Part 3 builds a tiny GPT-2
and a tiny LLaMA (with grouped-query attention), runs one forward pass
with every shape printed, and checks the count formula against the
modules and the initial loss against ``ln V``. Weights are random.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from transformer_atlas.families.decoder_only import (
    GPT,
    PARTS,
    GPTConfig,
    count_parameters,
    gpt2_config,
    llama_config,
    parameter_breakdown,
)

__all__ = ["main"]

FIELDS = (
    "vocab_size",
    "max_seq_len",
    "n_layers",
    "n_heads",
    "kv_heads",
    "d_model",
    "ffn_width",
    "norm",
    "positions",
    "ffn",
    "bias",
    "tie_embeddings",
)


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in x.shape) + "]"


def _step(label: str, x: torch.Tensor) -> None:
    print(f"  {label:<34} {_shape(x)}")


def _tiny_forward(name: str, c: GPTConfig) -> None:
    torch.manual_seed(0)
    model = GPT(c).eval()
    idx = torch.randint(0, c.vocab_size, (2, 8))  # [batch, seq]
    n = sum(p.numel() for p in model.parameters())
    print(
        f"{name}: {c.n_layers} layers, d_model={c.d_model}, "
        f"{c.n_heads} heads ({c.kv_heads} K/V), vocab {c.vocab_size}"
    )
    print(f"  parameters: {n:,} (count_parameters: {count_parameters(c):,})")
    with torch.no_grad():
        x = model.tok(idx)
        _step("idx [batch, seq]", idx)
        _step("h = E[idx] [batch, seq, d_model]", x)
        if model.pos is not None:
            x = model.pos(x)
            _step("h = h + P[0..seq-1] (learned)", x)
        else:
            print("  (no position table: RoPE rotates Q and K inside)")
        for block in model.blocks:
            x = block(x)
        _step(f"h = Block(h), {c.n_layers} times", x)
        logits = model.head(model.norm_f(x))
        _step("logits = N_f(h) W_out", logits)
        same = torch.allclose(logits, model(idx), atol=1e-6)
        print(f"  the steps equal model(idx): {same}")
        loss = F.cross_entropy(
            logits[:, :-1].reshape(-1, c.vocab_size), idx[:, 1:].reshape(-1)
        )
    print(
        f"  next-token loss at init {loss.item():.3f} "
        f"vs ln V = {math.log(c.vocab_size):.3f}"
    )


def main() -> None:
    """Print the demo to standard output."""
    models = (("GPT-2 small", gpt2_config()), ("LLaMA-2 7B", llama_config()))
    print("Part 1 - two configurations (GPTConfig)")
    print(f"{'':<16}" + "".join(f"{name:>14}" for name, _ in models))
    for field in FIELDS:
        values = [str(getattr(c, field)) for _, c in models]
        print(f"{field:<16}" + "".join(f"{v:>14}" for v in values))
    print()

    print("Part 2 - parameters by part (closed form, nothing allocated)")
    print(f"{'':<18}" + "".join(f"{name:>24}" for name, _ in models))
    parts = [parameter_breakdown(c) for _, c in models]
    for part in PARTS:
        cells = []
        for p in parts:
            share = 100 * p[part] / sum(p.values())
            cells.append(f"{p[part]:>15,} {share:5.1f}%")
        print(f"{part:<18}" + "".join(f"{c:>24}" for c in cells))
    totals = [f"{sum(p.values()):>15,}       " for p in parts]
    print(f"{'total':<18}" + "".join(f"{t:>24}" for t in totals))
    for name, c in models:
        print(f"count_parameters({name}) = {count_parameters(c):,}")
    print()

    print("Part 3 - a tiny GPT-2 and a tiny LLaMA, one forward pass")
    tiny = {"vocab_size": 100, "max_seq_len": 16, "n_layers": 2, "n_heads": 4}
    _tiny_forward("tiny GPT-2", gpt2_config(d_model=32, **tiny))
    _tiny_forward("tiny LLaMA", llama_config(d_model=32, n_kv_heads=2, **tiny))
