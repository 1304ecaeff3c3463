"""Demo ``tensors``: shapes, broadcasting, einsum and bmm from loops.

Run it with ``python -m transformer_atlas demo tensors``. It prints the
shape after each step of a multi-head split, the broadcasting rule at work,
the ``view`` error on a non-contiguous tensor, and the loop versions of
``einsum`` and ``bmm`` next to ``numpy.einsum`` and ``torch.bmm``.
"""

from __future__ import annotations

import numpy as np
import torch

from transformer_atlas.foundations.tensors import bmm, broadcast_shape, einsum

__all__ = ["main"]


def main() -> None:
    """Print the demo to standard output."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print("1. Broadcasting: align on the right, sizes equal or 1")
    for a, b in (((2, 5, 8), (8,)), ((2, 4, 5, 5), (5, 5)), ((2, 3, 1), (4,))):
        print(
            f"   {a} with {b} -> {broadcast_shape(a, b)} "
            f"(numpy: {np.broadcast_shapes(a, b)})"
        )
    try:
        broadcast_shape((2, 5, 8), (5,))
    except ValueError as err:
        print(f"   {err}")
    print()
    print("2. The multi-head split: reshape, then transpose")
    x = torch.randn(2, 5, 8)
    split = x.view(2, 5, 2, 4)
    q = split.transpose(1, 2)
    for name, t, axes in (
        ("x", x, "[batch, seq, d_model]"),
        ("x.view(2, 5, 2, 4)", split, "[batch, seq, heads, head_dim]"),
        (".transpose(1, 2)", q, "[batch, heads, seq, head_dim]"),
    ):
        print(
            f"   {name:20} {list(t.shape)!s:14} {axes:30} "
            f"contiguous={t.is_contiguous()}"
        )
    merged = q.contiguous().transpose(1, 2)
    try:
        merged.view(2, 5, 8)
    except RuntimeError as err:
        print(f"   view after transpose: RuntimeError: {err}")
    print(f"   reshape instead: {list(merged.reshape(2, 5, 8).shape)}")
    print()
    print("3. einsum as loops vs numpy.einsum")
    qn, kn = rng.normal(size=(1, 2, 3, 4)), rng.normal(size=(1, 2, 3, 4))
    for spec, ops in (
        ("ij,jk->ik", (qn[0, 0], kn[0, 0].T)),
        ("ii->", (qn[0, 0, :, :3],)),
        ("bhqd,bhkd->bhqk", (qn, kn)),
    ):
        ours = einsum(spec, *ops)
        print(
            f"   {spec:16} shape {list(ours.shape)!s:13} matches: "
            f"{np.allclose(ours, np.einsum(spec, *ops))}"
        )
    print()
    print("4. bmm as loops vs torch.bmm")
    a, b = torch.randn(3, 2, 4), torch.randn(3, 4, 5)
    out = bmm(a, b)
    print(
        f"   {list(a.shape)} @ {list(b.shape)} -> {list(out.shape)}, "
        f"matches: {torch.allclose(out, torch.bmm(a, b), atol=1e-6)}"
    )
