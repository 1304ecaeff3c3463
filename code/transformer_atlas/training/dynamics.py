"""Training dynamics: AdamW, the learning-rate schedule, clipping, numerics.

Everything a training loop does besides the forward and backward pass:

* :class:`AdamW`, written out: Adam's running moments with bias
  correction, plus decoupled weight decay. A real
  :class:`torch.optim.Optimizer`, so ``state_dict()``, ``load_state_dict()``
  and torch's learning-rate schedulers work with it.
* :func:`weight_decay_groups`: decay matrices and embeddings, not biases
  or norm gains (nanoGPT's rule).
* :func:`warmup_cosine`: linear warm-up, cosine decay, then flat;
  :func:`warmup_cosine_scheduler` builds the same schedule from torch's
  own schedulers.
* :func:`clip_grad_norm`: scale all gradients together to a maximum
  global norm.
* :func:`residual_std_by_depth`: why GPT-2 scales its residual output
  projections by ``1 / sqrt(2 N)`` at initialization.
* :func:`autocast_report`: a forward pass under ``torch.autocast`` against
  float32, and which operations ran in the low-precision type.

The guide's page ``training/dynamics`` shows this module;
``tests/package/training/test_dynamics.py`` checks it against
``torch.optim.AdamW``, ``torch.optim.lr_scheduler``,
``torch.nn.utils.clip_grad_norm_`` and ``torch.finfo``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.lr_scheduler import (
    ConstantLR,
    CosineAnnealingLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
)
from torch.overrides import TorchFunctionMode

from transformer_atlas.blocks.normalization import layer_norm
from transformer_atlas.common.threads import single_thread
from transformer_atlas.common.validation import check_positive_float

# --8<-- [end:imports]

__all__ = [
    "AdamW",
    "weight_decay_groups",
    "warmup_cosine",
    "warmup_cosine_scheduler",
    "clip_grad_norm",
    "residual_std_by_depth",
    "AutocastReport",
    "autocast_report",
]


# --8<-- [start:adamw]
def _check_hyper(name: str, value: float, low: float, high: float) -> None:
    """Raise unless ``low <= value < high`` (a finite number)."""
    if not (low <= value < high):
        raise ValueError(f"{name} must lie in [{low}, {high}), got {value!r}")


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    For every parameter ``theta`` with gradient ``g``, step ``t = 1, 2, ..``:

    * ``theta <- theta - lr * weight_decay * theta`` (decoupled decay),
    * ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``,
    * ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``,
    * ``theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)``.

    The same update, in the same order, as ``torch.optim.AdamW`` (without
    its ``amsgrad``, ``maximize`` and fused variants). The state of a
    parameter is ``step``, ``exp_avg`` (m) and ``exp_avg_sq`` (v), the names
    torch uses, so a ``state_dict`` moves between the two.

    Args:
        params: parameters, or a list of param groups (dicts with
            ``"params"`` and any of the options below).
        lr: learning rate ``eta`` (a scheduler may change it every step).
        betas: decay rates ``(beta1, beta2)`` of the two running means.
        eps: added to ``sqrt(v_hat)``; keeps the step finite where
            ``v_hat`` is 0.
        weight_decay: ``lambda``; each step shrinks ``theta`` by
            ``lr * lambda * theta``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        _check_hyper("lr", lr, 0.0, math.inf)
        _check_hyper("betas[0]", betas[0], 0.0, 1.0)
        _check_hyper("betas[1]", betas[1], 0.0, 1.0)
        _check_hyper("eps", eps, 0.0, math.inf)
        _check_hyper("weight_decay", weight_decay, 0.0, math.inf)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(
        self, closure: Callable[[], torch.Tensor] | None = None
    ) -> torch.Tensor | None:
        """Update every parameter that has a gradient; return the loss.

        ``closure`` (optional) recomputes the loss, as in torch.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, lam, eps = group["lr"], group["weight_decay"], group["eps"]
            beta1, beta2 = group["betas"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = theta.grad
                state = self.state[theta]
                if not state:  # first step: moments start at zero
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(theta)
                    state["exp_avg_sq"] = torch.zeros_like(theta)
                t = int(state["step"]) + 1
                m = beta1 * state["exp_avg"] + (1 - beta1) * g
                v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
                m_hat = m / (1 - beta1**t)  # undo the pull towards 0
                v_hat = v / (1 - beta2**t)
                theta.mul_(1 - lr * lam)  # decoupled weight decay
                theta.sub_(lr * m_hat / (v_hat.sqrt() + eps))
                state["step"] = t
                state["exp_avg"], state["exp_avg_sq"] = m, v
        return loss


# --8<-- [end:adamw]


# --8<-- [start:groups]
def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two param groups: decay parameters with ``dim >= 2``, not the rest.

    Matrices (projections) and embedding tables get ``weight_decay``;
    biases and normalization gains (vectors) get 0, as in nanoGPT. Pass
    the result to :class:`AdamW` (or ``torch.optim.AdamW``). Parameters
    with ``requires_grad=False`` are left out; a tied weight appears once.
    """
    _check_hyper("weight_decay", weight_decay, 0.0, math.inf)
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {
            "params": [p for p in params if p.dim() >= 2],
            "weight_decay": weight_decay,
        },
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


# --8<-- [end:groups]


# --8<-- [start:schedule]
def _check_schedule(
    max_lr: float, min_lr: float, warmup_steps: int, total_steps: int
) -> None:
    """Raise unless ``0 <= min_lr <= max_lr``, ``0 <= warmup < total``."""
    if not (0.0 <= min_lr <= max_lr) or max_lr <= 0:
        raise ValueError(
            "need 0 <= min_lr <= max_lr and max_lr > 0, "
            f"got max_lr={max_lr}, min_lr={min_lr}"
        )
    if not (0 <= warmup_steps < total_steps):
        raise ValueError(
            "need 0 <= warmup_steps < total_steps, got "
            f"warmup_steps={warmup_steps}, total_steps={total_steps}"
        )


def warmup_cosine(
    step: int,
    *,
    max_lr: float,
    min_lr: float,
    warmup_steps: int,
    total_steps: int,
) -> float:
    """The learning rate at ``step`` (counted from 0).

    With ``w = warmup_steps`` and ``t = total_steps`` (the page's
    n_warm and n_total):

    * ``step < w``: linear warm-up, ``max_lr * (step + 1) / (w + 1)``;
    * ``w <= step <= t``: cosine from ``max_lr`` down to ``min_lr``,
      ``min_lr + (max_lr - min_lr) * (1 + cos(pi * r)) / 2`` with
      ``r = (step - w) / (t - w)``;
    * ``step > t``: ``min_lr``.

    The same numbers as nanoGPT's ``get_lr`` (with
    ``lr_decay_iters = total_steps``) and as
    :func:`warmup_cosine_scheduler`.
    """
    _check_schedule(max_lr, min_lr, warmup_steps, total_steps)
    if step < 0:
        raise ValueError(f"step counts from 0, got {step}")
    if step < warmup_steps:
        return max_lr * (step + 1) / (warmup_steps + 1)
    if step > total_steps:
        return min_lr
    r = (step - warmup_steps) / (total_steps - warmup_steps)  # 0 .. 1
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * r)) / 2


# --8<-- [end:schedule]


# --8<-- [start:scheduler]
def warmup_cosine_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    min_lr: float,
    warmup_steps: int,
    total_steps: int,
) -> LRScheduler:
    """:func:`warmup_cosine` from torch's own schedulers.

    ``max_lr`` is the param groups' ``lr`` (all groups must share it).
    Call ``scheduler.step()`` after every ``optimizer.step()``. Three
    phases joined by ``SequentialLR``: ``LinearLR`` from ``1 / (w + 1)`` of
    the peak, then ``CosineAnnealingLR`` down to ``min_lr``, then
    ``min_lr`` for ever.
    """
    lrs = {group["lr"] for group in optimizer.param_groups}
    if len(lrs) != 1:
        raise ValueError(
            f"all param groups must share one lr, got {sorted(lrs)}"
        )
    max_lr = lrs.pop()
    _check_schedule(max_lr, min_lr, warmup_steps, total_steps)
    w, t = warmup_steps, total_steps
    cosine = CosineAnnealingLR(optimizer, T_max=t - w, eta_min=min_lr)
    flat = ConstantLR(optimizer, factor=min_lr / max_lr, total_iters=2**62)
    if w == 0:
        return SequentialLR(optimizer, [cosine, flat], milestones=[t + 1])
    warmup = LinearLR(optimizer, start_factor=1 / (w + 1), total_iters=w)
    return SequentialLR(
        optimizer, [warmup, cosine, flat], milestones=[w, t + 1]
    )


# --8<-- [end:scheduler]


# --8<-- [start:clip]
def clip_grad_norm(
    parameters: torch.Tensor | Iterable[torch.Tensor], max_norm: float
) -> torch.Tensor:
    """Scale all gradients together so that their global norm <= max_norm.

    The global norm is ``||g|| = sqrt(sum over parameters of ||g_p||^2)``,
    as if every gradient were one long vector. If it exceeds ``max_norm``,
    every ``g_p`` is multiplied in place by ``max_norm / (||g|| + 1e-6)``:
    the direction is kept, only the length shrinks. Returns ``||g||``
    before clipping (a 0-d tensor), which is worth logging.
    """
    check_positive_float("max_norm", max_norm)
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.stack([(g * g).sum() for g in grads]).sum().sqrt()
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)  # 1: leave as is
    for g in grads:
        g.mul_(scale)
    return total


# --8<-- [end:clip]


# --8<-- [start:init_depth]
def residual_std_by_depth(
    n_layers: int,
    d_model: int = 768,
    std: float = 0.02,
    scaled: bool = False,
    n_tokens: int = 32,
    seed: int = 0,
) -> torch.Tensor:
    """Standard deviation of the residual stream after each block.

    A model of a pre-LN stack at initialization: ``n_layers`` blocks, each
    with two residual additions (attention, then MLP), each adding
    ``LN(x) @ W`` with a fresh random ``W [d_model, d_model]`` of entries
    ``N(0, s^2)``: the output projection of a sub-layer. ``s = std``, or
    ``std / sqrt(2 * n_layers)`` with ``scaled=True`` (GPT-2's rule). The
    stream starts as ``N(0, std^2)`` noise, like an embedding at init.

    Returns:
        ``[n_layers + 1]``: the std of ``x [n_tokens, d_model]`` before the
        first block and after each block.
    """
    if n_layers < 1 or d_model < 1 or n_tokens < 1:
        raise ValueError(
            "n_layers, d_model and n_tokens must be positive, got "
            f"{n_layers}, {d_model}, {n_tokens}"
        )
    check_positive_float("std", std)
    s = std / math.sqrt(2 * n_layers) if scaled else std
    gen = torch.Generator().manual_seed(seed)
    x = std * torch.randn(n_tokens, d_model, generator=gen)
    stds = [x.std()]
    with single_thread():  # small matrices: one thread is fastest
        for _ in range(n_layers):
            for _sublayer in ("attention", "mlp"):
                w = s * torch.randn(d_model, d_model, generator=gen)
                x = x + layer_norm(x) @ w  # x <- x + f(LN(x))
            stds.append(x.std())
    return torch.stack(stds)


# --8<-- [end:init_depth]


# --8<-- [start:autocast]
#: Operations that only reshape or relabel a tensor; not listed.
SHAPE_OPS = frozenset(
    {
        "view",
        "reshape",
        "transpose",
        "permute",
        "detach",
        "contiguous",
        "expand",
        "unsqueeze",
        "squeeze",
        "__getitem__",
        "__get__",
    }
)


class _RecordDtypes(TorchFunctionMode):
    """Record the name and output dtype of every torch function called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, torch.dtype]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.is_floating_point():
            name = getattr(func, "__name__", str(func))
            self.calls.append((name, out.dtype))
        return out


