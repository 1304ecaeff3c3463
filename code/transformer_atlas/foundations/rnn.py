"""Recurrent networks: the tanh RNN, BPTT by hand, LSTM and GRU cells.

Row-vector convention throughout: a token is a row, a linear map is
``x @ W + b`` with ``W [d_in, d_out]``.

* :func:`rnn_cell_numpy` and :func:`rnn_forward_numpy`: the recurrence
  ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)`` in NumPy.
* :func:`rnn_backward_numpy`: backpropagation through time (BPTT), written
  out by hand.
* :func:`cat_sat_here`: the page's worked example, hand-set numbers.
* :class:`LSTMCell`, :class:`GRUCell` and the sequence wrappers
  :class:`LSTM` and :class:`GRU` in PyTorch, written from the equations.
  Gate order follows PyTorch (LSTM ``i, f, g, o``; GRU ``r, z, n``), so
  weights copy over from ``torch.nn.LSTM`` / ``torch.nn.GRU`` by a
  transpose.

The guide's page ``foundations/rnn`` shows these functions;
``tests/package/foundations/test_rnn.py`` checks them against ``torch.nn.RNN``,
``torch.nn.LSTM``, ``torch.nn.GRU`` and ``torch.autograd``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from transformer_atlas.common.validation import check_rank, shape_of

# --8<-- [end:imports]

__all__ = [
    "rnn_cell_numpy",
    "rnn_forward_numpy",
    "rnn_backward_numpy",
    "RNNGrads",
    "hidden_grad_norms",
    "CatSatHere",
    "cat_sat_here",
    "LSTMCell",
    "GRUCell",
    "LSTM",
    "GRU",
]


# --8<-- [start:checks]
def _check_rnn_weights(
    d_in: int, w_xh: np.ndarray, w_hh: np.ndarray, b: np.ndarray
) -> int:
    """Check ``w_xh [d_in, d_h]``, ``w_hh [d_h, d_h]``, ``b [d_h]``."""
    check_rank("w_xh", w_xh, 2, "[d_in, d_h]")
    check_rank("w_hh", w_hh, 2, "[d_h, d_h]")
    check_rank("b", b, 1, "[d_h]")
    d_h = w_xh.shape[1]
    if w_xh.shape[0] != d_in:
        raise ValueError(
            f"w_xh must be [d_in, d_h] with d_in={d_in} (the input width), "
            f"got shape {shape_of(w_xh)}"
        )
    if w_hh.shape != (d_h, d_h) or b.shape != (d_h,):
        raise ValueError(
            f"w_hh must be [d_h, d_h] and b [d_h] with d_h={d_h}, "
            f"got w_hh {shape_of(w_hh)} and b {shape_of(b)}"
        )
    return d_h


def _check_state(name: str, h: np.ndarray, batch: int, d_h: int) -> None:
    check_rank(name, h, 2, "[batch, d_h]")
    if h.shape != (batch, d_h):
        raise ValueError(
            f"{name} must be [batch, d_h] = [{batch}, {d_h}], "
            f"got shape {shape_of(h)}"
        )


def _check_cell_input(
    x: torch.Tensor, h: torch.Tensor, d_in: int, d_h: int
) -> None:
    check_rank("x", x, 2, "[batch, d_in]")
    check_rank("h", h, 2, "[batch, d_h]")
    if x.shape[1] != d_in or h.shape != (x.shape[0], d_h):
        raise ValueError(
            f"expected x [batch, d_in={d_in}] and h [batch, d_h={d_h}] "
            f"with the same batch, got x {shape_of(x)} and h {shape_of(h)}"
        )


def _uniform_(params: list[nn.Parameter], d_h: int) -> None:
    """PyTorch's RNN init: every weight and bias ~ U(-1/sqrt(d_h), ...)."""
    bound = 1.0 / math.sqrt(d_h)
    for p in params:
        nn.init.uniform_(p, -bound, bound)


# --8<-- [end:checks]


# --8<-- [start:rnn_cell]
def rnn_cell_numpy(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    w_xh: np.ndarray,
    w_hh: np.ndarray,
    b: np.ndarray,
) -> np.ndarray:
    """One step ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)``.

    Args:
        x_t: the inputs at this step ``[batch, d_in]``.
        h_prev: the previous hidden state ``[batch, d_h]``.
        w_xh: input-to-hidden weights ``[d_in, d_h]``.
        w_hh: hidden-to-hidden weights ``[d_h, d_h]``.
        b: bias ``[d_h]``.

    Returns:
        The new hidden state ``h_t [batch, d_h]``.
    """
    check_rank("x_t", x_t, 2, "[batch, d_in]")
    d_h = _check_rnn_weights(x_t.shape[1], w_xh, w_hh, b)
    _check_state("h_prev", h_prev, x_t.shape[0], d_h)
    return np.tanh(x_t @ w_xh + h_prev @ w_hh + b)


