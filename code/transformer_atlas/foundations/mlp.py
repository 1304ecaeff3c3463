"""A one-hidden-layer MLP in NumPy with a backward pass written by hand.

Row-vector convention: a batch of examples is ``x [batch, d_in]`` and a
layer is ``x @ W + b`` with ``W [d_in, d_out]``.

The network (binary classifier)::

    z1 = x @ w1 + b1      [batch, d_hidden]
    h  = act(z1)          [batch, d_hidden]   hidden state
    z2 = h @ w2 + b2      [batch, 1]          logit
    p  = sigmoid(z2)      [batch, 1]          P(y = 1 | x)
    L  = mean binary cross-entropy of p against y

The page ``foundations/mlp`` shows these functions and the worked
email-spam example; ``tests/package/foundations/test_mlp.py`` checks every
gradient against ``torch.autograd`` and against :func:`numerical_gradient`.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from transformer_atlas.common.validation import (
    check_positive_float,
    check_rank,
)

# --8<-- [end:imports]

__all__ = [
    "Params",
    "sigmoid",
    "init_mlp",
    "forward",
    "bce_loss",
    "backward",
    "sgd_step",
    "numerical_gradient",
    "train",
    "accuracy",
    "circles_dataset",
    "SpamExample",
    "spam_example",
    "format_spam_example",
]

# --8<-- [start:checks]
#: Parameters by name: ``w1 [d_in, d_hidden]``, ``b1 [d_hidden]``,
#: ``w2 [d_hidden, 1]``, ``b2 [1]``.
Params = dict[str, np.ndarray]

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _check_params(params: Params) -> None:
    for name in ("w1", "b1", "w2", "b2"):
        if name not in params:
            raise ValueError(
                f"params must have keys w1, b1, w2, b2, got {sorted(params)}"
            )
    check_rank("w1", params["w1"], 2, "[d_in, d_hidden]")
    check_rank("w2", params["w2"], 2, "[d_hidden, 1]")
    d_hidden = params["w1"].shape[1]
    if (
        params["b1"].shape != (d_hidden,)
        or params["w2"].shape != (d_hidden, 1)
        or params["b2"].shape != (1,)
    ):
        raise ValueError(
            f"with w1 {params['w1'].shape} expected b1 ({d_hidden},), "
            f"w2 ({d_hidden}, 1), b2 (1,); got b1 {params['b1'].shape}, "
            f"w2 {params['w2'].shape}, b2 {params['b2'].shape}"
        )


def _check_xy(params: Params, x: np.ndarray, y: np.ndarray) -> None:
    check_rank("x", x, 2, "[batch, d_in]")
    if x.shape[1] != params["w1"].shape[0]:
        raise ValueError(
            f"x must be [batch, {params['w1'].shape[0]}], got {x.shape}"
        )
    if y.shape != (x.shape[0], 1):
        raise ValueError(
            f"y must be [batch, 1] = ({x.shape[0]}, 1), got {y.shape}"
        )


# --8<-- [end:checks]


# --8<-- [start:forward]
def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-z), any shape, without overflow."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _act(z: np.ndarray, name: str) -> np.ndarray:
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def forward(
    params: Params, x: np.ndarray, activation: str = "sigmoid"
) -> dict[str, np.ndarray]:
    """Forward pass. ``x [batch, d_in]``; returns every intermediate.

    Keys: ``x``, ``z1`` and ``h`` ``[batch, d_hidden]``, ``z2`` and ``p``
    ``[batch, 1]``. The backward pass needs them all (the "cache").
    """
    _check_params(params)
    check_rank("x", x, 2, "[batch, d_in]")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {ACTIVATIONS}, got {activation!r}"
        )
    z1 = x @ params["w1"] + params["b1"]
    h = _act(z1, activation)
    z2 = h @ params["w2"] + params["b2"]
    p = sigmoid(z2)
    return {"x": x, "z1": z1, "h": h, "z2": z2, "p": p}


def bce_loss(z2: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy from the logits ``z2 [batch, 1]``.

    Equals ``-mean(y log p + (1 - y) log(1 - p))`` with ``p = sigmoid(z2)``,
    computed as ``mean(log(1 + e^z2) - y z2)`` so it stays finite.
    """
    if z2.shape != y.shape:
        raise ValueError(
            f"z2 and y must have the same shape [batch, 1], "
            f"got {z2.shape} and {y.shape}"
        )
    return float(np.mean(np.logaddexp(0.0, z2) - y * z2))


