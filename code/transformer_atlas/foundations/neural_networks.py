"""The perceptron, XOR with a hidden layer, and three optimizers.

Row-vector convention: ``x [n, d]`` holds one example per row; a neuron
computes ``x @ w + b`` with ``w [d]``.

The page ``foundations/neural-networks`` shows these functions;
``tests/package/foundations/test_neural_networks.py`` checks that the
perceptron converges on separable data, that the two-layer net learns XOR, and
that the optimizer steps equal ``torch.optim.SGD`` and ``torch.optim.Adam``.
"""

from __future__ import annotations

# --8<-- [start:imports]
from dataclasses import dataclass, field

import numpy as np

from transformer_atlas.common.validation import (
    check_positive_float,
    check_rank,
)
from transformer_atlas.foundations.mlp import Params, accuracy, init_mlp, train

# --8<-- [end:imports]

__all__ = [
    "Perceptron",
    "perceptron_predict",
    "train_perceptron",
    "separable_dataset",
    "xor_dataset",
    "train_xor",
    "xor_accuracy",
    "sgd_update",
    "momentum_update",
    "adam_update",
]


# --8<-- [start:checks]
def _check_xy(x: np.ndarray, y: np.ndarray) -> None:
    check_rank("x", x, 2, "[n, d]")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must be [n] = ({x.shape[0]},), got {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must hold 0/1 labels")


# --8<-- [end:checks]


# --8<-- [start:perceptron]
@dataclass
class Perceptron:
    """Weights ``w [d]``, bias ``b`` and the training record."""

    w: np.ndarray
    b: float
    epochs: int = 0
    converged: bool = False
    mistakes: list[int] = field(default_factory=list)  # per epoch


def perceptron_predict(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Step function of ``x @ w + b``: 1 where positive, else 0. ``[n]``."""
    check_rank("x", x, 2, "[n, d]")
    return (x @ w + b > 0).astype(float)


def train_perceptron(
    x: np.ndarray, y: np.ndarray, lr: float = 1.0, max_epochs: int = 100
) -> Perceptron:
    """Rosenblatt's rule: on a mistake, move the line towards the example.

    ``x [n, d]``, ``y [n]`` with 0/1 labels. For each example in turn,
    ``w += lr (y - y_hat) x`` and ``b += lr (y - y_hat)``; stops after the
    first epoch without a mistake (``converged``) or after ``max_epochs``.
    """
    _check_xy(x, y)
    check_positive_float("lr", lr)
    model = Perceptron(w=np.zeros(x.shape[1]), b=0.0)
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        for xi, yi in zip(x, y):
            error = yi - float(xi @ model.w + model.b > 0)  # -1, 0 or 1
            if error != 0:
                model.w = model.w + lr * error * xi
                model.b = model.b + lr * error
                mistakes += 1
        model.mistakes.append(mistakes)
        model.epochs = epoch
        if mistakes == 0:
            model.converged = True
            break
    return model


# --8<-- [end:perceptron]


def separable_dataset(
    n: int = 40, seed: int = 0, margin: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``[-1, 1]^2`` labelled by the line ``x1 + 2 x2 = 0.2``.

    Points closer than ``margin`` to the line are dropped, so a separating
    line with room to spare exists. Returns ``x [m, 2]``, ``y [m]``.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(4 * n, 2))
    score = (x[:, 0] + 2 * x[:, 1] - 0.2) / np.sqrt(5.0)
    keep = np.abs(score) > margin
    x, score = x[keep][:n], score[keep][:n]
    return x, (score > 0).astype(float)


# --8<-- [start:xor]
def xor_dataset() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points ``x [4, 2]`` and labels ``y [4]``."""
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return x, np.array([0.0, 1.0, 1.0, 0.0])


def train_xor(
    d_hidden: int = 4, lr: float = 1.0, steps: int = 2000, seed: int = 1
) -> tuple[Params, list[float]]:
    """A 2-layer net (tanh hidden layer, sigmoid output) learns XOR.

    Uses the MLP of :mod:`transformer_atlas.foundations.mlp`: full-batch
    gradient descent on binary cross-entropy. Returns the params and losses.
    """
    x, y = xor_dataset()
    params = init_mlp(2, d_hidden, seed=seed, scale=2.0)
    return train(params, x, y[:, None], lr, steps, activation="tanh")


def xor_accuracy(params: Params) -> float:
    """Fraction of the four XOR points the tanh net gets right."""
    x, y = xor_dataset()
    return accuracy(params, x, y[:, None], activation="tanh")


# --8<-- [end:xor]


# --8<-- [start:optimizers]
def sgd_update(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Plain gradient descent: ``theta - lr * grad``."""
    return theta - lr * grad


def momentum_update(
    theta: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    lr: float,
    beta: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Heavy ball: ``v = beta v + grad``, ``theta -= lr v``.

    Returns ``(theta, v)``. (The form ``torch.optim.SGD`` uses.)
    """
    velocity = beta * velocity + grad
    return theta - lr * velocity, velocity


def adam_update(
    theta: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    t: int,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam step ``t`` (from 1): running mean and mean square of grads.

    Returns ``(theta, m, v)``.
    """
    if t < 1:
        raise ValueError(f"t counts steps from 1, got {t}")
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad**2
    m_hat = m / (1 - b1**t)  # undo the bias towards the zero start
    v_hat = v / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# --8<-- [end:optimizers]
