"""Hand-derived Jacobians against autograd, and the calculus page's claims.

* ``softmax_jacobian``, ``linear_jacobian_x``, ``linear_jacobian_w`` and
  ``layer_norm_jacobian`` vs ``torch.autograd.functional.jacobian``
  (float64, several shapes and seeds).
* ``softmax_backward`` and ``linear_backward`` vs autograd's backward pass.
* ``chain_rule_example`` vs ``torch.nn.functional.cross_entropy`` +
  autograd; ``scalar_chain`` vs autograd.
* Figures, the demo, bad input.
* Page claims: every number and property ``docs/foundations/calculus.md``
  states.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib.figure import Figure
from torch.autograd.functional import jacobian

from transformer_atlas.blocks import normalization
from transformer_atlas.blocks.logits_softmax import softmax
from transformer_atlas.blocks.normalization import layer_norm
from transformer_atlas.demos import run_demo
from transformer_atlas.figures import load_all
from transformer_atlas.figures.foundations.calculus import chain_rule_graph
from transformer_atlas.figures.foundations.tensors import broadcasting_diagram
from transformer_atlas.foundations import calculus
from transformer_atlas.foundations.calculus import (
    chain_rule_example,
    layer_norm_jacobian,
    linear_backward,
    linear_jacobian_w,
    linear_jacobian_x,
    scalar_chain,
    softmax_backward,
    softmax_jacobian,
)

F64 = torch.float64
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _randn(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=gen, dtype=F64)


# ===================================================================== softmax
@pytest.mark.parametrize("d", [1, 2, 3, 7, 16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_jacobian_matches_autograd(d: int, seed: int) -> None:
    z = _randn(d, seed=seed, scale=3.0)
    torch.testing.assert_close(softmax_jacobian(z), jacobian(softmax, z), **TOL)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-30, 30)))
def test_softmax_jacobian_symmetric_rows_sum_to_zero(z_np: np.ndarray) -> None:
    j = softmax_jacobian(torch.from_numpy(z_np))
    torch.testing.assert_close(j, j.T, rtol=0, atol=0)
    assert float(j.sum(dim=1).abs().max()) < 1e-12


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 6)])
def test_softmax_backward_matches_autograd(shape: tuple[int, ...]) -> None:
    z = _randn(*shape, seed=1, scale=2.0).requires_grad_(True)
    g = _randn(*shape, seed=2)
    p = softmax(z)
    (theirs,) = torch.autograd.grad(p, z, g)
    torch.testing.assert_close(softmax_backward(p.detach(), g), theirs, **TOL)


# ================================================================ linear layer
@pytest.mark.parametrize(("d_in", "d_out"), [(1, 1), (3, 2), (4, 7), (8, 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_linear_jacobians_match_autograd(d_in: int, d_out: int, seed: int) -> None:
    x = _randn(d_in, seed=seed)
    w = _randn(d_in, d_out, seed=seed + 10)
    b = _randn(d_out, seed=seed + 20)
    j_x = jacobian(lambda x_: x_ @ w + b, x)
    j_w = jacobian(lambda w_: x @ w_ + b, w)
    assert j_x.shape == (d_out, d_in) and j_w.shape == (d_out, d_in, d_out)
    torch.testing.assert_close(linear_jacobian_x(w), j_x, **TOL)
    torch.testing.assert_close(linear_jacobian_w(x, d_out), j_w, **TOL)


@pytest.mark.parametrize(("n", "d_in", "d_out"), [(1, 3, 2), (4, 3, 2), (6, 5, 8)])
def test_linear_backward_matches_autograd(n: int, d_in: int, d_out: int) -> None:
    x = _randn(n, d_in, seed=1).requires_grad_(True)
    w = _randn(d_in, d_out, seed=2).requires_grad_(True)
    b = _randn(d_out, seed=3).requires_grad_(True)
    g = _randn(n, d_out, seed=4)
    theirs = torch.autograd.grad(x @ w + b, (x, w, b), g)
    ours = linear_backward(x.detach(), w.detach(), g)
    for o, t in zip(ours, theirs):
        torch.testing.assert_close(o, t, **TOL)


# ================================================================== layer norm
def test_layer_norm_jacobian_is_reused_not_copied() -> None:
    assert calculus.layer_norm_jacobian is normalization.layer_norm_jacobian


@pytest.mark.parametrize("d", [2, 4, 9, 32])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm_jacobian_matches_autograd(d: int, eps: float) -> None:
    x = _randn(d, seed=d, scale=2.0) + 0.5
    theirs = jacobian(lambda x_: layer_norm(x_, eps=eps), x)
    torch.testing.assert_close(layer_norm_jacobian(x, eps=eps), theirs, **TOL)


# ================================================================ chain rule
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize(("d_in", "d_out"), [(2, 3), (5, 4), (1, 6)])
def test_chain_rule_example_matches_cross_entropy(seed: int, d_in: int, d_out: int) -> None:
    x, w, b = (
        _randn(d_in, seed=seed),
        _randn(d_in, d_out, seed=seed + 1),
        _randn(d_out, seed=seed + 2),
    )
    target = seed % d_out
    s = chain_rule_example(x, w, b, target)
    params = [t.clone().requires_grad_(True) for t in (x, w, b)]
    z = params[0] @ params[1] + params[2]
    loss = F.cross_entropy(z[None], torch.tensor([target]))
    grads = torch.autograd.grad(loss, params)
    torch.testing.assert_close(s.loss, loss.detach(), **TOL)
    for ours, theirs in zip((s.grad_x, s.grad_w, s.grad_b), grads):
        torch.testing.assert_close(ours, theirs, **TOL)
    onehot = F.one_hot(torch.tensor(target), d_out).to(F64)
    torch.testing.assert_close(s.grad_z, s.p - onehot, **TOL)


@pytest.mark.parametrize(("x", "a", "b"), [(1.0, 3.0, 1.0), (-0.5, 2.0, 0.3), (2.0, -1.0, 4.0)])
def test_scalar_chain_matches_autograd(x: float, a: float, b: float) -> None:
    t = torch.tensor(x, dtype=F64, requires_grad=True)
    y = (a * t + b) ** 2
    y.backward()
    s = scalar_chain(x, a, b)
    assert s["y"] == pytest.approx(float(y.detach())) and s["dy_dx"] == pytest.approx(float(t.grad))


# ================================================================= bad input
def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match=r"z must have 1 dimensions"):
        softmax_jacobian(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="same shape"):
        softmax_backward(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match=r"w must have 2 dimensions"):
        linear_jacobian_x(torch.zeros(3))
    with pytest.raises(ValueError, match=r"x must have 1 dimensions"):
        linear_jacobian_w(torch.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"grad_y must be \[n, d_out\]"):
        linear_backward(torch.zeros(4, 3), torch.zeros(3, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"b must be \[d_out\]"):
        chain_rule_example(torch.zeros(2), torch.zeros(2, 3), torch.zeros(2), 0)
    with pytest.raises(ValueError, match="target must be in"):
        chain_rule_example(torch.zeros(2), torch.zeros(2, 3), torch.zeros(3), 3)


# ============================================================ figures, demo
def test_figures_registered_and_redrawable() -> None:
    registry = load_all()
    assert registry["calculus-chain-rule"] is chain_rule_graph
    assert registry["tensors-broadcasting"] is broadcasting_diagram
    for fn, kwargs in (
        (chain_rule_graph, {"x": 2.0, "a": -1.0, "b": 0.5}),
        (broadcasting_diagram, {"shape_a": (5, 1), "shape_b": (2, 1, 3)}),
    ):
        fig = fn(**kwargs)
        fig.savefig(__import__("io").BytesIO(), format="svg")
        assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="do not broadcast"):
        broadcasting_diagram((2, 3), (4,))


def test_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    run_demo("calculus")
    out = capsys.readouterr().out
    for line in [
        "   backward: dy/du = 2u = 8,  du/dx = 3,  dy/dx = 8 * 3 = 24",
        "   dy/dx = W^T, shape [d_out, d_in] = [2, 3]; max |ours - autograd| = 0.0e+00",
        "   dy/dW, shape [d_out, d_in, d_out] = [2, 3, 2]; max |ours - autograd| = 0.0e+00",
        "   L = -log p[1]      = 0.7177",
        "   matches autograd (dL/dx and dL/dW): True",
    ]:
        assert line in out, line


# ================================================================ page claims
def test_page_claim_scalar_chain_is_24() -> None:
    """calculus: "u = 3x + 1 = 4 ... y = u^2 = 16 ... du/dx = 3 and dy/du = 2u = 8 ... 8 * 3 = 24";
    "A nudge of x by 0.001 moves y by about 0.024"."""
    s = scalar_chain(1.0)
    assert (s["u"], s["y"], s["du_dx"], s["dy_du"], s["dy_dx"]) == (4.0, 16.0, 3.0, 8.0, 24.0)
    moved = (3 * 1.001 + 1) ** 2 - 16.0
    assert round(moved, 3) == 0.024


def test_page_claim_gradient_example() -> None:
    """calculus: "L(x) = x_1^2 + x_2^2 has gradient (2x_1, 2x_2)"; a small step against it
    lowers L."""
    x = torch.tensor([0.7, -1.3], dtype=F64, requires_grad=True)
    loss = (x**2).sum()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * x.detach())
    assert float(((x.detach() - 0.01 * x.grad) ** 2).sum()) < float(loss.detach())


def test_page_claim_linear_jacobian_is_w_transpose_for_any_x_and_b() -> None:
    """calculus: "J_x = W^T, the same matrix for every x and b"; shapes [2, 3] and [2, 3, 2]."""
    w = _randn(3, 2, seed=5)
    for seed in range(3):
        x, b = _randn(3, seed=seed), _randn(2, seed=seed + 7)
        j = jacobian(lambda x_: x_ @ w + b, x)
        torch.testing.assert_close(j, w.T, **TOL)
    assert linear_jacobian_w(_randn(3), 2).shape == (2, 3, 2)


def test_page_claim_printed_linear_block() -> None:
    """calculus: the linear-layer block prints "torch.Size([2, 3]) True",
    "torch.Size([2, 3, 2]) True", "True"."""
    torch.manual_seed(0)
    x = torch.randn(3, dtype=F64)
    w = torch.randn(3, 2, dtype=F64)
    b = torch.randn(2, dtype=F64)
    j_x = jacobian(lambda x_: x_ @ w + b, x)
    j_w = jacobian(lambda w_: x @ w_ + b, w)
    assert j_x.shape == (2, 3) and torch.allclose(j_x, linear_jacobian_x(w))
    assert j_w.shape == (2, 3, 2) and torch.allclose(j_w, linear_jacobian_w(x, 2))


def test_page_claim_softmax_printed_jacobian() -> None:
    """calculus: softmax_jacobian([2.0, 1.0, 0.1]) rounded to 3 decimals is the printed matrix;
    "J is symmetric" and "every row of J sums to 0"."""
    z = torch.tensor([2.0, 1.0, 0.1], dtype=F64)
    j = softmax_jacobian(z)
    expected = torch.tensor(
        [[0.225, -0.160, -0.065], [-0.160, 0.184, -0.024], [-0.065, -0.024, 0.089]], dtype=F64
    )
    torch.testing.assert_close(j.round(decimals=3), expected, rtol=0, atol=0)
    assert torch.allclose(j, j.T) and bool(j.sum(dim=1).abs().max() < 1e-15)
    g_p = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    assert torch.allclose(softmax_backward(softmax(z), g_p), g_p @ j)


def test_page_claim_shifting_logits_changes_nothing() -> None:
    """calculus: "Adding the same number to every logit leaves p unchanged ... the gradient at the
    logits always sums to 0"."""
    z = _randn(6, seed=3)
    torch.testing.assert_close(softmax(z + 4.2), softmax(z), **TOL)
    g = softmax_backward(softmax(z), _randn(6, seed=4))
    assert abs(float(g.sum())) < 1e-14


