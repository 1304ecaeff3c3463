"""Probability and information theory against oracles we did not write.

* ``cross_entropy`` vs ``torch.nn.functional.cross_entropy`` (reductions,
  ``ignore_index``, ``[batch, seq, vocab]`` logits), gradients included.
* ``entropy`` vs ``scipy.stats.entropy`` in nats and bits.
* ``kl_divergence`` vs ``scipy.stats.entropy(p, q)`` and
  ``torch.nn.functional.kl_div`` (whose input is ``log q``).
* ``perplexity`` = ``exp(mean CE)``, and = ``V`` for a uniform model.
* ``mutual_information`` vs ``H(X) + H(Y) - H(X, Y)`` with scipy.
* Properties (hypothesis): ``KL >= 0``, ``= 0`` iff ``p = q``;
  ``H(p, q) = H(p) + KL(p || q)``; ``0 <= H(p) <= log n``.
* Page claims of ``foundations/probability`` and the demo.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.demos.foundations import probability as demo
from transformer_atlas.foundations.probability import (
    cross_entropy,
    entropy,
    kl_divergence,
    mutual_information,
    perplexity,
    softmax,
)

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)


def _dist(n: int, rows: int, seed: int, zeros: bool = False) -> torch.Tensor:
    """Random distributions ``[rows, n]``, some entries 0 if ``zeros``."""
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(rows, n, generator=g, dtype=F64) + 1e-3
    if zeros and n > 1:
        p[:, 0] = 0.0
    return p / p.sum(-1, keepdim=True)


# --------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_matches_torch_2d(reduction: str) -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(7, 11, generator=g, dtype=F64, requires_grad=True)
    y = torch.randint(0, 11, (7,), generator=g)
    ours = cross_entropy(z, y, reduction=reduction)
    ref = F.cross_entropy(z, y, reduction=reduction)
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours.sum(), z)
    (g_ref,) = torch.autograd.grad(ref.sum(), z)
    torch.testing.assert_close(g_ours, g_ref)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_batched_with_ignore_index(reduction: str) -> None:
    g = torch.Generator().manual_seed(1)
    batch, seq, vocab = 3, 5, 13
    z = torch.randn(batch, seq, vocab, generator=g, dtype=F64)
    y = torch.randint(0, vocab, (batch, seq), generator=g)
    y[0, -2:] = -100  # padding
    y[2, 0] = -100
    ours = cross_entropy(z, y, reduction=reduction)
    # torch wants the class axis second: [batch, vocab, seq]
    ref = F.cross_entropy(z.transpose(1, 2), y, reduction=reduction)
    torch.testing.assert_close(ours, ref)


def test_cross_entropy_custom_ignore_index() -> None:
    g = torch.Generator().manual_seed(2)
    z = torch.randn(6, 4, generator=g, dtype=F64)
    y = torch.tensor([0, 3, 1, 3, 2, 0])
    torch.testing.assert_close(
        cross_entropy(z, y, ignore_index=3),
        F.cross_entropy(z, y, ignore_index=3),
    )


def test_cross_entropy_is_finite_for_huge_logits() -> None:
    z = torch.tensor([[1e4, 0.0, -1e4]])
    out = cross_entropy(z, torch.tensor([2]))
    torch.testing.assert_close(out, F.cross_entropy(z, torch.tensor([2])))
    assert torch.isfinite(out)


def test_cross_entropy_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"targets must have the shape"):
        cross_entropy(torch.zeros(2, 3, 5), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"reduction must be"):
        cross_entropy(torch.zeros(2, 5), torch.zeros(2, dtype=torch.long), reduction="avg")


# ---------------------------------------------------------------- entropy
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), seed=SEEDS, zeros=st.booleans())
def test_entropy_matches_scipy(n: int, seed: int, zeros: bool) -> None:
    p = _dist(n, 4, seed, zeros)
    np.testing.assert_allclose(
        entropy(p).numpy(),
        scipy.stats.entropy(p.numpy(), axis=-1),
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        entropy(p, base=2).numpy(),
        scipy.stats.entropy(p.numpy(), base=2, axis=-1),
        rtol=1e-12,
        atol=1e-12,
    )
    h = entropy(p)
    assert bool((h >= -1e-12).all())
    assert bool((h <= math.log(n) + 1e-12).all())


def test_entropy_rejects_bad_base() -> None:
    with pytest.raises(ValueError, match="base must be"):
        entropy(torch.tensor([0.5, 0.5]), base=1)


# --------------------------------------------------------------------- KL
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), seed=SEEDS, zeros=st.booleans())
def test_kl_matches_scipy_and_torch(n: int, seed: int, zeros: bool) -> None:
    p = _dist(n, 3, seed, zeros)
    q = _dist(n, 3, seed + 1)
    ours = kl_divergence(p, q)
    np.testing.assert_allclose(
        ours.numpy(),
        scipy.stats.entropy(p.numpy(), q.numpy(), axis=-1),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        kl_divergence(p, q, base=2).numpy(),
        scipy.stats.entropy(p.numpy(), q.numpy(), base=2, axis=-1),
        rtol=1e-10,
        atol=1e-12,
    )
    # F.kl_div(input=log q, target=p) computes KL(p || q)
    ref = F.kl_div(q.log(), p, reduction="none").sum(-1)
    torch.testing.assert_close(ours, ref)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 10), seed=SEEDS, zeros=st.booleans())
def test_kl_nonnegative_zero_iff_equal(n: int, seed: int, zeros: bool) -> None:
    p = _dist(n, 5, seed, zeros)
    q = _dist(n, 5, seed + 7)
    assert bool((kl_divergence(p, q) >= 0).all())
    torch.testing.assert_close(kl_divergence(p, p), torch.zeros(5, dtype=F64), atol=1e-15, rtol=0)
    # p != q (away from ties) -> strictly positive
    differs = (p - q).abs().amax(-1) > 1e-6
    assert bool((kl_divergence(p, q)[differs] > 0).all())


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 10), seed=SEEDS, zeros=st.booleans())
def test_cross_entropy_decomposes(n: int, seed: int, zeros: bool) -> None:
    """H(p, q) = H(p) + KL(p || q), with H(p, q) = -sum p log q."""
    p = _dist(n, 4, seed, zeros)
    q = _dist(n, 4, seed + 3)
    h_pq = -(p * q.log()).sum(-1)
    torch.testing.assert_close(h_pq, entropy(p) + kl_divergence(p, q))


def test_kl_is_inf_where_q_is_zero() -> None:
    p = torch.tensor([0.5, 0.5], dtype=F64)
    q = torch.tensor([1.0, 0.0], dtype=F64)
    assert math.isinf(float(kl_divergence(p, q)))
    assert math.isinf(float(scipy.stats.entropy(p.numpy(), q.numpy())))
    assert math.isclose(float(kl_divergence(q, p)), math.log(2))


def test_kl_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match=r"p \(2,\) and q \(3,\)"):
        kl_divergence(torch.ones(2) / 2, torch.ones(3) / 3)


def test_cross_entropy_of_onehot_is_loss() -> None:
    """With a one-hot target p, H(p, softmax(z)) is the training loss."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(5, 6, generator=g, dtype=F64)
    y = torch.randint(0, 6, (5,), generator=g)
    onehot = F.one_hot(y, 6).to(F64)
    h = -(onehot * softmax(z).log()).sum(-1)
    torch.testing.assert_close(cross_entropy(z, y, reduction="none"), h)


