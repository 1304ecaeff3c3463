"""Part 4, the life cycle of a model: training dynamics and a tiny GPT
trained end to end.

One module per topic: ``training/<stem>.py`` is taught on the page
``docs/training/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
