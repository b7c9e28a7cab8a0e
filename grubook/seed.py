"""Reproducibility: one call seeds every random number generator a chapter uses.

Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import numbers
import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, NumPy and PyTorch with ``seed`` and return it.

    Args:
        seed: a non-negative int (NumPy gets it modulo 2**32). Default: 0.

    Example::

        >>> seed_everything(0)
        0
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