def test_page_claim_layer_norm_jacobian_symmetric_rows_sum_zero() -> None:
    """calculus: the layer-norm Jacobian "is symmetric" and "every row sums to 0"; the printed
    block gives True and True; "divided by sigma_eps"."""
    x = torch.tensor([1.0, 2.0, 3.0, 6.0], dtype=F64)
    j = layer_norm_jacobian(x)
    assert torch.allclose(j, jacobian(layer_norm, x))
    torch.testing.assert_close(j, j.T, **TOL)
    assert bool(j.sum(dim=1).abs().max() < 1e-12)
    j0 = layer_norm_jacobian(x, eps=0.0)  # eps = 0: exactly divided by sigma
    torch.testing.assert_close(layer_norm_jacobian(10 * x, eps=0.0), j0 / 10, **TOL)


def test_page_claim_chain_rule_printed_numbers() -> None:
    """calculus: the tiny network prints z = [2, 2, -1], p = [0.4879, 0.4879, 0.0243],
    grad_z = [0.4879, -0.5121, 0.0243] ("predicted minus true"), and True True against
    cross_entropy."""
    x = torch.tensor([1.0, 2.0], dtype=F64)
    w = torch.tensor([[1.0, 0.0, -1.0], [0.5, 1.0, 0.0]], dtype=F64)
    s = chain_rule_example(x, w, torch.zeros(3, dtype=F64), target=1)
    assert s.z.tolist() == [2.0, 2.0, -1.0]
    assert s.p.round(decimals=4).tolist() == [0.4879, 0.4879, 0.0243]
    assert s.grad_z.round(decimals=4).tolist() == [0.4879, -0.5121, 0.0243]
    assert (
        s.grad_z.round(decimals=4).tolist()
        == (s.p - torch.tensor([0.0, 1.0, 0.0], dtype=F64)).round(decimals=4).tolist()
    )