# --8<-- [end:rnn_cell]


# --8<-- [start:rnn_forward]
def rnn_forward_numpy(
    x: np.ndarray,
    w_xh: np.ndarray,
    w_hh: np.ndarray,
    b: np.ndarray,
    h0: np.ndarray | None = None,
) -> np.ndarray:
    """Run the cell over a sequence, the same weights at every step.

    Args:
        x: inputs ``[batch, seq, d_in]``.
        w_xh, w_hh, b: as in :func:`rnn_cell_numpy`.
        h0: initial state ``[batch, d_h]``; zeros if None.

    Returns:
        Every hidden state ``hs [batch, seq, d_h]``; ``hs[:, -1]`` is the
        final state.
    """
    check_rank("x", x, 3, "[batch, seq, d_in]")
    batch, seq, d_in = x.shape
    d_h = _check_rnn_weights(d_in, w_xh, w_hh, b)
    h = np.zeros((batch, d_h), dtype=x.dtype) if h0 is None else h0
    _check_state("h0", h, batch, d_h)
    hs = []
    for t in range(seq):  # one step per position, left to right
        h = rnn_cell_numpy(x[:, t], h, w_xh, w_hh, b)
        hs.append(h)
    return np.stack(hs, axis=1)


# --8<-- [end:rnn_forward]


# --8<-- [start:bptt]
@dataclass(frozen=True)
class RNNGrads:
    """Gradients of a loss with respect to everything the RNN touched.

    Attributes:
        dx: ``dL/dx [batch, seq, d_in]``.
        dh0: ``dL/dh_0 [batch, d_h]``.
        dw_xh: ``dL/dW_xh [d_in, d_h]``.
        dw_hh: ``dL/dW_hh [d_h, d_h]``.
        db: ``dL/db [d_h]``.
        dh: the total ``dL/dh_t [batch, seq, d_h]`` at every step (direct
            plus what flows back from later steps).
    """

    dx: np.ndarray
    dh0: np.ndarray
    dw_xh: np.ndarray
    dw_hh: np.ndarray
    db: np.ndarray
    dh: np.ndarray


def rnn_backward_numpy(
    x: np.ndarray,
    hs: np.ndarray,
    w_xh: np.ndarray,
    w_hh: np.ndarray,
    dhs: np.ndarray,
    h0: np.ndarray | None = None,
) -> RNNGrads:
    """Backpropagation through time for :func:`rnn_forward_numpy`.

    Args:
        x: the inputs ``[batch, seq, d_in]``.
        hs: the hidden states the forward pass returned
            ``[batch, seq, d_h]``.
        w_xh: ``[d_in, d_h]``; w_hh: ``[d_h, d_h]``.
        dhs: ``dL/dh_t`` arriving directly from the loss at every step
            ``[batch, seq, d_h]`` (zeros where the loss ignores a step).
        h0: the initial state ``[batch, d_h]``; zeros if None.

    Returns:
        :class:`RNNGrads`.
    """
    check_rank("x", x, 3, "[batch, seq, d_in]")
    check_rank("hs", hs, 3, "[batch, seq, d_h]")
    batch, seq, _ = x.shape
    d_h = w_hh.shape[0]
    _check_rnn_weights(x.shape[2], w_xh, w_hh, np.zeros(d_h))
    for name, a in (("hs", hs), ("dhs", dhs)):
        if a.shape != (batch, seq, d_h):
            raise ValueError(
                f"{name} must be [batch, seq, d_h] = [{batch}, {seq}, {d_h}]"
                f", got shape {shape_of(a)}"
            )
    h0 = np.zeros((batch, d_h), dtype=x.dtype) if h0 is None else h0
    _check_state("h0", h0, batch, d_h)
    dx = np.zeros_like(x)
    dw_xh, dw_hh = np.zeros_like(w_xh), np.zeros_like(w_hh)
    db = np.zeros(d_h, dtype=x.dtype)
    dh = np.zeros_like(hs)
    carry = np.zeros((batch, d_h), dtype=x.dtype)  # dL/dh_t from step t+1
    for t in reversed(range(seq)):
        dh[:, t] = dhs[:, t] + carry  # total dL/dh_t
        delta = dh[:, t] * (1.0 - hs[:, t] ** 2)  # dL/da_t, tanh' = 1 - h^2
        h_prev = hs[:, t - 1] if t > 0 else h0
        dw_xh += x[:, t].T @ delta  # the same W at every step:
        dw_hh += h_prev.T @ delta  # its gradient is a sum over steps
        db += delta.sum(axis=0)
        dx[:, t] = delta @ w_xh.T
        carry = delta @ w_hh.T  # dL/dh_{t-1} = delta_t W_hh^T
    return RNNGrads(dx, carry, dw_xh, dw_hh, db, dh)


