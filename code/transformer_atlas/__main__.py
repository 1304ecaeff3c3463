"""``python -m transformer_atlas``: see :mod:`transformer_atlas.cli`."""

from transformer_atlas.cli import main

raise SystemExit(main())
