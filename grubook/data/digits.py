r"""scikit-learn's bundled 8×8 handwritten digits as sequences: row by row, or pixel by pixel.

The digits (1797 images of 8×8 pixels, ink 0 to 16, ten classes) come from the UCI "Optical
Recognition of Handwritten Digits" set (Alpaydin & Kaynak, 1998) and ship inside scikit-learn, so
they load offline. :func:`sequential_digits` reads each image as T = 8 steps of 8 features (its
rows, or its columns): every sequence has the same length. :func:`digit_ink` reads only the
inked pixels, in reading order, one (row, column, ink) step each: a digit "1" takes about half as
many steps as an "8", so the lengths vary and a model must know where each sequence ends.

Both split the images once, per class (stratified), by a fixed seed, into train, validation and
test sets (:class:`Splits` of :class:`~grubook.data.PaddedSequences`); no image is in two sets.
scikit-learn is imported only when a function is called (``pip install "grubook[data]"``).
Introduced in chapter 5, *From cell to classifier*.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import torch
from torch import Tensor

from grubook.data.synthetic import PaddedSequences, _check_int, make_generator

__all__ = [
    "Splits",
    "digit_ink",
    "load_digit_images",
    "pad_first",
    "sequential_digits",
    "split_indices",
]

#: The largest ink value of a pixel in scikit-learn's digits (ink runs from 0 to 16).
MAX_INK = 16


class Splits(NamedTuple):
    """A dataset split three ways; unpacks as ``train, val, test = splits``.

    Args:
        train: the training set.
        val: the validation set (choosing epochs and settings).
        test: the test set (the final measurement only).

    Introduced in chapter 5, *From cell to classifier*.
    """

    train: PaddedSequences
    val: PaddedSequences
    test: PaddedSequences


def load_digit_images(owner: str = "load_digit_images") -> tuple[Tensor, Tensor]:
    """Return scikit-learn's bundled digits: images (N, 8, 8) float32 ink in [0, 16], labels (N,).

    Args:
        owner: the name used in the error message. Default: ``"load_digit_images"``.

    Raises:
        ImportError: if scikit-learn is missing; the message says how to install it.

    Introduced in chapter 5, *From cell to classifier*.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            f"{owner} needs scikit-learn, which is not installed: "
            'pip install "grubook[data]" (or pip install scikit-learn)'
        ) from error
    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32)  # (N, 8, 8)
    return images, torch.as_tensor(digits.target, dtype=torch.int64)


