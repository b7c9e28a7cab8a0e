r"""Japanese Vowels: who of nine speakers said /ae/? Variable-length frames of LPC cepstra.

Kudo, Toyama & Shimbo, "Multidimensional curve classification using passing-through regions",
Pattern Recognition Letters 20 (1999): nine male speakers each uttered the two vowels /ae/; every
utterance became 7 to 29 frames of 12 LPC cepstrum coefficients. The split is the authors': 270
training utterances (30 per speaker) and 370 test utterances (24 to 88 per speaker), as the UEA
archive and aeon ship it. aeon is an optional extra (``pip install "grubook[speech]"``): it is
imported when the data is loaded, never when grubook is.
Introduced in chapter 7, *Case study: who is speaking?*
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from grubook.data.synthetic import PaddedSequences
from grubook.masks import length_mask

__all__ = ["JapaneseVowels", "delta_features", "japanese_vowels"]

SPEECH_EXTRA = 'pip install "grubook[speech]"'


class JapaneseVowels(NamedTuple):
    """The two splits of :func:`japanese_vowels`, and the normalisation fitted on the first.

    Args:
        train: 270 utterances, items ``(x_i, length_i, y_i)``: x_i (29, 12), zero past length_i.
        test: 370 utterances, the same way.
        mean: (12,) each coefficient's mean over every training frame.
        std: (12,) each coefficient's standard deviation over every training frame.

    Introduced in chapter 7, *Case study: who is speaking?*
    """

    train: PaddedSequences
    test: PaddedSequences
    mean: Tensor
    std: Tensor


def _load_split(split: str) -> tuple[list[Tensor], Tensor]:
    """The utterances of one split as (T_i, 12) float32 tensors, and the speakers 0..8."""
    try:
        from aeon.datasets import load_classification
    except ImportError as error:  # the optional extra is missing
        raise ImportError(
            f"japanese_vowels: the data ships with aeon, which is not installed; {SPEECH_EXTRA}"
        ) from error
    X, y = load_classification("JapaneseVowels", split=split)  # a list of (12, T_i), labels '1'..
    xs = [torch.as_tensor(x.T, dtype=torch.float32) for x in X]  # (T_i, 12)
    return xs, torch.as_tensor([int(label) - 1 for label in y], dtype=torch.int64)


def _padded(xs: list[Tensor], y: Tensor, T: int) -> PaddedSequences:
    lengths = torch.tensor([x.shape[0] for x in xs])
    x = torch.zeros(len(xs), T, xs[0].shape[1])  # (N, T, I)
    for i, x_i in enumerate(xs):
        x[i, : x_i.shape[0]] = x_i
    return PaddedSequences(x, lengths, y)


def japanese_vowels(*, normalize: bool = True) -> JapaneseVowels:
    r"""Load the Japanese Vowels utterances, padded, with their lengths and speakers.

    With ``normalize`` each coefficient is standardised with the mean and standard deviation of
    the training frames only (padding excluded), and the test set with the same two numbers,

    .. math::
        \tilde x_{t,i} = (x_{t,i} - \mu_i) / \sigma_i

    where :math:`\mu_i` and :math:`\sigma_i` are coefficient i's mean and standard deviation over
    all frames of all training utterances; nothing of the test set enters them.

    Args:
        normalize: standardise as above; ``False`` keeps the raw cepstra. Default: ``True``.

    Returns:
        A :class:`JapaneseVowels` ``(train, test, mean, std)``: two
        :class:`~grubook.data.PaddedSequences` of items ``(x_i, length_i, y_i)`` (x_i (29, 12)
        float32, zero past its length; y_i the speaker, 0 to 8), and the fitted (12,) mean and
        standard deviation (0 and 1 without ``normalize``).

    Raises:
        ImportError: if aeon is missing; the message says ``pip install "grubook[speech]"``.

    Example::

        >>> data = japanese_vowels()
        >>> x, lengths, y = data.train.tensors()   # (29, 270, 12), (270,), (270,)

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    train_xs, train_y = _load_split("train")
    test_xs, test_y = _load_split("test")
    frames = torch.cat(train_xs)  # (sum of T_i, 12): every training frame
    mean, std = frames.mean(0), frames.std(0)
    if not normalize:
        mean, std = torch.zeros_like(mean), torch.ones_like(std)
    T = max(x.shape[0] for x in train_xs + test_xs)
    train = _padded([(x - mean) / std for x in train_xs], train_y, T)
    test = _padded([(x - mean) / std for x in test_xs], test_y, T)
    return JapaneseVowels(train, test, mean, std)


def delta_features(x: Tensor, lengths: Tensor, order: int = 1, width: int = 2) -> Tensor:
    r"""Append each frame's deltas (and deltas of deltas) to it, within each sequence's length.

    The delta of a frame is the slope of a least-squares line through the 2 width + 1 frames
    around it (the regression formula of speech front ends, e.g. HTK's),

    .. math::
        \Delta x_t = \frac{\sum_{n=1}^{N} n\,(x_{t+n} - x_{t-n})}{2 \sum_{n=1}^{N} n^2}

    where N is ``width`` and a frame outside the sequence is its first or last frame (so
    padding never enters); ``order=2`` appends :math:`\Delta \Delta x_t`, the deltas of the
    deltas.

    Args:
        x: (T, B, I) time-first padded frames.
        lengths: (B,) ints in [1, T], each sequence's number of valid frames.
        order: 0 (x unchanged), 1 (x and its deltas) or 2 (and the deltas' deltas). Default: 1.
        width: N, frames on each side. Default: 2.

    Returns:
        The frames and their deltas, ``[x, Δx, ΔΔx]`` along the last dimension: a tensor of
        shape (T, B, (order + 1) I), zero past each length.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    if order not in (0, 1, 2):
        raise ValueError(f"delta_features: order must be 0, 1 or 2, got {order!r}")
    if x.dim() != 3:
        raise ValueError(f"delta_features: expected x of shape (T, B, I), got {tuple(x.shape)}")
    T = x.shape[0]
    lengths = torch.as_tensor(lengths)
    valid = length_mask(lengths, T).unsqueeze(-1).to(x.dtype)  # (T, B, 1)
    t = torch.arange(T).unsqueeze(1)  # (T, 1)
    last = (lengths - 1).unsqueeze(0)  # (1, B)
    norm = 2 * sum(n * n for n in range(1, width + 1))
    features = [x * valid]
    for _ in range(order):
        f = features[-1]
        delta = torch.zeros_like(f)
        for n in range(1, width + 1):
            ahead = torch.minimum(t + n, last).unsqueeze(-1).expand_as(f)  # (T, B, I) indices
            behind = (t - n).clamp(min=0).unsqueeze(-1).expand_as(f)
            delta += n * (f.gather(0, ahead) - f.gather(0, behind))
        features.append(delta / norm * valid)
    return torch.cat(features, dim=-1)  # (T, B, (order + 1) I)
