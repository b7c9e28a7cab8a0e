r"""Long-memory tasks: the adding problem and the copy task, and a stream of fresh items.

Both tasks need a model to hold one piece of information over many steps, and both have a
**baseline** that a model which remembers nothing reaches: a model beats it only by carrying
information across the sequence. In the form of Arjovsky, Shah & Bengio, "Unitary Evolution
Recurrent Neural Networks", ICML 2016, arXiv:1511.06464, §4.1 (copy) and §4.2 (adding); the
adding problem is from Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8),
1997, §5.4.

A dataset is drawn once, in full, from its own ``torch.Generator`` when it is made (fixed test
sets); :class:`Stream` draws new items on every pass (training with fresh batches each step).
Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset, IterableDataset

from grubook.data.synthetic import _check_int, make_generator

__all__ = ["AddingProblem", "CopyTask", "Stream"]


class _Drawn(Dataset):
    """Inputs ``x`` (N, T, ...) and targets ``y`` (N, ...) drawn once; items ``(x_i, y_i)``."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.x[i], self.y[i]


class AddingProblem(_Drawn):
    r"""Add the two marked numbers of a sequence: T steps of (value, marker), one target.

    Sequence i has T steps of two features: a value :math:`u_t \sim \mathcal{U}(0, 1)` and a
    marker :math:`m_t \in \{0, 1\}` that is 1 at exactly two steps, :math:`a` drawn uniformly
    from the first half :math:`[1, \lfloor T/2 \rfloor]` and :math:`b` from the second half
    :math:`[\lfloor T/2 \rfloor + 1, T]`. The target is

    .. math::
        y_i = u_a + u_b \in (0, 2)

    A model that ignores its input and predicts the mean, 1, has the mean squared error
    :math:`\operatorname{Var}(u_a + u_b) = 2 \cdot \tfrac{1}{12} = \tfrac16 \approx 0.167`
    (:attr:`BASELINE_MSE`). The values are drawn first, as one (N, T) tensor, then the first and
    the second marker's positions.

    Args:
        n: N, the number of sequences.
        T: steps per sequence, at least 2.
        seed: an int, or a ``torch.Generator`` to draw from. Default: 0.

    Attributes:
        - **x**: (N, T, 2) float32: ``x[..., 0]`` the values, ``x[..., 1]`` the markers.
        - **y**: (N,) float32, the sums.
        - **positions**: (N, 2) int64, the marked steps a, b (from 0).

    Shape:
        Item i: x_i (T, 2), y_i a 0-d float32 tensor.

    Example::

        >>> test = AddingProblem(1000, T=200, seed=1)
        >>> x, y = test[0]          # (200, 2), 0-d
        >>> x, y = test.tensors()   # (200, 1000, 2), (1000,)

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """

    #: The mean squared error of predicting the mean (1) whatever the input, 1/6.
    BASELINE_MSE = 1.0 / 6.0

    def __init__(self, n: int, T: int, *, seed: int | torch.Generator = 0) -> None:
        n = _check_int("AddingProblem", "n", n, 1)
        T = _check_int("AddingProblem", "T", T, 2)
        g = make_generator(seed, "AddingProblem")
        half = T // 2
        values = torch.rand(n, T, generator=g)  # (N, T)
        first = torch.randint(0, half, (n,), generator=g)  # (N,) in the first half
        second = torch.randint(half, T, (n,), generator=g)  # (N,) in the second half
        self.positions = torch.stack([first, second], dim=1)  # (N, 2)
        markers = torch.zeros(n, T).scatter_(1, self.positions, 1.0)  # (N, T)
        self.x = torch.stack([values, markers], dim=-1)  # (N, T, 2)
        self.y = values.gather(1, self.positions).sum(1)  # (N,)
        self.T = T

    def tensors(self, batch_first: bool = False) -> tuple[Tensor, Tensor]:
        """The whole dataset as one batch: x (T, N, 2), or (N, T, 2) if batch_first; y (N,).

        Args:
            batch_first: return x as (N, T, 2) instead of (T, N, 2). Default: ``False``.
        """
        return (self.x if batch_first else self.x.transpose(0, 1)), self.y


