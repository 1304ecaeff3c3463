# %% [markdown]
# # Tensors in practice
#
# This notebook is being written.

# %%
import torch

print(torch.zeros(2, 3).shape)
