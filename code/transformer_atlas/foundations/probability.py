"""Probability and information theory a language model is trained with.

A language model outputs, at every position, a distribution over the
vocabulary (a softmax of logits). Training and evaluating it uses a few
quantities of information theory, all in nats (natural log) unless a
``base`` is given:

* :func:`entropy` ``H(p) = -sum_i p_i log p_i``,
* :func:`cross_entropy` from logits and target ids, the training loss,
* :func:`kl_divergence` ``KL(p || q) = sum_i p_i log(p_i / q_i)``,
* :func:`perplexity` ``exp(mean cross-entropy)``,
* :func:`mutual_information` of a small joint probability table.

Softmax and log-softmax come from
:mod:`transformer_atlas.blocks.logits_softmax`. The guide's page
``foundations/probability`` shows this module;
``tests/package/foundations/test_probability.py`` checks it against
``torch.nn.functional.cross_entropy``, ``torch.nn.functional.kl_div`` and
``scipy.stats.entropy``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import numpy as np
import torch

from transformer_atlas.blocks.logits_softmax import log_softmax, softmax
from transformer_atlas.common.validation import (
    check_min_rank,
    check_rank,
    shape_of,
)

# --8<-- [end:imports]

__all__ = [
    "softmax",
    "log_softmax",
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "perplexity",
    "mutual_information",
]


# --8<-- [start:entropy]
def _log_base(base: float | None) -> float:
    """``log(base)``, the divisor that converts nats; 1 for nats."""
    if base is None:
        return 1.0
    if not base > 0 or base == 1:
        raise ValueError(f"base must be > 0 and != 1, got {base}")
    return math.log(base)


def entropy(p: torch.Tensor, base: float | None = None) -> torch.Tensor:
    """``H(p) = -sum_i p_i log p_i`` over the last axis.

    ``p [..., n]``: each row a probability distribution. Terms with
    ``p_i = 0`` count as 0 (the limit of ``p log p``). Returns ``[...]``
    in nats, or in bits for ``base=2``.
    """
    check_min_rank("p", p, 1, "[..., n]")
    # xlogy(0, 0) = 0: an impossible outcome adds no uncertainty
    return -torch.xlogy(p, p).sum(dim=-1) / _log_base(base)


# --8<-- [end:entropy]


# --8<-- [start:cross_entropy]
def cross_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    """The loss ``-log softmax(logits)[target]``, per position or averaged.

    Args:
        logits: ``[..., vocab]``, e.g. ``[batch, seq, vocab]``.
        targets: integer ids ``[...]``, e.g. ``[batch, seq]``; positions
            equal to ``ignore_index`` (padding) are left out.
        reduction: ``"none"`` (loss per position, 0 where ignored),
            ``"sum"`` or ``"mean"`` (over the positions not ignored).
    """
    check_min_rank("logits", logits, 1, "[..., vocab]")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(
            "targets must have the shape of logits without the last axis, "
            f"got logits {shape_of(logits)} and targets {shape_of(targets)}"
        )
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(
            f"reduction must be 'none', 'sum' or 'mean', got {reduction!r}"
        )
    keep = targets != ignore_index
    safe = torch.where(keep, targets, torch.zeros_like(targets))
    log_p = log_softmax(logits, dim=-1)  # [..., vocab]
    nll = -log_p.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # [...]
    nll = torch.where(keep, nll, torch.zeros_like(nll))
    if reduction == "none":
        return nll
    if reduction == "sum":
        return nll.sum()
    return nll.sum() / keep.sum()


# --8<-- [end:cross_entropy]


# --8<-- [start:kl_divergence]
def kl_divergence(
    p: torch.Tensor, q: torch.Tensor, base: float | None = None
) -> torch.Tensor:
    """``KL(p || q) = sum_i p_i log(p_i / q_i)`` over the last axis.

    ``p [..., n]``, ``q [..., n]``: distributions. Terms with ``p_i = 0``
    count as 0; ``p_i > 0`` where ``q_i = 0`` gives ``inf``. Returns
    ``[...]``, always ``>= 0`` and 0 only when ``p = q``.
    """
    check_min_rank("p", p, 1, "[..., n]")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(
            "p and q must share their last dimension n, "
            f"got p {shape_of(p)} and q {shape_of(q)}"
        )
    # p log p - p log q, each with 0 log 0 = 0
    kl = (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)
    return kl / _log_base(base)


# --8<-- [end:kl_divergence]


# --8<-- [start:perplexity]
def perplexity(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    """``exp(mean cross-entropy)``: the effective number of choices.

    ``logits [..., vocab]``, ``targets [...]``. A model that spreads its
    probability uniformly over ``V`` tokens has perplexity exactly ``V``.
    """
    return torch.exp(cross_entropy(logits, targets, "mean", ignore_index))


# --8<-- [end:perplexity]


# --8<-- [start:mutual_information]
def mutual_information(joint: np.ndarray) -> float:
    """``I(X; Y) = sum_xy p(x, y) log(p(x, y) / (p(x) p(y)))`` in nats.

    ``joint [n_x, n_y]``: the table of ``p(x, y)``, non-negative and
    summing to 1. 0 when X and Y are independent.
    """
    joint = np.asarray(joint, dtype=float)
    check_rank("joint", joint, 2, "[n_x, n_y]")
    if (joint < 0).any() or not np.isclose(joint.sum(), 1.0):
        raise ValueError(
            "joint must be non-negative and sum to 1, "
            f"got min {joint.min():.3g} and sum {joint.sum():.6g}"
        )
    p_x = joint.sum(axis=1, keepdims=True)  # [n_x, 1]
    p_y = joint.sum(axis=0, keepdims=True)  # [1, n_y]
    nz = joint > 0  # 0 log 0 = 0
    ratio = joint[nz] / (p_x * p_y)[nz]
    return float((joint[nz] * np.log(ratio)).sum())


# --8<-- [end:mutual_information]
