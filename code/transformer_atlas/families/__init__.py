"""Part 3, the family tree: decoder-only models (GPT-2, LLaMA).

One module per topic: ``families/<stem>.py`` is taught on the page
``docs/families/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
