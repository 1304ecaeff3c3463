"""Every row of the math quick reference (reference/math.md), checked.

Each test's docstring quotes the row it backs. The oracles are NumPy,
SciPy, PyTorch built-ins, autograd and ``torch.optim``: none of them is
our code, and each formula is computed here by hand and compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

F64 = torch.float64
RNG_SEED = 0


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    """Every test draws the same torch random numbers on every run."""
    torch.manual_seed(RNG_SEED)


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def _distribution(rng: np.random.Generator, n: int) -> np.ndarray:
    p = rng.random(n) + 0.05
    return p / p.sum()


# ---------------------------------------------------------- linear algebra
def test_dot_product_is_lengths_times_cosine() -> None:
    """math: a . b = sum_i a_i b_i = |a| |b| cos(theta)."""
    for alpha, beta, ra, rb in [(0.3, 1.4, 2.0, 0.5), (0.0, math.pi, 1, 3)]:
        a = ra * np.array([math.cos(alpha), math.sin(alpha)])
        b = rb * np.array([math.cos(beta), math.sin(beta)])
        expected = ra * rb * math.cos(beta - alpha)
        assert np.isclose(sum(a * b), expected)
        assert np.isclose(np.dot(a, b), expected)


def test_cosine_similarity() -> None:
    """math: cos(theta) = a . b / (|a| |b|), in [-1, 1]."""
    a, b = torch.randn(2, 5, 16, dtype=F64)
    ours = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    torch.testing.assert_close(ours, F.cosine_similarity(a, b, dim=-1))
    assert bool(((ours >= -1) & (ours <= 1)).all())


def test_euclidean_norm() -> None:
    """math: |x| = sqrt(sum_i x_i^2)."""
    x = _rng().normal(size=10)
    assert np.isclose(math.sqrt(sum(x * x)), np.linalg.norm(x))


def test_linear_layer_matches_nn_linear() -> None:
    """math: y = x W + b with W of shape [d_in, d_out]; nn.Linear stores
    W^T."""
    torch.manual_seed(0)
    layer = nn.Linear(4, 3).double()
    w = layer.weight.detach().T  # [d_in, d_out]
    x = torch.randn(5, 4, dtype=F64)
    torch.testing.assert_close(x @ w + layer.bias.detach(), layer(x))


def test_matrix_product_from_loops() -> None:
    """math: (AB)_ij = sum_k A_ik B_kj."""
    rng = _rng()
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    loops = np.array(
        [[sum(a[i, k] * b[k, j] for k in range(4)) for j in range(2)] for i in range(3)]
    )
    np.testing.assert_allclose(loops, a @ b)


def test_transpose_of_product() -> None:
    """math: (AB)^T = B^T A^T."""
    rng = _rng()
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    np.testing.assert_allclose((a @ b).T, b.T @ a.T)


def test_eigenvector_of_row_vector_map() -> None:
    """math: v A = lambda v (row vectors), and repeated products grow or
    shrink along eigenvectors by lambda^t."""
    a = np.array([[2.0, 0.0], [1.0, 0.5]])
    values, vectors = np.linalg.eig(a.T)  # columns: row eigenvectors of A
    for lam, v in zip(values, vectors.T):
        np.testing.assert_allclose(v @ a, lam * v)
        np.testing.assert_allclose(v @ np.linalg.matrix_power(a, 5), lam**5 * v)


# ------------------------------------------ probability, information theory
def test_softmax_definition() -> None:
    """math: softmax(z)_i = e^{z_i} / sum_j e^{z_j}."""
    z = torch.randn(4, 7, dtype=F64)
    ours = z.exp() / z.exp().sum(-1, keepdim=True)
    torch.testing.assert_close(ours, torch.softmax(z, dim=-1))


def test_softmax_shift_invariance() -> None:
    """math: softmax(z - c) = softmax(z)."""
    z = torch.randn(7, dtype=F64)
    for c in (-3.0, 0.5, float(z.max())):
        torch.testing.assert_close(torch.softmax(z - c, -1), torch.softmax(z, -1))


def test_temperature_sharpens_and_flattens() -> None:
    """math: softmax(z / T): T < 1 sharpens, T > 1 flattens."""
    z = torch.tensor([2.0, 1.0, 0.1], dtype=F64)
    top = [float(torch.softmax(z / t, -1).max()) for t in (0.5, 1.0, 2.0)]
    assert top[0] > top[1] > top[2]


def test_log_sum_exp() -> None:
    """math: log sum_j e^{z_j} = m + log sum_j e^{z_j - m}, m = max z."""
    z = torch.randn(9, dtype=F64) * 5
    m = z.max()
    ours = m + torch.log(torch.exp(z - m).sum())
    torch.testing.assert_close(ours, torch.logsumexp(z, -1))
    torch.testing.assert_close(ours, torch.log(torch.exp(z).sum()))


def test_variance_identity() -> None:
    """math: Var(X) = E[X^2] - E[X]^2."""
    x = _rng().normal(2.0, 3.0, size=1000)
    assert np.isclose(np.mean(x**2) - np.mean(x) ** 2, np.var(x))


def test_variance_of_dot_product_is_d_k() -> None:
    """math: Var(q . k) = d_k for independent entries, mean 0, var 1."""
    gen = torch.Generator().manual_seed(0)
    for d_k in (4, 64):
        q = torch.randn(50_000, d_k, generator=gen, dtype=F64)
        k = torch.randn(50_000, d_k, generator=gen, dtype=F64)
        var = float((q * k).sum(-1).var())
        assert abs(var / d_k - 1) < 0.05


def test_layer_norm_formula() -> None:
    """math: gamma * (x - mu) / sqrt(sigma^2 + eps) + beta."""
    x = torch.randn(3, 8, dtype=F64)
    gamma, beta = torch.randn(2, 8, dtype=F64)
    eps = 1e-5
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    ours = gamma * (x - mu) / torch.sqrt(var + eps) + beta
    theirs = F.layer_norm(x, (8,), gamma, beta, eps)
    torch.testing.assert_close(ours, theirs)


def test_chain_rule_of_probability() -> None:
    """math: p(x_1, ..., x_n) = prod_t p(x_t | x_<t)."""
    rng = _rng()
    joint = rng.random((2, 3, 4))
    joint /= joint.sum()
    p1, p12 = joint.sum(axis=(1, 2)), joint.sum(axis=2)
    chain = p1[:, None, None] * (p12 / p1[:, None])[:, :, None] * (joint / p12[:, :, None])
    np.testing.assert_allclose(chain, joint)


def test_entropy_and_its_extremes() -> None:
    """math: H(p) = -sum p log p; 0 when certain, log V when uniform."""
    p = _distribution(_rng(), 6)
    assert np.isclose(-np.sum(p * np.log(p)), stats.entropy(p))
    assert stats.entropy([1.0, 0.0, 0.0]) == 0.0
    assert np.isclose(stats.entropy(np.full(6, 1 / 6)), math.log(6))


def test_cross_entropy_and_one_hot_target() -> None:
    """math: H(p, q) = -sum p log q; with a one-hot target, -log q_y."""
    rng = _rng()
    p, q = _distribution(rng, 5), _distribution(rng, 5)
    assert np.isclose(-np.sum(p * np.log(q)), stats.entropy(p) + stats.entropy(p, q))
    logits = torch.randn(4, 5, dtype=F64)
    y = torch.tensor([0, 3, 1, 4])
    q_t = torch.softmax(logits, -1)
    ours = -torch.log(q_t[torch.arange(4), y])
    theirs = F.cross_entropy(logits, y, reduction="none")
    torch.testing.assert_close(ours, theirs)
    soft = torch.softmax(torch.randn(4, 5, dtype=F64), -1)
    torch.testing.assert_close(
        -(soft * torch.log(q_t)).sum(-1),
        F.cross_entropy(logits, soft, reduction="none"),
    )


def test_kl_divergence() -> None:
    """math: KL(p || q) = sum p log(p / q) = H(p, q) - H(p) >= 0."""
    rng = _rng()
    p, q = _distribution(rng, 5), _distribution(rng, 5)
    kl = np.sum(p * np.log(p / q))
    assert np.isclose(kl, stats.entropy(p, q))
    assert np.isclose(kl, -np.sum(p * np.log(q)) - stats.entropy(p))
    assert kl >= 0
    theirs = F.kl_div(torch.log(torch.tensor(q)), torch.tensor(p), reduction="sum")
    assert np.isclose(kl, float(theirs))


def test_perplexity() -> None:
    """math: PPL = exp(-mean log q(x_t | x_<t)); V for a uniform guess."""
    logits = torch.randn(6, 10, dtype=F64)
    y = torch.randint(0, 10, (6,))
    log_q = torch.log_softmax(logits, -1)[torch.arange(6), y]
    ppl = torch.exp(-log_q.mean())
    torch.testing.assert_close(ppl, torch.exp(F.cross_entropy(logits, y)))
    uniform = torch.zeros(6, 10, dtype=F64)
    assert math.isclose(float(torch.exp(F.cross_entropy(uniform, y))), 10.0)


def test_mutual_information() -> None:
    """math: I(X; Y) = H(X) - H(X | Y)."""
    rng = _rng()
    joint = rng.random((3, 4))
    joint /= joint.sum()
    px, py = joint.sum(1), joint.sum(0)
    h_x_given_y = sum(py[j] * stats.entropy(joint[:, j] / py[j]) for j in range(4))
    ours = stats.entropy(px) - h_x_given_y
    oracle = stats.entropy(joint.ravel(), np.outer(px, py).ravel())
    assert np.isclose(ours, oracle)
    independent = np.outer(px, py)
    h_indep = sum(py[j] * stats.entropy(independent[:, j] / py[j]) for j in range(4))
    assert np.isclose(stats.entropy(px) - h_indep, 0.0)


# ----------------------------------------------------------------- calculus
def test_gradient_against_finite_differences() -> None:
    """math: grad f = (df/dx_1, ..., df/dx_d)."""
    x = torch.randn(5, dtype=F64, requires_grad=True)

    def f(t: torch.Tensor) -> torch.Tensor:
        return (t.sin() * t).sum()

    f(x).backward()
    h = 1e-6
    fd = torch.stack(
        [(f(x.detach() + h * e) - f(x.detach() - h * e)) / (2 * h) for e in torch.eye(5, dtype=F64)]
    )
    torch.testing.assert_close(x.grad, fd, rtol=1e-6, atol=1e-8)


def test_chain_rule_and_jacobian_shape() -> None:
    """math: dL/dx = dL/dy dy/dx; J_ij = dy_i/dx_j of shape [d_out,
    d_in]."""
    torch.manual_seed(0)
    w = torch.randn(4, 3, dtype=F64)
    x = torch.randn(4, dtype=F64)

    def layer(t: torch.Tensor) -> torch.Tensor:
        return torch.tanh(t @ w)

    def loss(y: torch.Tensor) -> torch.Tensor:
        return (y**2).sum()

    jac = torch.autograd.functional.jacobian(layer, x)
    assert jac.shape == (3, 4)
    torch.testing.assert_close(jac, (1 - layer(x) ** 2)[:, None] * w.T)
    dl_dy = torch.autograd.functional.jacobian(loss, layer(x))
    dl_dx = torch.autograd.functional.jacobian(lambda t: loss(layer(t)), x)
    torch.testing.assert_close(dl_dy @ jac, dl_dx)


def test_linear_layer_gradients() -> None:
    """math: Y = XW, G = dL/dY: dL/dW = X^T G, dL/dX = G W^T."""
    x = torch.randn(5, 4, dtype=F64, requires_grad=True)
    w = torch.randn(4, 3, dtype=F64, requires_grad=True)
    g = torch.randn(5, 3, dtype=F64)
    (x @ w).backward(g)
    torch.testing.assert_close(w.grad, x.detach().T @ g)
    torch.testing.assert_close(x.grad, g @ w.detach().T)


def test_softmax_jacobian() -> None:
    """math: J_ij = dp_i/dz_j = p_i (delta_ij - p_j), J = diag(p) - p^T p for a row p."""
    z = torch.randn(6, dtype=F64)
    p = torch.softmax(z, -1)
    ours = p[:, None] * (torch.eye(6, dtype=F64) - p[None, :])
    theirs = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), z)
    torch.testing.assert_close(ours, theirs)
    row = p[None, :]  # [1, 6]
    torch.testing.assert_close(torch.diag(p) - row.T @ row, theirs)


def test_softmax_cross_entropy_gradient() -> None:
    """math: d/dz (-log p_y) = p - e_y."""
    z = torch.randn(6, dtype=F64, requires_grad=True)
    y = 2
    F.cross_entropy(z[None], torch.tensor([y])).backward()
    expected = torch.softmax(z.detach(), -1) - F.one_hot(torch.tensor(y), 6).to(F64)
    torch.testing.assert_close(z.grad, expected)


def test_sigmoid_derivative() -> None:
    """math: sigma'(x) = sigma(x)(1 - sigma(x)); largest (1/4) at 0."""
    x = torch.linspace(-8, 8, 101, dtype=F64, requires_grad=True)
    torch.sigmoid(x).sum().backward()
    s = 1 / (1 + torch.exp(-x.detach()))
    torch.testing.assert_close(x.grad, s * (1 - s))
    assert float(x.grad.max()) == pytest.approx(0.25)
    assert float(x.grad[50]) == pytest.approx(0.25)


