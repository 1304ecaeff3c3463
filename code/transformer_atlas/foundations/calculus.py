"""Jacobians by hand: softmax, a linear layer, layer norm, the chain rule.

A Jacobian here is laid out as ``torch.autograd.functional.jacobian`` lays
it out: entry ``[i, j]`` is ``d y_i / d x_j``, output index first, shape
``[d_out, d_in]``. With row vectors, backpropagation is then a row times
the Jacobian on the right: a gradient ``g_y [1, d_out]`` arriving at ``y``
leaves as ``g_x = g_y @ J``, ``[1, d_in]``.

The guide's page ``foundations/calculus`` shows these functions;
``tests/package/foundations/test_calculus.py`` checks every one against
autograd.
"""

from __future__ import annotations

# --8<-- [start:imports]
from dataclasses import dataclass

import torch

from transformer_atlas.blocks.logits_softmax import softmax
from transformer_atlas.blocks.normalization import layer_norm_jacobian
from transformer_atlas.common.validation import check_rank, shape_of

# --8<-- [end:imports]

__all__ = [
    "softmax_jacobian",
    "softmax_backward",
    "linear_jacobian_x",
    "linear_jacobian_w",
    "linear_backward",
    "layer_norm_jacobian",
    "ChainRuleSteps",
    "chain_rule_example",
    "scalar_chain",
]


# --8<-- [start:scalar_chain]
def scalar_chain(x: float, a: float = 3.0, b: float = 1.0) -> dict[str, float]:
    """``y = (a x + b)^2`` forward, then ``dy/dx`` by the chain rule.

    Returns the forward values ``u = a x + b`` and ``y = u^2`` and the
    local derivatives ``dy/du = 2u``, ``du/dx = a`` and their product.
    """
    u = a * x + b  # inner function
    y = u**2  # outer function
    dy_du = 2 * u  # derivative of the outer one, at u
    du_dx = a  # derivative of the inner one, at x
    return {
        "u": u,
        "y": y,
        "dy_du": dy_du,
        "du_dx": du_dx,
        "dy_dx": dy_du * du_dx,
    }  # chain rule: multiply


# --8<-- [end:scalar_chain]


# --8<-- [start:softmax_jacobian]
def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    """Jacobian of ``p = softmax(z)`` for one row of logits ``z [d]``.

    Returns:
        ``[d, d]``: ``diag(p) - p^T p``, entry ``[i, j] = d p_i / d z_j``
        ``= p_i (delta_ij - p_j)``. It is symmetric.
    """
    check_rank("z", z, 1, "[d] (one row of logits)")
    p = softmax(z)[None, :]  # [1, d], a row
    return torch.diag(p[0]) - p.T @ p  # [d, d]


def softmax_backward(p: torch.Tensor, grad_p: torch.Tensor) -> torch.Tensor:
    """Gradient at the logits, ``grad_p @ J``, without building ``J``.

    Args:
        p: softmax output ``[..., d]`` (rows sum to 1).
        grad_p: gradient arriving at ``p``, ``[..., d]``.

    Returns:
        ``[..., d]``: ``p * (grad_p - sum_j grad_p_j p_j)``.
    """
    if shape_of(p) != shape_of(grad_p):
        raise ValueError(
            f"p and grad_p must have the same shape [..., d], got "
            f"p {shape_of(p)} and grad_p {shape_of(grad_p)}"
        )
    dot = (grad_p * p).sum(dim=-1, keepdim=True)  # [..., 1]
    return p * (grad_p - dot)


# --8<-- [end:softmax_jacobian]


# --8<-- [start:linear_jacobians]
def _check_linear(x: torch.Tensor, w: torch.Tensor) -> None:
    check_rank("w", w, 2, "[d_in, d_out]")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x [..., d_in] must match w [d_in, d_out] in d_in, got "
            f"x {shape_of(x)} and w {shape_of(w)}"
        )


def linear_jacobian_x(w: torch.Tensor) -> torch.Tensor:
    """Jacobian of ``y = x W + b`` w.r.t. one row ``x [d_in]``.

    ``y_i = sum_k x_k W[k, i] + b_i``, so ``d y_i / d x_j = W[j, i]``.

    Returns:
        ``[d_out, d_in]``: ``W^T``, whatever ``x`` and ``b`` are.
    """
    check_rank("w", w, 2, "[d_in, d_out]")
    return w.T


