"""Demo ``linear-algebra``: dot products, cosine similarity and matmul from
loops.

Dot products, projection and matmul, with shapes.

Run it with ``python -m transformer_atlas demo linear-algebra``. It walks
the worked example of the page ``foundations/linear-algebra``
(``a = (1, 2)``, ``b = (3, 1)``), then shows that a table of query-key dot
products is one matrix product, and multiplies two matrices with
:func:`~transformer_atlas.foundations.linear_algebra.matmul` (three loops).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from transformer_atlas.foundations.linear_algebra import (
    cosine_similarity,
    dot,
    matmul,
    project,
)

__all__ = ["main"]


def _shape(x: object) -> str:
    shape = x.shape  # type: ignore[attr-defined]
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def main() -> None:
    """Print the demo."""
    print("1. Two vectors")
    a = torch.tensor([1.0, 2.0])
    b = torch.tensor([3.0, 1.0])
    print(f"   a = {a.tolist()}  {_shape(a)}")
    print(f"   b = {b.tolist()}  {_shape(b)}")
    print(f"   |a| = {float(a.norm()):.4f}, |b| = {float(b.norm()):.4f}")

    print("\n2. Dot product: sum_i a_i b_i")
    print(f"   a . b = 1*3 + 2*1 = {float(dot(a, b)):g}")
    cos = float(cosine_similarity(a, b))
    angle = math.degrees(math.acos(cos))
    print(f"   cosine similarity = {cos:.4f}  (angle {angle:.1f} deg)")

    print("\n3. Projection of a on b: (a . b / b . b) b")
    p = project(a, b)
    print(f"   proj = {p.tolist()}")
    print(f"   (a - proj) . b = {float(dot(a - p, b)):g}  (perpendicular)")

    print("\n4. All query-key dot products at once")
    torch.manual_seed(0)
    q, k = torch.randn(4, 8), torch.randn(6, 8)
    scores = dot(q[:, None, :], k[None, :, :])
    print(f"   q {_shape(q)}, k {_shape(k)} -> scores {_shape(scores)}")
    same = torch.allclose(scores, q @ k.T, atol=1e-6)
    print(f"   equal to q @ k.T: {same}")

    print("\n5. Matrix multiplication from three loops")
    a_mat = np.array([[1.0, 2.0], [3.0, 4.0]])
    b_mat = np.array([[5.0, 6.0], [7.0, 8.0]])
    c = matmul(a_mat, b_mat)
    print(f"   A {_shape(a_mat)} @ B {_shape(b_mat)} -> C {_shape(c)}")
    print(f"   C = {c.tolist()}")
    print(f"   equal to A @ B: {bool(np.allclose(c, a_mat @ b_mat))}")

    print("\n6. Eigenvalues of a symmetric matrix (numpy.linalg.eigh)")
    s = np.array([[2.0, 1.0], [1.0, 2.0]])
    values, _ = np.linalg.eigh(s)
    print(f"   S = {s.tolist()}: eigenvalues {values.round(6).tolist()}")
