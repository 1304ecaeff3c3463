"""The NumPy MLP with a hand-written backward pass, against oracles.

* ``forward`` and ``bce_loss`` vs the same network built from
  ``nn.Linear`` layers (copied, transposed weights) and
  ``F.binary_cross_entropy_with_logits``.
* ``backward`` vs ``torch.autograd`` in float64 to 1e-6 for random shapes
  and all three hidden activations (hypothesis), and vs
  :func:`numerical_gradient`; ``numerical_gradient`` itself vs a closed
  form.
* ``sgd_step`` vs ``torch.optim.SGD``; training on two rings.
* Input checks, the figure and the demo.
* "Page claims": every number ``docs/foundations/mlp.md`` states.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_atlas.foundations.mlp import (
    accuracy,
    backward,
    bce_loss,
    circles_dataset,
    format_spam_example,
    forward,
    init_mlp,
    numerical_gradient,
    sgd_step,
    sigmoid,
    spam_example,
    train,
)

TORCH_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _torch_loss_and_grads(params, x, y, activation):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    h = TORCH_ACT[activation](xt @ t["w1"] + t["b1"])
    z2 = h @ t["w2"] + t["b2"]
    loss = F.binary_cross_entropy_with_logits(z2, yt)
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


# ----------------------------------------------------------- vs torch
def test_forward_matches_nn_linear_with_copied_weights() -> None:
    torch.manual_seed(0)
    l1, l2 = nn.Linear(3, 5).double(), nn.Linear(5, 1).double()
    params = {
        "w1": l1.weight.detach().numpy().T.copy(),  # [d_in, d_hidden]
        "b1": l1.bias.detach().numpy().copy(),
        "w2": l2.weight.detach().numpy().T.copy(),
        "b2": l2.bias.detach().numpy().copy(),
    }
    x = np.random.default_rng(0).normal(size=(7, 3))
    y = (np.arange(7) % 2).astype(float)[:, None]
    ref = nn.Sequential(l1, nn.Sigmoid(), l2)(torch.tensor(x))
    cache = forward(params, x)
    np.testing.assert_allclose(cache["z2"], ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache["p"], torch.sigmoid(ref).detach(), rtol=1e-12, atol=1e-12)
    ref_loss = F.binary_cross_entropy_with_logits(ref, torch.tensor(y))
    assert bce_loss(cache["z2"], y) == pytest.approx(ref_loss.item(), rel=1e-12)


def test_sigmoid_matches_torch_and_stays_finite() -> None:
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(z)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-15, atol=0)


def test_bce_loss_is_finite_for_huge_logits() -> None:
    z2 = np.array([[1000.0], [-1000.0]])
    y = np.array([[0.0], [1.0]])
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z2), torch.tensor(y))
    assert bce_loss(z2, y) == pytest.approx(float(ref)) == 1000.0


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 6),
    d_in=st.integers(1, 5),
    d_hidden=st.integers(1, 6),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    seed=st.integers(0, 2**16),
)
def test_backward_matches_autograd_float64(
    batch: int, d_in: int, d_hidden: int, activation: str, seed: int
) -> None:
    """The manual backward pass equals torch.autograd to 1e-6."""
    rng = np.random.default_rng(seed)
    params = init_mlp(d_in, d_hidden, seed=seed)
    params["b1"] = rng.normal(size=d_hidden)
    params["b2"] = rng.normal(size=1)
    x = rng.normal(size=(batch, d_in))
    y = rng.integers(0, 2, size=(batch, 1)).astype(float)
    cache = forward(params, x, activation)
    grads = backward(params, cache, y, activation)
    loss, ref = _torch_loss_and_grads(params, x, y, activation)
    assert bce_loss(cache["z2"], y) == pytest.approx(loss, abs=1e-12)
    for k in params:
        assert grads[k].shape == params[k].shape
        np.testing.assert_allclose(grads[k], ref[k], rtol=0, atol=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_backward_matches_numerical_gradient(activation: str) -> None:
    rng = np.random.default_rng(1)
    params = init_mlp(4, 3, seed=1)
    x = rng.normal(size=(5, 4))
    y = rng.integers(0, 2, size=(5, 1)).astype(float)
    num = numerical_gradient(lambda p: bce_loss(forward(p, x, activation)["z2"], y), params)
    grads = backward(params, forward(params, x, activation), y, activation)
    for k in params:
        np.testing.assert_allclose(grads[k], num[k], rtol=0, atol=1e-8)


def test_numerical_gradient_of_a_closed_form() -> None:
    """d/dA sum(A^2 * c) = 2 A c exactly: the checker checks out."""
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = numerical_gradient(lambda p: float(np.sum(p["a"] ** 2 * c)), {"a": a})
    np.testing.assert_allclose(g["a"], 2 * a * c, rtol=1e-8)


def test_sgd_step_matches_torch_optim_sgd() -> None:
    rng = np.random.default_rng(2)
    params = init_mlp(3, 4, seed=2)
    x = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=(6, 1)).astype(float)
    new = sgd_step(params, backward(params, forward(params, x), y), 0.3)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.SGD(t.values(), lr=0.3)
    h = torch.sigmoid(torch.tensor(x) @ t["w1"] + t["b1"])
    F.binary_cross_entropy_with_logits(h @ t["w2"] + t["b2"], torch.tensor(y)).backward()
    opt.step()
    for k in params:
        np.testing.assert_allclose(new[k], t[k].detach().numpy(), rtol=1e-12, atol=1e-14)


def test_mlp_trains_on_two_rings() -> None:
    x, y = circles_dataset()
    params, losses = train(init_mlp(2, 8), x, y, 1.0, 2000, "tanh")
    assert losses[-1] < 0.01 < 0.5 < losses[0]
    assert accuracy(params, x, y, "tanh") == 1.0


def test_rings_are_not_linearly_separable() -> None:
    """A linear model (no hidden layer), fitted by scipy, cannot fit the
    rings: its best accuracy stays near chance."""
    from scipy.optimize import minimize

    x, y = circles_dataset()
    xb = np.hstack([x, np.ones((len(x), 1))])

    def loss(theta: np.ndarray) -> float:
        return bce_loss((xb @ theta)[:, None], y)

    theta = minimize(loss, np.zeros(3), method="L-BFGS-B").x
    acc = float(np.mean(((xb @ theta) > 0) == (y[:, 0] > 0.5)))
    assert acc < 0.75


# ---------------------------------------------------------- input checks
def test_bad_inputs_raise_value_error() -> None:
    params = init_mlp(3, 2)
    cache = dict(forward(params, np.ones((2, 3))), x=np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"x must be \[batch, 3\]"):
        backward(params, cache, np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"\[batch, d_in\]"):
        forward(params, np.ones(3))
    with pytest.raises(ValueError, match="activation must be one of"):
        forward(params, np.ones((1, 3)), "gelu")
    with pytest.raises(ValueError, match=r"y must be \[batch, 1\]"):
        train(params, np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="w1, b1, w2, b2"):
        forward({"w1": params["w1"]}, np.ones((1, 3)))
    bad = dict(params, b1=np.zeros(5))
    with pytest.raises(ValueError, match=r"expected b1 \(2,\)"):
        forward(bad, np.ones((1, 3)))
    with pytest.raises(ValueError, match="lr must be"):
        sgd_step(params, params, -1.0)
    with pytest.raises(ValueError, match="same shape"):
        bce_loss(np.ones((2, 1)), np.ones(2))


# ------------------------------------------------------- figure and demo
def test_figure_is_registered_and_draws() -> None:
    from transformer_atlas.figures import load_all

    registry = load_all()
    fig = registry["mlp-circles"](steps=50)
    assert len(fig.axes) == 2


def test_demo_prints_the_worked_example(capsys) -> None:
    from transformer_atlas.demos.foundations.mlp import main

    main()
    out = capsys.readouterr().out
    assert "p  = sigmoid(z2)  = 0.3948" in out
    assert "new p = 0.6641" in out
    assert "largest |numerical - backprop| = " in out
    assert "accuracy: 1.00" in out


# ------------------------------------------------------------ page claims
def test_page_spam_forward_numbers() -> None:
    """foundations/mlp: "z1 = [0.9, -0.3]", "h = [0.7109, 0.4256]",
    "z2 = -0.4274", "p = 0.3948": the network says 39% spam."""
    ex = spam_example()
    np.testing.assert_allclose(ex.cache["z1"], [[0.9, -0.3]], atol=1e-12)
    np.testing.assert_allclose(ex.cache["h"], [[0.7109, 0.4256]], atol=5e-5)
    assert ex.cache["z2"][0, 0] == pytest.approx(-0.4274, abs=5e-5)
    assert ex.cache["p"][0, 0] == pytest.approx(0.3948, abs=5e-5)


def test_page_spam_loss_and_gradients() -> None:
    """foundations/mlp: "loss = -log 0.3948 = 0.9295", "dL/dz2 = p - y =
    -0.6052", "dL/dz1 = [-0.1244, 0.2219]", "dL/dw1 for free =
    [-0.2488, 0.4439]"."""
    ex = spam_example()
    assert ex.loss == pytest.approx(-np.log(ex.cache["p"][0, 0]))
    assert ex.loss == pytest.approx(0.9295, abs=5e-5)
    assert ex.grads["b2"][0] == pytest.approx(-0.6052, abs=5e-5)
    np.testing.assert_allclose(ex.grads["b1"], [-0.1244, 0.2219], atol=5e-5)
    np.testing.assert_allclose(ex.grads["w1"][0], [-0.2488, 0.4439], atol=5e-5)
    # dL/dw1 = x^T dz1: row "free" is 2 * dz1, row "!" is 3 * dz1
    np.testing.assert_allclose(ex.grads["w1"], ex.x.T * ex.grads["b1"])


