# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tensors in practice
#
# Most bugs in transformer code are shape bugs: an axis in the wrong place, a bias that
# broadcast where it should not, a `view` on a transposed tensor. This notebook walks through
# the four tools that move shapes around in every model (broadcasting, reshape and transpose,
# `einsum`, batched matrix products) and prints the shape after every step. `einsum` and `bmm`
# are written out as plain Python loops in `transformer_atlas.foundations.tensors`, so you can read
# *what* they compute, and checked here against NumPy and PyTorch.
#
# **Prerequisites:** [linear algebra](../linear-algebra/) and the
# [conventions](../../conventions/) (row vectors, `[batch, seq, d_model]`).
# **Used by:** [attention](../../blocks/attention/) (the head split, $Q K^\top$ for every head),
# [embeddings](../../blocks/embeddings/), [normalization](../../blocks/normalization/)
# (`keepdim=True` and broadcasting), [feed-forward layers](../../blocks/feed-forward/).

# %%
import inspect

import numpy as np
import torch

from transformer_atlas.foundations import tensors
from transformer_atlas.foundations.tensors import bmm, broadcast_shape, einsum

np.set_printoptions(precision=3, suppress=True)
torch.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A tensor is an array with named axes
#
# The hidden states of a transformer are a tensor of shape `[batch, seq, d_model]`: `batch`
# sequences, each of `seq` tokens, each token a row of `d_model` numbers. Indexing an axis away
# drops it; slicing keeps it.

# %%
x = torch.randn(2, 5, 8)  # [batch, seq, d_model]
steps = [
    ("x", x, "[batch, seq, d_model]"),
    ("x[0]", x[0], "[seq, d_model]: one sequence"),
    ("x[0, 3]", x[0, 3], "[d_model]: one token vector"),
    ("x[:, -1]", x[:, -1], "[batch, d_model]: last token of each"),
    ("x[:, 1:3]", x[:, 1:3], "[batch, 2, d_model]: a slice keeps it"),
    ("x.mean(-1)", x.mean(-1), "[batch, seq]: reduced axis dropped"),
    (
        "x.mean(-1, keepdim=True)",
        x.mean(-1, keepdim=True),
        "[batch, seq, 1]: kept as size 1",
    ),
]
for expr, t, axes in steps:
    print(f"{expr:25} {list(t.shape)!s:10} {axes}")

# %% [markdown]
# *Why a transformer needs this:* every docstring in this guide names its axes, and almost every
# bug is an axis in the wrong place.
#
# ## 2. Broadcasting
#
# An elementwise operation on two tensors of different shapes **broadcasts**: align the shapes
# on the right, pad the shorter one with 1s on the left; in each position the sizes must be
# equal or 1, and an axis of size 1 is stretched (without copying) to the other size.
#
# ![Shapes (2, 3, 1) and (4,) aligned on the right: (4,) is padded to (1, 1, 4), size-1 axes are stretched, the result is (2, 3, 4)](../../assets/figures/tensors-broadcasting.svg)
#
# *Shapes `(2, 3, 1)` and `(4,)` broadcast to `(2, 3, 4)`. Redraw with
# `transformer_atlas.figures.foundations.tensors.broadcasting_diagram(shape_a=..., shape_b=...)`.*
#
# The rule is a few lines of code:

# %%
print(inspect.getsource(tensors.broadcast_shape))

# %% [markdown]
# It agrees with NumPy's own `np.broadcast_shapes` (the test file checks this on random shapes
# with hypothesis):

# %%
pairs = [
    ((2, 3, 1), (4,)),
    ((5, 1, 4), (3, 1)),
    ((8,), ()),
    ((2, 1, 5, 5), (1, 4, 1, 1)),
]
for a, b in pairs:
    ours, numpy_says = broadcast_shape(a, b), np.broadcast_shapes(a, b)
    print(f"{a!s:>12} with {b!s:>12} -> {ours!s:12} np: {numpy_says}")

# %% [markdown]
# The two uses of broadcasting you meet on every page: a bias `[d_model]` added to every token
# of `[batch, seq, d_model]`, and a mask `[q_len, k_len]` applied to the scores
# `[batch, heads, q_len, k_len]` of every sequence and head.