def _check_fractions(
    owner: str, val_fraction: object, test_fraction: object
) -> tuple[float, float]:
    """Return both fractions as floats if each is in (0, 1) and they add up to less than 1."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise ValueError(f"{owner}: {name} must be a number in (0, 1), got {name}={value!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"{owner}: val_fraction + test_fraction must be < 1 (the rest is the training set), "
            f"got {val_fraction} + {test_fraction}"
        )
    return float(val_fraction), float(test_fraction)


def split_indices(
    labels: Tensor,
    val_fraction: float,
    test_fraction: float,
    *,
    seed: int = 0,
    owner: str = "split_indices",
) -> tuple[Tensor, Tensor, Tensor]:
    """Split item indices into train, validation and test, class by class, in a seeded order.

    Each class's items are shuffled by one generator seeded with ``seed`` (classes in increasing
    order); the first ``round(n_c * test_fraction)`` go to test, the next
    ``round(n_c * val_fraction)`` to validation, the rest to train. Each split is sorted.

    Args:
        labels: (N,) integer class of each item.
        val_fraction: the share of each class in the validation set, in (0, 1).
        test_fraction: the share of each class in the test set, in (0, 1).
        seed: seeds the shuffle. Default: 0.
        owner: the name used in error messages. Default: ``"split_indices"``.

    Returns:
        Three sorted int64 index tensors, disjoint, together ``range(N)``.

    Raises:
        ValueError: if a fraction is outside (0, 1), or the two add up to 1 or more.

    Introduced in chapter 5, *From cell to classifier*.
    """
    val_fraction, test_fraction = _check_fractions(owner, val_fraction, test_fraction)
    g = make_generator(seed, owner)
    parts: tuple[list[Tensor], list[Tensor], list[Tensor]] = ([], [], [])
    for c in torch.unique(labels).tolist():
        items = (labels == c).nonzero().squeeze(1)
        items = items[torch.randperm(len(items), generator=g)]
        n_test = round(len(items) * test_fraction)
        n_val = round(len(items) * val_fraction)
        parts[2].append(items[:n_test])
        parts[1].append(items[n_test : n_test + n_val])
        parts[0].append(items[n_test + n_val :])
    train, val, test = (torch.cat(p).sort().values for p in parts)
    return train, val, test


def _splits(x: Tensor, lengths: Tensor, y: Tensor, indices) -> Splits:
    return Splits(*(PaddedSequences(x[i], lengths[i], y[i]) for i in indices))


def sequential_digits(
    *,
    by: str = "rows",
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    r"""The 8×8 digits read one row (or one column) per step: T = 8 steps of I = 8 features.

    Image i's pixels :math:`p_{r,c} \in \{0, \dots, 16\}` become the sequence

    .. math::
        x_{t} = \tfrac{1}{16}\,(p_{t,1}, \dots, p_{t,8}) \in [0, 1]^8

    for t = 1, ..., 8 (columns instead of rows with ``by="columns"``); its class is the digit,
    0 to 9. Every sequence has 8 steps. The split is stratified and fixed by ``seed``
    (:func:`split_indices`).

    Args:
        by: ``"rows"`` (top to bottom) or ``"columns"`` (left to right). Default: ``"rows"``.
        val_fraction: the share of each digit in the validation set, in (0, 1). Default: 0.2.
        test_fraction: the share of each digit in the test set, in (0, 1). Default: 0.2.
        seed: fixes the split. Default: 0.

    Returns:
        :class:`Splits` ``(train, val, test)`` of :class:`~grubook.data.PaddedSequences`:
        x (N, 8, 8) float32, lengths (N,) all 8, y (N,) int64.

    Raises:
        ValueError: for an unknown ``by``, a fraction outside (0, 1), or fractions adding to 1.
        ImportError: if scikit-learn is missing.

    Example::

        >>> train, val, test = sequential_digits(seed=0)
        >>> x, lengths, y = train.tensors()   # (8, 1079, 8), (1079,), (1079,)

    Introduced in chapter 5, *From cell to classifier*.
    """
    owner = "sequential_digits"
    if by not in ("rows", "columns"):
        raise ValueError(f"{owner}: by must be 'rows' or 'columns', got by={by!r}")
    seed = _check_int(owner, "seed", seed, 0)
    _check_fractions(owner, val_fraction, test_fraction)
    images, labels = load_digit_images(owner)
    indices = split_indices(labels, val_fraction, test_fraction, seed=seed, owner=owner)
    x = images / MAX_INK  # (N, T, I): row t of image i
    if by == "columns":
        x = x.transpose(1, 2).contiguous()  # (N, T, I): column t
    lengths = torch.full((len(x),), x.shape[1], dtype=torch.int64)
    return _splits(x, lengths, labels, indices)


def digit_ink(
    *,
    threshold: int = 8,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    r"""The 8×8 digits as the list of their inked pixels: one (row, column, ink) step each.

    Image i becomes one step per pixel whose ink :math:`p_{r,c}` is at least ``threshold``, in
    reading order (row by row, left to right), with features

    .. math::
        x_t = \bigl(\tfrac{r}{7},\ \tfrac{c}{7},\ \tfrac{p_{r,c}}{16}\bigr) \in [0, 1]^3

    so sequence i has :math:`T_i` steps, its number of inked pixels, and its class is the digit.
    The sequences are padded with zeros to the longest one of the whole set (the same T for the
    three splits). The split is stratified and fixed by ``seed`` (:func:`split_indices`).

    Args:
        threshold: the least ink (1 to 16) a pixel needs to be a step. Default: 8.
        val_fraction: the share of each digit in the validation set, in (0, 1). Default: 0.2.
        test_fraction: the share of each digit in the test set, in (0, 1). Default: 0.2.
        seed: fixes the split. Default: 0.

    Returns:
        :class:`Splits` ``(train, val, test)`` of :class:`~grubook.data.PaddedSequences`:
        x (N, T, 3) float32 (zeros past each length), lengths (N,) in [1, T], y (N,) int64.

    Raises:
        ValueError: for a threshold outside [1, 16], a fraction outside (0, 1), fractions adding
            to 1, or a threshold that leaves an image with no inked pixel.
        ImportError: if scikit-learn is missing.

    Example::

        >>> train, val, test = digit_ink(threshold=8)
        >>> x, lengths, y = train[0]   # x (T, 3), an int, a 0-d tensor

    Introduced in chapter 5, *From cell to classifier*.
    """
    owner = "digit_ink"
    threshold = _check_int(owner, "threshold", threshold, 1)
    if threshold > MAX_INK:
        raise ValueError(f"{owner}: threshold must be <= {MAX_INK}, got threshold={threshold}")
    seed = _check_int(owner, "seed", seed, 0)
    _check_fractions(owner, val_fraction, test_fraction)
    images, labels = load_digit_images(owner)
    inked = (images >= threshold).flatten(1)  # (N, 64): which pixels are steps
    lengths = inked.sum(1)  # (N,)
    if int(lengths.min()) == 0:
        empty = int((lengths == 0).sum())
        raise ValueError(
            f"{owner}: threshold={threshold} leaves {empty} images with no inked pixel; "
            "use a lower threshold"
        )
    rows, cols = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    features = torch.stack(  # (N, 64, 3): every pixel as (row, column, ink)
        [(rows / 7).expand_as(images), (cols / 7).expand_as(images), images / MAX_INK], dim=-1
    ).flatten(1, 2)
    # stable sort: inked pixels first, each in reading order, then the rest (cut or zeroed)
    order = torch.sort((~inked).to(torch.int8), dim=1, stable=True).indices  # (N, 64)
    T = int(lengths.max())
    x = features.gather(1, order.unsqueeze(-1).expand(-1, -1, 3))[:, :T]  # (N, T, 3)
    valid = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)  # (N, T)
    x = x * valid.unsqueeze(-1)
    indices = split_indices(labels, val_fraction, test_fraction, seed=seed, owner=owner)
    return _splits(x.contiguous(), lengths, labels, indices)


def pad_first(data: PaddedSequences) -> PaddedSequences:
    """The same sequences with their padding moved in front: each one ends at step T.

    Sequence i's ``lengths[i]`` real steps move to the end of its T steps and its padding to the
    start, as Keras's ``pad_sequences`` does by default (``padding="pre"``): a model that reads
    every sequence to step T then ends on a real step, with no lengths needed.

    Args:
        data: sequences padded at the end, items ``(x_i, length_i, y_i)``.

    Returns:
        A new :class:`~grubook.data.PaddedSequences` with the same lengths and targets.

    Introduced in chapter 5, *From cell to classifier*.
    """
    N, T = data.x.shape[:2]
    shift = (torch.arange(T).unsqueeze(0) - (T - data.lengths).unsqueeze(1)) % T  # (N, T)
    index = shift.view(N, T, *([1] * (data.x.dim() - 2))).expand_as(data.x)
    return PaddedSequences(data.x.gather(1, index), data.lengths, data.y)
