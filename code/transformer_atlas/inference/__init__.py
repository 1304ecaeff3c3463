"""Part 5, inference: generation, the KV cache, sampling.

One module per topic: ``inference/<stem>.py`` is taught on the page
``docs/inference/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
