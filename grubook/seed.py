"""Reproducibility: one call seeds every random number generator a chapter uses.

Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import contextlib
import numbers
import random
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["seed_everything", "seeded"]


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, NumPy and PyTorch with ``seed`` and return it.

    Args:
        seed: a non-negative int (NumPy gets it modulo 2**32). Default: 0.

    Example::

        >>> seed_everything(0)
        0

    Introduced in chapter 1, *Recurrent networks*.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed_everything: seed must be a non-negative int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed_everything: seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


@contextlib.contextmanager
def seeded(seed: int = 0) -> Iterator[int]:
    """Run a block with every generator seeded by :func:`seed_everything`, then restore them.

    Python's ``random``, NumPy's and PyTorch's CPU generator get back the states they had before
    the block, so what the block draws is reproducible and the code around it is not disturbed.

    Args:
        seed: a non-negative int, passed to :func:`seed_everything`. Default: 0.

    Returns:
        A context manager; ``with seeded(seed) as s`` binds s = seed.

    Example::

        >>> with seeded(0):
        ...     a = torch.randn(3)
        >>> with seeded(0):
        ...     b = torch.randn(3)
        >>> torch.equal(a, b)
        True

    Introduced in chapter 2, *The GRU cell*.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield seed_everything(seed)
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
