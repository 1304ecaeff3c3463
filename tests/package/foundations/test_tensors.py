"""Broadcasting, einsum and bmm from loops against NumPy and PyTorch.

* ``broadcast_shape`` vs ``numpy.broadcast_shapes`` (hypothesis), including
  shapes that do not broadcast.
* ``einsum`` vs ``numpy.einsum`` on random subscripts and shapes drawn by
  hypothesis: explicit and implicit output, summed letters, batch letters,
  repeated letters in one operand (diagonals, traces).
* ``bmm`` vs ``torch.bmm`` (hypothesis, small sizes: the loops are slow).
* The ``view``-after-``transpose`` error of the notebook, and the
  notebook's other claims; the demo; bad input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from transformer_atlas.demos import run_demo
from transformer_atlas.foundations.tensors import (
    bmm,
    broadcast_shape,
    einsum,
    parse_subscripts,
)


# ================================================================ broadcasting
@settings(max_examples=60, deadline=None)
@given(mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=5, max_side=4))
def test_broadcast_shape_matches_numpy(shapes) -> None:
    assert broadcast_shape(*shapes.input_shapes) == np.broadcast_shapes(*shapes.input_shapes)


@settings(max_examples=60, deadline=None)
@given(
    array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4),
    array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4),
)
def test_broadcast_shape_agrees_with_numpy_on_failure(a, b) -> None:
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        with pytest.raises(ValueError, match="do not broadcast"):
            broadcast_shape(a, b)
    else:
        assert broadcast_shape(a, b) == expected


# ====================================================================== einsum
@st.composite
def einsum_problems(draw):
    n_letters = draw(st.integers(1, 4))
    letters = "abcd"[:n_letters]
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    n_ops = draw(st.integers(1, 3))
    subs = [
        "".join(draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3)))
        for _ in range(n_ops)
    ]
    used = sorted(set("".join(subs)))
    if draw(st.booleans()):
        out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
        spec = ",".join(subs) + "->" + out
    else:
        spec = ",".join(subs)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    ops = [rng.normal(size=[sizes[c] for c in s]) for s in subs]
    return spec, ops


@settings(max_examples=80, deadline=None)
@given(einsum_problems())
def test_einsum_matches_numpy(problem) -> None:
    spec, ops = problem
    ours, theirs = einsum(spec, *ops), np.einsum(spec, *ops)
    assert ours.shape == theirs.shape, spec
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=spec)


@pytest.mark.parametrize(
    ("spec", "shapes"),
    [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("bhqk,bhkd->bhqd", [(1, 2, 3, 5), (1, 2, 5, 4)]),
        ("ii->i", [(4, 4)]),
        ("ii", [(3, 3)]),
        ("ij,ij->", [(3, 4), (3, 4)]),
        ("i,j->ij", [(3,), (4,)]),
        ("bsd,de->bse", [(2, 3, 4), (4, 5)]),
    ],
)
def test_einsum_named_cases(spec: str, shapes: list[tuple[int, ...]]) -> None:
    rng = np.random.default_rng(0)
    ops = [rng.normal(size=s) for s in shapes]
    np.testing.assert_allclose(einsum(spec, *ops), np.einsum(spec, *ops), rtol=1e-10, atol=1e-12)


def test_einsum_integers_keep_their_dtype() -> None:
    a = np.arange(6).reshape(2, 3)
    out = einsum("ij->j", a)
    assert out.dtype == np.einsum("ij->j", a).dtype
    np.testing.assert_array_equal(out, [3, 5, 7])


def test_parse_subscripts_implicit_output() -> None:
    assert parse_subscripts("ij,jk", 2) == (["ij", "jk"], "ik")
    assert parse_subscripts("bij,bjk->bik", 2) == (["bij", "bjk"], "bik")
    assert parse_subscripts("ji", 1) == (["ji"], "ij")


def test_einsum_bad_input_raises() -> None:
    a = np.zeros((2, 3))
    with pytest.raises(ValueError, match="name 2 operands, got 1"):
        einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="name 3 axes"):
        einsum("ijk->i", a)
    with pytest.raises(ValueError, match="letter 'j' has size 3 and 4"):
        einsum("ij,jk->ik", a, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="distinct letters of the inputs"):
        einsum("ij->iz", a)
    with pytest.raises(ValueError, match="distinct letters of the inputs"):
        einsum("ij->ii", a)
    with pytest.raises(ValueError, match="must be letters"):
        einsum("i...->i", a)


# ========================================================================= bmm
@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2**16),
)
def test_bmm_matches_torch(batch: int, rows: int, inner: int, cols: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(batch, rows, inner, generator=gen, dtype=torch.float64)
    b = torch.randn(batch, inner, cols, generator=gen, dtype=torch.float64)
    out = bmm(a, b)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.bmm(a, b), rtol=1e-10, atol=1e-12)


def test_bmm_float32_and_bad_input() -> None:
    a, b = torch.randn(2, 3, 4), torch.randn(2, 4, 5)
    torch.testing.assert_close(bmm(a, b), torch.bmm(a, b), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"a must have 3 dimensions"):
        bmm(torch.zeros(3, 4), b)
    with pytest.raises(ValueError, match="must agree in batch and inner"):
        bmm(a, torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="must agree in batch and inner"):
        bmm(a, torch.zeros(3, 4, 5))


# ==================================================================== the demo
def test_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    run_demo("tensors")
    out = capsys.readouterr().out
    for line in [
        "   (2, 3, 1) with (4,) -> (2, 3, 4) (numpy: (2, 3, 4))",
        "view size is not compatible with input tensor's size and stride",
        "   reshape instead: [2, 5, 8]",
        "   bhqd,bhkd->bhqk  shape [1, 2, 3, 3]  matches: True",
        "   [3, 2, 4] @ [3, 4, 5] -> [3, 2, 5], matches: True",
    ]:
        assert line in out, line


# ============================================================ notebook claims
VIEW_ERROR = (
    "view size is not compatible with input tensor's size and stride (at least one dimension "
    "spans across two contiguous subspaces). Use .reshape(...) instead."
)


def test_notebook_claim_view_after_transpose_raises() -> None:
    """tensors: merging heads with view after transpose fails with PyTorch's real error;
    .contiguous().view and .reshape both give back x exactly."""
    x = torch.randn(2, 5, 8)
    q = x.view(2, 5, 2, 4).transpose(1, 2)
    merged = q.contiguous().transpose(1, 2)
    assert not merged.is_contiguous()
    with pytest.raises(RuntimeError) as err:
        merged.view(2, 5, 8)
    assert str(err.value) == VIEW_ERROR
    assert torch.equal(merged.contiguous().view(2, 5, 8), x)
    assert torch.equal(merged.reshape(2, 5, 8), x)


def test_notebook_claim_strides() -> None:
    """tensors: strides (40, 8, 1), (40, 8, 4, 1) and (40, 4, 8, 1); q is not contiguous;
    "reshaping to the final shape directly ... the numbers are scrambled"."""
    x = torch.randn(2, 5, 8)
    split = x.view(2, 5, 2, 4)
    q = split.transpose(1, 2)
    assert (x.stride(), split.stride(), q.stride()) == ((40, 8, 1), (40, 8, 4, 1), (40, 4, 8, 1))
    assert split.is_contiguous() and not q.is_contiguous()
    assert not torch.equal(x.view(2, 2, 5, 4), q)


def test_notebook_claim_broadcasting_examples() -> None:
    """tensors: the printed broadcast results, torch's error for [2, 5, 8] + [5], and a column
    [3, 1] minus a row [3] is [3, 3]."""
    assert broadcast_shape((2, 3, 1), (4,)) == (2, 3, 4)
    assert broadcast_shape((5, 1, 4), (3, 1)) == (5, 3, 4)
    assert broadcast_shape((8,), ()) == (8,)
    assert broadcast_shape((2, 1, 5, 5), (1, 4, 1, 1)) == (2, 4, 5, 5)
    with pytest.raises(
        RuntimeError, match=r"size of tensor a \(8\) must match the size of tensor b \(5\)"
    ):
        torch.randn(2, 5, 8) + torch.randn(5)
    assert (torch.arange(3.0)[:, None] - torch.arange(3.0)).shape == (3, 3)
