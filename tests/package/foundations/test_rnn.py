"""The RNN, BPTT, LSTM and GRU against PyTorch and autograd.

Oracles we did not write: ``torch.nn.RNN`` (tanh), ``torch.nn.LSTM`` and
``torch.nn.GRU`` with copied (transposed) weights, and ``torch.autograd``
in float64 for the hand-written backpropagation through time.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.foundations.rnn import (
    GRU,
    LSTM,
    GRUCell,
    LSTMCell,
    cat_sat_here,
    hidden_grad_norms,
    rnn_backward_numpy,
    rnn_cell_numpy,
    rnn_forward_numpy,
)


def _torch_rnn(d_in: int, d_h: int, seed: int) -> torch.nn.RNN:
    torch.manual_seed(seed)
    return torch.nn.RNN(d_in, d_h, nonlinearity="tanh", batch_first=True).double()


def _weights(rnn: torch.nn.RNN) -> tuple[np.ndarray, ...]:
    """Our (w_xh, w_hh, b) from torch's: transpose, and add the two biases."""
    w_xh = rnn.weight_ih_l0.detach().numpy().T
    w_hh = rnn.weight_hh_l0.detach().numpy().T
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    return w_xh, w_hh, b


# ----------------------------------------------------------- forward pass
@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 3),
    seq=st.integers(1, 7),
    d_in=st.integers(1, 5),
    d_h=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_rnn_forward_matches_torch_rnn(
    batch: int, seq: int, d_in: int, d_h: int, seed: int
) -> None:
    rnn = _torch_rnn(d_in, d_h, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, seq, d_in))
    h0 = rng.standard_normal((batch, d_h))
    w_xh, w_hh, b = _weights(rnn)
    ours = rnn_forward_numpy(x, w_xh, w_hh, b, h0)
    out, h_n = rnn(torch.from_numpy(x), torch.from_numpy(h0)[None])
    np.testing.assert_allclose(ours, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours[:, -1], h_n[0].detach().numpy())


def test_rnn_cell_is_one_step_of_torch_rnn_cell() -> None:
    torch.manual_seed(0)
    cell = torch.nn.RNNCell(4, 3, nonlinearity="tanh").double()
    x, h = torch.randn(2, 4).double(), torch.randn(2, 3).double()
    ours = rnn_cell_numpy(
        x.numpy(),
        h.numpy(),
        cell.weight_ih.detach().numpy().T,
        cell.weight_hh.detach().numpy().T,
        (cell.bias_ih + cell.bias_hh).detach().numpy(),
    )
    np.testing.assert_allclose(ours, cell(x, h).detach().numpy())


# ------------------------------------------------------------------- BPTT
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bptt_matches_autograd(seed: int) -> None:
    """Every gradient of a loss on all hidden states, vs torch.autograd."""
    batch, seq, d_in, d_h = 2, 6, 4, 5
    rnn = _torch_rnn(d_in, d_h, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, seq, d_in))
    h0 = rng.standard_normal((batch, d_h))
    target = rng.standard_normal((batch, seq, d_h))
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0)[None].requires_grad_()
    out, _ = rnn(xt, h0t)
    loss = 0.5 * ((out - torch.from_numpy(target)) ** 2).sum()
    loss.backward()

    w_xh, w_hh, b = _weights(rnn)
    hs = rnn_forward_numpy(x, w_xh, w_hh, b, h0)
    grads = rnn_backward_numpy(x, hs, w_xh, w_hh, hs - target, h0)

    def close(ours: np.ndarray, theirs: torch.Tensor) -> None:
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-6)

    close(grads.dx, xt.grad)
    close(grads.dh0, h0t.grad[0])
    close(grads.dw_xh, rnn.weight_ih_l0.grad.T)
    close(grads.dw_hh, rnn.weight_hh_l0.grad.T)
    close(grads.db, rnn.bias_ih_l0.grad)  # d/db_ih = d/db_hh = d/db
    close(grads.db, rnn.bias_hh_l0.grad)


