"""Reading a word classifier: its confusions, its belief as a word is read, its gates on words.

Introduced in chapter 6, *Case study: which language is this word?*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from grubook.plots._base import axes_or_new
from grubook.plots.gates import _array

__all__ = ["plot_confusion", "plot_prefix_beliefs", "plot_word_gates"]


def plot_confusion(confusion: Any, classes: Sequence[str], ax: Axes | None = None) -> Axes:
    """Draw a confusion matrix as shares of each true class, the diagonal left blank.

    Cell (i, j) shows the share of class i's items predicted as j, in percent, so the
    off-diagonal cells are the mistakes and the darkest are the commonest.

    Args:
        confusion: (C, C) counts; ``confusion[i, j]`` counts items of class i predicted as j.
        classes: the C class names.
        ax: the Axes to draw on. Default: a new 5.2 x 4.4 inch figure.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    counts = _array(confusion, "confusion", 2, "plot_confusion")
    C = len(classes)
    if counts.shape != (C, C):
        raise ValueError(f"plot_confusion: confusion is {counts.shape}, expected ({C}, {C})")
    share = 100 * counts / np.maximum(counts.sum(1, keepdims=True), 1)
    np.fill_diagonal(share, np.nan)
    ax = axes_or_new(ax, (5.2, 4.4))
    image = ax.imshow(share, cmap="Reds", vmin=0)
    ax.figure.colorbar(image, ax=ax, label="% of the true language's words", fraction=0.05)
    ax.set_xticks(range(C), classes)
    ax.set_yticks(range(C), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return ax


def plot_prefix_beliefs(
    probs: Any,
    prefixes: Sequence[str],
    classes: Sequence[str],
    ax: Axes | None = None,
    *,
    top: int = 4,
) -> Axes:
    """Draw a classifier's probability of each class after each prefix of a word.

    Args:
        probs: (T, C) the probabilities after each of T prefixes.
        prefixes: the T prefixes, shown along the x axis.
        classes: the C class names.
        ax: the Axes to draw on. Default: a new 6.4 x 3.0 inch figure.
        top: draw the classes whose highest probability is among the ``top`` largest.
            Default: 4.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    p = _array(probs, "probs", 2, "plot_prefix_beliefs")
    T, C = p.shape
    if len(prefixes) != T or len(classes) != C:
        raise ValueError(
            f"plot_prefix_beliefs: probs is {p.shape}, with {len(prefixes)} prefixes and "
            f"{len(classes)} classes"
        )
    ax = axes_or_new(ax, (6.4, 3.0))
    for c in np.argsort(-p.max(0), kind="stable")[:top]:
        ax.plot(range(T), p[:, c], marker="o", label=classes[c])
    ax.set_xticks(range(T), prefixes, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_xlabel("the word read so far")
    ax.set_ylabel("probability")
    ax.legend(loc="upper left", fontsize="small", ncols=2)
    return ax


def plot_word_gates(gates: Mapping[str, Any], ax: Axes | None = None) -> Axes:
    """Draw the mean update gate after each character of a few words, one line per word.

    Args:
        gates: ``{word: (T,) values}``, the mean of :math:`z_t` over the units at each step t
            (T = the word's characters, boundary markers included).
        ax: the Axes to draw on. Default: a new 6.4 x 3.0 inch figure.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    ax = axes_or_new(ax, (6.4, 3.0))
    ax.margins(y=0.15)  # room for the letters above the points
    for word, values in gates.items():
        z = _array(values, f"gates[{word!r}]", 1, "plot_word_gates")
        line = ax.plot(range(1, z.size + 1), z, marker="o", label=word)[0]
        for t, char in enumerate(f"<{word}>"[: z.size], start=1):
            ax.annotate(char, (t, z[t - 1]), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize="small", color=line.get_color())  # fmt: skip
    ax.set_xlabel("step $t$ (character)")
    ax.set_ylabel(r"mean $z_t$ over units")
    ax.legend(fontsize="small")
    return ax
