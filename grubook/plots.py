"""The book's figures: each function draws on a Matplotlib ``Axes`` and returns it.

Every function takes an optional ``ax`` (a new figure is made without one), draws with Matplotlib
only, prints nothing and returns the ``Axes``, so a chapter can add to the figure and a test can
inspect what was drawn. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["draw_unrolled_rnn", "plot_gradient_norms"]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """Return ``ax``, or the Axes of a new figure of size ``figsize`` (inches) if it is ``None``."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_gradient_norms(
    norms: Mapping[str, Sequence[float] | np.ndarray],
    ax: Axes | None = None,
    *,
    title: str | None = "How far back the gradient reaches",
    xlabel: str = "step $t$",
    ylabel: str = r"$\|\partial L / \partial h_t\|\ /\ \|\partial L / \partial h_T\|$",
    logy: bool = True,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
) -> Axes:
    r"""Plot one curve of gradient norms over time steps per model, on a log scale.

    Curve ``label`` shows ``norms[label][t - 1]`` at step :math:`t = 1 \dots T`, typically
    :math:`\|\partial L / \partial h_t\|`, the norm of the loss's gradient with respect to the
    hidden state :math:`h_t`, divided by its value at the last step T. Values that are not positive
    (a gradient that underflowed to zero) are left out of the curve instead of being clipped, so a
    log scale does not draw a false cliff.

    Args:
        norms: a mapping from a legend label to a 1-D sequence (list, NumPy array or a CPU tensor)
            of T non-negative numbers; sequences may differ in length.
        ax: the Axes to draw on. Default: a new 6.4 x 4 inch figure.
        title: the Axes title, or ``None`` for none. Default: ``"How far back the gradient
            reaches"``.
        xlabel: the x-axis label. Default: ``"step $t$"``.
        ylabel: the y-axis label. Default: the relative norm
            :math:`\|\partial L / \partial h_t\| / \|\partial L / \partial h_T\|`.
        logy: use a logarithmic y axis. Default: ``True``.
        styles: extra keyword arguments for ``Axes.plot`` per label, e.g.
            ``{"GRU": {"linestyle": "--"}}``; labels not in it get the defaults. Default: ``None``.

    Returns:
        The Axes, with one line per entry of ``norms`` (in order), a legend and a dotted
        reference line at 1.

    Raises:
        ValueError: if ``norms`` is empty or an entry is not a non-empty 1-D sequence.

    Example::

        >>> ax = plot_gradient_norms({"RNN": [1e-6, 1e-3, 1.0], "GRU": [0.1, 0.5, 1.0]})
        >>> ax.get_yscale()
        'log'
        >>> ax = plot_gradient_norms({"GRU": [0.5, 1.0]}, styles={"GRU": {"linestyle": "--"}})

    Introduced in chapter 1, *Recurrent networks*.
    """
    if len(norms) == 0:
        raise ValueError("plot_gradient_norms: norms is empty; pass {label: values}")
    ax = _axes(ax, (6.4, 4.0))
    for label, values in norms.items():
        y = np.asarray(values, dtype=float)
        if y.ndim != 1 or y.size == 0:
            raise ValueError(
                f"plot_gradient_norms: norms[{label!r}] must be a non-empty 1-D sequence, "
                f"got shape {y.shape}"
            )
        y = np.where(y > 0, y, np.nan) if logy else y  # (T,), zeros masked on a log scale
        style = {"linewidth": 1.8, **(styles or {}).get(label, {})}
        ax.plot(np.arange(1, y.size + 1), y, label=str(label), **style)
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1.0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    return ax


