"""From a list of sequences to one padded batch, and the DataLoader that makes such batches.

Every dataset of the book yields items ``(x_i, y_i)`` or ``(x_i, length_i, y_i)``: ``x_i`` is one
sequence, (T_i, I) floats or (T_i,) integer token ids, and ``y_i`` its target. With a length, the
steps of ``x_i`` past ``length_i`` are padding the dataset chose itself (random values, in chapter
2's task, so that a model reading past a sequence's end is misled). :func:`collate_sequences` pads
the sequences to the longest one and returns ``(x, lengths, y)``, the three arguments of a model's
forward and of a loss, as :func:`grubook.fit` expects. Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, SequentialSampler

__all__ = ["collate_sequences", "make_loader"]


def _describe(item: Any) -> str:
    """A short description of ``item`` for error messages: its type, and its length if a tuple."""
    if isinstance(item, (tuple, list)):
        parts = ", ".join(
            f"Tensor{tuple(v.shape)}" if isinstance(v, Tensor) else type(v).__name__ for v in item
        )
        return f"a {type(item).__name__} of {len(item)}: ({parts})"
    return f"a {type(item).__name__}"


def collate_sequences(
    batch: Sequence[tuple],
    *,
    batch_first: bool = False,
    padding_value: float = 0,
    target_padding: float | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Pad a list of sequences into one batch: ``(x, lengths, y)``.

    Args:
        batch: B items, each ``(x_i, y_i)`` or ``(x_i, length_i, y_i)``: ``x_i`` a tensor (T_i, I)
            (or (T_i,) token ids, or (T_i, ...)), ``length_i`` an int in [1, T_i] (default T_i;
            steps past it are kept as the dataset made them) and ``y_i`` a number or a tensor.
        batch_first: return x as (B, T, ...) instead of (T, B, ...). Default: ``False``.
        padding_value: the value written after each ``x_i`` up to the longest T_i. Default: 0.
        target_padding: ``None`` to stack the targets, which must then share one shape; or a
            value (e.g. -100, cross-entropy's ``ignore_index``) to pad targets that are
            sequences (T_i, ...) the same way as x, for many-to-many tasks. Default: ``None``.

    Returns:
        x (T, B, ...) or (B, T, ...) with T = max T_i; lengths (B,) int64; y (B, ...), or
        (T, B, ...)/(B, T, ...) with ``target_padding``.

    Raises:
        TypeError: if an item is not a 2- or 3-tuple, or ``x_i`` is not a tensor.
        ValueError: if the batch is empty, the items' trailing shapes or targets' shapes differ,
            or a length is outside [1, T_i].

    Example::

        >>> items = [(torch.randn(3, 2), 1), (torch.randn(5, 2), 0)]
        >>> x, lengths, y = collate_sequences(items)
        >>> tuple(x.shape), lengths.tolist(), y.tolist()
        ((5, 2, 2), [3, 5], [1, 0])

    Introduced in chapter 2, *The GRU cell*.
    """
    if len(batch) == 0:
        raise ValueError("collate_sequences: the batch is empty")
    xs, lengths, ys = [], [], []
    for i, item in enumerate(batch):
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise TypeError(
                "collate_sequences: expected each item to be (x, y) or (x, length, y), "
                f"got {_describe(item)} at item {i}"
            )
        x_i, y_i = item[0], item[-1]
        if not isinstance(x_i, Tensor) or x_i.dim() == 0:
            raise TypeError(
                f"collate_sequences: item {i}'s x must be a tensor (T_i, ...), got {_describe(x_i)}"
            )
        length = int(item[1]) if len(item) == 3 else x_i.shape[0]
        if not 1 <= length <= x_i.shape[0]:
            raise ValueError(
                f"collate_sequences: item {i} has length {length}, expected 1 to its "
                f"{x_i.shape[0]} steps"
            )
        if xs and x_i.shape[1:] != xs[0].shape[1:]:
            raise ValueError(
                f"collate_sequences: item {i}'s x has shape {tuple(x_i.shape)}, expected "
                f"(T_i, {', '.join(map(str, xs[0].shape[1:]))}) like item 0"
            )
        xs.append(x_i)
        lengths.append(length)
        ys.append(y_i)
    x = pad_sequence(xs, batch_first=batch_first, padding_value=padding_value)
    return (
        x,
        torch.tensor(lengths, dtype=torch.int64),
        _collate_targets(ys, batch_first, target_padding),
    )


