"""Reading a classifier's errors: a confusion matrix, accuracy by length, a 2-D map of states.

Introduced in chapter 7, *Case study: who is speaking?*
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from grubook.plots._base import axes_or_new
from grubook.plots.gates import _array

__all__ = ["plot_accuracy_by_length", "plot_speaker_confusion", "plot_projection"]


def plot_speaker_confusion(
    matrix: Any, ax: Axes | None = None, *, labels: Sequence[str] | None = None
) -> Axes:
    """Draw a confusion matrix: row i, column j counts the items of class i predicted as j.

    Counts are written in the cells that are not zero; the colour is the share of the row.

    Args:
        matrix: (C, C) counts, true classes down, predicted classes across.
        ax: the Axes to draw on. Default: a new 4.8 x 4.2 inch figure.
        labels: C class names. Default: 1 to C.

    Returns:
        The Axes.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    m = _array(matrix, "matrix", 2, "plot_speaker_confusion")
    C = m.shape[0]
    if m.shape != (C, C):
        raise ValueError(
            f"plot_speaker_confusion: matrix must be square (C, C), got shape {m.shape}"
        )
    labels = [str(c) for c in range(1, C + 1)] if labels is None else list(labels)
    ax = axes_or_new(ax, (4.8, 4.2))
    share = m / np.maximum(m.sum(1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(C):
        for j in range(C):
            if m[i, j]:
                color = "white" if share[i, j] > 0.5 else "black"
                ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center", color=color)
    ax.set_xticks(range(C), labels)
    ax.set_yticks(range(C), labels)
    ax.set_xlabel("predicted speaker")
    ax.set_ylabel("true speaker")
    return ax


def plot_accuracy_by_length(
    lengths: Any, correct: Any, ax: Axes | None = None, *, bins: Sequence[int] = (7, 12, 16, 20, 30)
) -> Axes:
    """Bar chart of the accuracy of the items in each range of lengths, with their number.

    Args:
        lengths: (N,) each item's length.
        correct: (N,) 1 where the prediction was right, else 0.
        ax: the Axes to draw on. Default: a new 6.4 x 2.8 inch figure.
        bins: edges of the ranges, [a, b) each. Default: 7, 12, 16, 20, 30.

    Returns:
        The Axes.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    n = _array(lengths, "lengths", 1, "plot_accuracy_by_length")
    ok = _array(correct, "correct", 1, "plot_accuracy_by_length")
    if n.shape != ok.shape:
        raise ValueError("plot_accuracy_by_length: lengths and correct must have the same shape")
    ax = axes_or_new(ax, (6.4, 2.8))
    names, values, counts = [], [], []
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        inside = (n >= lo) & (n < hi)
        names.append(f"{lo}–{hi - 1}")
        values.append(ok[inside].mean() if inside.any() else np.nan)
        counts.append(int(inside.sum()))
    bars = ax.bar(names, values, color="C0")
    for bar, count in zip(bars, counts, strict=True):
        ax.annotate(f"n = {count}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize="small")  # fmt: skip
    low = np.nanmin(values) if counts and any(counts) else 0.0
    ax.set_ylim(max(0.0, low - 0.05), 1.02)
    ax.set_xlabel("frames in the utterance")
    ax.set_ylabel("test accuracy")
    return ax


def plot_projection(
    points: Any, classes: Any, ax: Axes | None = None, *, wrong: Any = None
) -> Axes:
    """Scatter 2-D points coloured by class; the misclassified ones, if given, ringed in red.

    Args:
        points: (N, 2), e.g. the first two principal components of final hidden states.
        classes: (N,) class indices from 0; the legend numbers them from 1.
        ax: the Axes to draw on. Default: a new 6.4 x 4.8 inch figure.
        wrong: (N,) 1 for the items to ring, or ``None``. Default: ``None``.

    Returns:
        The Axes.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    p = _array(points, "points", 2, "plot_projection")
    c = _array(classes, "classes", 1, "plot_projection").astype(int)
    if p.shape != (c.size, 2):
        raise ValueError(f"plot_projection: points must be (N, 2) for N = {c.size}, got {p.shape}")
    ax = axes_or_new(ax, (6.4, 4.8))
    for k in np.unique(c):
        ax.scatter(*p[c == k].T, s=12, color=f"C{k % 10}", label=str(k + 1))
    if wrong is not None:
        w = _array(wrong, "wrong", 1, "plot_projection").astype(bool)
        ax.scatter(*p[w].T, s=60, facecolors="none", edgecolors="red", linewidths=1.2,
                   label="misclassified")  # fmt: skip
    ax.legend(title="speaker", fontsize="small", ncols=2, loc="best")
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    return ax