@dataclass(frozen=True)
class AutocastReport:
    """A model's output under autocast compared with float32."""

    max_abs_error: float  # max |y_low - y_32|
    rel_error: float  # ||y_low - y_32|| / ||y_32||
    output_dtype: torch.dtype
    low_ops: tuple[str, ...]  # operations with a low-precision output
    fp32_ops: tuple[str, ...]  # operations with a float32 output


@torch.no_grad()
def autocast_report(
    model: nn.Module,
    *inputs: torch.Tensor,
    dtype: torch.dtype = torch.bfloat16,
) -> AutocastReport:
    """Run ``model(*inputs)`` in float32 and under CPU autocast; compare.

    ``model`` must be in float32 and in eval mode (no dropout), so that
    the two runs differ only in precision. Autocast runs matrix products
    in ``dtype`` and leaves the weights in float32. Ops are named as torch
    names them; reshapes and views are left out.
    """
    y_32 = model(*inputs)
    record = _RecordDtypes()
    with torch.autocast("cpu", dtype=dtype), record:
        y_low = model(*inputs)
    diff = y_low.float() - y_32
    ops = [(n, d) for n, d in record.calls if n not in SHAPE_OPS]
    return AutocastReport(
        max_abs_error=float(diff.abs().max()),
        rel_error=float(diff.norm() / y_32.norm()),
        output_dtype=y_low.dtype,
        low_ops=tuple(sorted({n for n, d in ops if d == dtype})),
        fp32_ops=tuple(sorted({n for n, d in ops if d == torch.float32})),
    )


# --8<-- [end:autocast]
