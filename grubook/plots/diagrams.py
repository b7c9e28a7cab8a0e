"""Diagrams drawn with Matplotlib patches: an RNN unrolled over time, and the GRU cell in stages.

Introduced in chapter 1, *Recurrent networks* (:func:`draw_unrolled_rnn`) and chapter 2, *The GRU
cell* (:func:`draw_gru_cell`).
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from grubook.plots._base import axes_or_new

__all__ = ["GRU_CELL_STAGES", "draw_gru_cell", "draw_unrolled_rnn"]


def _frame(
    ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], title: str | None
) -> Axes:
    """Show ``xlim`` x ``ylim`` at equal aspect, without axis lines, under ``title`` if any."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
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
    ax = axes_or_new(ax, (1.6 * T + 1.6, 2.6))
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
    return _frame(ax, (-0.3, step * (T + 1) + 0.3), (-1.9, 1.9), title)


#: The stages of :func:`draw_gru_cell`, each drawing the previous one and adding to it.
GRU_CELL_STAGES = ("gates", "candidate", "state")
_INK, _GATE, _CANDIDATE, _COPY = "#222222", "#cfe2f3", "#fde9c9", "#d9480f"


def _wire(ax: Axes, points: Sequence[tuple[float, float]], *, color: str = _INK, lw=1.6) -> None:
    """A polyline through ``points`` with an arrow head at the last one."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color=color, linewidth=lw, solid_capstyle="butt")
    ax.add_patch(
        FancyArrowPatch(
            points[-2], points[-1], arrowstyle="-|>", mutation_scale=16, color=color, linewidth=lw
        )
    )


def _box(
    ax: Axes,
    cx: float,
    cy: float,
    text: str,
    *,
    width: float,
    height=1.2,
    name="",
    color=_GATE,
    fontsize=16,
) -> None:
    """A rounded box centred at (cx, cy) holding ``text``, and ``name`` in small type under it."""
    ax.add_patch(
        FancyBboxPatch(
            (cx - width / 2, cy - height / 2), width, height,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=color, edgecolor="#1f4e79", linewidth=1.5, zorder=3,
        )
    )  # fmt: skip
    dy = 0.27 if name else 0.0
    ax.text(cx, cy + dy, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    if name:
        ax.text(cx, cy - 0.33, name, ha="center", va="center", fontsize=12, zorder=4)


def _node(ax: Axes, cx: float, cy: float, text: str) -> None:
    """A small circle at (cx, cy) holding an operator: ⊙ or +."""
    ax.add_patch(Circle((cx, cy), 0.3, facecolor="white", edgecolor=_INK, linewidth=1.5, zorder=3))
    ax.text(cx, cy, text, ha="center", va="center", fontsize=14, zorder=4)


# Where the parts of the GRU cell diagram sit (data units; the figure spans x -1..12.6).
_BUS, _GATE_Y, _MIX, _TOP = 1.5, 3.9, 5.6, 7.6  # input bus, gate boxes, mixing row, state line
_Z_X, _R_X, _N_X = 2.6, 4.9, 9.7  # the update gate, the reset gate, the candidate


def _gru_gates(ax: Axes, level: int) -> None:
    """x_t and h_{t-1} on the bus that feeds every box; the update and reset gates."""
    ax.text(0.1, _TOP, "$h_{t-1}$", ha="right", va="center", fontsize=15)
    ax.text(1.5, 0.0, "$x_t$", ha="center", va="top", fontsize=15)
    bus_end = _N_X if level else _R_X
    ax.plot([0.2, 0.8, 0.8, bus_end], [_TOP, _TOP, _BUS, _BUS], color=_INK, linewidth=1.6)
    ax.plot([1.5, 1.5], [0.15, _BUS], color=_INK, linewidth=1.6)
    ax.add_patch(Circle((1.5, _BUS), 0.08, color=_INK, zorder=4))
    for x, name in [(_Z_X, "update"), (_R_X, "reset")]:
        _wire(ax, [(x, _BUS), (x, _GATE_Y - 0.6)])
        _box(ax, x, _GATE_Y, r"$\sigma$", width=1.4, name=name)
    # z_t goes up (to the state line once it is drawn), r_t goes right (to the candidate)
    _wire(ax, [(_Z_X, _GATE_Y + 0.6), (_Z_X, _TOP - 0.3 if level == 2 else _MIX - 0.1)])
    ax.text(_Z_X - 0.15, 4.85, "$z_t$", ha="right", va="center", fontsize=15)
    _wire(ax, [(_R_X + 0.7, _GATE_Y), (7.1 if level else 6.4, _GATE_Y)])
    ax.text(_R_X + 1.0, _GATE_Y + 0.3, "$r_t$", ha="center", va="bottom", fontsize=15)


def _gru_candidate(ax: Axes, level: int) -> None:
    """n_t = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))."""
    _node(ax, 7.4, _GATE_Y, r"$\odot$")
    _wire(ax, [(7.4, _BUS), (7.4, 2.15)])
    _box(ax, 7.4, 2.55, r"$W_{hn} h + b_{hn}$", width=2.5, height=0.8, color="white", fontsize=14)
    _wire(ax, [(7.4, 2.95), (7.4, _GATE_Y - 0.3)])
    _wire(ax, [(7.7, _GATE_Y), (_N_X - 1.0, _GATE_Y)])
    _wire(ax, [(_N_X, _BUS), (_N_X, _GATE_Y - 0.6)])
    _box(ax, _N_X, _GATE_Y, "tanh", width=2.0, name="candidate", color=_CANDIDATE)
    _wire(ax, [(_N_X, _GATE_Y + 0.6), (_N_X, _MIX - (0.3 if level == 2 else 0.1))])
    ax.text(_N_X + 0.15, 4.85, "$n_t$", ha="left", va="center", fontsize=15)


def _gru_state(ax: Axes) -> None:
    """h_t = (1 - z) ⊙ n + z ⊙ h, the copy path along the top highlighted."""
    _node(ax, _Z_X, _TOP, r"$\odot$")
    _node(ax, _N_X, _TOP, "+")
    _node(ax, _N_X, _MIX, r"$\odot$")
    _box(ax, 6.2, _MIX, r"$1-$", width=0.9, height=0.6, color="white", fontsize=14)
    ax.add_patch(Circle((_Z_X, _MIX), 0.08, color=_INK, zorder=4))
    _wire(ax, [(_Z_X, _MIX), (5.75, _MIX)])
    _wire(ax, [(6.65, _MIX), (_N_X - 0.3, _MIX)])
    _wire(ax, [(_N_X, _MIX + 0.3), (_N_X, _TOP - 0.3)])
    ax.plot([0.2, 0.8], [_TOP, _TOP], color=_COPY, linewidth=3.0)
    for start, end in [(0.8, _Z_X - 0.3), (_Z_X + 0.3, _N_X - 0.3), (_N_X + 0.3, 11.6)]:
        _wire(ax, [(start, _TOP), (end, _TOP)], color=_COPY, lw=3.0)
    ax.text(11.7, _TOP, "$h_t$", ha="left", va="center", fontsize=15)
    ax.text(6.2, _TOP + 0.25, "copy path", ha="center", va="bottom", fontsize=12, color=_COPY)


def draw_gru_cell(
    stage: str = "state", ax: Axes | None = None, *, title: str | None = None
) -> Axes:
    r"""Draw one step of a GRU cell as boxes and wires, built up in three stages.

    The input :math:`x_t` enters from below and the previous hidden state :math:`h_{t-1}` from
    the left; both feed every box. The stages add to each other:

    - ``"gates"``: the reset gate :math:`r_t` and the update gate :math:`z_t`, each a sigmoid
      (:math:`\sigma`) of :math:`x_t` and :math:`h_{t-1}`;
    - ``"candidate"``: the candidate :math:`n_t`, a tanh of :math:`W_{in} x_t + b_{in}` and of
      the hidden part scaled by the reset gate, :math:`r_t \odot (W_{hn} h_{t-1} + b_{hn})`;
    - ``"state"``: the new state :math:`h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}`, with the
      copy path from :math:`h_{t-1}` to :math:`h_t` highlighted (:math:`z_t = 1` copies the state).

    Args:
        stage: how much to draw, one of ``"gates"``, ``"candidate"``, ``"state"``.
            Default: ``"state"``.
        ax: the Axes to draw on. Default: a new 5.6 x 4.2 inch figure.
        title: the Axes title, or ``None`` for none. Default: ``None``.

    Returns:
        The Axes, with its axis lines hidden.

    Raises:
        ValueError: if ``stage`` is not one of the three.

    Example::

        >>> ax = draw_gru_cell("gates")

    Introduced in chapter 2, *The GRU cell*.
    """
    if stage not in GRU_CELL_STAGES:
        raise ValueError(f"draw_gru_cell: stage must be one of {GRU_CELL_STAGES}, got {stage!r}")
    level = GRU_CELL_STAGES.index(stage)
    ax = axes_or_new(ax, (5.6, 4.2))
    _gru_gates(ax, level)
    if level >= 1:
        _gru_candidate(ax, level)
    if level == 2:
        _gru_state(ax)
    return _frame(ax, (-1.0, 12.6), (-0.8, 8.5), title)