# ------------------------------------------------------------- optimization
def _quadratic_grads(p: torch.Tensor, t: int) -> torch.Tensor:
    """A deterministic gradient for step ``t``: of 0.5|p - c_t|^2."""
    return p - torch.full_like(p, float(t))


def _run_torch(opt_cls: type, steps: int, **kwargs: float) -> torch.Tensor:
    p = nn.Parameter(torch.linspace(-1, 1, 5, dtype=F64))
    opt = opt_cls([p], **kwargs)
    for t in range(steps):
        opt.zero_grad()
        p.grad = _quadratic_grads(p.detach(), t)
        opt.step()
    return p.detach()


def test_gradient_descent_matches_sgd() -> None:
    """math: theta <- theta - eta grad L."""
    theta = torch.linspace(-1, 1, 5, dtype=F64)
    for t in range(4):
        theta = theta - 0.1 * _quadratic_grads(theta, t)
    torch.testing.assert_close(theta, _run_torch(torch.optim.SGD, 4, lr=0.1))


def test_minibatch_gradient_is_mean_of_example_gradients() -> None:
    """math: L = (1/B) sum_b l_b; its gradient averages the examples'."""
    w = torch.randn(3, dtype=F64, requires_grad=True)
    xs = torch.randn(4, 3, dtype=F64)
    per_example = []
    for x in xs:
        (g,) = torch.autograd.grad(torch.sin(x @ w), w)
        per_example.append(g)
    (batch,) = torch.autograd.grad(torch.sin(xs @ w).mean(), w)
    torch.testing.assert_close(batch, torch.stack(per_example).mean(0))


