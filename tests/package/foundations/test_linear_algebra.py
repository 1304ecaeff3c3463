"""Linear algebra against oracles we did not write.

* ``matmul`` (three loops) vs NumPy's ``@`` and ``torch.matmul`` on random
  shapes (hypothesis).
* ``dot`` vs ``torch.matmul``; ``cosine_similarity``
  (re-exported from ``transformer_atlas.blocks.embeddings``) vs
  ``torch.nn.functional.cosine_similarity``.
* ``project``: the residual is perpendicular to ``b`` (closed form).
* Page claims: every number on ``foundations/linear-algebra``, with
  ``numpy.linalg.eigh`` for the eigenvalues.
* Demo ``linear-algebra`` runs and prints its key lines.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.blocks import embeddings
from transformer_atlas.demos.foundations import linear_algebra as demo
from transformer_atlas.foundations.linear_algebra import (
    cosine_similarity,
    dot,
    matmul,
    project,
)

F64 = torch.float64


# ---------------------------------------------------------------- matmul
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    k=st.integers(1, 6),
    m=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_matmul_matches_numpy_and_torch(n: int, k: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, k))
    b = rng.standard_normal((k, m))
    c = matmul(a, b)
    assert c.shape == (n, m)
    np.testing.assert_allclose(c, a @ b, rtol=1e-12, atol=1e-12)
    expected = torch.matmul(torch.from_numpy(a), torch.from_numpy(b))
    np.testing.assert_allclose(c, expected.numpy(), rtol=1e-12, atol=1e-12)


def test_matmul_accepts_nested_lists() -> None:
    np.testing.assert_array_equal(matmul([[1, 2]], [[3], [4]]), np.array([[11.0]]))


def test_matmul_rejects_mismatched_inner_dimensions() -> None:
    with pytest.raises(ValueError, match=re.escape("a (2, 3) and b (2, 2)")):
        matmul(np.ones((2, 3)), np.ones((2, 2)))


def test_matmul_rejects_wrong_rank() -> None:
    with pytest.raises(ValueError, match=r"a must have 2 dimensions"):
        matmul(np.ones(3), np.ones((3, 2)))


# ------------------------------------------------------- dot and cosine
@settings(max_examples=30, deadline=None)
@given(
    batch=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    d=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
)
def test_dot_matches_torch_matmul(batch: list[int], d: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(*batch, d, generator=g, dtype=F64)
    b = torch.randn(*batch, d, generator=g, dtype=F64)
    out = dot(a, b)
    assert out.shape == tuple(batch)
    expected = torch.matmul(a.unsqueeze(-2), b.unsqueeze(-1))  # [..., 1, 1]
    torch.testing.assert_close(out, expected[..., 0, 0])


def test_dot_broadcast_table_equals_matrix_product() -> None:
    g = torch.Generator().manual_seed(1)
    q = torch.randn(4, 8, generator=g, dtype=F64)
    k = torch.randn(6, 8, generator=g, dtype=F64)
    torch.testing.assert_close(dot(q[:, None, :], k[None, :, :]), torch.matmul(q, k.T))


def test_cosine_similarity_is_the_embeddings_function() -> None:
    assert cosine_similarity is embeddings.cosine_similarity


@settings(max_examples=30, deadline=None)
@given(
    batch=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    d=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
)
def test_cosine_matches_torch(batch: list[int], d: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(*batch, d, generator=g, dtype=F64)
    b = torch.randn(*batch, d, generator=g, dtype=F64)
    torch.testing.assert_close(cosine_similarity(a, b), F.cosine_similarity(a, b, dim=-1))


def test_dot_rejects_mismatched_last_dimension() -> None:
    with pytest.raises(ValueError, match=re.escape("a (3,) and b (4,)")):
        dot(torch.ones(3), torch.ones(4))


def test_dot_rejects_scalars() -> None:
    with pytest.raises(ValueError, match="at least 1 dimensions"):
        dot(torch.tensor(1.0), torch.tensor(2.0))


# ------------------------------------------------------------ projection
@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_projection_residual_is_perpendicular(d: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, d, generator=g, dtype=F64)
    b = torch.randn(3, d, generator=g, dtype=F64)
    p = project(a, b)
    zero = torch.zeros(3, dtype=F64)
    torch.testing.assert_close(dot(a - p, b), zero, atol=1e-10, rtol=0)
    # p is parallel to b: its cosine with b is +-1
    cos = F.cosine_similarity(p, b, dim=-1).abs()
    torch.testing.assert_close(cos, torch.ones(3, dtype=F64))


def test_project_rejects_zero_vector() -> None:
    with pytest.raises(ValueError, match="zero vector"):
        project(torch.ones(2), torch.zeros(2))


# ------------------------------------------------------------ page claims
A = torch.tensor([1.0, 2.0], dtype=F64)
B = torch.tensor([3.0, 1.0], dtype=F64)


def test_claim_norms() -> None:
    """ "\\(\\lVert a \\rVert = \\sqrt{5}\\) and \\(\\lVert b \\rVert =
    \\sqrt{10}\\)"."""
    assert math.isclose(float(A.norm()), math.sqrt(5))
    assert math.isclose(float(B.norm()), math.sqrt(10))