# --8<-- [end:forward]


# --8<-- [start:backward]
def backward(
    params: Params,
    cache: dict[str, np.ndarray],
    y: np.ndarray,
    activation: str = "sigmoid",
) -> Params:
    """Gradients of :func:`bce_loss` by the chain rule, layer by layer.

    ``y [batch, 1]`` holds 0/1 labels. Returns ``dL/dparam`` for every
    parameter, each with the parameter's shape.
    """
    _check_params(params)
    _check_xy(params, cache["x"], y)
    batch = y.shape[0]  # B examples: the loss is a mean
    dz2 = (cache["p"] - y) / batch  # [batch, 1]: sigmoid + BCE
    dw2 = cache["h"].T @ dz2  # [d_hidden, 1]
    db2 = dz2.sum(axis=0)  # [1]
    dh = dz2 @ params["w2"].T  # [batch, d_hidden]
    h = cache["h"]
    if activation == "sigmoid":
        dz1 = dh * h * (1.0 - h)  # sigmoid' = s (1 - s)
    elif activation == "tanh":
        dz1 = dh * (1.0 - h**2)  # tanh' = 1 - tanh^2
    else:
        dz1 = dh * (cache["z1"] > 0)  # relu' = 1 where z > 0
    dw1 = cache["x"].T @ dz1  # [d_in, d_hidden]
    db1 = dz1.sum(axis=0)  # [d_hidden]
    return {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}


def sgd_step(params: Params, grads: Params, lr: float) -> Params:
    """One gradient-descent step: ``param - lr * grad`` (a new dict)."""
    check_positive_float("lr", lr)
    return {k: params[k] - lr * grads[k] for k in params}


# --8<-- [end:backward]


# --8<-- [start:numerical_gradient]
def numerical_gradient(
    loss_fn: Callable[[Params], float],
    params: Params,
    eps: float = 1e-6,
) -> Params:
    """Central finite differences: (L(t + eps) - L(t - eps)) / (2 eps).

    Nudges one number at a time, so it costs two loss evaluations per
    parameter: a check for small networks, never a way to train.
    """
    check_positive_float("eps", eps)
    grads: Params = {}
    for name, value in params.items():
        g = np.zeros_like(value, dtype=float)
        for i in np.ndindex(value.shape):
            plus = {k: v.astype(float) for k, v in params.items()}
            minus = {k: v.astype(float) for k, v in params.items()}
            plus[name][i] += eps
            minus[name][i] -= eps
            g[i] = (loss_fn(plus) - loss_fn(minus)) / (2 * eps)
        grads[name] = g
    return grads


# --8<-- [end:numerical_gradient]


def init_mlp(
    d_in: int, d_hidden: int, seed: int = 0, scale: float = 1.0
) -> Params:
    """Random weights ``N(0, scale^2 / d_in)`` etc., zero biases."""
    if d_in < 1 or d_hidden < 1:
        raise ValueError(
            f"d_in and d_hidden must be >= 1, got {d_in}, {d_hidden}"
        )
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.normal(0, scale / np.sqrt(d_in), (d_in, d_hidden)),
        "b1": np.zeros(d_hidden),
        "w2": rng.normal(0, scale / np.sqrt(d_hidden), (d_hidden, 1)),
        "b2": np.zeros(1),
    }


# --8<-- [start:train]
def train(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    lr: float = 0.5,
    steps: int = 1000,
    activation: str = "sigmoid",
) -> tuple[Params, list[float]]:
    """Full-batch gradient descent. Returns the trained params and losses.

    ``x [batch, d_in]``, ``y [batch, 1]``; ``losses[t]`` is the loss
    before step ``t``.
    """
    _check_params(params)
    _check_xy(params, x, y)
    losses = []
    for _ in range(steps):
        cache = forward(params, x, activation)
        losses.append(bce_loss(cache["z2"], y))
        grads = backward(params, cache, y, activation)
        params = sgd_step(params, grads, lr)
    return params, losses


def accuracy(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "sigmoid",
) -> float:
    """Fraction of examples where ``p > 0.5`` agrees with the 0/1 label."""
    p = forward(params, x, activation)["p"]
    return float(np.mean((p > 0.5) == (y > 0.5)))


