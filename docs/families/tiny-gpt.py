# %% [markdown]
# # Notebook: train a tiny GPT
#
# This notebook is being written.

# %%
print("coming soon")
