"""Demo ``feed-forward``: activations, FFN and SwiGLU shapes, the 8/3 parameter
count.

Activations, the FFN and SwiGLU, with shapes.

Run it with ``python -m transformer_atlas demo feed-forward``. Part 1
tabulates ReLU, GELU (exact and tanh), SiLU and their derivatives at a few
points. Part 2 pushes a ``[batch, seq, d_model]`` tensor through
:class:`~transformer_atlas.blocks.feed_forward.FeedForward` and
:class:`~transformer_atlas.blocks.feed_forward.SwiGLU` step by step, printing
each intermediate shape, and shows that each position is transformed on its
own. Part 3 counts parameters: why SwiGLU's hidden width is ``8/3 d_model``.
Weights are random (untrained): only shapes and counts mean anything.
"""

from __future__ import annotations

import torch
from torch import nn

from transformer_atlas.blocks.activations import ACTIVATIONS, DERIVATIVES
from transformer_atlas.blocks.feed_forward import (
    FeedForward,
    SwiGLU,
    swiglu_hidden_size,
)

__all__ = ["main"]


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in x.shape) + "]"


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def main() -> None:
    """Print the demo to standard output."""
    print("Part 1 - activation functions f(x) and derivatives f'(x)")
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    print("x          " + "".join(f"{v:>8.2f}" for v in x.tolist()))
    for name, f in ACTIVATIONS.items():
        print(f"{name:<11}" + "".join(f"{v:>8.3f}" for v in f(x).tolist()))
    for name, df in DERIVATIVES.items():
        label = name + "'"
        print(f"{label:<11}" + "".join(f"{v:>8.3f}" for v in df(x).tolist()))
    print()

    torch.manual_seed(0)
    batch, seq, d_model = 2, 5, 12
    x = torch.randn(batch, seq, d_model)
    print("Part 2 - one FFN and one SwiGLU layer, step by step")
    ffn = FeedForward(d_model, d_ff=4 * d_model, activation="gelu")
    print(
        f"x [batch, seq, d_model] = {_shape(x)}; FeedForward(d_model="
        f"{d_model}, d_ff={ffn.d_ff}, activation='gelu')"
    )
    with torch.no_grad():
        h = x @ ffn.w_1 + ffn.b_1
        a = ACTIVATIONS["gelu"](h)
        y = a @ ffn.w_2 + ffn.b_2
        print(f"h = x @ W_1 + b_1   h [batch, seq, d_ff] = {_shape(h)}")
        print(f"a = gelu(h)         a [batch, seq, d_ff] = {_shape(a)}")
        print(f"y = a @ W_2 + b_2   y [batch, seq, d_model] = {_shape(y)}")
        same = torch.allclose(y, ffn(x), atol=1e-6)
        print(f"y equals ffn(x): {same}")
        alone = ffn(x[1, 3])
        print(
            "position (1, 3) run alone gives the same row: "
            f"{torch.allclose(alone, ffn(x)[1, 3], atol=1e-6)}"
        )
        perm = torch.randperm(seq)
        print(
            f"permuting positions {perm.tolist()} permutes the outputs: "
            f"{torch.allclose(ffn(x[:, perm]), ffn(x)[:, perm], atol=1e-6)}"
        )
    swiglu = SwiGLU(d_model)
    print(
        f"SwiGLU(d_model={d_model}): d_ff = swiglu_hidden_size({d_model}) "
        f"= {swiglu.d_ff}"
    )
    with torch.no_grad():
        gate = ACTIVATIONS["silu"](x @ swiglu.w_gate)
        up = x @ swiglu.w_up
        out = (gate * up) @ swiglu.w_down
        for text, value in (
            ("gate = silu(x @ W_gate)   gate [batch, seq, d_ff]", gate),
            ("up = x @ W_up             up [batch, seq, d_ff]", up),
            ("y = (gate * up) @ W_down  y [batch, seq, d_model]", out),
        ):
            print(f"{text} = {_shape(value)}")
        print(f"y equals swiglu(x): {torch.allclose(out, swiglu(x))}")
    print()

    print("Part 3 - parameter counts")
    plain = FeedForward(d_model, 4 * d_model, bias=False)
    print(
        f"FFN, d_ff = 4 d_model = {4 * d_model}, no biases: "
        f"2 * {d_model} * {4 * d_model} = {_n_params(plain)}"
    )
    print(
        f"SwiGLU, d_ff = 8/3 d_model = {swiglu.d_ff}: "
        f"3 * {d_model} * {swiglu.d_ff} = {_n_params(swiglu)}"
    )
    print(
        f"with biases the FFN adds d_ff + d_model = {5 * d_model}: "
        f"{_n_params(ffn)}"
    )
    llama = swiglu_hidden_size(4096, multiple_of=256)
    print(f"LLaMA-7B: swiglu_hidden_size(4096, multiple_of=256) = {llama}")
    print(
        f"  SwiGLU 3 * 4096 * {llama} = {3 * 4096 * llama:,} vs "
        f"FFN 2 * 4096 * 16384 = {2 * 4096 * 16384:,} per layer"
    )