def test_page_claim_error_message() -> None:
    """calculus: "x [..., d_in] must match w [d_in, d_out] in d_in, got x (4, 3) and w (5, 2)"."""
    with pytest.raises(ValueError) as err:
        linear_backward(torch.randn(4, 3), torch.randn(5, 2), torch.randn(4, 2))
    assert (
        str(err.value)
        == "x [..., d_in] must match w [d_in, d_out] in d_in, got x (4, 3) and w (5, 2)"
    )


def test_page_claim_pre_norm_jacobian_is_identity_plus_the_path_through_the_norm() -> None:
    """calculus: a pre-norm step y = x + F(LN(x)) has "J_y = I + J_F J_LN": the gradient reaching
    the sub-layer's input passes through the layer-norm Jacobian, the I carries it around the norm.
    """
    from transformer_atlas.blocks.residual import PreNormBlock

    torch.manual_seed(0)
    block = PreNormBlock(d_model=8, n_heads=2, d_ff=16).double().eval()
    x = _randn(8, seed=11, scale=2.0) + 0.5  # one token [d_model]

    def row(module: torch.nn.Module, u: torch.Tensor) -> torch.Tensor:
        return module(u[None, None])[0, 0]  # [d] -> [1, 1, d] -> module -> [d]

    j_y = jacobian(lambda u: u + row(block.ffn, row(block.norm_2, u)), x)
    j_f = jacobian(lambda u: row(block.ffn, u), row(block.norm_2, x).detach())
    j_ln = jacobian(lambda u: row(block.norm_2, u), x)
    torch.testing.assert_close(j_y, torch.eye(8, dtype=F64) + j_f @ j_ln, **TOL)
    torch.testing.assert_close(j_ln, layer_norm_jacobian(x), **TOL)  # fresh norm: gamma 1, beta 0
    # The whole block, attention and FFN over 3 tokens: every path but the identity passes through
    # a norm, so the direction a norm removes (one shift of all features of a token) goes through
    # d out / d x unchanged, while the branches do change every other direction.
    xs = _randn(1, 3, 8, seed=12)
    j = jacobian(block, xs).reshape(24, 24)
    for i in range(3):
        u = torch.zeros(24, dtype=F64)
        u[8 * i : 8 * (i + 1)] = 1.0
        torch.testing.assert_close(j @ u, u, **TOL)
    assert float((j - torch.eye(24, dtype=F64)).abs().max()) > 1e-2