def _collate_targets(ys: list, batch_first: bool, target_padding: float | None) -> Tensor:
    """Stack the targets (B, ...), or pad them like sequences when ``target_padding`` is set."""
    ys = [y if isinstance(y, Tensor) else torch.as_tensor(y) for y in ys]
    if target_padding is not None:
        if any(y.dim() == 0 for y in ys):
            raise ValueError(
                "collate_sequences: target_padding pads targets that are sequences (T_i, ...), "
                "got a scalar target"
            )
        return pad_sequence(ys, batch_first=batch_first, padding_value=target_padding)
    shapes = {tuple(y.shape) for y in ys}
    if len(shapes) > 1:
        raise ValueError(
            f"collate_sequences: the targets have different shapes {sorted(shapes)}; targets that "
            "are sequences need target_padding (e.g. -100)"
        )
    return torch.stack(ys)


class _Shuffled(Sampler[int]):
    """A new order of the n items each epoch: one ``torch.randperm(n)`` from its own generator.

    ``torch.utils.data.RandomSampler`` draws a second, unused permutation at the end of every
    epoch (torch 2.13), so its orders from the second epoch on differ from a plain loop's.
    """

    def __init__(self, n: int, generator: torch.Generator) -> None:
        self.n, self.generator = n, generator

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        yield from torch.randperm(self.n, generator=self.generator).tolist()


def make_loader(
    dataset: Dataset,
    batch_size: int = 64,
    *,
    shuffle: bool = False,
    seed: int = 0,
    batch_first: bool = False,
    padding_value: float = 0,
    target_padding: float | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """Return a ``DataLoader`` of padded batches ``(x, lengths, y)``, shuffled reproducibly.

    The order of a shuffled loader comes from its own ``torch.Generator`` seeded with ``seed``,
    not from the global random state: epoch k draws ``torch.randperm(len(dataset))`` from that
    generator, so two loaders made with the same seed give the same batches in every epoch (the
    same order as a hand-written loop over ``torch.randperm(n, generator=g).split(batch_size)``).

    Args:
        dataset: a dataset of items ``(x_i, y_i)`` or ``(x_i, length_i, y_i)``: map-style, or
            an ``IterableDataset`` (not shuffled: it yields its items in its own order).
        batch_size: B, sequences per batch (the last batch may be smaller). Default: 64.
        shuffle: draw a new order each epoch. Default: ``False`` (the dataset's order).
        seed: seeds the shuffling generator. Default: 0.
        batch_first: batches of x are (B, T, ...). Default: ``False``.
        padding_value: see :func:`collate_sequences`. Default: 0.
        target_padding: see :func:`collate_sequences`. Default: ``None``.
        drop_last: drop the last incomplete batch. Default: ``False``.

    Returns:
        A ``torch.utils.data.DataLoader`` (no worker processes).

    Example::

        >>> loader = make_loader(SignOfSum(256, seed=0), batch_size=64, shuffle=True, seed=0)
        >>> x, lengths, y = next(iter(loader))   # (T, 64, 2), (64,), (64,)

    Introduced in chapter 2, *The GRU cell*.
    """
    if isinstance(dataset, IterableDataset):  # it makes its own order (fresh batches each step)
        if shuffle:
            raise ValueError("make_loader: an IterableDataset makes its own order; shuffle=False")
        sampler = None
    elif shuffle:
        sampler = _Shuffled(len(dataset), torch.Generator().manual_seed(seed))
    else:
        sampler = SequentialSampler(dataset)
    collate = functools.partial(
        collate_sequences,
        batch_first=batch_first,
        padding_value=padding_value,
        target_padding=target_padding,
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate,
        drop_last=drop_last,
        # the loader draws one number per epoch for worker seeds: from its own generator, so
        # iterating it leaves the global random state alone
        generator=torch.Generator().manual_seed(seed),
    )
