"""Demo ``dynamics``: loss at init vs ln V, warm-up + cosine, AdamW, backward,
bf16.

One training step taken apart, with every number.

Run it with ``python -m transformer_atlas demo dynamics``. A baby GPT
(:func:`~transformer_atlas.families.decoder_only.baby_gpt_config`) reads the
source code of a
few standard-library modules one character at a time:

1. its loss at initialization against the chance level ``ln V``;
2. the warm-up + cosine schedule with the baby-GPT settings;
3. ten training steps with :class:`~transformer_atlas.training.dynamics.AdamW`,
   :func:`~transformer_atlas.training.dynamics.warmup_cosine` and
   :func:`~transformer_atlas.training.dynamics.clip_grad_norm`, next to a twin
   trained with ``torch.optim.AdamW`` and ``clip_grad_norm_``;
4. the attention backward pass by hand against autograd;
5. the residual stream's growth at initialization;
6. the forward pass under bf16 autocast against float32.
"""

from __future__ import annotations

import copy
import math

import torch

from transformer_atlas.blocks.attention import scaled_dot_product_attention
from transformer_atlas.common.data import CharTokenizer, get_batch, load_corpus
from transformer_atlas.common.threads import single_thread
from transformer_atlas.families.decoder_only import GPT, baby_gpt_config
from transformer_atlas.foundations.probability import cross_entropy
from transformer_atlas.training.attention_backward import attention_backward
from transformer_atlas.training.dynamics import (
    AdamW,
    autocast_report,
    clip_grad_norm,
    residual_std_by_depth,
    warmup_cosine,
    weight_decay_groups,
)

__all__ = ["main"]

BABY = {
    "max_lr": 1e-3,
    "min_lr": 1e-4,
    "warmup_steps": 100,
    "total_steps": 2000,
}


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in t.shape) + "]"


def _train_twins(
    model: GPT, data: torch.Tensor, steps: int, batch: int
) -> None:
    """Train ``model`` and a copy, ours vs torch's optimizer, side by side."""
    twin = copy.deepcopy(model)
    sched = {
        "max_lr": 3e-3,
        "min_lr": 3e-4,
        "warmup_steps": 3,
        "total_steps": steps,
    }
    ours = AdamW(weight_decay_groups(model, 0.1), betas=(0.9, 0.99))
    ref = torch.optim.AdamW(
        weight_decay_groups(twin, 0.1), betas=(0.9, 0.99), foreach=False
    )
    gen = torch.Generator().manual_seed(1)
    block = model.config.max_seq_len
    print(
        f"schedule: {sched}, AdamW betas (0.9, 0.99), weight decay 0.1 "
        "on matrices only, clip at 1.0"
    )
    print(" step        lr  grad norm  loss (ours)  loss (torch)")
    for step in range(steps):
        x, y = get_batch(data, batch, block, gen)  # [batch, block] each
        lr = warmup_cosine(step, **sched)
        losses, norms = [], []
        for m, opt in ((model, ours), (twin, ref)):
            for group in opt.param_groups:
                group["lr"] = lr
            loss = cross_entropy(m(x), y)  # logits [batch, block, vocab]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if opt is ours:
                norms.append(clip_grad_norm(m.parameters(), 1.0))
            else:
                torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        if step % 3 == 0 or step == steps - 1:
            print(
                f"{step:5d}  {lr:.2e}  {float(norms[0]):9.3f}  "
                f"{losses[0]:11.4f}  {losses[1]:12.4f}"
            )
    with torch.no_grad():
        diff = max(
            float((p - q).abs().max())
            for p, q in zip(model.parameters(), twin.parameters())
        )
    print(
        f"largest |theta_ours - theta_torch| after {steps} steps: "
        f"{diff:.1e} (float32 rounding, carried along by training)"
    )


def main() -> None:
    """Print the demo to standard output."""
    with single_thread():
        _main()


def _main() -> None:
    text = load_corpus("stdlib")
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text))
    vocab = tok.vocab_size
    torch.manual_seed(0)
    model = GPT(baby_gpt_config(vocab))
    n_params = sum(p.numel() for p in model.parameters())
    print("Part 1 - the loss at initialization")
    print(
        f"text: {len(text):,} characters of Python standard-library "
        f"source, V = {vocab} distinct characters"
    )
    print(
        f"model: baby GPT, {model.config.n_layers} layers, d_model "
        f"{model.config.d_model}, {n_params:,} parameters"
    )
    x, y = get_batch(
        data, 8, model.config.max_seq_len, torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        logits = model(x)
        loss = cross_entropy(logits, y)
    print(f"x {_shape(x)} -> logits {_shape(logits)}")
    print(
        f"chance level ln V = ln {vocab} = {math.log(vocab):.3f}; "
        f"loss at init = {loss.item():.3f}; perplexity = "
        f"{loss.exp().item():.1f} (V = {vocab})"
    )
    same = float((x == y).float().mean())
    if loss.item() < math.log(vocab):
        print(
            f"(below ln V: the output layer is tied to the embedding, so "
            f"the "
            f"untrained model\n favours repeating the current character, "
            f"and {same:.0%} of next characters here do)"
        )
    print()

    print("Part 2 - warm-up and cosine decay (nanoGPT's baby GPT settings)")
    print(f"{BABY}")
    for step in (0, 1, 50, 99, 100, 500, 1050, 1500, 2000, 2500):
        print(f"  step {step:5d}   lr {warmup_cosine(step, **BABY):.3e}")
    print()

    print("Part 3 - ten training steps, our AdamW next to torch's")
    _train_twins(model, data, steps=10, batch=4)
    print()

    print("Part 4 - the attention backward pass by hand")
    gen = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(2, 4, 6, 8, generator=gen, dtype=torch.float64)
        for _ in range(3)
    )
    d_out = torch.randn(2, 4, 6, 8, generator=gen, dtype=torch.float64)
    dq, dk, dv = attention_backward(q, k, v, d_out, is_causal=True)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    out, _ = scaled_dot_product_attention(*leaves, is_causal=True)
    auto = torch.autograd.grad(out, leaves, d_out)
    print(f"q, k, v, dOut {_shape(q)} = [batch, heads, seq, d_head]")
    for name, a, b in zip(("dQ", "dK", "dV"), (dq, dk, dv), auto):
        print(
            f"  {name} {_shape(a)}   max |by hand - autograd| = "
            f"{float((a - b).abs().max()):.1e}"
        )
    print()

    print("Part 5 - initialization: std of the residual stream (d_model 768)")
    plain = residual_std_by_depth(48)  # its first 12 blocks: a 12-stack
    for n in (12, 48):
        scaled = residual_std_by_depth(n, scaled=True)[-1]
        print(
            f"  {n:2d} blocks: std 0.02 -> {float(plain[n]):.2f};   "
            f"std 0.02 / sqrt(2 * {n}) -> {float(scaled):.2f}"
        )
    print()

    print("Part 6 - bf16 autocast against float32 (numerics, not speed)")
    model.eval()
    report = autocast_report(model, x)
    print(
        f"  output dtype {report.output_dtype}, relative error "
        f"{report.rel_error:.4f}, max abs error "
        f"{report.max_abs_error:.4f}"
    )
    print(f"  ran in bf16: {', '.join(report.low_ops)}")
    print(f"  ran in fp32: {', '.join(report.fp32_ops)}")
