"""Logits to probabilities: a numerically stable softmax, in NumPy and PyTorch.

``softmax(z / T)_i = exp(z_i / T) / sum_j exp(z_j / T)``. Subtracting the row
maximum first changes nothing mathematically (softmax is shift-invariant) but
keeps every ``exp`` in ``(0, 1]``, so logits of +-1e4 give finite
probabilities instead of ``inf / inf = nan``.

The guide's page ``blocks/logits-softmax`` shows these functions;
``tests/package/blocks/test_logits_softmax.py`` checks them against
``torch.softmax`` and ``torch.log_softmax``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import numpy as np
import torch

from transformer_atlas.common.validation import check_positive_float

# --8<-- [end:imports]

__all__ = [
    "naive_softmax_numpy",
    "softmax_numpy",
    "log_softmax_numpy",
    "softmax",
    "log_softmax",
]


# --8<-- [start:naive_softmax_numpy]
def naive_softmax_numpy(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax exactly as the formula reads.

    Overflows for large logits (kept as a warning).

    Args:
        logits: scores of any shape, e.g. ``[batch, vocab]``.
        axis: the axis that becomes a probability distribution.
    """
    e = np.exp(logits)
    return e / e.sum(axis=axis, keepdims=True)


# --8<-- [end:naive_softmax_numpy]


# --8<-- [start:softmax_numpy]
def softmax_numpy(
    logits: np.ndarray,
    axis: int = -1,
    temperature: float = 1.0,
) -> np.ndarray:
    """Numerically stable softmax of ``logits / temperature`` along ``axis``.

    Args:
        logits: scores of any shape, e.g. ``[batch, vocab]``.
        axis: the axis that becomes a probability distribution.
        temperature: ``T > 0``; ``T < 1`` sharpens, ``T > 1`` flattens.

    Returns:
        An array of the same shape whose slices along ``axis`` are >= 0 and
        sum to 1.
    """
    check_positive_float("temperature", temperature)
    z = np.asarray(logits) / temperature
    # largest entry becomes 0: exp(z) <= 1
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


# --8<-- [end:softmax_numpy]


# --8<-- [start:log_softmax_numpy]
def log_softmax_numpy(
    logits: np.ndarray,
    axis: int = -1,
    temperature: float = 1.0,
) -> np.ndarray:
    """``log(softmax(logits / T))`` via log-sum-exp.

    Finite where ``log(softmax)`` would give -inf.

    Args:
        logits: scores of any shape, e.g. ``[batch, vocab]``.
        axis: the axis that becomes a (log-)probability distribution.
        temperature: ``T > 0``.
    """
    check_positive_float("temperature", temperature)
    z = np.asarray(logits) / temperature
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


# --8<-- [end:log_softmax_numpy]


# --8<-- [start:softmax_torch]
def softmax(
    logits: torch.Tensor,
    dim: int = -1,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Numerically stable softmax of ``logits / temperature`` along ``dim``.

    Args:
        logits: scores of any shape, e.g. ``[batch, seq, vocab]`` or
            ``[batch, heads, q_len, k_len]``.
        dim: the axis that becomes a probability distribution.
        temperature: ``T > 0``; ``T < 1`` sharpens, ``T > 1`` flattens.

    Returns:
        A tensor of the same shape whose slices along ``dim`` are >= 0 and
        sum to 1.
    """
    check_positive_float("temperature", temperature)
    z = logits / temperature
    # shift-invariance: gradients are unchanged
    z = z - z.amax(dim=dim, keepdim=True).detach()
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


# --8<-- [end:softmax_torch]


# --8<-- [start:log_softmax_torch]
def log_softmax(
    logits: torch.Tensor,
    dim: int = -1,
    temperature: float = 1.0,
) -> torch.Tensor:
    """``log(softmax(logits / T))`` via log-sum-exp.

    Finite for any finite logits.

    Args:
        logits: scores of any shape, e.g. ``[batch, seq, vocab]``.
        dim: the axis that becomes a (log-)probability distribution.
        temperature: ``T > 0``.
    """
    check_positive_float("temperature", temperature)
    z = logits / temperature
    m = z.amax(dim=dim, keepdim=True).detach()
    return z - m - torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))


# --8<-- [end:log_softmax_torch]