# ------------------------------------------------------------- perplexity
def test_perplexity_is_exp_mean_cross_entropy() -> None:
    g = torch.Generator().manual_seed(4)
    z = torch.randn(2, 6, 9, generator=g, dtype=F64)
    y = torch.randint(0, 9, (2, 6), generator=g)
    y[1, 4:] = -100
    ref = torch.exp(F.cross_entropy(z.transpose(1, 2), y))
    torch.testing.assert_close(perplexity(z, y), ref)


@pytest.mark.parametrize("vocab", [2, 7, 1000, 50257])
def test_perplexity_of_uniform_model_is_vocab_size(vocab: int) -> None:
    z = torch.full((2, 3, vocab), 0.3, dtype=F64)
    y = torch.randint(0, vocab, (2, 3), generator=torch.Generator())
    assert math.isclose(float(perplexity(z, y)), vocab, rel_tol=1e-12)


# ---------------------------------------------------- mutual information
def _mi_via_entropies(joint: np.ndarray) -> float:
    ent = scipy.stats.entropy
    return float(ent(joint.sum(1)) + ent(joint.sum(0)) - ent(joint.ravel()))


@settings(max_examples=30, deadline=None)
@given(nx=st.integers(1, 5), ny=st.integers(1, 5), seed=SEEDS)
def test_mutual_information_matches_entropies(nx: int, ny: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    joint = rng.random((nx, ny))
    joint[rng.random((nx, ny)) < 0.3] = 0.0
    if joint.sum() == 0:
        joint[0, 0] = 1.0
    joint /= joint.sum()
    mi = mutual_information(joint)
    assert math.isclose(mi, _mi_via_entropies(joint), abs_tol=1e-12)
    assert mi >= -1e-12
    # an independent table (outer product of the marginals) has I = 0
    indep = np.outer(joint.sum(1), joint.sum(0))
    assert abs(mutual_information(indep)) < 1e-12


def test_mutual_information_rejects_bad_tables() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        mutual_information(np.array([[0.5, 0.6], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="2 dimensions"):
        mutual_information(np.array([0.5, 0.5]))


# ------------------------------------------------------------ page claims
def test_claim_softmax_example() -> None:
    """ "For the logits (2, 1, 0.1) it is (0.659, 0.242, 0.099)"; the code
    prints [[0.6590, 0.2424, 0.0986]]."""
    p = softmax(torch.tensor([[2.0, 1.0, 0.1]]))
    assert [f"{v:.4f}" for v in p[0].tolist()] == ["0.6590", "0.2424", "0.0986"]
    assert [f"{v:.3f}" for v in p[0].tolist()] == ["0.659", "0.242", "0.099"]


def test_claim_entropy_examples() -> None:
    """ "uniform (1/4, ...) gives log2 4 = 2; (1/2, 1/4, 1/8, 1/8) gives
    1.75"; the figure's peaked (0.97, 0.01, 0.01, 0.01) has 0.24 bits."""
    d = torch.tensor([[0.25] * 4, [0.5, 0.25, 0.125, 0.125], [0.97, 0.01, 0.01, 0.01]], dtype=F64)
    h = entropy(d, base=2)
    assert math.isclose(float(h[0]), 2.0, rel_tol=1e-15)
    assert math.isclose(float(h[1]), 1.75, rel_tol=1e-15)
    assert f"{float(h[2]):.2f}" == "0.24"
    # hand formula on the page
    assert 0.5 * 1 + 0.25 * 2 + 2 * 0.125 * 3 == 1.75


def test_claim_entropy_bounds() -> None:
    """ "Entropy is 0 for a one-hot distribution and largest, log n, for the
    uniform one"."""
    assert float(entropy(torch.tensor([0.0, 1.0, 0.0]))) == 0.0
    assert math.isclose(float(entropy(torch.full((5,), 0.2, dtype=F64))), math.log(5))


def test_claim_nat_in_bits() -> None:
    """ "1 nat = 1/ln 2 ~ 1.443 bits"."""
    assert f"{1 / math.log(2):.3f}" == "1.443"
    p = torch.tensor([0.3, 0.7], dtype=F64)
    assert math.isclose(float(entropy(p)) / math.log(2), float(entropy(p, base=2)))


def test_claim_cross_entropy_example() -> None:
    """ "For logits (2, 1, 0.1) and target y = 0, l = -log 0.659 = 0.417
    nats"; the code prints tensor(0.4170)."""
    loss = cross_entropy(torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0]))
    assert f"{float(loss):.4f}" == "0.4170"
    z = torch.tensor([2.0, 1.0, 0.1], dtype=F64)
    assert math.isclose(float(-z[0] + torch.logsumexp(z, 0)), float(loss), rel_tol=1e-6)


def test_claim_kl_not_symmetric() -> None:
    """ "for p = (0.5, 0.5) and q = (0.9, 0.1), KL(p || q) = 0.511 nats but
    KL(q || p) = 0.368"; the code prints 0.5108 0.3681."""
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])
    assert f"{float(kl_divergence(p, q)):.4f}" == "0.5108"
    assert f"{float(kl_divergence(q, p)):.4f}" == "0.3681"
    assert math.isclose(
        float(
            kl_divergence(torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([0.9, 0.1], dtype=F64))
        ),
        0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1),
    )