# --8<-- [end:bptt]


# --8<-- [start:grad_norms]
def hidden_grad_norms(
    w_scale: float,
    seq: int = 50,
    d_in: int = 8,
    d_h: int = 32,
    seed: int = 0,
) -> np.ndarray:
    """``||dL/dh_t||`` for every step t when the loss reads only h_T.

    A random RNN with ``W_hh = w_scale * G / sqrt(d_h)`` (``G`` standard
    normal, so ``w_scale`` is roughly the spectral radius of ``W_hh``) runs
    over a random sequence; the loss is ``L = sum(h_T)``.

    Returns:
        ``norms [seq]``; ``norms[-1]`` is at the last step, ``norms[0]`` at
        the first.
    """
    if w_scale <= 0 or seq < 1:
        raise ValueError(
            f"need w_scale > 0 and seq >= 1, got {w_scale} and {seq}"
        )
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, seq, d_in))
    w_xh = rng.standard_normal((d_in, d_h)) / math.sqrt(d_in)
    w_hh = w_scale * rng.standard_normal((d_h, d_h)) / math.sqrt(d_h)
    b = np.zeros(d_h)
    hs = rnn_forward_numpy(x, w_xh, w_hh, b)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0  # L = sum(h_T): only the last state is read
    grads = rnn_backward_numpy(x, hs, w_xh, w_hh, dhs)
    return np.linalg.norm(grads.dh[0], axis=-1)


# --8<-- [end:grad_norms]


# ----------------------------------------------------------- worked example
# --8<-- [start:cat_sat_here]
@dataclass(frozen=True)
class CatSatHere:
    """The worked example: three words through a 2-unit RNN.

    Attributes:
        tokens: ``("cat", "sat", "here")``.
        x: embeddings ``[seq, d_in] = [3, 3]``.
        w_xh: ``[3, 2]``; w_hh: ``[2, 2]``; b: ``[2]``.
        pre: pre-activations ``a_t = x_t W_xh + h_{t-1} W_hh + b``
            ``[seq, d_h]``.
        hs: hidden states ``h_t = tanh(a_t)`` ``[seq, d_h]``.
    """

    tokens: tuple[str, ...]
    x: np.ndarray
    w_xh: np.ndarray
    w_hh: np.ndarray
    b: np.ndarray
    pre: np.ndarray
    hs: np.ndarray


def cat_sat_here() -> CatSatHere:
    """Run the hand-set 'cat sat here' example (d_in = 3, d_h = 2)."""
    tokens = ("cat", "sat", "here")
    x = np.array(
        [  # one embedding row per word [seq, d_in]
            [1.0, 0.0, 0.5],  # cat
            [0.0, 1.0, 0.5],  # sat
            [0.0, 0.5, -1.0],  # here
        ]
    )
    w_xh = np.array([[0.5, -0.5], [0.5, 0.5], [0.0, 1.0]])  # [d_in, d_h]
    w_hh = np.array([[1.0, 0.5], [-0.5, 1.0]])  # [d_h, d_h]
    b = np.array([0.0, -0.5])  # [d_h]
    h = np.zeros((1, 2))  # h_0 [batch, d_h]
    pre, hs = [], []
    for t in range(len(tokens)):
        a = x[t : t + 1] @ w_xh + h @ w_hh + b  # [1, d_h]
        h = np.tanh(a)
        pre.append(a[0])
        hs.append(h[0])
    return CatSatHere(tokens, x, w_xh, w_hh, b, np.array(pre), np.array(hs))


# --8<-- [end:cat_sat_here]