# %%
b = torch.randn(8)  # [d_model]
print("x + b:", list((x + b).shape))
scores = torch.randn(2, 4, 5, 5)  # [batch, heads, q_len, k_len]
causal = torch.ones(5, 5, dtype=torch.bool).tril()  # [q_len, k_len]
masked = scores.masked_fill(~causal, float("-inf"))
print(
    "mask",
    list(causal.shape),
    "on scores",
    list(scores.shape),
    "->",
    list(masked.shape),
)

# %% [markdown]
# When the sizes disagree, both the rule and PyTorch refuse:

# %%
try:
    broadcast_shape((2, 5, 8), (5,))
except ValueError as err:
    print("ours: ", err)
try:
    x + torch.randn(5)
except RuntimeError as err:
    print("torch:", err)

# %% [markdown]
# A quiet danger: broadcasting also succeeds when you did not mean it to. A column `[n, 1]`
# minus a row `[n]` is an `[n, n]` matrix, not `n` differences:

# %%
col, row = torch.arange(3.0)[:, None], torch.arange(3.0)
print(list((col - row).shape), "not [3]")

# %% [markdown]
# *Why a transformer needs this:* biases, LayerNorm's $\gamma$ and $\beta$, the mean with
# `keepdim=True`, masks and position biases all reach their tensor by broadcasting.
#
# ## 3. Reshape, transpose, view, contiguous
#
# A tensor is a flat block of memory plus a **stride** per axis: how many elements to step to
# move one position along that axis. `reshape` and `view` regroup the same numbers into other
# axes; `transpose` swaps two axes by swapping their strides, without moving any data.
#
# The multi-head split of [attention](../../blocks/attention/) does both: reshape
# `[batch, seq, d_model]` to `[batch, seq, heads, head_dim]`, then swap the middle axes.

# %%
heads, head_dim = 2, 4
split = x.view(2, 5, heads, head_dim)  # [batch, seq, heads, head_dim]
q = split.transpose(1, 2)  # [batch, heads, seq, head_dim]
for name, t in (("x", x), ("split", split), ("q", q)):
    print(
        f"{name:5} shape {list(t.shape)!s:13} "
        f"stride {t.stride()!s:14} contiguous {t.is_contiguous()}"
    )

# %% [markdown]
# After the transpose, the axes are no longer in memory order (the strides are not
# decreasing), so `q` is **not contiguous**. `view` never copies, so it can only regroup axes
# that lie next to each other in memory.
#
# This bites when the heads are merged back. The per-head output of attention comes out of a
# matrix product laid out contiguously as `[batch, heads, seq, head_dim]` (here we make one
# with `.contiguous()`); swapping the axes back to `[batch, seq, heads, head_dim]` and calling
# `view` to merge the last two fails with PyTorch's real error:

# %%
per_head = q.contiguous()  # [batch, heads, seq, head_dim]
merged_wrong = per_head.transpose(1, 2)  # [batch, seq, heads, head_dim]
print(
    "contiguous:",
    merged_wrong.is_contiguous(),
    "stride",
    merged_wrong.stride(),
)
try:
    merged_wrong.view(2, 5, heads * head_dim)
except RuntimeError as err:
    print(err)

# %% [markdown]
# Two fixes: `.contiguous()` copies the data into the new order, after which `view` works, or
# `reshape`, which views when it can and copies when it must. Both give back `x` exactly:

# %%
fixed = merged_wrong.contiguous().view(2, 5, heads * head_dim)
also = merged_wrong.reshape(2, 5, heads * head_dim)
print(list(fixed.shape), torch.equal(fixed, x), torch.equal(also, x))

# %% [markdown]
# And the classic mistake that raises no error: reshaping to the final shape directly instead of
# transposing. The shape is right, the numbers are scrambled:

# %%
wrong = x.view(2, heads, 5, head_dim)  # shape of q, but not q
print(list(wrong.shape), "equal to q:", torch.equal(wrong, q))

# %% [markdown]
# *Why a transformer needs this:* every multi-head attention layer splits and merges heads, and
# `view` on a transposed tensor is one of the most common errors in transformer code.
#
# ## 4. Einstein summation (einsum) as loops
#
# `einsum` names every axis with a letter. `"bij,bjk->bik"` says: the first operand has axes
# `b, i, j`, the second `b, j, k`, the output `b, i, k`. Every letter is a loop; a letter that is
# not in the output is summed over:
#
# $$\text{out}_{bik} = \sum_j a_{bij} \, b_{bjk} .$$
#
# Here is the whole implementation: one loop over every combination of letter values.

