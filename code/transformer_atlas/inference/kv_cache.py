"""The key/value cache: what auto-regressive generation keeps between steps.

At step ``t`` a decoder needs the keys and values of every earlier position
in every layer. They never change (a causal model's position ``i`` only
sees positions ``<= i``), so recomputing them each step is wasted work:
the cache stores them once, and each new step computes ``K`` and ``V`` for
the new token only and appends them.

Memory: two tensors (K and V) per layer, each
``[batch, n_kv_heads, max_len, d_head]``, so

    bytes = 2 * n_layers * batch * n_kv_heads * max_len * d_head * bytes

per element (4 for float32, 2 for bfloat16/float16). Grouped-query
attention shrinks it by ``n_heads / n_kv_heads``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch

from transformer_atlas.common.validation import check_positive_int

# --8<-- [end:imports]

__all__ = ["KVCache", "kv_cache_bytes"]


# --8<-- [start:formula]
def kv_cache_bytes(
    n_layers: int,
    batch: int,
    n_kv_heads: int,
    max_len: int,
    d_head: int,
    dtype: torch.dtype = torch.float32,
) -> int:
    """Bytes a cache for ``max_len`` positions holds: K and V per layer.

    ``2 * n_layers * batch * n_kv_heads * max_len * d_head * itemsize``.
    """
    sizes = dict(
        n_layers=n_layers,
        batch=batch,
        n_kv_heads=n_kv_heads,
        max_len=max_len,
        d_head=d_head,
    )
    check_positive_int(**sizes)
    itemsize = torch.empty((), dtype=dtype).element_size()
    return 2 * n_layers * batch * n_kv_heads * max_len * d_head * itemsize


# --8<-- [end:formula]


# --8<-- [start:cache]
class KVCache:
    """Preallocated keys and values of every layer, filled step by step.

    ``k`` and ``v`` are ``[n_layers, batch, n_kv_heads, max_len, d_head]``;
    the first ``length`` positions are filled. A forward pass over ``s``
    new tokens calls :meth:`update` once per layer (which writes positions
    ``length .. length + s - 1`` and returns everything so far), then
    :meth:`advance` once.
    """

    def __init__(
        self,
        n_layers: int,
        batch: int,
        n_kv_heads: int,
        max_len: int,
        d_head: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        kv_cache_bytes(n_layers, batch, n_kv_heads, max_len, d_head, dtype)
        shape = (n_layers, batch, n_kv_heads, max_len, d_head)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.length = 0  # positions filled so far

    @property
    def nbytes(self) -> int:
        """Bytes allocated for keys and values."""
        return self.k.nbytes + self.v.nbytes

    def update(
        self, layer: int, k_new: torch.Tensor, v_new: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``k_new, v_new [batch, n_kv_heads, s, d_head]`` for layer.

        Returns the layer's keys and values for all positions so far,
        ``[batch, n_kv_heads, length + s, d_head]`` (views, no copy).
        """
        expected = self.k.shape[1:3] + self.k.shape[4:]
        for name, t in (("k_new", k_new), ("v_new", v_new)):
            if t.dim() != 4 or t.shape[:2] + t.shape[3:] != expected:
                b, h, _, d = self.k.shape[1:]
                raise ValueError(
                    f"{name} must be [batch={b}, n_kv_heads={h}, s, "
                    f"d_head={d}], got {list(t.shape)}"
                )
        end = self.length + k_new.shape[2]
        if end > self.max_len:
            raise ValueError(
                f"the cache holds max_len={self.max_len} positions; "
                f"{self.length} are filled and {k_new.shape[2]} more came"
            )
        self.k[layer, :, :, self.length : end] = k_new
        self.v[layer, :, :, self.length : end] = v_new
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def advance(self, s: int) -> None:
        """Mark ``s`` more positions as filled (after the last layer)."""
        self.length += s


# --8<-- [end:cache]
