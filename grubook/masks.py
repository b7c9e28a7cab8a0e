"""The length mask: which steps of a padded batch belong to their sequence.

A batch of sequences of different lengths is padded to the longest one; ``lengths[b]`` says how
many steps of column b are real. Every place that needs to know (the models' time loop, the
collate function, the chapters, the tests) builds the mask here, with torch only, so that a model
can import it without importing any data code. Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["length_mask"]


def length_mask(
    lengths: Tensor | Sequence[int], T: int | None = None, *, batch_first: bool = False
) -> Tensor:
    r"""Return the boolean mask of the real (not padded) steps of a batch of sequences.

    .. math::
        \text{mask}[t, b] = (t < \text{lengths}[b])

    for the steps :math:`t = 0, \dots, T - 1` (counted from 0, as the tensor's index).

    Args:
        lengths: (B,) the number of real steps of each sequence, ints in [0, T]; a tensor (the
            mask is made on its device) or a sequence of ints.
        T: the number of steps of the padded batch. Default: ``max(lengths)``.
        batch_first: return (B, T) instead of (T, B). Default: ``False``.

    Returns:
        A bool tensor (T, B), or (B, T) with ``batch_first``: ``True`` at the real steps.

    Raises:
        TypeError: if ``lengths`` does not hold integers or T is not an int.
        ValueError: if ``lengths`` is not 1-D, or a length is negative or greater than T.

    Example::

        >>> length_mask([3, 1], 4, batch_first=True)
        tensor([[ True,  True,  True, False],
                [ True, False, False, False]])

    Introduced in chapter 2, *The GRU cell*.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"length_mask: lengths must hold integers, got dtype {lengths.dtype}")
    if lengths.dim() != 1:
        raise ValueError(f"length_mask: lengths must be 1-D (B,), got shape {tuple(lengths.shape)}")
    longest = int(lengths.max()) if lengths.numel() else 0
    if T is None:
        T = longest
    elif isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 0:
        raise TypeError(f"length_mask: T must be a non-negative int, got {T!r}")
    if lengths.numel() and int(lengths.min()) < 0:
        raise ValueError(f"length_mask: lengths must be >= 0, got {int(lengths.min())}")
    if longest > T:
        raise ValueError(f"length_mask: lengths must be <= T={T}, got a length of {longest}")
    steps = torch.arange(int(T), device=lengths.device)  # (T,)
    if batch_first:
        return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
    return steps.unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)
