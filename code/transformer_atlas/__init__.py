"""Transformer Atlas: the tested reference implementations behind the guide.

Every function here is small enough to read next to the formula it
implements and is checked by a test against an oracle we did not write
(PyTorch built-ins, NumPy, autograd, Hugging Face tokenizers).
Start with :mod:`transformer_atlas.blocks.attention`.
"""

__version__ = "0.1.0"
