"""Reading the gates: a gate's values over time, how saturated its units are, what a prediction
depends on.

Introduced in chapter 4, *Gating*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from grubook.plots._base import axes_or_new

__all__ = ["plot_connectivity", "plot_gate_heatmap", "plot_saturation"]


def _array(values: Any, name: str, ndim: int, owner: str) -> np.ndarray:
    """``values`` (list, NumPy array or CPU tensor) as a float array of ``ndim`` dimensions."""
    a = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)
    if a.ndim != ndim or a.size == 0:
        raise ValueError(f"{owner}: {name} must be a non-empty {ndim}-D array, got shape {a.shape}")
    return a


def plot_gate_heatmap(
    gate: Any,
    ax: Axes | None = None,
    *,
    inputs: Any = None,
    marks: Sequence[int] = (),
    name: str = "z",
    cmap: str = "viridis",
) -> Axes:
    r"""Draw one sequence's gate over time, one row per unit, with the inputs along the time axis.

    Cell (j, t) shows unit j's gate at step t (1 to T) in [0, 1]. The steps in ``marks`` get a
    dashed white line and a triangle above the axes; ``inputs``, if given, are drawn as bars in a
    strip above the heatmap, marked steps in red.

    Args:
        gate: (T, H) one sequence's gate values, e.g. ``GRU.gates(x).z[0, 0, :, b]``.
        ax: the Axes to draw on. Default: a new 6.4 x 3.2 inch figure.
        inputs: (T,) an input feature of the same sequence to show above, or ``None``.
            Default: ``None``.
        marks: steps (from 1) to mark on the time axis. Default: none.
        name: the gate's symbol, for the colour bar's label (``"z"`` gives :math:`z_t`).
            Default: ``"z"``.
        cmap: the Matplotlib colour map. Default: ``"viridis"``.

    Returns:
        The heatmap's Axes (the inputs' strip is an inset of it; the colour bar is attached).

    Raises:
        ValueError: if gate is not 2-D, or inputs does not have T values.

    Example::

        >>> r, z = gru.gates(x)
        >>> ax = plot_gate_heatmap(z[0, 0, :, 0], inputs=x[:, 0, 0], marks=[3, 40])

    Introduced in chapter 4, *Gating*.
    """
    g = _array(gate, "gate", 2, "plot_gate_heatmap")  # (T, H)
    T, H = g.shape
    ax = axes_or_new(ax, (6.4, 3.2))
    image = ax.imshow(
        g.T, aspect="auto", origin="lower", cmap=cmap, vmin=0.0, vmax=1.0,
        extent=(0.5, T + 0.5, -0.5, H - 0.5), interpolation="nearest",
    )  # fmt: skip
    ax.figure.colorbar(image, ax=ax, label=f"${name}_t$", fraction=0.05, pad=0.02)
    for t in marks:
        ax.axvline(t, color="white", linestyle="--", linewidth=1.0)
        ax.plot([t], [1.0], marker="v", color="red", markersize=8, clip_on=False,
                transform=ax.get_xaxis_transform())  # fmt: skip
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step $t$")
    ax.set_ylabel("unit $j$")
    if inputs is not None:
        u = _array(inputs, "inputs", 1, "plot_gate_heatmap")
        if u.size != T:
            raise ValueError(f"plot_gate_heatmap: inputs has {u.size} steps, gate has {T}")
        strip = ax.inset_axes((0.0, 1.08, 1.0, 0.25), sharex=ax)
        colors = ["red" if t in set(marks) else "grey" for t in range(1, T + 1)]
        strip.bar(np.arange(1, T + 1), u, width=0.8, color=colors)
        strip.set_ylabel("input", fontsize="small")
        strip.tick_params(labelbottom=False, labelsize="small")
    return ax


def plot_saturation(
    saturation: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
) -> Axes:
    """Scatter each unit's fraction of left-saturated against right-saturated steps, per gate.

    Karpathy, Johnson & Fei-Fei 2015 (arXiv:1506.02078, figure 3): one point per unit, x the
    fraction of steps its gate is below 0.1, y above 0.9. A point near (0, 1) is a gate almost
    always open, near (1, 0) almost always closed, near the origin one working in its linear
    range; no point lies above the diagonal x + y = 1 (drawn dotted).

    Args:
        saturation: a mapping from a legend label (``"r"``, ``"z"``) to a
            :class:`grubook.diagnostics.Saturation` or a pair ``(left, right)`` of (H,) arrays.
        ax: the Axes to draw on. Default: a new 4 x 4 inch figure.
        styles: extra keyword arguments for ``Axes.scatter`` per label. Default: ``None``.

    Returns:
        The Axes, with one scatter collection per entry of ``saturation`` (in order), square,
        both axes from 0 to 1, and a legend.

    Raises:
        ValueError: if ``saturation`` is empty, or an entry's two arrays are not 1-D of one length.

    Example::

        >>> sat = {"r": gate_saturation(r[0, 0]), "z": gate_saturation(z[0, 0])}
        >>> ax = plot_saturation(sat)

    Introduced in chapter 4, *Gating*.
    """
    if len(saturation) == 0:
        raise ValueError("plot_saturation: saturation is empty; pass {label: (left, right)}")
    ax = axes_or_new(ax, (4.0, 4.0))
    for label, (left, right) in saturation.items():
        x = _array(left, f"saturation[{label!r}].left", 1, "plot_saturation")
        y = _array(right, f"saturation[{label!r}].right", 1, "plot_saturation")
        if x.shape != y.shape:
            raise ValueError(f"plot_saturation: {label!r} has {x.size} left and {y.size} right")
        style = {"s": 30, "alpha": 0.7, **(styles or {}).get(label, {})}
        ax.scatter(x, y, label=str(label), **style)
    ax.plot([0, 1], [1, 0], color="grey", linestyle=":", linewidth=1.0)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal")
    ax.set_xlabel("fraction left-saturated (< 0.1)")
    ax.set_ylabel("fraction right-saturated (> 0.9)")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


def plot_connectivity(
    connectivity: Any,
    ax: Axes | None = None,
    *,
    marks: Sequence[int] = (),
    logy: bool = True,
) -> Axes:
    r"""Draw how strongly predictions depend on each input step: curves, or an output × input map.

    With a mapping ``{label: (T,) values}`` (a many-to-one model: one prediction, one curve per
    model), curve ``label`` shows the connectivity of input step t = 1..T, on a log scale by
    default. With one (S, T) array (a prediction at each of S output steps), a heatmap: output
    step down, input step across (Madsen, Distill 2019, "connectivity").

    Args:
        connectivity: ``{label: (T,)}`` or one (S, T) array, e.g. from
            :func:`grubook.input_connectivity`.
        ax: the Axes to draw on. Default: a new 6.4 x 3.2 inch figure.
        marks: input steps (from 1) to mark with dashed vertical lines. Default: none.
        logy: curves only: a logarithmic y axis (zeros left out). Default: ``True``.

    Returns:
        The Axes, with one line per label and a legend, or the heatmap (an image) and a colour bar.

    Raises:
        ValueError: if a mapping is empty or holds a value that is not 1-D, or an array is not 2-D.

    Example::

        >>> C = {name: input_connectivity(m.rnn, x, m.head, steps=[-1])[0] for name, m in models}
        >>> ax = plot_connectivity(C, marks=[5, 30])

    Introduced in chapter 4, *Gating*.
    """
    ax = axes_or_new(ax, (6.4, 3.2))
    if isinstance(connectivity, Mapping):
        if len(connectivity) == 0:
            raise ValueError("plot_connectivity: connectivity is empty; pass {label: values}")
        for label, values in connectivity.items():
            y = _array(values, f"connectivity[{label!r}]", 1, "plot_connectivity")
            y = np.where(y > 0, y, np.nan) if logy else y  # (T,)
            ax.plot(np.arange(1, y.size + 1), y, label=str(label), linewidth=1.8)
        if logy:
            ax.set_yscale("log")
        ax.set_ylabel(r"$\|\partial \hat y / \partial x_t\|$")
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, alpha=0.3)
    else:
        c = _array(connectivity, "connectivity", 2, "plot_connectivity")  # (S, T)
        S, T = c.shape
        image = ax.imshow(c, aspect="auto", cmap="magma", interpolation="nearest",
                          extent=(0.5, T + 0.5, S + 0.5, 0.5))  # fmt: skip
        ax.figure.colorbar(image, ax=ax, label=r"$\|\partial \hat y_s / \partial x_t\|$")
        ax.set_ylabel("output step $s$")
    for t in marks:
        ax.axvline(t, color="grey", linestyle="--", linewidth=1.0)
    ax.set_xlabel("input step $t$")
    return ax