def test_momentum_matches_sgd_momentum() -> None:
    """math: v <- beta v + g, theta <- theta - eta v."""
    theta = torch.linspace(-1, 1, 5, dtype=F64)
    v = torch.zeros_like(theta)
    for t in range(5):
        v = 0.9 * v + _quadratic_grads(theta, t)
        theta = theta - 0.1 * v
    theirs = _run_torch(torch.optim.SGD, 5, lr=0.1, momentum=0.9)
    torch.testing.assert_close(theta, theirs)


def _adam(steps: int, lr: float, weight_decay: float) -> torch.Tensor:
    b1, b2, eps = 0.9, 0.999, 1e-8
    theta = torch.linspace(-1, 1, 5, dtype=F64)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    for t in range(1, steps + 1):
        g = _quadratic_grads(theta, t - 1)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * (m_hat / (torch.sqrt(v_hat) + eps) + weight_decay * theta)
    return theta


def test_adam_matches_torch_adam() -> None:
    """math: the Adam moments and the bias-corrected Adam step."""
    theirs = _run_torch(torch.optim.Adam, 6, lr=0.01)
    torch.testing.assert_close(_adam(6, 0.01, 0.0), theirs)


def test_adamw_matches_torch_adamw() -> None:
    """math: theta <- theta - eta (m_hat / (sqrt(v_hat) + eps) + lambda
    theta)."""
    theirs = _run_torch(torch.optim.AdamW, 6, lr=0.01, weight_decay=0.1)
    torch.testing.assert_close(_adam(6, 0.01, 0.1), theirs)


def test_adam_step_is_about_eta() -> None:
    """math: Adam takes "a step of about eta per weight, whatever the
    gradient's scale" (the first step is exactly eta up to eps)."""
    for scale in (1e-3, 1.0, 1e3):
        p = nn.Parameter(torch.zeros(3, dtype=F64))
        opt = torch.optim.Adam([p], lr=0.01)
        p.grad = torch.tensor([1.0, -2.0, 0.5], dtype=F64) * scale
        opt.step()
        torch.testing.assert_close(
            p.detach().abs(),
            torch.full((3,), 0.01, dtype=F64),
            rtol=1e-4,
            atol=0.0,
        )


def test_gradient_clipping() -> None:
    """math: g <- g min(1, c / |g|): caps the length, keeps the
    direction."""
    for scale in (0.1, 10.0):
        p = nn.Parameter(torch.zeros(4, dtype=F64))
        g = torch.tensor([1.0, -2.0, 2.0, 4.0], dtype=F64) * scale
        p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_([p], max_norm=1.0)
        ours = g * min(1.0, 1.0 / float(g.norm()))
        torch.testing.assert_close(p.grad, ours, rtol=1e-5, atol=0.0)