# ------------------------------------------------------------ LSTM and GRU
# --8<-- [start:lstm_cell]
class LSTMCell(nn.Module):
    """One LSTM step; gates in PyTorch's order ``i, f, g, o``.

    ``[i f g o] = x W_x + h W_h + b`` (each ``[batch, d_h]``), then
    ``c' = f * c + i * g`` and ``h' = o * tanh(c')``.

    Args:
        d_in: input width. d_h: hidden (and cell) width.
    """

    def __init__(self, d_in: int, d_h: int) -> None:
        super().__init__()
        self.d_in, self.d_h = d_in, d_h
        self.w_x = nn.Parameter(torch.empty(d_in, 4 * d_h))  # [d_in, 4 d_h]
        self.w_h = nn.Parameter(torch.empty(d_h, 4 * d_h))  # [d_h, 4 d_h]
        self.b = nn.Parameter(torch.empty(4 * d_h))  # [4 d_h]
        _uniform_([self.w_x, self.w_h, self.b], d_h)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [batch, d_in]``, ``state = (h, c)`` each ``[batch, d_h]``.

        Returns the new ``(h, c)``, each ``[batch, d_h]``.
        """
        h, c = state
        _check_cell_input(x, h, self.d_in, self.d_h)
        _check_cell_input(x, c, self.d_in, self.d_h)
        gates = x @ self.w_x + h @ self.w_h + self.b  # [batch, 4 d_h]
        i, f, g, o = gates.chunk(4, dim=-1)
        i = torch.sigmoid(i)  # input gate: how much new to write
        f = torch.sigmoid(f)  # forget gate: how much old to keep
        g = torch.tanh(g)  # candidate values to write
        o = torch.sigmoid(o)  # output gate: how much of c to show
        c = f * c + i * g  # additive memory update
        h = o * torch.tanh(c)
        return h, c


# --8<-- [end:lstm_cell]


# --8<-- [start:gru_cell]
class GRUCell(nn.Module):
    """One GRU step; gates in PyTorch's order ``r, z, n``.

    ``r = sigmoid(x W_xr + b_xr + h W_hr + b_hr)``, ``z`` likewise,
    ``n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn))`` and
    ``h' = (1 - z) * n + z * h``.

    Args:
        d_in: input width. d_h: hidden width.
    """

    def __init__(self, d_in: int, d_h: int) -> None:
        super().__init__()
        self.d_in, self.d_h = d_in, d_h
        self.w_x = nn.Parameter(torch.empty(d_in, 3 * d_h))  # [d_in, 3 d_h]
        self.w_h = nn.Parameter(torch.empty(d_h, 3 * d_h))  # [d_h, 3 d_h]
        self.b_x = nn.Parameter(torch.empty(3 * d_h))  # [3 d_h]
        self.b_h = nn.Parameter(torch.empty(3 * d_h))  # [3 d_h]
        _uniform_([self.w_x, self.w_h, self.b_x, self.b_h], d_h)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``x [batch, d_in]``, ``h [batch, d_h]`` -> ``h' [batch, d_h]``."""
        _check_cell_input(x, h, self.d_in, self.d_h)
        xr, xz, xn = (x @ self.w_x + self.b_x).chunk(3, dim=-1)
        hr, hz, hn = (h @ self.w_h + self.b_h).chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)  # reset gate: how much past in n
        z = torch.sigmoid(xz + hz)  # update gate: keep old h vs take n
        n = torch.tanh(xn + r * hn)  # candidate state
        return (1.0 - z) * n + z * h


# --8<-- [end:gru_cell]


# --8<-- [start:wrappers]
class LSTM(nn.Module):
    """An :class:`LSTMCell` run over a sequence (one layer, batch first)."""

    def __init__(self, d_in: int, d_h: int) -> None:
        super().__init__()
        self.cell = LSTMCell(d_in, d_h)

    def forward(
        self,
        x: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x [batch, seq, d_in]``; ``state = (h_0, c_0)`` or zeros.

        Returns ``(outputs [batch, seq, d_h], (h_n, c_n))``.
        """
        check_rank("x", x, 3, "[batch, seq, d_in]")
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.cell.d_h)
            state = (zeros, zeros)
        outputs = []
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
            outputs.append(state[0])
        return torch.stack(outputs, dim=1), state


class GRU(nn.Module):
    """A :class:`GRUCell` run over a sequence (one layer, batch first)."""

    def __init__(self, d_in: int, d_h: int) -> None:
        super().__init__()
        self.cell = GRUCell(d_in, d_h)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [batch, seq, d_in]``; ``h [batch, d_h]`` or zeros.

        Returns ``(outputs [batch, seq, d_h], h_n [batch, d_h])``.
        """
        check_rank("x", x, 3, "[batch, seq, d_in]")
        if h is None:
            h = x.new_zeros(x.shape[0], self.cell.d_h)
        outputs = []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


# --8<-- [end:wrappers]