def test_claim_uniform_gpt2_loss() -> None:
    """ "loss log V (10.82 nats for GPT-2's 50,257 tokens)"; the code prints
    10.8249 10.8249 and perplexity 50257.0000."""
    v = 50257
    assert f"{math.log(v):.2f}" == "10.82"
    flat = torch.zeros(2, 5, v, dtype=F64)
    y = torch.randint(0, v, (2, 5), generator=torch.Generator().manual_seed(0))
    assert f"{float(cross_entropy(flat, y)):.4f}" == "10.8249"
    assert f"{float(perplexity(flat, y)):.4f}" == "50257.0000"


def test_claim_mutual_information_examples() -> None:
    """ "0 when X and Y are independent and log 2 ~ 0.693 nats when X = Y is
    a fair coin. For the table [[0.4, 0.1], [0.1, 0.4]] it is 0.193";
    the code prints 0.1927."""
    assert mutual_information(np.full((2, 2), 0.25)) == 0.0
    assert math.isclose(mutual_information(np.eye(2) / 2), math.log(2))
    mi = mutual_information(np.array([[0.4, 0.1], [0.1, 0.4]]))
    assert f"{mi:.3f}" == "0.193" and f"{mi:.4f}" == "0.1927"


def test_claim_context_lowers_loss_by_mutual_information() -> None:
    """ "seeing context X lowers it to H(Y | X) = H(Y) - I(X; Y)": the best
    expected loss given X, computed from the conditionals p(y | x)."""
    rng = np.random.default_rng(5)
    joint = rng.random((3, 4))
    joint /= joint.sum()
    p_x = joint.sum(1)
    h_y_given_x = sum(p_x[i] * scipy.stats.entropy(joint[i] / p_x[i]) for i in range(3))
    h_y = scipy.stats.entropy(joint.sum(0))
    assert math.isclose(h_y_given_x, h_y - mutual_information(joint), rel_tol=1e-12)


def test_claim_padding_example() -> None:
    """ "print(cross_entropy(..., reduction="none"))  # 3rd entry 0" and the
    mean is over the 2 real positions."""
    y = torch.tensor([0, 2, -100])
    z = torch.tensor([[2.0, 1.0, 0.1], [0.0, 0.0, 3.0], [9.0, 0.0, 0.0]])
    per = cross_entropy(z, y, reduction="none")
    assert float(per[2]) == 0.0
    torch.testing.assert_close(cross_entropy(z, y), per[:2].mean())
    torch.testing.assert_close(cross_entropy(z, y), F.cross_entropy(z, y))


# ------------------------------------------------------------------ demo
def test_demo_prints_key_lines(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "p [0.6590, 0.2424, 0.0986]" in out
    assert "uniform over 4: 2.0000 bits" in out
    assert "logits [2, 3, 5], targets [2, 3]" in out
    assert "loss per position [2, 3]:" in out
    assert "KL(p || q) = 0.5108 nats" in out
    assert "KL(q || p) = 0.3681 nats" in out
    assert "perplexity = 1000.0000" in out
    assert "I(X; Y) of [[0.4, 0.1], [0.1, 0.4]] = 0.1927 nats" in out
