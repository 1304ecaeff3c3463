"""Normalization layers: LayerNorm and RMSNorm, in NumPy and PyTorch.

Both work on each token vector (the last axis, ``d_model``) on its own.

``LayerNorm(x) = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta`` with ``mu``
and ``sigma^2`` the mean and the (biased, divide-by-``d``) variance of the
row ``x``.

``RMSNorm(x) = gamma * x / sqrt(mean(x^2) + eps)``: no mean subtraction and
no ``beta``.

The guide's page ``blocks/normalization`` shows these functions;
``tests/package/blocks/test_normalization.py`` checks them against
``torch.nn.LayerNorm``, ``torch.nn.RMSNorm`` and autograd.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from transformer_atlas.common.validation import (
    check_min_rank,
    check_positive_int,
    shape_of,
)

# --8<-- [end:imports]

__all__ = [
    "layer_norm",
    "layer_norm_numpy",
    "rms_norm",
    "rms_norm_numpy",
    "layer_norm_jacobian",
    "LayerNorm",
    "RMSNorm",
]


# --8<-- [start:checks]
Array = np.ndarray | torch.Tensor


def _check_eps(eps: float) -> None:
    if not (eps >= 0.0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")


def _check_params(x: Array, params: dict[str, Array | None]) -> None:
    """``x [..., d]``; every parameter in ``params`` must be ``[d]``."""
    check_min_rank("x", x, 1, "[..., d_model]")
    d = x.shape[-1]
    for name, p in params.items():
        if p is not None and shape_of(p) != (d,):
            raise ValueError(
                f"{name} must have shape [d_model] = ({d},) to match x "
                f"{shape_of(x)}, got {name} shape {shape_of(p)}"
            )


# --8<-- [end:checks]


# --8<-- [start:layer_norm_torch]
def layer_norm(
    x: torch.Tensor,
    gamma: torch.Tensor | None = None,
    beta: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Layer normalization over the last axis.

    Args:
        x: ``[..., d_model]``, e.g. ``[batch, seq, d_model]``; every row
            (token vector) is normalised on its own.
        gamma: gain ``[d_model]`` (``None``: all ones).
        beta: bias ``[d_model]`` (``None``: all zeros).
        eps: added to the variance inside the square root.

    Returns:
        ``[..., d_model]``, the same shape as ``x``.
    """
    _check_params(x, {"gamma": gamma, "beta": beta})
    _check_eps(eps)
    mu = x.mean(dim=-1, keepdim=True)  # [..., 1]
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)  # biased: divide by d
    x_hat = (x - mu) / torch.sqrt(var + eps)  # mean 0, variance ~1
    y = x_hat if gamma is None else gamma * x_hat
    return y if beta is None else y + beta


# --8<-- [end:layer_norm_torch]


# --8<-- [start:layer_norm_numpy]
def layer_norm_numpy(
    x: np.ndarray,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    """Layer normalization over the last axis of ``x [..., d_model]``.

    ``gamma`` and ``beta`` are ``[d_model]`` (``None``: ones, zeros).
    """
    _check_params(x, {"gamma": gamma, "beta": beta})
    _check_eps(eps)
    mu = x.mean(axis=-1, keepdims=True)  # [..., 1]
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)  # biased: divide by d
    x_hat = (x - mu) / np.sqrt(var + eps)  # mean 0, variance ~1
    y = x_hat if gamma is None else gamma * x_hat
    return y if beta is None else y + beta


# --8<-- [end:layer_norm_numpy]