def test_claim_dot_is_5() -> None:
    """ "For the example, a . b = 1 . 3 + 2 . 1 = 5"."""
    assert float(dot(A, B)) == 5.0
    assert float(dot(A.float(), B.float())) == 5.0  # the printed tensor(5.)


def test_claim_cosine_and_angle() -> None:
    """ "cos theta = 5 / (sqrt 5 sqrt 10) = 1/sqrt 2 ~ 0.707, so theta =
    45 degrees"; the code block prints tensor(0.7071)."""
    cos = float(cosine_similarity(A, B))
    assert math.isclose(cos, 1 / math.sqrt(2), rel_tol=1e-12)
    assert math.isclose(math.degrees(math.acos(cos)), 45.0, abs_tol=1e-6)
    assert f"{float(cosine_similarity(A.float(), B.float())):.4f}" == "0.7071"


def test_claim_projection() -> None:
    """ "proj_b(a) = 5/10 (3, 1) = (1.5, 0.5), and what is left, (-0.5,
    1.5), is perpendicular to b"."""
    p = project(A, B)
    torch.testing.assert_close(p, torch.tensor([1.5, 0.5], dtype=F64))
    torch.testing.assert_close(A - p, torch.tensor([-0.5, 1.5], dtype=F64))
    assert float(dot(A - p, B)) == 0.0
    assert float(dot(A.float() - project(A.float(), B.float()), B.float())) == 0.0


def test_claim_rotation() -> None:
    """ "(1, 2) W = (-2, 1), W rotates every vector by 90 degrees
    counter-clockwise (the length stays sqrt 5)"."""
    w = np.array([[0.0, 1.0], [-1.0, 0.0]])
    y = matmul(np.array([[1.0, 2.0]]), w)
    np.testing.assert_array_equal(y, [[-2.0, 1.0]])
    assert math.isclose(float(np.linalg.norm(y)), math.sqrt(5))
    # 90 degrees counter-clockwise for any vector: angle(x) + 90
    for x in np.random.default_rng(0).standard_normal((5, 2)):
        rotated = x @ w
        turn = math.atan2(rotated[1], rotated[0]) - math.atan2(x[1], x[0])
        assert math.isclose(math.remainder(turn, 2 * math.pi), math.pi / 2, rel_tol=1e-12)


def test_claim_matmul_example() -> None:
    """ "[[19. 22.] [43. 50.]]" and "Row 1 of C: 19 and 22"."""
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(matmul(a, b), [[19, 22], [43, 50]])


def test_claim_matmul_cost() -> None:
    """ "the product costs n . k . m multiply-adds" (the loops run that
    many times)."""
    n, k, m = 3, 4, 5
    assert len([1 for _ in range(n) for _ in range(m) for _ in range(k)]) == n * k * m


def test_claim_eigenvalues() -> None:
    """ "(1, 1) S = 3 (1, 1), (1, -1) S = 1 (1, -1)"; eigh prints [1. 3.]."""
    s = np.array([[2.0, 1.0], [1.0, 2.0]])
    values, vectors = np.linalg.eigh(s)
    np.testing.assert_allclose(values, [1.0, 3.0])
    np.testing.assert_array_equal(np.array([1.0, 1.0]) @ s, [3.0, 3.0])
    np.testing.assert_array_equal(np.array([1.0, -1.0]) @ s, [1.0, -1.0])
    v = vectors[:, 1]
    assert math.isclose(abs(v @ np.array([1.0, 1.0])) / math.sqrt(2), 1.0)
    np.testing.assert_allclose(v @ s, 3.0 * v)
    # symmetric: real eigenvalues, perpendicular eigenvectors
    assert abs(vectors[:, 0] @ vectors[:, 1]) < 1e-12


def test_claim_repeated_map_scales_eigendirections() -> None:
    """ "a map applied again and again multiplies its eigen-directions by
    lambda^t"."""
    s = np.array([[2.0, 1.0], [1.0, 2.0]])
    v = np.array([1.0, 1.0])
    for t in range(1, 6):
        np.testing.assert_allclose(v @ np.linalg.matrix_power(s, t), 3.0**t * v)


def test_claim_rms_is_norm_over_sqrt_d() -> None:
    """ "RMSNorm divides by |x| / sqrt(d)": the root mean square."""
    x = torch.randn(5, 16, generator=torch.Generator().manual_seed(0), dtype=F64)
    rms = x.pow(2).mean(-1).sqrt()
    torch.testing.assert_close(rms, x.norm(dim=-1) / math.sqrt(16))
    ref = torch.nn.functional.rms_norm(x, (16,), eps=0.0)
    torch.testing.assert_close(ref, x / (x.norm(dim=-1, keepdim=True) / 4))


def test_claim_gpt2_small_width() -> None:
    """ "a row of d_model numbers (768 in GPT-2 small)": 12 heads x 64."""
    assert 12 * 64 == 768


# ------------------------------------------------------------------ demo
def test_demo_prints_key_lines(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "a . b = 1*3 + 2*1 = 5" in out
    assert "cosine similarity = 0.7071  (angle 45.0 deg)" in out
    assert "proj = [1.5, 0.5]" in out
    assert "q [4, 8], k [6, 8] -> scores [4, 6]" in out
    assert "equal to q @ k.T: True" in out
    assert "C = [[19.0, 22.0], [43.0, 50.0]]" in out
    assert "eigenvalues [1.0, 3.0]" in out