# %%
print(inspect.getsource(tensors.einsum))

# %% [markdown]
# It agrees with `np.einsum` (the last column) on the operations a transformer uses. The last
# one is the attention scores of every head at once, $Q K^\top$ with $Q, K$ of shape
# `[batch, heads, seq, head_dim]`:

# %%
A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
S = rng.normal(size=(3, 3))
Ab, Bb = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 3, 2))
Q, K = rng.normal(size=(1, 2, 3, 4)), rng.normal(size=(1, 2, 3, 4))
cases = [
    ("ij,jk->ik", (A, B), "matrix product"),
    ("ij->ji", (A,), "transpose"),
    ("ii->", (S,), "trace"),
    ("i,j->ij", (A[0], B[0]), "outer product"),
    ("ij->j", (A,), "sum over rows"),
    ("bij,bjk->bik", (Ab, Bb), "batched matrix product"),
    ("bhqd,bhkd->bhqk", (Q, K), "attention scores"),
]
for spec, ops, what in cases:
    ours, theirs = einsum(spec, *ops), np.einsum(spec, *ops)
    print(
        f"{spec:16} {what:22} {list(ours.shape)!s:12} "
        f"agrees: {np.allclose(ours, theirs)}"
    )

# %% [markdown]
# Without `->`, the output is every letter that appears once, in alphabetical order, as in
# NumPy: `"ij,jk"` is the matrix product, `"ji"` (one operand) is the transpose.

# %%
print(
    np.allclose(einsum("ij,jk", A, B), A @ B),
    np.allclose(einsum("ji", A), A.T),
)

# %% [markdown]
# *Why a transformer needs this:* many implementations write attention as
# `torch.einsum("bhqd,bhkd->bhqk", q, k)`; reading it as loops tells you exactly which axis is
# contracted.
#
# ## 5. Batched matrix products
#
# `torch.bmm(a, b)` multiplies `a[n] @ b[n]` for every `n`: `[batch, rows, inner]` times
# `[batch, inner, cols]` gives `[batch, rows, cols]`. Written as loops:

# %%
print(inspect.getsource(tensors.bmm))

# %%
a, b = torch.randn(3, 2, 4), torch.randn(3, 4, 5)
out = bmm(a, b)
print(list(a.shape), "@", list(b.shape), "->", list(out.shape))
print("matches torch.bmm:", torch.allclose(out, torch.bmm(a, b), atol=1e-6))

# %% [markdown]
# `@` (`torch.matmul`) does the same for any number of leading axes, and broadcasts them. This is
# how attention multiplies `[batch, heads, q_len, k_len]` weights by
# `[batch, heads, k_len, head_dim]` values:

# %%
weights = torch.softmax(masked, dim=-1)  # [batch, heads, q_len, k_len]
v = torch.randn(2, 4, 5, head_dim)  # [batch, heads, k_len, head_dim]
print(list(weights.shape), "@", list(v.shape), "->", list((weights @ v).shape))
flat = bmm(weights.reshape(-1, 5, 5), v.reshape(-1, 5, head_dim))
print(
    "same as bmm on [batch * heads, ...]:",
    torch.allclose(flat.reshape(2, 4, 5, head_dim), weights @ v, atol=1e-6),
)

# %% [markdown]
# *Why a transformer needs this:* attention is two batched matrix products per layer,
# one batch element per (sequence, head) pair.
#
# ## Next
#
# - [Calculus and matrix calculus](../calculus/): the gradients that flow back through these
#   shapes.
# - [Attention](../../blocks/attention/): the head split and both batched products in a real
#   layer.
#
# ## Verified against
#
# `tests/package/foundations/test_tensors.py` checks `broadcast_shape` against `numpy.broadcast_shapes`,
# `einsum` against `numpy.einsum` and `bmm` against `torch.bmm` on random shapes drawn by
# hypothesis (small sizes: the loops are slow), checks that bad input raises a `ValueError`,
# and that `view` on the transposed heads raises PyTorch's error shown above.