def linear_jacobian_w(x: torch.Tensor, d_out: int) -> torch.Tensor:
    """Jacobian of ``y = x W + b`` w.r.t. ``W [d_in, d_out]``.

    ``d y_i / d W[k, l] = x_k`` if ``l == i``, else 0.

    Args:
        x: one row ``[d_in]``.
        d_out: width of ``y``.

    Returns:
        ``[d_out, d_in, d_out]``: entry ``[i, k, l] = x_k delta_il``.
    """
    check_rank("x", x, 1, "[d_in] (one row)")
    eye = torch.eye(d_out, dtype=x.dtype)  # delta_il
    return x[None, :, None] * eye[:, None, :]


def linear_backward(
    x: torch.Tensor, w: torch.Tensor, grad_y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backward pass of ``Y = X W + b`` for a batch of rows.

    Args:
        x: ``[n, d_in]``, one row per example.
        w: ``[d_in, d_out]``.
        grad_y: gradient arriving at ``Y``, ``[n, d_out]``.

    Returns:
        ``(grad_x [n, d_in], grad_w [d_in, d_out], grad_b [d_out])`` =
        ``(G W^T, X^T G, sum of the rows of G)``.
    """
    check_rank("x", x, 2, "[n, d_in]")
    _check_linear(x, w)
    if shape_of(grad_y) != (x.shape[0], w.shape[1]):
        raise ValueError(
            f"grad_y must be [n, d_out] = ({x.shape[0]}, {w.shape[1]}), "
            f"got {shape_of(grad_y)}"
        )
    grad_x = grad_y @ w.T  # each row: g_y @ J, with J = W^T
    grad_w = x.T @ grad_y  # sum over rows of the outer product x^T g_y
    grad_b = grad_y.sum(dim=0)  # b is added to every row
    return grad_x, grad_w, grad_b


# --8<-- [end:linear_jacobians]


# --8<-- [start:chain_rule]
@dataclass
class ChainRuleSteps:
    """Forward values and hand-derived gradients of ``chain_rule_example``.

    Shapes for ``x [d_in]``, ``w [d_in, d_out]``: ``z, p, grad_z`` are
    ``[d_out]``, ``grad_x`` is ``[d_in]``, ``grad_w`` is
    ``[d_in, d_out]``, ``grad_b`` is ``[d_out]``; ``loss`` is a scalar.
    """

    z: torch.Tensor
    p: torch.Tensor
    loss: torch.Tensor
    grad_z: torch.Tensor
    grad_x: torch.Tensor
    grad_w: torch.Tensor
    grad_b: torch.Tensor


def chain_rule_example(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, target: int
) -> ChainRuleSteps:
    """``z = x W + b``, ``p = softmax(z)``, ``L = -log p[target]``.

    The backward pass multiplies local Jacobians right to left:
    ``dL/dz = dL/dp @ J_softmax`` and ``dL/dx = dL/dz @ J_linear``.
    """
    check_rank("x", x, 1, "[d_in] (one row)")
    _check_linear(x, w)
    if shape_of(b) != (w.shape[1],):
        raise ValueError(
            f"b must be [d_out] = ({w.shape[1]},), got {shape_of(b)}"
        )
    if not 0 <= target < w.shape[1]:
        raise ValueError(f"target must be in [0, {w.shape[1]}), got {target}")
    # forward
    z = x @ w + b  # [d_out] logits
    p = softmax(z)  # [d_out] probabilities
    loss = -torch.log(p[target])  # scalar
    # backward, one local Jacobian at a time
    grad_p = torch.zeros_like(p)
    grad_p[target] = -1.0 / p[target]  # d(-log p_t) / dp
    grad_z = grad_p @ softmax_jacobian(z)  # equals p - onehot(target)
    grad_x = grad_z @ linear_jacobian_x(w)  # [d_in]
    grad_w = torch.outer(x, grad_z)  # x^T g_z, [d_in, d_out]
    grad_b = grad_z  # dz/db is the identity
    return ChainRuleSteps(z, p, loss, grad_z, grad_x, grad_w, grad_b)


# --8<-- [end:chain_rule]