def draw_unrolled_rnn(T: int = 4, ax: Axes | None = None, *, title: str | None = None) -> Axes:
    r"""Draw a recurrent network unrolled over T steps: one box per step, arrows for the data flow.

    Step :math:`t` reads the input :math:`x_t` (below) and the hidden state :math:`h_{t-1}` (from
    the left), and passes :math:`h_t` on to the right and up; every box holds the same weights
    :math:`W_{ih}, W_{hh}`. The drawing has T step boxes labelled "RNN", T + 1 hidden-state arrows
    (from :math:`h_0`) and T input and T output arrows.

    Args:
        T: the number of steps drawn, 1 to 8. Default: 4.
        ax: the Axes to draw on. Default: a new figure sized to T.
        title: the Axes title, or ``None`` for none. Default: ``None``.

    Returns:
        The Axes, with its axis lines hidden.

    Raises:
        ValueError: if T is not an int from 1 to 8.

    Example::

        >>> ax = draw_unrolled_rnn(3)

    Introduced in chapter 1, *Recurrent networks*.
    """
    if isinstance(T, bool) or not isinstance(T, int) or not 1 <= T <= 8:
        raise ValueError(f"draw_unrolled_rnn: T must be an int from 1 to 8, got {T!r}")
    ax = _axes(ax, (1.6 * T + 1.6, 2.6))
    step, width, height = 1.6, 0.9, 0.7
    arrow = {"arrowstyle": "-|>", "mutation_scale": 12, "linewidth": 1.4, "color": "black"}
    for t in range(1, T + 1):
        cx = step * t  # the box centre; the box spans cx ± width/2, 0 ± height/2
        box = FancyBboxPatch(
            (cx - width / 2, -height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.1",
            facecolor="#cfe2f3",
            edgecolor="#1f4e79",
            linewidth=1.4,
        )
        ax.add_patch(box)
        ax.text(cx, 0, "RNN", ha="center", va="center", fontsize=10)
        # input x_t from below, output h_t upwards
        ax.add_patch(FancyArrowPatch((cx, -1.15), (cx, -height / 2), **arrow))
        ax.text(cx, -1.3, f"$x_{t}$", ha="center", va="top", fontsize=11)
        ax.add_patch(FancyArrowPatch((cx, height / 2), (cx, 1.15), **arrow))
        ax.text(cx, 1.3, f"$h_{t}$", ha="center", va="bottom", fontsize=11)
    # hidden state from the left: h_0 into step 1, h_{t-1} from box to box, h_T out
    for t in range(1, T + 2):
        start = step * (t - 1) + (width / 2 if t > 1 else -0.1)
        end = step * t - (width / 2 if t <= T else -0.1)
        ax.add_patch(FancyArrowPatch((start, 0), (end, 0), **arrow))
        label = "$h_0$" if t == 1 else f"$h_{t - 1}$"
        ax.text((start + end) / 2, 0.12, label, ha="center", va="bottom", fontsize=10)
    ax.set_xlim(-0.3, step * (T + 1) + 0.3)
    ax.set_ylim(-1.9, 1.9)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def plot_history(
    history: Any,
    ax: Axes | None = None,
    *,
    key: str = "loss",
    title: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    """Plot training curves: the loss (or the metric) per epoch, training solid, validation dashed.

    Args:
        history: a :class:`grubook.History` from :func:`grubook.fit`, or a mapping from a legend
            label to one (several runs on one Axes, e.g. ``{"reset_after=True": h1, ...}``).
        ax: the Axes to draw on. Default: a new 4.5 x 3 inch figure.
        key: ``"loss"`` or ``"metric"`` (the history's metric, e.g. accuracy). Default: ``"loss"``.
        title: the Axes title, or ``None`` for none. Default: ``None``.
        ylabel: the y-axis label. Default: ``"loss"`` or the metric's name.

    Returns:
        The Axes, with one solid line (markers at the epochs) per history's training values and a
        dashed one in the same colour for its validation values, if it has any, and a legend.

    Raises:
        ValueError: if ``key`` is not ``"loss"`` or ``"metric"``, or a history has no such values.

    Example::

        >>> fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3), layout="constrained")
        >>> _ = plot_history(history, left)
        >>> _ = plot_history(history, right, key="metric")

    Introduced in chapter 2, *The GRU cell*.
    """
    from matplotlib.ticker import MaxNLocator

    if key not in ("loss", "metric"):
        raise ValueError(f"plot_history: key must be 'loss' or 'metric', got {key!r}")
    runs = dict(history) if isinstance(history, Mapping) else {"": history}
    if not runs:
        raise ValueError("plot_history: history is empty; pass a History or {label: History}")
    ax = _axes(ax, (4.5, 3.0))
    for i, (label, run) in enumerate(runs.items()):
        train, val = getattr(run, f"train_{key}"), getattr(run, f"val_{key}")
        if len(train) == 0:
            raise ValueError(f"plot_history: history {label!r} has no train_{key} values")
        color = f"C{i % 10}"
        has_val = len(val) > 0
        name = (f"{label}, train" if has_val else label) if label else "train"
        ax.plot(np.arange(1, len(train) + 1), train, color=color, marker="o", label=name)
        if has_val:
            val_name = f"{label}, validation" if label else "validation"
            epochs = np.arange(1, len(val) + 1)
            ax.plot(epochs, val, color=color, linestyle="--", marker="o", label=val_name)
    first = next(iter(runs.values()))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or ("loss" if key == "loss" else str(first.metric)))
    if title is not None:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


__all__ += ["plot_history"]
