"""Tensors in practice: broadcasting, ``einsum`` and ``bmm`` from loops.

Written for reading, not for speed: every function spells out with Python
loops what NumPy and PyTorch do in one optimised call. Use them on small
arrays to see *what* is computed; use ``np.einsum``, ``torch.einsum`` and
``torch.bmm`` for real work.

The guide's notebook ``foundations/tensors`` runs these functions;
``tests/package/foundations/test_tensors.py`` checks them against
``numpy.broadcast_shapes``, ``numpy.einsum`` and ``torch.bmm``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import itertools
from collections.abc import Sequence

import numpy as np
import torch

from transformer_atlas.common.validation import check_rank, shape_of

# --8<-- [end:imports]

__all__ = ["broadcast_shape", "parse_subscripts", "einsum", "bmm"]


# --8<-- [start:broadcast_shape]
def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to, by NumPy's rule.

    Align the shapes on the right (pad the shorter ones with 1s on the
    left); in each position the sizes must be equal or 1, and the result
    takes the size that is not 1.
    """
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis, sizes in enumerate(zip(*padded)):
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            raise ValueError(
                f"shapes {[tuple(s) for s in shapes]} do not broadcast: "
                f"axis {axis - rank} has sizes {list(sizes)}; "
                "sizes must be equal or 1"
            )
        out.append(big.pop() if big else 1)
    return tuple(out)


# --8<-- [end:broadcast_shape]


# --8<-- [start:parse_subscripts]
def parse_subscripts(
    subscripts: str, n_operands: int
) -> tuple[list[str], str]:
    """Split ``"bij,bjk->bik"`` into ``(["bij", "bjk"], "bik")``.

    Without ``->`` the output is every letter that appears exactly once,
    in alphabetical order (NumPy's implicit mode): ``"ij,jk"`` is
    ``"ij,jk->ik"``.
    """
    s = subscripts.replace(" ", "")
    lhs, arrow, out = s.partition("->")
    inputs = lhs.split(",")
    letters = "".join(inputs)
    if not all(c.isalpha() for c in letters + out):
        raise ValueError(
            f"subscripts must be letters, commas and one '->', "
            f"got {subscripts!r}"
        )
    if len(inputs) != n_operands:
        raise ValueError(
            f"subscripts {subscripts!r} name {len(inputs)} operands, "
            f"got {n_operands}"
        )
    if not arrow:
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if len(set(out)) != len(out) or not set(out) <= set(letters):
        raise ValueError(
            f"output {out!r} must name distinct letters of the inputs, "
            f"got {subscripts!r}"
        )
    return inputs, out


# --8<-- [end:parse_subscripts]


# --8<-- [start:einsum]
def einsum(subscripts: str, *operands: np.ndarray) -> np.ndarray:
    """Einstein summation written as explicit loops.

    Every letter is a loop index. Letters in the output index the result;
    every other letter is summed over. For each assignment of values to
    all the letters, multiply one element of each operand and add the
    product to the output element its output letters select.

    Args:
        subscripts: e.g. ``"bij,bjk->bik"`` (batched matrix product),
            ``"ij->ji"`` (transpose), ``"ii->"`` (trace).
        operands: arrays whose ranks match their subscripts.

    Returns:
        An array whose axes are the output letters, in order.
    """
    arrays = [np.asarray(a) for a in operands]
    inputs, out = parse_subscripts(subscripts, len(arrays))
    size: dict[str, int] = {}  # letter -> length of its axis
    for sub, a in zip(inputs, arrays):
        if len(sub) != a.ndim:
            raise ValueError(
                f"operand subscripts {sub!r} name {len(sub)} axes, "
                f"got an array of shape {a.shape}"
            )
        for letter, n in zip(sub, a.shape):
            if size.setdefault(letter, n) != n:
                raise ValueError(
                    f"letter {letter!r} has size {size[letter]} and "
                    f"{n} in {subscripts!r} with shapes "
                    f"{[x.shape for x in arrays]}"
                )
    letters = sorted(size)
    dtype = np.result_type(*arrays)
    result = np.zeros([size[c] for c in out], dtype=dtype)
    for values in itertools.product(*(range(size[c]) for c in letters)):
        at = dict(zip(letters, values))  # letter -> current index
        product = np.ones((), dtype=dtype)
        for sub, a in zip(inputs, arrays):
            product = product * a[tuple(at[c] for c in sub)]
        result[tuple(at[c] for c in out)] += product
    return result


# --8<-- [end:einsum]


# --8<-- [start:bmm]
def bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched matrix product from loops: ``out[n] = a[n] @ b[n]``.

    Args:
        a: ``[batch, rows, inner]``.
        b: ``[batch, inner, cols]``.

    Returns:
        ``[batch, rows, cols]``, with
        ``out[n, i, k] = sum_j a[n, i, j] * b[n, j, k]``.
    """
    check_rank("a", a, 3, "[batch, rows, inner]")
    check_rank("b", b, 3, "[batch, inner, cols]")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(
            "a [batch, rows, inner] and b [batch, inner, cols] must "
            f"agree in batch and inner, got a {shape_of(a)} and "
            f"b {shape_of(b)}"
        )
    batch, rows, inner = a.shape
    cols = b.shape[2]
    out = torch.zeros(
        batch, rows, cols, dtype=torch.promote_types(a.dtype, b.dtype)
    )
    for n in range(batch):  # one matrix product per batch element
        for i in range(rows):
            for k in range(cols):
                total = 0.0
                for j in range(inner):  # dot product of row i, column k
                    total += float(a[n, i, j]) * float(b[n, j, k])
                out[n, i, k] = total
    return out


# --8<-- [end:bmm]