def test_bptt_total_hidden_gradient_matches_autograd() -> None:
    """``dh[:, t]`` is the full dL/dh_t, as autograd gives it."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 5, 3))
    w_xh = rng.standard_normal((3, 4))
    w_hh = rng.standard_normal((4, 4))
    b = rng.standard_normal(4)
    hs_t = []
    h = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    for t in range(5):
        h = torch.tanh(
            torch.from_numpy(x[:, t]) @ torch.from_numpy(w_xh)
            + h @ torch.from_numpy(w_hh)
            + torch.from_numpy(b)
        )
        h.retain_grad()
        hs_t.append(h)
    hs_t[-1].sum().backward()
    hs = rnn_forward_numpy(x, w_xh, w_hh, b)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0
    grads = rnn_backward_numpy(x, hs, w_xh, w_hh, dhs)
    for t in range(5):
        np.testing.assert_allclose(grads.dh[:, t], hs_t[t].grad.numpy(), atol=1e-10)


# ----------------------------------------------------------- LSTM and GRU
def _copy_lstm(ours: LSTM, theirs: torch.nn.LSTM) -> None:
    with torch.no_grad():
        ours.cell.w_x.copy_(theirs.weight_ih_l0.T)
        ours.cell.w_h.copy_(theirs.weight_hh_l0.T)
        ours.cell.b.copy_(theirs.bias_ih_l0 + theirs.bias_hh_l0)


def _copy_gru(ours: GRU, theirs: torch.nn.GRU) -> None:
    with torch.no_grad():
        ours.cell.w_x.copy_(theirs.weight_ih_l0.T)
        ours.cell.w_h.copy_(theirs.weight_hh_l0.T)
        ours.cell.b_x.copy_(theirs.bias_ih_l0)
        ours.cell.b_h.copy_(theirs.bias_hh_l0)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("seq", [1, 7])
def test_lstm_matches_torch_lstm(seq: int, with_state: bool) -> None:
    torch.manual_seed(seq)
    theirs = torch.nn.LSTM(5, 4, batch_first=True).double()
    ours = LSTM(5, 4).double()
    _copy_lstm(ours, theirs)
    x = torch.randn(3, seq, 5, dtype=torch.float64)
    state = None
    if with_state:
        state = (
            torch.randn(3, 4, dtype=torch.float64),
            torch.randn(3, 4, dtype=torch.float64),
        )
    out, (h, c) = ours(x, state)
    ref_state = None if state is None else (state[0][None], state[1][None])
    ref_out, (ref_h, ref_c) = theirs(x, ref_state)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h[0])
    torch.testing.assert_close(c, ref_c[0])


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("seq", [1, 7])
def test_gru_matches_torch_gru(seq: int, with_state: bool) -> None:
    torch.manual_seed(10 + seq)
    theirs = torch.nn.GRU(5, 4, batch_first=True).double()
    ours = GRU(5, 4).double()
    _copy_gru(ours, theirs)
    x = torch.randn(3, seq, 5, dtype=torch.float64)
    h0 = torch.randn(3, 4, dtype=torch.float64) if with_state else None
    out, h = ours(x, h0)
    ref_out, ref_h = theirs(x, None if h0 is None else h0[None])
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h[0])


def test_gru_needs_separate_hidden_bias() -> None:
    """Folding b_hn into b_xn changes n: r multiplies only (h W_hn + b_hn)."""
    torch.manual_seed(0)
    theirs = torch.nn.GRU(3, 2, batch_first=True).double()
    ours = GRU(3, 2).double()
    _copy_gru(ours, theirs)
    with torch.no_grad():
        ours.cell.b_x.add_(ours.cell.b_h)
        ours.cell.b_h.zero_()
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    assert not torch.allclose(ours(x)[0], theirs(x)[0])


def test_lstm_and_gru_cells_match_torch_cells() -> None:
    torch.manual_seed(1)
    lstm_ref = torch.nn.LSTMCell(3, 2).double()
    gru_ref = torch.nn.GRUCell(3, 2).double()
    lstm, gru = LSTMCell(3, 2).double(), GRUCell(3, 2).double()
    with torch.no_grad():
        lstm.w_x.copy_(lstm_ref.weight_ih.T)
        lstm.w_h.copy_(lstm_ref.weight_hh.T)
        lstm.b.copy_(lstm_ref.bias_ih + lstm_ref.bias_hh)
        gru.w_x.copy_(gru_ref.weight_ih.T)
        gru.w_h.copy_(gru_ref.weight_hh.T)
        gru.b_x.copy_(gru_ref.bias_ih)
        gru.b_h.copy_(gru_ref.bias_hh)
    x = torch.randn(2, 3, dtype=torch.float64)
    h, c = torch.randn(2, 2).double(), torch.randn(2, 2).double()
    ours_h, ours_c = lstm(x, (h, c))
    ref_h, ref_c = lstm_ref(x, (h, c))
    torch.testing.assert_close(ours_h, ref_h)
    torch.testing.assert_close(ours_c, ref_c)
    torch.testing.assert_close(gru(x, h), gru_ref(x, h))


# -------------------------------------------------------------- bad input
def test_bad_shapes_raise() -> None:
    x = np.zeros((1, 3, 4))
    w_xh, w_hh, b = np.zeros((4, 2)), np.zeros((2, 2)), np.zeros(2)
    with pytest.raises(ValueError, match=r"\[batch, seq, d_in\]"):
        rnn_forward_numpy(x[0], w_xh, w_hh, b)
    with pytest.raises(ValueError, match="d_in=4"):
        rnn_forward_numpy(x, np.zeros((3, 2)), w_hh, b)
    with pytest.raises(ValueError, match="w_hh must be"):
        rnn_forward_numpy(x, w_xh, np.zeros((3, 3)), b)
    with pytest.raises(ValueError, match="h0 must be"):
        rnn_forward_numpy(x, w_xh, w_hh, b, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="dhs must be"):
        rnn_backward_numpy(x, np.zeros((1, 3, 2)), w_xh, w_hh, np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="d_in=3"):
        LSTMCell(3, 2)(torch.zeros(1, 4), (torch.zeros(1, 2),) * 2)
    with pytest.raises(ValueError, match="d_h=2"):
        GRUCell(3, 2)(torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"\[batch, seq, d_in\]"):
        GRU(3, 2)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="w_scale"):
        hidden_grad_norms(0.0)


# -------------------------------------------------------------- page claims
def test_page_cat_sat_here_numbers() -> None:
    """foundations/rnn: "h_1 = [0.4621, -0.4621], h_2 = [0.8316, 0.2626],
    h_3 = [0.7399, -0.5165]", and the pre-activations printed with them."""
    ex = cat_sat_here()
    np.testing.assert_allclose(
        ex.hs,
        [[0.4621, -0.4621], [0.8316, 0.2626], [0.7399, -0.5165]],
        atol=5e-5,
    )
    np.testing.assert_allclose(
        ex.pre,
        [[0.5, -0.5], [1.1932, 0.2689], [0.9502, -0.5716]],
        atol=5e-5,
    )
    # the same numbers from the package's general forward pass
    hs = rnn_forward_numpy(ex.x[None], ex.w_xh, ex.w_hh, ex.b)
    np.testing.assert_allclose(hs[0], ex.hs)


