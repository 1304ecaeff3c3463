"""Transformer Atlas: the tested reference implementations behind the guide.

Every function here is small enough to read next to the formula it
implements and is checked by a test against an oracle we did not write
(PyTorch built-ins, NumPy, autograd, Hugging Face models and tokenizers).

The package mirrors the guide: one subpackage per part (``foundations``,
``blocks``, ``architecture``, ``families``, ``training``, ``inference``,
``reference``), one module per page, so an import names the page that
teaches it::

    from transformer_atlas.blocks.attention import MultiHeadAttention

is the code of the page ``blocks/attention``. The root re-exports nothing:
there is one way to import each name. Shared machinery is in
:mod:`transformer_atlas.common`; :mod:`transformer_atlas.manifest` lists
which files make each page.
"""

__version__ = "0.1.0"
