"""Input checks shared by the reference implementations.

Every public function rejects bad input with a ``ValueError`` that says what
was expected and what came, so a reader who passes a wrongly shaped tensor
learns which axis is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def shape_of(x: Any) -> tuple[int, ...]:
    """Return the shape of a NumPy array or torch tensor as a tuple of ints."""
    return tuple(int(s) for s in x.shape)


def check_min_rank(name: str, x: Any, min_rank: int, layout: str) -> None:
    """Raise if ``x`` has fewer than ``min_rank`` axes.

    ``layout`` names the expected axes.
    """
    if x.ndim < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} dimensions {layout}, "
            f"got shape {shape_of(x)} "
            f"({x.ndim} dimension{'s' if x.ndim != 1 else ''})"
        )


def check_rank(name: str, x: Any, rank: int, layout: str) -> None:
    """Raise if ``x`` does not have exactly ``rank`` axes.

    ``layout`` names the expected axes.
    """
    if x.ndim != rank:
        raise ValueError(
            f"{name} must have {rank} dimensions {layout}, "
            f"got shape {shape_of(x)} "
            f"({x.ndim} dimension{'s' if x.ndim != 1 else ''})"
        )


def check_attention_inputs(q: Any, k: Any, v: Any) -> None:
    """Check the shapes of ``q``, ``k`` and ``v``.

    Expected: ``q [..., q_len, d_k]``, ``k [..., k_len, d_k]``,
    ``v [..., k_len, d_v]``.
    """
    check_min_rank("q", q, 2, "[..., q_len, d_k]")
    check_min_rank("k", k, 2, "[..., k_len, d_k]")
    check_min_rank("v", v, 2, "[..., k_len, d_v]")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "q and k must share their last dimension d_k, "
            f"got q {shape_of(q)} and k {shape_of(k)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "k and v must have the same number of positions k_len (axis -2), "
            f"got k {shape_of(k)} and v {shape_of(v)}"
        )
    if (
        not (q.ndim == k.ndim == v.ndim)
        or q.shape[:-2] != k.shape[:-2]
        or k.shape[:-2] != v.shape[:-2]
    ):
        raise ValueError(
            "q, k and v must have the same leading (batch, head) dimensions, "
            f"got q {shape_of(q)}, k {shape_of(k)}, v {shape_of(v)}"
        )


def check_broadcasts_to_scores(
    name: str, x: Any, scores_shape: Sequence[int]
) -> None:
    """Check that ``x`` broadcasts to the attention scores.

    The scores are ``[..., q_len, k_len]``, of shape ``scores_shape``; ``x``
    must have at least the two last axes.
    """
    expected = tuple(int(s) for s in scores_shape)
    fits = 2 <= x.ndim <= len(expected) and all(
        m in (1, s) for m, s in zip(reversed(shape_of(x)), reversed(expected))
    )
    if not fits:
        raise ValueError(
            f"{name} must broadcast to the scores shape {expected} "
            f"[..., q_len, k_len], got {name} shape {shape_of(x)}"
        )


def check_mask(mask: Any, scores_shape: Sequence[int]) -> None:
    """Check that a boolean ``mask`` broadcasts to the attention scores.

    The scores are ``[..., q_len, k_len]``, of shape ``scores_shape``.
    """
    check_broadcasts_to_scores("mask", mask, scores_shape)
    if str(mask.dtype) not in ("bool", "torch.bool"):
        raise ValueError(
            f"mask must be boolean (True = may attend), got dtype {mask.dtype}"
        )


def check_positive_float(name: str, value: float) -> None:
    """Raise unless ``value`` is a finite number greater than zero."""
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_positive_int(**values: object) -> None:
    """Raise unless every keyword value is an ``int`` greater than zero.

    ``check_positive_int(n_layers=n_layers, d_model=d_model)`` names the
    first offending argument in its message. ``bool`` is not accepted.
    """
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