def test_page_cat_sat_here_order_matters() -> None:
    """foundations/rnn: "Fed "here sat cat", the same network ends in
    h_3 = [0.8927, -0.3005]": the final state depends on word order."""
    ex = cat_sat_here()
    rev = rnn_forward_numpy(ex.x[::-1][None], ex.w_xh, ex.w_hh, ex.b)
    np.testing.assert_allclose(rev[0, -1], [0.8927, -0.3005], atol=5e-5)
    assert not np.allclose(rev[0, -1], ex.hs[-1], atol=1e-2)


def test_page_gradient_norms_vanish_and_explode() -> None:
    """foundations/rnn: "with s = 0.5 the gradient that reaches step 1 is
    below 10^-10; with s = 1 it is below 10^-3; with s = 3 it is above
    10^5", and the printed "t=1 1.91e-22", "1.99e-09", "2.02e+06"."""
    small, one, large = (hidden_grad_norms(s) for s in (0.5, 1.0, 3.0))
    assert small[0] < 1e-10 < small[-1]
    assert one[0] < 1e-3
    assert large[0] > 1e5
    assert f"{small[0]:.3g}" == "1.91e-22"
    assert f"{one[0]:.3g}" == "1.99e-09"
    assert f"{large[0]:.3g}" == "2.02e+06"


def test_page_w_scale_is_roughly_spectral_radius() -> None:
    """foundations/rnn: "W_hh = s G / sqrt(d_h) (G standard normal, so s
    is roughly the largest eigenvalue's size)" (d_h = 32, seed 0)."""
    rng = np.random.default_rng(0)
    rng.standard_normal((1, 50, 8))  # the same draws as hidden_grad_norms
    rng.standard_normal((8, 32))
    g = rng.standard_normal((32, 32)) / 32**0.5
    radius = np.abs(np.linalg.eigvals(g)).max()
    assert 0.8 < radius < 1.2


def test_page_hand_steps() -> None:
    """foundations/rnn: "x_1 W_xh = [0.5, 0]", "x_2 W_xh = [0.5, 1]",
    "h_1 W_hh = [0.6932, -0.2311]"."""
    ex = cat_sat_here()
    np.testing.assert_allclose(ex.x[0] @ ex.w_xh, [0.5, 0.0])
    np.testing.assert_allclose(ex.x[1] @ ex.w_xh, [0.5, 1.0])
    np.testing.assert_allclose(ex.hs[0] @ ex.w_hh, [0.6932, -0.2311], atol=5e-5)


