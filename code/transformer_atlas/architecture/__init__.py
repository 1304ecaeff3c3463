"""Part 2, the architecture: the blocks assembled (the decoder block).

One module per topic: ``architecture/<stem>.py`` is taught on the page
``docs/architecture/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
