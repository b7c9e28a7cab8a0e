"""The book's synthetic tasks as seeded, deterministic datasets.

Each task is drawn once, in full, from its own ``torch.Generator`` when the dataset is made: the
same arguments give the same tensors on every run, and making a dataset leaves the global random
state alone. Items are ``(x_i, length_i, y_i)`` (see :mod:`grubook.data.collate`). Introduced in
chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor
from torch.utils.data import Dataset

from grubook.masks import length_mask

__all__ = ["PaddedSequences", "SignOfSum", "make_generator"]


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum``; raise TypeError/ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {name}={value}")
    return int(value)


def make_generator(seed: int | torch.Generator, owner: str = "make_generator") -> torch.Generator:
    """Return a CPU ``torch.Generator`` seeded with ``seed``, or ``seed`` itself if it is one.

    Passing one generator to several datasets draws them one after the other from a single
    stream, as code drawing from the global generator after ``torch.manual_seed`` would.

    Args:
        seed: a non-negative int, or a ``torch.Generator`` to draw from.
        owner: the name used in error messages. Default: ``"make_generator"``.

    Introduced in chapter 2, *The GRU cell*.
    """
    if isinstance(seed, torch.Generator):
        return seed
    seed = _check_int(owner, "seed", seed, 0)
    return torch.Generator().manual_seed(seed)


class PaddedSequences(Dataset):
    """Sequences stored padded to one length T, with their lengths: items ``(x_i, length_i, y_i)``.

    Args:
        x: (N, T, ...) the sequences; steps past a sequence's length are its padding.
        lengths: (N,) ints in [1, T].
        y: (N, ...) the targets.

    Attributes:
        - **x**: (N, T, ...), as given.
        - **lengths**: (N,) int64.
        - **y**: (N, ...), as given.

    Introduced in chapter 2, *The GRU cell*.
    """

    def __init__(self, x: Tensor, lengths: Tensor, y: Tensor) -> None:
        name = type(self).__name__
        if x.dim() < 2 or lengths.shape != (x.shape[0],) or y.shape[:1] != x.shape[:1]:
            raise ValueError(
                f"{name}: expected x (N, T, ...), lengths (N,) and y (N, ...), got shapes "
                f"{tuple(x.shape)}, {tuple(lengths.shape)} and {tuple(y.shape)}"
            )
        self.x, self.lengths, self.y = x, lengths.to(torch.int64), y
        length_mask(self.lengths, x.shape[1])  # checks 0 <= lengths <= T
        if len(lengths) and int(self.lengths.min()) < 1:
            raise ValueError(f"{name}: every sequence needs at least one step")

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, int, Tensor]:
        return self.x[i], int(self.lengths[i]), self.y[i]

    def tensors(self, batch_first: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        """The whole dataset as one batch ``(x, lengths, y)``.

        Args:
            batch_first: return x as (N, T, ...) instead of (T, N, ...). Default: ``False``.

        Returns:
            x (T, N, ...) or (N, T, ...) with ``batch_first``, lengths (N,) and y (N, ...).
        """
        return (self.x if batch_first else self.x.transpose(0, 1)), self.lengths, self.y


class SignOfSum(PaddedSequences):
    r"""Is the sum of a sequence's first feature positive? Sequences of random length and noise.

    Sequence i has :math:`T_i` steps, uniform in [t_min, t_max], of ``features`` standard normal
    values, padded to t_max steps; its class is

    .. math::
        y_i = \left[\textstyle\sum_{t=1}^{T_i} x_{t,i,1} > 0\right] \in \{0, 1\}

    With ``padding="random"`` the padding steps are standard normal draws like the real ones, so a
    model that reads past a sequence's end (one called without its lengths) sums the wrong numbers
    and is misled; with ``padding="zeros"`` they are zeros. The lengths are drawn first, then the
    values as one (t_max, n, features) tensor: chapter 2's order.

    Args:
        n: N, the number of sequences.
        t_min: the shortest length. Default: 5.
        t_max: the longest length, and T of every stored sequence. Default: 30.
        features: I, values per step. Default: 2.
        seed: an int, or a ``torch.Generator`` to draw from (to draw a train and a test set from
            one stream). Default: 0.
        padding: ``"random"`` or ``"zeros"``. Default: ``"random"``.

    Shape:
        Item i: x_i (t_max, I) float32, length_i an int, y_i a 0-d int64 tensor.

    Example::

        >>> train = SignOfSum(2048, seed=0)
        >>> x, length, y = train[0]     # (30, 2), an int in [5, 30], 0 or 1
        >>> x, lengths, y = train.tensors()   # (30, 2048, 2), (2048,), (2048,)

    Introduced in chapter 2, *The GRU cell*.
    """

    num_classes = 2

    def __init__(
        self,
        n: int,
        t_min: int = 5,
        t_max: int = 30,
        features: int = 2,
        *,
        seed: int | torch.Generator = 0,
        padding: str = "random",
    ) -> None:
        n = _check_int("SignOfSum", "n", n, 1)
        t_min = _check_int("SignOfSum", "t_min", t_min, 1)
        t_max = _check_int("SignOfSum", "t_max", t_max, 1)
        features = _check_int("SignOfSum", "features", features, 1)
        if t_min > t_max:
            raise ValueError(f"SignOfSum: t_min must be <= t_max, got t_min={t_min}, t_max={t_max}")
        if padding not in ("random", "zeros"):
            raise ValueError(f"SignOfSum: padding must be 'random' or 'zeros', got {padding!r}")
        g = make_generator(seed, "SignOfSum")
        lengths = torch.randint(t_min, t_max + 1, (n,), generator=g)  # (N,)
        x = torch.randn(t_max, n, features, generator=g)  # (T, N, I)
        valid = length_mask(lengths, t_max)  # (T, N)
        y = ((x[:, :, 0] * valid).sum(0) > 0).long()  # (N,)
        if padding == "zeros":
            x = x.masked_fill(~valid.unsqueeze(-1), 0.0)
        super().__init__(x.transpose(0, 1).contiguous(), lengths, y)  # stored (N, T, I)
        self.t_min, self.t_max, self.features, self.padding = t_min, t_max, features, padding
