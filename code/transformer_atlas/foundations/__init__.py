"""Part 0, foundations: linear algebra, probability, calculus, tensors,
neural networks, the MLP and the RNN.

One module per topic: ``foundations/<stem>.py`` is taught on the page
``docs/foundations/<stem>.md`` (underscores become hyphens). Which files make
each page is listed in :mod:`transformer_atlas.manifest`.
"""
