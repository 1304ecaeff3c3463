"""Linear algebra a transformer uses: dot products, projections, matmul.

A token is a row vector; comparing two tokens is a dot product (attention
scores are dot products of queries and keys); a layer is a matrix
multiplication ``x @ W``. This module spells each one out:

* :func:`dot` over the last axis (batched),
* :func:`cosine_similarity`, re-exported from
  :mod:`transformer_atlas.blocks.embeddings` (one implementation in the
  package),
* :func:`project`: the component of ``a`` along ``b``,
* :func:`matmul` written with three Python loops, the definition
  ``C[i, j] = sum_k A[i, k] B[k, j]`` read literally.

The guide's page ``foundations/linear-algebra`` shows this module;
``tests/package/foundations/test_linear_algebra.py`` checks it against
``numpy``'s ``@``, ``torch.matmul``, ``torch.nn.functional.cosine_similarity``
and ``numpy.linalg.eigh``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import numpy as np
import torch

from transformer_atlas.blocks.embeddings import cosine_similarity
from transformer_atlas.common.validation import (
    check_min_rank,
    check_rank,
    shape_of,
)

# --8<-- [end:imports]

__all__ = ["dot", "cosine_similarity", "project", "matmul"]


# --8<-- [start:dot]
def _check_same_last(a: torch.Tensor, b: torch.Tensor) -> None:
    """Raise unless ``a [..., d]`` and ``b [..., d]`` share ``d``."""
    check_min_rank("a", a, 1, "[..., d]")
    check_min_rank("b", b, 1, "[..., d]")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            "a and b must share their last dimension d, "
            f"got a {shape_of(a)} and b {shape_of(b)}"
        )


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product ``sum_i a_i b_i`` over the last axis.

    ``a [..., d]`` and ``b [..., d]`` broadcast against each other; the
    result has their broadcast shape without the last axis (a scalar for
    two vectors ``[d]``).
    """
    _check_same_last(a, b)
    return (a * b).sum(dim=-1)


# --8<-- [end:dot]


# --8<-- [start:project]
def project(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The component of ``a`` along ``b``: ``(a . b / b . b) b``.

    ``a [..., d]``, ``b [..., d]`` (``b`` must not be the zero vector);
    returns ``[..., d]``. What is left, ``a - project(a, b)``, is
    perpendicular to ``b``.
    """
    _check_same_last(a, b)
    bb = dot(b, b)
    if bool((bb == 0).any()):
        raise ValueError("b must not be the zero vector, got |b| = 0")
    return (dot(a, b) / bb).unsqueeze(-1) * b


# --8<-- [end:project]


# --8<-- [start:matmul]
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``C = A B`` from the definition ``C[i, j] = sum_k A[i, k] B[k, j]``.

    ``a [n, k]``, ``b [k, m]`` -> ``[n, m]``. Three Python loops: slow on
    purpose, so that every multiply-add is visible. Use ``a @ b`` for
    real work.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    check_rank("a", a, 2, "[n, k]")
    check_rank("b", b, 2, "[k, m]")
    n, k = a.shape
    if b.shape[0] != k:
        raise ValueError(
            "inner dimensions must match: a [n, k] and b [k, m], "
            f"got a {shape_of(a)} and b {shape_of(b)}"
        )
    m = b.shape[1]
    c = np.zeros((n, m))
    for i in range(n):  # row i of A
        for j in range(m):  # column j of B
            for t in range(k):  # walk along the shared axis
                c[i, j] += a[i, t] * b[t, j]
    return c


# --8<-- [end:matmul]