def test_page_spam_update() -> None:
    """foundations/mlp: "after one step with learning rate 0.5, w1 for
    free becomes [0.6244, -0.4219], p rises from 0.3948 to 0.6641 and the
    loss falls from 0.9295 to 0.4093"; the hidden unit 2 gradient is
    positive, so its weights go down."""
    ex = spam_example()
    np.testing.assert_allclose(ex.new_params["w1"][0], [0.6244, -0.4219], atol=5e-5)
    new_p = forward(ex.new_params, ex.x)["p"][0, 0]
    assert new_p == pytest.approx(0.6641, abs=5e-5)
    assert ex.new_loss == pytest.approx(0.4093, abs=5e-5)
    assert np.all(ex.grads["w1"][:, 1] > 0)
    assert np.all(ex.new_params["w1"][:, 1] < ex.params["w1"][:, 1])


def test_page_spam_printout_has_every_line() -> None:
    """foundations/mlp: the printed example shows every step."""
    text = format_spam_example(spam_example())
    for piece in (
        "z1 = x @ w1 + b1  = [ 0.9 -0.3]",
        "loss = -log p     = 0.9295",
        "dL/dz2 = p - y    = -0.6052",
        "new loss = 0.4093",
    ):
        assert piece in text


def test_page_gradient_check_agrees_to_1e_9() -> None:
    """foundations/mlp: on the spam example, finite differences and
    backprop agree to better than 1e-9."""
    ex = spam_example()
    num = numerical_gradient(lambda p: bce_loss(forward(p, ex.x)["z2"], ex.y), ex.params)
    for k in ex.grads:
        np.testing.assert_allclose(ex.grads[k], num[k], rtol=0, atol=1e-9)


