"""Activation functions of transformer feed-forward layers, written out.

``relu(x) = max(0, x)``; ``gelu(x) = x * Phi(x)`` with ``Phi`` the standard
normal CDF (exact, via ``erf``) or its ``tanh`` approximation (GPT-2);
``silu(x) = x * sigmoid(x)`` (also called swish, used inside SwiGLU).

The guide's page ``blocks/feed-forward`` shows these functions;
``tests/package/test_feed_forward.py`` checks them against
``torch.nn.functional``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from collections.abc import Callable

import torch

# --8<-- [end:imports]

__all__ = ["relu", "gelu", "gelu_tanh", "silu", "ACTIVATIONS"]


# --8<-- [start:activations]
def relu(x: torch.Tensor) -> torch.Tensor:
    """``max(0, x)``, elementwise; any shape."""
    return torch.clamp(x, min=0.0)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """``x * Phi(x)``, ``Phi`` the standard normal CDF (exact); any shape."""
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the ``tanh`` approximation of ``Phi`` (GPT-2); any shape."""
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + torch.tanh(inner))


def silu(x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(x)`` (swish); any shape."""
    return x * torch.sigmoid(x)
# --8<-- [end:activations]


#: Activation name -> function, for the ``activation=`` argument of layers.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": relu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "silu": silu,
}
