"""Demo ``rnn``: the 'cat sat here' RNN step by step, BPTT, LSTM and GRU.

Run it with ``python -m transformer_atlas demo rnn``. Part 1 runs the
hand-set example of :func:`~transformer_atlas.foundations.rnn.cat_sat_here` one
step at a time; part 2 backpropagates through time by hand
(:func:`~transformer_atlas.foundations.rnn.rnn_backward_numpy`); part 3 shows
how the gradient vanishes or explodes with the recurrent weight scale; part 4
runs untrained :class:`~transformer_atlas.foundations.rnn.LSTM` and
:class:`~transformer_atlas.foundations.rnn.GRU` layers and prints their shapes.
"""

from __future__ import annotations

import numpy as np
import torch

from transformer_atlas.foundations.rnn import (
    GRU,
    LSTM,
    cat_sat_here,
    hidden_grad_norms,
    rnn_backward_numpy,
    rnn_forward_numpy,
)

__all__ = ["main"]


def _shape(a: object) -> str:
    shape = a.shape  # type: ignore[attr-defined]
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(u):7.4f}" for u in v) + "]"


def main() -> None:
    """Print the demo to standard output."""
    ex = cat_sat_here()
    x = ex.x[None]  # [batch=1, seq, d_in]
    print("Part 1 - the recurrence h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)")
    print("Embeddings and weights are hand-set for teaching, not learned.")
    print(f"x [batch, seq, d_in] = {_shape(x)}")
    print(
        f"W_xh [d_in, d_h] = {_shape(ex.w_xh)}, "
        f"W_hh [d_h, d_h] = {_shape(ex.w_hh)}, b [d_h] = {_shape(ex.b)}"
    )
    print(f"h_0 = {_vec(np.zeros(2))}")
    for t, word in enumerate(ex.tokens, start=1):
        print(
            f"t={t} {word:>4}: x_t = {_vec(ex.x[t - 1])}  "
            f"a_t = {_vec(ex.pre[t - 1])}  h_{t} = {_vec(ex.hs[t - 1])}"
        )
    print("the same W_xh, W_hh, b at every step; h_3 summarises all 3 words")
    print()

    print("Part 2 - backpropagation through time, loss L = sum(h_3)")
    hs = rnn_forward_numpy(x, ex.w_xh, ex.w_hh, ex.b)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0
    g = rnn_backward_numpy(x, hs, ex.w_xh, ex.w_hh, dhs)
    for t in range(3, 0, -1):
        print(f"dL/dh_{t} = {_vec(g.dh[0, t - 1])}")
    print(f"dL/dW_hh [d_h, d_h] = {_shape(g.dw_hh)} (a sum over 3 steps)")
    print()

    print("Part 3 - ||dL/dh_t|| over 50 steps (d_h = 32), loss on h_50")
    for scale in (0.5, 1.0, 3.0):
        norms = hidden_grad_norms(scale)
        print(
            f"w_scale {scale}: at t=50 {norms[-1]:.3g}, "
            f"t=40 {norms[-11]:.3g}, t=1 {norms[0]:.3g}"
        )
    print()

    print("Part 4 - LSTM and GRU layers (random, untrained weights)")
    torch.manual_seed(0)
    xt = torch.randn(2, 5, 3)  # [batch, seq, d_in]
    out, (h, c) = LSTM(3, 4)(xt)
    print(
        f"LSTM: x {_shape(xt)} -> outputs {_shape(out)}, "
        f"h_n {_shape(h)}, c_n {_shape(c)}"
    )
    out, h = GRU(3, 4)(xt)
    print(f"GRU:  x {_shape(xt)} -> outputs {_shape(out)}, h_n {_shape(h)}")
    print()

    print("Part 5 - seq2seq: the encoder's last state is the whole context")
    rng = np.random.default_rng(0)
    for n in (3, 300):
        src = rng.standard_normal((1, n, 3))
        context = rnn_forward_numpy(src, ex.w_xh, ex.w_hh, ex.b)[:, -1]
        print(
            f"source {n:3d} words -> context [batch, d_h] = {_shape(context)}"
        )
    print("attention lets the decoder read every encoder state instead")