def test_page_bptt_example_numbers() -> None:
    """foundations/rnn: dL/dh_1 = [0.4887, 0.3456], dL/dh_2 = [0.8192,
    0.5069], dL/dh_3 = [1, 1] for L = sum(h_3); "the gradient already
    shrinks on its way back"."""
    ex = cat_sat_here()
    x = ex.x[None]
    hs = rnn_forward_numpy(x, ex.w_xh, ex.w_hh, ex.b)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = 1.0
    dh = rnn_backward_numpy(x, hs, ex.w_xh, ex.w_hh, dhs).dh[0]
    np.testing.assert_allclose(dh, [[0.4887, 0.3456], [0.8192, 0.5069], [1.0, 1.0]], atol=5e-5)
    norms = np.linalg.norm(dh, axis=-1)
    assert norms[0] < norms[1] < norms[2]


def test_page_lstm_cell_path_jacobian_is_diag_f() -> None:
    """foundations/rnn: "Along the cell, dc_t/dc_{t-1} = diag(f)"."""
    torch.manual_seed(0)
    cell = LSTMCell(3, 4).double()
    x = torch.randn(1, 3, dtype=torch.float64)
    h = torch.randn(1, 4, dtype=torch.float64)
    c = torch.randn(1, 4, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda c_prev: cell(x, (h, c_prev))[1], c)[0, :, 0, :]
    gates = x @ cell.w_x + h @ cell.w_h + cell.b
    f = torch.sigmoid(gates.chunk(4, dim=-1)[1])[0]
    torch.testing.assert_close(jac, torch.diag(f).detach())


def test_page_gradient_at_last_step_is_sqrt_d_h() -> None:
    """foundations/rnn: "at the last step dL/dh_T is all ones, norm
    sqrt(32) = 5.66, whatever the weights"."""
    for scale in (0.5, 1.0, 3.0):
        assert hidden_grad_norms(scale)[-1] == pytest.approx(32**0.5)


def test_page_context_vector_has_fixed_size() -> None:
    """foundations/rnn: "a 3-word and a 300-word source both reach the
    decoder as one vector of d_h = 2 numbers"."""
    ex = cat_sat_here()
    rng = np.random.default_rng(0)
    for n in (3, 300):
        src = rng.standard_normal((1, n, 3))
        context = rnn_forward_numpy(src, ex.w_xh, ex.w_hh, ex.b)[:, -1]
        assert context.shape == (1, 2)


def test_page_parameter_counts() -> None:
    """foundations/rnn: "With d_in = 5 and d_h = 4, a plain RNN has 40
    parameters, an LSTM cell four times as many (160), a GRU cell 132
    (three times the RNN's, plus its second bias vector of 12)"."""
    rnn_weights = 5 * 4 + 4 * 4 + 4
    lstm = sum(p.numel() for p in LSTMCell(5, 4).parameters())
    gru = sum(p.numel() for p in GRUCell(5, 4).parameters())
    assert rnn_weights == 40
    assert lstm == 4 * rnn_weights == 160
    assert gru == 3 * rnn_weights + 12 == 132
    ref = sum(p.numel() for p in torch.nn.LSTM(5, 4).parameters())
    assert ref == lstm + 16  # torch keeps two bias vectors per gate


def test_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from transformer_atlas.demos.foundations.rnn import main

    main()
    out = capsys.readouterr().out
    assert "h_3" in out and "0.7399" in out
    assert "x [batch, seq, d_in] = [1, 3, 3]" in out
    assert "LSTM" in out and "GRU" in out
    assert "context [batch, d_h] = [1, 2]" in out


def test_page_torch_rnn_check_prints_true() -> None:
    """foundations/rnn: the torch.nn.RNN check on the worked example (float32,
    one bias in bias_ih, bias_hh zero) prints "True"."""
    ex = cat_sat_here()
    torch.manual_seed(0)
    ref = torch.nn.RNN(3, 2, nonlinearity="tanh", batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.tensor(ex.w_xh.T))
        ref.weight_hh_l0.copy_(torch.tensor(ex.w_hh.T))
        ref.bias_ih_l0.copy_(torch.tensor(ex.b))
        ref.bias_hh_l0.zero_()
        out, _ = ref(torch.tensor(ex.x[None], dtype=torch.float32))
    assert np.allclose(out[0].numpy(), ex.hs, atol=1e-6)


def test_page_lstm_check_prints_true() -> None:
    """foundations/rnn: the torch.nn.LSTM check (float32, seed 0) prints
    "torch.Size([2, 5, 4]) True True"."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, batch_first=True)
    ours = LSTM(3, 4)
    with torch.no_grad():
        _copy_lstm(ours, ref)
        x = torch.randn(2, 5, 3)
        out, (_, c_n) = ours(x)
        ref_out, (_, ref_c) = ref(x)
    assert out.shape == (2, 5, 4)
    assert torch.allclose(out, ref_out, atol=1e-6)
    assert torch.allclose(c_n, ref_c[0], atol=1e-6)