def test_page_listing_is_what_the_code_prints() -> None:
    """foundations/mlp: "the test suite checks that this listing is exactly
    what the code prints"."""
    from pathlib import Path

    page = Path(__file__).parents[3] / "docs" / "foundations" / "mlp.md"
    text = page.read_text(encoding="utf-8")
    block = text.split("<!-- spam-output -->\n```text\n", 1)[1]
    block = block.split("\n```", 1)[0]
    assert block == format_spam_example(spam_example())


def test_page_eleven_weights() -> None:
    """foundations/mlp: "We want dL/dtheta for all 11 weights"."""
    assert sum(v.size for v in spam_example().params.values()) == 11


def test_page_rings_training_numbers() -> None:
    """foundations/mlp: rings loss "0.700 -> 0.0026", accuracy 1.0; "the
    binary cross-entropy should start near log 2 = 0.693"."""
    x, y = circles_dataset()
    assert x.shape == (200, 2) and y.shape == (200, 1)
    params, losses = train(init_mlp(2, 8), x, y, lr=1.0, steps=2000, activation="tanh")
    assert f"{losses[0]:.3f} -> {losses[-1]:.4f}" == "0.700 -> 0.0026"
    assert accuracy(params, x, y, "tanh") == 1.0
    assert f"{np.log(2):.3f}" == "0.693"


def test_page_broken_backward_is_caught() -> None:
    """foundations/mlp: "drop the h * (1.0 - h) factor ... and the
    difference jumps to the size of the gradients themselves"."""
    ex = spam_example()
    num = numerical_gradient(lambda p: bce_loss(forward(p, ex.x)["z2"], ex.y), ex.params)
    dz1_wrong = (ex.cache["p"] - ex.y) @ ex.params["w2"].T  # no h(1-h)
    dw1_wrong = ex.x.T @ dz1_wrong
    diff = np.abs(dw1_wrong - num["w1"]).max()
    assert diff > np.abs(num["w1"]).max()
