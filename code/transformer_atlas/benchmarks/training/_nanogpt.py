"""nanoGPT's baby GPT and training step, re-created to be timed beside ours.

A helper of the ``tiny_gpt`` benchmark (the leading ``_`` keeps it from
being discovered as a benchmark of its own). It follows the structure of
nanoGPT's ``model.py`` and ``train.py`` (Andrej Karpathy,
https://github.com/karpathy/nanoGPT, MIT licence), written for this guide
from their documented behaviour, not copied:

* pre-LN blocks ``x + attn(ln_1(x))``, ``x + mlp(ln_2(x))``; LayerNorm
  with an optional bias; one fused ``c_attn`` projection to q, k and v;
  ``F.scaled_dot_product_attention`` with ``is_causal=True``; an MLP
  ``c_fc`` -> exact GELU -> ``c_proj`` of width 4 d; learned positions;
  a final LayerNorm and an ``lm_head`` tied to the token embedding;
* weights drawn from N(0, 0.02), biases zero, the residual projections
  (``c_proj``) from N(0, 0.02 / sqrt(2 n_layer));
* ``configure_optimizers``: AdamW with weight decay on parameters of two
  or more dimensions only, fused only on CUDA (so not here);
* ``get_lr``: linear warm-up then cosine decay to ``min_lr``;
* one iteration of ``train.py``: set the learning rate, forward with the
  targets (the loss is computed inside the model), backward, clip the
  gradient norm, step, zero the gradients, read the loss (``loss.item()``,
  which ``train.py`` logs every iteration with ``--log_interval=1``).

The baby-GPT configuration is nanoGPT's CPU example: 4 layers, 4 heads,
d_model 128, block 64, batch 12, dropout 0, ``bias=False`` (``train.py``'s
default), learning rate 1e-3 -> 1e-4, betas (0.9, 0.99), weight decay
0.1, gradient clipping at 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "NanoConfig",
    "NanoGPT",
    "configure_optimizers",
    "estimate_loss",
    "get_lr",
    "train_step",
]


@dataclass(frozen=True)
class NanoConfig:
    """nanoGPT's ``GPTConfig`` with the baby-GPT values."""

    vocab_size: int
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False


class LayerNorm(nn.Module):
    """LayerNorm whose bias is optional (PyTorch's was not, then)."""

    def __init__(self, ndim: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one fused q, k, v projection."""

    def __init__(self, config: NanoConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(
            config.n_embd, 3 * config.n_embd, bias=config.bias
        )
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape  # [batch, seq, n_embd]
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        heads = (b, t, self.n_head, c // self.n_head)
        q = q.view(heads).transpose(1, 2)  # [batch, head, seq, d_head]
        k = k.view(heads).transpose(1, 2)
        v = v.view(heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=None,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=True,
        )
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """``c_fc`` (d -> 4d), exact GELU, ``c_proj`` (4d -> d), dropout."""

    def __init__(self, config: NanoConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(
            config.n_embd, 4 * config.n_embd, bias=config.bias
        )
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(
            4 * config.n_embd, config.n_embd, bias=config.bias
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-LN transformer block."""

    def __init__(self, config: NanoConfig) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    """nanoGPT's ``GPT``: embeddings, blocks, final LayerNorm, tied head."""

    def __init__(self, config: NanoConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(Block(config) for _ in range(config.n_layer)),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(
                    p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer)
                )

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx [batch, seq]`` -> (logits, loss).

        With ``targets [batch, seq]``: logits ``[batch, seq, vocab]`` and
        the mean cross-entropy; without: the last position's logits
        ``[batch, 1, vocab]`` and ``None``.
        """
        t = idx.shape[1]
        assert t <= self.config.block_size
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(
            self.transformer.wte(idx) + self.transformer.wpe(pos)
        )
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(
            logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
        )
        return logits, loss


def configure_optimizers(
    model: nn.Module,
    weight_decay: float,
    learning_rate: float,
    betas: tuple[float, float],
) -> torch.optim.AdamW:
    """AdamW: decay on parameters with ``dim >= 2``; not fused on a CPU."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {
            "params": [p for p in params if p.dim() >= 2],
            "weight_decay": weight_decay,
        },
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)


def get_lr(
    it: int,
    learning_rate: float,
    min_lr: float,
    warmup_iters: int,
    lr_decay_iters: int,
) -> float:
    """Linear warm-up for ``warmup_iters``, then cosine decay to ``min_lr``
    at ``lr_decay_iters``, then ``min_lr``."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def train_step(
    model: NanoGPT,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    grad_clip: float = 1.0,
) -> float:
    """One iteration of ``train.py`` on the batch ``x, y [batch, block]``;
    returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    _, loss = model(x, y)
    loss.backward()
    if grad_clip != 0.0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


@torch.no_grad()
def estimate_loss(
    model: NanoGPT, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> float:
    """Mean loss over ``batches`` in eval mode (``train.py``'s
    ``estimate_loss`` for one split)."""
    was_training = model.training
    model.eval()
    losses = [model(x, y)[1].item() for x, y in batches]
    model.train(was_training)
    return sum(losses) / len(losses)
