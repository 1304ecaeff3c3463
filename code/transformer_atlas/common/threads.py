"""How many CPU threads PyTorch uses, set for the length of a ``with`` block.

Small models run fastest on one thread, and one thread makes a run's
result (and a benchmark's time) independent of how many cores the machine
has and how busy they are. :func:`torch_threads` sets the number and
restores it afterwards, even when the body raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from transformer_atlas.common.validation import check_positive_int

__all__ = ["torch_threads", "single_thread"]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``n`` intra-op threads, then restore the number.

    ``None`` leaves PyTorch's setting alone. One thread makes timings on
    a machine shared with other work far steadier.
    """
    before = torch.get_num_threads()
    if n is not None:
        check_positive_int(n=n)
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_thread() -> contextlib.AbstractContextManager[None]:
    """Run torch on one CPU thread inside the ``with`` block.

    For tiny matrices one thread is faster than several, and it avoids the
    slowdown of oversubscribed threads when other processes share the
    cores.
    """
    return torch_threads(1)
