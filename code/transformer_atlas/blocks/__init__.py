"""Part 1, building blocks: tokenization, embeddings, positional encoding,
logits and softmax, attention, feed-forward layers, normalization.

One module per topic: ``blocks/<stem>.py`` is taught on the page
``docs/blocks/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