# --8<-- [end:train]


def circles_dataset(
    n: int = 200, seed: int = 0, noise: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Two rings: label 1 inside (radius 0.5), 0 outside (radius 1.5).

    Returns ``x [n, 2]`` and ``y [n, 1]``. No line separates them.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(float)[:, None]
    radius = np.where(y[:, 0] == 1, 0.5, 1.5) + noise * rng.normal(size=n)
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return x, y


# ------------------------------------------------------- the spam example
# --8<-- [start:spam]
SPAM_FEATURES = ("free", "win", "!")


@dataclass
class SpamExample:
    """Every number of the worked example (one email, one SGD step)."""

    params: Params
    x: np.ndarray  # [1, 3] counts of "free", "win", "!"
    y: np.ndarray  # [1, 1] 1 = spam
    cache: dict[str, np.ndarray]
    loss: float
    grads: Params
    lr: float
    new_params: Params
    new_loss: float


def spam_example(lr: float = 0.5) -> SpamExample:
    """The email-spam example: forward, loss, backward, one SGD step."""
    params = {
        "w1": np.array([[0.5, -0.2], [0.3, 0.4], [0.2, -0.1]]),
        "b1": np.array([-1.0, 0.0]),
        "w2": np.array([[1.0], [-1.5]]),
        "b2": np.array([-0.5]),
    }
    x = np.array([[2.0, 1.0, 3.0]])  # "free" x2, "win" x1, "!" x3
    y = np.array([[1.0]])  # it is spam
    cache = forward(params, x)
    grads = backward(params, cache, y)
    new = sgd_step(params, grads, lr)
    new_loss = bce_loss(forward(new, x)["z2"], y)
    return SpamExample(
        params,
        x,
        y,
        cache,
        bce_loss(cache["z2"], y),
        grads,
        lr,
        new,
        new_loss,
    )


# --8<-- [end:spam]


def format_spam_example(ex: SpamExample, digits: int = 4) -> str:
    """The worked example as text, one step per line (rounded)."""

    def f(a: np.ndarray | float) -> str:
        arr = np.round(np.asarray(a, dtype=float), digits) + 0.0
        if arr.ndim == 2 and arr.shape[0] == 1:
            arr = arr[0]  # one email: print [1, k] as a vector
        if arr.shape == (1,):
            return f"{arr[0]:.{digits}f}"
        return np.array2string(arr, precision=digits, suppress_small=True)

    c, g, n = ex.cache, ex.grads, ex.new_params
    dz2 = c["p"] - ex.y
    dh = dz2 @ ex.params["w2"].T
    dz1 = dh * c["h"] * (1 - c["h"])
    w1_rows = [
        f"  {name:>4}: {f(row)}" for name, row in zip(SPAM_FEATURES, g["w1"])
    ]
    new_rows = [
        f"  {name:>4}: {f(row)}" for name, row in zip(SPAM_FEATURES, n["w1"])
    ]
    lines = [
        f"x  = {f(ex.x)}   y = {int(ex.y[0, 0])}",
        f"z1 = x @ w1 + b1  = {f(c['z1'])}",
        f"h  = sigmoid(z1)  = {f(c['h'])}",
        f"z2 = h @ w2 + b2  = {f(c['z2'])}",
        f"p  = sigmoid(z2)  = {f(c['p'])}",
        f"loss = -log p     = {f(ex.loss)}",
        f"dL/dz2 = p - y    = {f(dz2)}",
        f"dL/dw2 = h * dL/dz2 = {f(g['w2'].ravel())}",
        f"dL/db2 = {f(g['b2'])}",
        f"dL/dh  = dL/dz2 * w2 = {f(dh)}",
        f"dL/dz1 = dL/dh * h(1-h) = {f(dz1)}",
        f"dL/db1 = {f(g['b1'])}",
        "dL/dw1 = x^T dL/dz1 (rows: features)",
        *w1_rows,
        f"after one step, lr = {ex.lr}:",
        "w1 =",
        *new_rows,
        f"b1 = {f(n['b1'])}   w2 = {f(n['w2'].ravel())}",
        f"b2 = {f(n['b2'])}",
        f"new p = {f(forward(n, ex.x)['p'])}   new loss = {f(ex.new_loss)}",
    ]
    return "\n".join(lines)
