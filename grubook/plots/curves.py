"""Curves over steps and epochs: how far back the gradient reaches, and training histories.

Introduced in chapter 1, *Recurrent networks* (:func:`plot_gradient_norms`), chapter 2,
*The GRU cell* (:func:`plot_history`) and
chapter 3, *Long memory: vanishing and exploding gradients on real tasks*
(:func:`plot_learning_curves`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from grubook.plots._base import axes_or_new

__all__ = ["GRADIENT_NORM_LABEL", "plot_gradient_norms", "plot_history", "plot_learning_curves"]

#: The y label of :func:`plot_gradient_norms`: the gradient's norm at step t relative to step T.
GRADIENT_NORM_LABEL = (
    r"$\|\partial \mathcal{L} / \partial h_t\|\ /\ \|\partial \mathcal{L} / \partial h_T\|$"
)


def plot_gradient_norms(
    norms: Mapping[str, Sequence[float] | np.ndarray],
    ax: Axes | None = None,
    *,
    title: str | None = "How far back the gradient reaches",
    xlabel: str = "step $t$",
    ylabel: str | None = None,
    logy: bool = True,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
    steps_back: bool = False,
) -> Axes:
    r"""Plot one curve of gradient norms over time steps per model, on a log scale.

    Curve ``label`` shows ``norms[label][t - 1]`` at step :math:`t = 1 \dots T` (or at
    :math:`T - t = T - 1 \dots 0` with ``steps_back``), typically
    :math:`\|\partial \mathcal{L} / \partial h_t\|`, the norm of the loss's gradient with
    respect to the hidden state :math:`h_t`, divided by its value at the last step T. Values that
    are not positive (a gradient that underflowed to zero) are left out of the curve instead of
    being clipped, so a log scale does not draw a false cliff.

    Args:
        norms: a mapping from a legend label to a 1-D sequence (list, NumPy array or a CPU tensor)
            of T non-negative numbers; sequences may differ in length.
        ax: the Axes to draw on. Default: a new 6.4 x 4 inch figure.
        title: the Axes title, or ``None`` for none. Default: ``"How far back the gradient
            reaches"``.
        xlabel: the x-axis label. Default: ``"step $t$"``.
        ylabel: the y-axis label, or ``None`` for the relative norm
            :math:`\|\partial \mathcal{L} / \partial h_t\| / \|\partial \mathcal{L} / \partial
            h_T\|` (``GRADIENT_NORM_LABEL``). Default: ``None``.
        logy: use a logarithmic y axis. Default: ``True``.
        styles: extra keyword arguments for ``Axes.plot`` per label, e.g.
            ``{"GRU": {"linestyle": "--"}}``; labels not in it get the defaults. Default: ``None``.
        steps_back: put :math:`T - t` on the x axis, the number of steps back from the last
            one: 0 for step T, T - 1 for step 1 (pass an ``xlabel`` that says so).
            Default: ``False``.

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
    ax = axes_or_new(ax, (6.4, 4.0))
    for label, values in norms.items():
        y = np.asarray(values, dtype=float)
        if y.ndim != 1 or y.size == 0:
            raise ValueError(
                f"plot_gradient_norms: norms[{label!r}] must be a non-empty 1-D sequence, "
                f"got shape {y.shape}"
            )
        y = np.where(y > 0, y, np.nan) if logy else y  # (T,), zeros masked on a log scale
        style = {"linewidth": 1.8, **(styles or {}).get(label, {})}
        t = np.arange(1, y.size + 1)  # (T,) the steps t
        ax.plot(y.size - t if steps_back else t, y, label=str(label), **style)
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1.0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(GRADIENT_NORM_LABEL if ylabel is None else ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
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
    ax = axes_or_new(ax, (4.5, 3.0))
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


def plot_learning_curves(
    curves: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    baseline: float | None = None,
    baseline_label: str = "baseline",
    target: float | None = None,
    ylabel: str = "test loss",
    logy: bool = True,
    title: str | None = None,
) -> Axes:
    """Plot test loss against training steps, one line per run, with the baseline to beat.

    Args:
        curves: a mapping from a legend label to a curve with attributes ``steps`` and
            ``test_loss`` (a :class:`~grubook.experiments.training.Curve`), or to a pair of
            sequences ``(steps, losses)``.
        ax: the Axes to draw on. Default: a new 6.4 x 3.6 inch figure.
        baseline: the loss of a model that remembers nothing, drawn as a dashed black line.
            Default: ``None`` (no line).
        baseline_label: the legend entry of the baseline. Default: ``"baseline"``.
        target: a loss drawn as a dotted grey line (where training stops). Default: ``None``.
        ylabel: the y-axis label. Default: ``"test loss"``.
        logy: use a logarithmic y axis. Default: ``True``.
        title: the Axes title, or ``None`` for none. Default: ``None``.

    Returns:
        The Axes, with one line per curve (in order), the reference lines and a legend.

    Raises:
        ValueError: if ``curves`` is empty, or a curve's steps and losses differ in length.

    Example::

        >>> ax = plot_learning_curves({"GRU": ([0, 10, 20], [1.0, 0.2, 0.01])}, baseline=1 / 6)

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    if len(curves) == 0:
        raise ValueError("plot_learning_curves: curves is empty; pass {label: curve}")
    ax = axes_or_new(ax, (6.4, 3.6))
    for label, curve in curves.items():
        steps, losses = (
            (curve.steps, curve.test_loss) if hasattr(curve, "test_loss") else tuple(curve)
        )
        if len(steps) != len(losses) or len(steps) == 0:
            raise ValueError(
                f"plot_learning_curves: curve {label!r} has {len(steps)} steps and "
                f"{len(losses)} losses; expected as many, at least one"
            )
        ax.plot(steps, losses, linewidth=1.6, label=str(label))
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", linewidth=1.2, label=baseline_label)
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", linewidth=1.0, label=f"target {target:g}")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    return ax