# --8<-- [start:rms_norm_torch]
def rms_norm(
    x: torch.Tensor,
    gamma: torch.Tensor | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """RMS normalization over the last axis: no mean, no bias.

    Args:
        x: ``[..., d_model]``; every row is divided by its root mean square.
        gamma: gain ``[d_model]`` (``None``: all ones).
        eps: added to the mean square inside the square root.

    Returns:
        ``[..., d_model]``, the same shape as ``x``.
    """
    _check_params(x, {"gamma": gamma})
    _check_eps(eps)
    ms = (x**2).mean(dim=-1, keepdim=True)  # [..., 1] mean square
    x_hat = x / torch.sqrt(ms + eps)  # root mean square ~1
    return x_hat if gamma is None else gamma * x_hat


# --8<-- [end:rms_norm_torch]


# --8<-- [start:rms_norm_numpy]
def rms_norm_numpy(
    x: np.ndarray,
    gamma: np.ndarray | None = None,
    eps: float = 1e-6,
) -> np.ndarray:
    """RMS normalization over the last axis of ``x [..., d_model]``.

    ``gamma`` is ``[d_model]`` (``None``: ones).
    """
    _check_params(x, {"gamma": gamma})
    _check_eps(eps)
    ms = (x**2).mean(axis=-1, keepdims=True)  # [..., 1] mean square
    x_hat = x / np.sqrt(ms + eps)  # root mean square ~1
    return x_hat if gamma is None else gamma * x_hat


# --8<-- [end:rms_norm_numpy]


# --8<-- [start:modules]
class LayerNorm(nn.Module):
    """``gamma * (x - mu) / sqrt(var + eps) + beta`` over the last axis.

    Args:
        d_model: width of the rows to normalise.
        eps: added to the variance inside the square root (PyTorch's
            default, 1e-5).
        bias: learn ``beta`` (``False``: no bias, as in some recent
            models).
    """

    def __init__(
        self, d_model: int, eps: float = 1e-5, bias: bool = True
    ) -> None:
        super().__init__()
        check_positive_int(d_model=d_model)
        _check_eps(eps)
        self.d_model, self.eps = d_model, eps
        self.gamma = nn.Parameter(torch.ones(d_model))
        self.beta = nn.Parameter(torch.zeros(d_model)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [..., d_model]`` -> ``[..., d_model]``.

        Computes :func:`layer_norm` with PyTorch's fused kernel (one pass
        over memory; the tests check the two agree).
        """
        _check_params(x, {"gamma": self.gamma, "beta": self.beta})
        d = (self.d_model,)
        return F.layer_norm(x, d, self.gamma, self.beta, self.eps)


class RMSNorm(nn.Module):
    """``gamma * x / sqrt(mean(x^2) + eps)`` over the last axis.

    Args:
        d_model: width of the rows to normalise.
        eps: added to the mean square inside the square root.
    """

    def __init__(self, d_model: int, eps: float = 1e-6) -> None:
        super().__init__()
        check_positive_int(d_model=d_model)
        _check_eps(eps)
        self.d_model, self.eps = d_model, eps
        self.gamma = nn.Parameter(torch.ones(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [..., d_model]`` -> ``[..., d_model]``.

        Computes :func:`rms_norm` with PyTorch's fused kernel.
        """
        _check_params(x, {"gamma": self.gamma})
        return F.rms_norm(x, (self.d_model,), self.gamma, self.eps)


# --8<-- [end:modules]


# --8<-- [start:jacobian]
def layer_norm_jacobian(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Jacobian of ``x_hat = (x - mu) / sigma`` for one row ``x [d]``.

    Row-vector layout: entry ``[i, j]`` is ``d x_hat_j / d x_i``, so that a
    gradient ``g [d]`` arriving at ``x_hat`` leaves as ``J @ g``.

    Returns:
        ``[d, d]``: ``(I - 1/d - x_hat^T x_hat / d) / sigma`` with
        ``sigma = sqrt(var + eps)``.
    """
    if x.ndim != 1:
        raise ValueError(
            f"x must be one row [d_model], got shape {shape_of(x)}"
        )
    d = x.shape[0]
    sigma = torch.sqrt(x.var(unbiased=False) + eps)
    x_hat = ((x - x.mean()) / sigma)[None, :]  # [1, d]
    eye = torch.eye(d, dtype=x.dtype)
    return (eye - 1.0 / d - x_hat.T @ x_hat / d) / sigma


# --8<-- [end:jacobian]