class CopyTask(_Drawn):
    r"""Recall ten symbols after T blank steps: a sequence of T + 20 tokens in, and out.

    The alphabet has ``symbols + 2`` tokens: 0 is the blank, 1 to ``symbols`` the symbols and
    ``symbols + 1`` the delimiter. The input is ``length`` symbols drawn uniformly (Arjovsky et
    al.: 10 from 8), T - 1 blanks, the delimiter, and ``length`` blanks; the target is T +
    ``length`` blanks, then the ``length`` symbols in their order. Both are T + 2·``length``
    tokens long.

    A model that remembers nothing can do no better than predict the blank until the delimiter's
    answer starts and then a uniform guess among the symbols: its mean cross-entropy per token is

    .. math::
        \frac{\text{length} \cdot \log(\text{symbols})}{T + 2\,\text{length}}
        = \frac{10 \log 8}{T + 20}

    (:attr:`baseline_loss`, in nats).

    Args:
        n: N, the number of sequences.
        T: the blanks between the last symbol and the recall, at least 1.
        symbols: the number of distinct symbols, at least 2. Default: 8.
        length: the number of symbols to copy, at least 1. Default: 10.
        seed: an int, or a ``torch.Generator`` to draw from. Default: 0.

    Attributes:
        - **x**: (N, T + 2·length) int64 token ids.
        - **y**: (N, T + 2·length) int64 target token ids.
        - **num_classes**: ``symbols + 2``, the size of the alphabet.

    Shape:
        Item i: x_i and y_i (T + 2·length,) int64.

    Example::

        >>> test = CopyTask(256, T=50, seed=1)
        >>> x, y = test[0]       # (70,), (70,)
        >>> test.baseline_loss   # 10 log 8 / 70 = 0.297

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """

    BLANK = 0

    def __init__(
        self,
        n: int,
        T: int,
        *,
        symbols: int = 8,
        length: int = 10,
        seed: int | torch.Generator = 0,
    ) -> None:
        n = _check_int("CopyTask", "n", n, 1)
        T = _check_int("CopyTask", "T", T, 1)
        symbols = _check_int("CopyTask", "symbols", symbols, 2)
        length = _check_int("CopyTask", "length", length, 1)
        g = make_generator(seed, "CopyTask")
        message = torch.randint(1, symbols + 1, (n, length), generator=g)  # (N, length)
        steps = T + 2 * length
        self.x = torch.zeros(n, steps, dtype=torch.int64)  # blanks
        self.x[:, :length] = message
        self.x[:, length + T - 1] = symbols + 1  # the delimiter
        self.y = torch.zeros(n, steps, dtype=torch.int64)
        self.y[:, -length:] = message
        self.T, self.symbols, self.length = T, symbols, length
        self.num_classes = symbols + 2
        self.delimiter = symbols + 1

    @property
    def baseline_loss(self) -> float:
        """The memoryless cross-entropy per token, ``length * log(symbols) / (T + 2 * length)``."""
        return self.length * math.log(self.symbols) / (self.T + 2 * self.length)

    def tensors(self, batch_first: bool = False) -> tuple[Tensor, Tensor]:
        """The whole dataset as one batch: x and y (T', N), or (N, T') if batch_first.

        Args:
            batch_first: return x and y as (N, T') instead of (T', N). Default: ``False``.
        """
        if batch_first:
            return self.x, self.y
        return self.x.T, self.y.T


class Stream(IterableDataset):
    """Fresh items of a task on every pass: ``n`` new items each time it is iterated.

    Each pass makes ``task(n, *args, seed=generator, **kwargs)`` from one generator seeded with
    ``seed`` and yields its items; the next pass continues the same generator, so no two passes
    repeat and the whole stream is the same on every run. Making the stream again starts it over.
    Use it with :func:`grubook.data.make_loader` for a fresh batch at every training step.

    Args:
        task: a dataset class (or function) taking ``n`` and a ``seed=`` that may be a
            ``torch.Generator``: :class:`AddingProblem`, :class:`CopyTask`.
        n: items per pass, e.g. the steps between evaluations times the batch size.
        args: more positional arguments for ``task`` (e.g. T).
        seed: an int, or a ``torch.Generator`` to continue. Default: 0.
        kwargs: keyword arguments for ``task``.

    Example::

        >>> stream = Stream(AddingProblem, 20 * 32, 200, seed=0)
        >>> loader = make_loader(stream, batch_size=32)   # 20 fresh batches per pass

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """

    def __init__(
        self,
        task: Callable,
        n: int,
        *args: object,
        seed: int | torch.Generator = 0,
        **kwargs: object,
    ) -> None:
        self.n = _check_int("Stream", "n", n, 1)
        self.task, self.args, self.kwargs = task, args, kwargs
        self.generator = make_generator(seed, "Stream")
        self.passes = 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator:
        self.passes += 1
        items = self.task(self.n, *self.args, seed=self.generator, **self.kwargs)
        for i in range(len(items)):
            yield items[i]
