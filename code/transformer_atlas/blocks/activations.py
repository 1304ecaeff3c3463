"""Activation functions of transformer feed-forward layers, written out.

``relu(x) = max(0, x)``; ``gelu(x) = x * Phi(x)`` with ``Phi`` the standard
normal CDF (exact, via ``erf``) or its ``tanh`` approximation (GPT-2);
``silu(x) = x * sigmoid(x)`` (also called swish, used inside SwiGLU).
Each has its derivative written out too (``relu_grad`` ...), which is what
backpropagation multiplies the incoming gradient by.

All functions work elementwise on a floating-point tensor of any shape and
raise ``ValueError`` for anything else.

The guide's page ``blocks/feed-forward`` shows these functions;
``tests/package/blocks/test_feed_forward.py`` checks them and their derivatives
against ``torch.nn.functional`` and autograd.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

# --8<-- [end:imports]

__all__ = [
    "relu",
    "gelu",
    "gelu_tanh",
    "silu",
    "relu_grad",
    "gelu_grad",
    "gelu_tanh_grad",
    "silu_grad",
    "ACTIVATIONS",
    "TORCH_ACTIVATIONS",
    "DERIVATIVES",
]

# --8<-- [start:checks]
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _check_float(x: torch.Tensor) -> None:
    """Raise unless ``x`` is a floating-point tensor."""
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        kind = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"x must be a floating-point torch.Tensor, got {kind}"
        )


# --8<-- [end:checks]


# --8<-- [start:activations]
def relu(x: torch.Tensor) -> torch.Tensor:
    """``max(0, x)``, elementwise; any shape."""
    _check_float(x)
    return torch.where(x <= 0, 0.0, x)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """``x * Phi(x)``, ``Phi`` the standard normal CDF (exact); any shape."""
    _check_float(x)
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the ``tanh`` approximation of ``Phi`` (GPT-2); any shape."""
    _check_float(x)
    inner = SQRT_2_OVER_PI * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + torch.tanh(inner))


def silu(x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(x)`` (swish); any shape."""
    _check_float(x)
    return x * torch.sigmoid(x)


# --8<-- [end:activations]


# --8<-- [start:derivatives]
def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """``d relu / dx``: 1 where ``x > 0``, else 0 (0 at ``x = 0``)."""
    _check_float(x)
    return (x > 0).to(x.dtype)


def gelu_grad(x: torch.Tensor) -> torch.Tensor:
    """``d gelu / dx = Phi(x) + x * phi(x)``, ``phi`` the normal density."""
    _check_float(x)
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def gelu_tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """Derivative of :func:`gelu_tanh`, by the product and chain rules."""
    _check_float(x)
    t = torch.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3))
    d_inner = SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x**2)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * d_inner


def silu_grad(x: torch.Tensor) -> torch.Tensor:
    """``d silu / dx = sigmoid(x) * (1 + x * (1 - sigmoid(x)))``."""
    _check_float(x)
    s = torch.sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


# --8<-- [end:derivatives]


#: Activation name -> function, for the ``activation=`` argument of layers.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": relu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "silu": silu,
}

#: The same functions as PyTorch's fused kernels, which layers call (one
#: pass over memory instead of several); the tests check each one against
#: its written-out twin in ACTIVATIONS.
TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": partial(F.gelu, approximate="tanh"),
    "silu": F.silu,
}

#: Activation name -> its derivative, with the same keys as ACTIVATIONS.
DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": relu_grad,
    "gelu": gelu_grad,
    "gelu_tanh": gelu_tanh_grad,
    "silu": silu_grad,
}
