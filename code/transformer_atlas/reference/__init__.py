"""Reference: the PyTorch reference page's one-file character model.

One module per topic: ``reference/<stem>.py`` is taught on the page
``docs/reference/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
