# %% [markdown]
# # Attention step by step
#
# Placeholder notebook with math $\sqrt{d_k}$ and MHA.

# %%
import torch
print(torch.ones(2, 3).shape)
