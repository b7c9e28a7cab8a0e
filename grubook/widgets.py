r"""Explorers of the GRU's gates and of memory, live in Jupyter, in Colab and on the book's pages.

Two widgets built with anywidget (Trevor Manz, https://anywidget.dev): the sliders and drawings
are a small front-end module (``grubook/widgets.js``) that computes what it draws from the
widget's values. So an explorer stays interactive on the published site, where no kernel runs:
the notebook stores the widget's state (``make execute``), and the page renders it with the widget
manager served from the site. In a kernel the same values are traitlets (set ``explorer.z = 0.9``
and the drawing follows), and the outputs are computed here too, with the same formulas, so code
and tests can read them.

- :func:`gate_explorer`: one step of a one-unit GRU, PyTorch's form (Cho et al. 2014,
  arXiv:1406.1078, with the reset gate after the hidden matmul as in ``torch.nn.GRU``).
- :func:`memory_explorer`: how long a constant update gate keeps a value, against how fast the
  gradient of a tanh RNN shrinks or grows with the scale of its recurrent weights (Pascanu,
  Mikolov & Bengio 2013, arXiv:1211.5063, §2).

Introduced in chapter 4, *Gating*.
"""

from __future__ import annotations

import math
from pathlib import Path

import anywidget
import numpy as np
import traitlets

__all__ = [
    "GateExplorer",
    "MemoryExplorer",
    "gate_explorer",
    "gate_step",
    "memory_explorer",
    "retention",
    "rnn_gradient_norms",
]

_HERE = Path(__file__).parent
#: Park and Miller's "minimal standard" generator, x ← 16807·x mod (2^31 − 1): exact in float64,
#: so the front end draws the memory explorer's weights and inputs exactly as Python does.
_MODULUS = 2**31 - 1


def _uniform(seed: int, count: int) -> np.ndarray:
    """``count`` numbers in (−1, 1) from the minimal standard generator started at ``seed``."""
    state = seed % (_MODULUS - 1) + 1
    out = np.empty(count)
    for i in range(count):
        state = state * 16807 % _MODULUS
        out[i] = 2 * state / _MODULUS - 1
    return out


def _orthogonal(seed: int, H: int) -> np.ndarray:
    """(H, H) orthogonal matrix: Gram–Schmidt on the rows of a uniform random matrix."""
    Q = _uniform(seed, H * H).reshape(H, H)
    for i in range(H):
        for j in range(i):
            Q[i] -= (Q[i] @ Q[j]) * Q[j]
        Q[i] /= np.linalg.norm(Q[i])
    return Q


class _Explorer(anywidget.AnyWidget):
    """What the explorers share: the front end, which draws the one named by ``explorer``."""

    _esm = _HERE / "widgets.js"
    _css = _HERE / "widgets.css"

    def __init__(self, **values: float | int) -> None:
        super().__init__(**values)


class GateExplorer(_Explorer):
    r"""One step of a one-unit GRU, :math:`h' = (1 - z)\, n + z\, h`, drawn on a number line.

    Made by :func:`gate_explorer`, which documents the values and checks them; each is a traitlet,
    kept in step with the sliders.

    Args:
        **values: starting values by name (``z=0.3``); the others keep their defaults.

    Introduced in chapter 4, *Gating*.
    """

    explorer = traitlets.Unicode("gate").tag(sync=True)
    r = traitlets.Float(0.5, min=0.0, max=1.0).tag(sync=True)
    z = traitlets.Float(0.5, min=0.0, max=1.0).tag(sync=True)
    h = traitlets.Float(0.8, min=-1.0, max=1.0).tag(sync=True)
    a = traitlets.Float(-0.5, min=-3.0, max=3.0).tag(sync=True)
    w_hn = traitlets.Float(1.0).tag(sync=True)
    b_hn = traitlets.Float(0.0).tag(sync=True)

    @property
    def n(self) -> float:
        r"""The candidate state :math:`n = \tanh(a + r\,(w_{hn} h + b_{hn}))`."""
        return gate_step(self.r, self.z, self.h, self.a, w_hn=self.w_hn, b_hn=self.b_hn)[0]

    @property
    def h_next(self) -> float:
        r"""The new state :math:`h' = (1 - z)\, n + z\, h`."""
        return gate_step(self.r, self.z, self.h, self.a, w_hn=self.w_hn, b_hn=self.b_hn)[1]


class MemoryExplorer(_Explorer):
    r"""How far back a memory reaches: :math:`z^k` for a GRU, the gradient's norm for a tanh RNN.

    Made by :func:`memory_explorer`, which documents the values and checks them; each is a traitlet,
    kept in step with the sliders.

    Args:
        **values: starting values by name (``scale=2.0``); the others keep their defaults.

    Introduced in chapter 4, *Gating*.
    """

    explorer = traitlets.Unicode("memory").tag(sync=True)
    z = traitlets.Float(0.9, min=0.0, max=1.0).tag(sync=True)
    scale = traitlets.Float(1.0, min=0.0, max=4.0).tag(sync=True)
    steps = traitlets.Int(50, min=1, max=200).tag(sync=True)
    hidden_size = traitlets.Int(16, min=1, max=32).tag(sync=True)
    sequences = traitlets.Int(8, min=1, max=64).tag(sync=True)
    input_scale = traitlets.Float(0.3, min=0.0).tag(sync=True)
    seed = traitlets.Int(1, min=0).tag(sync=True)

    @property
    def retention(self) -> np.ndarray:
        r"""(T + 1,) what is left of a stored value after k steps, :math:`z^k`, k = 0..T."""
        return retention(self.z, self.steps)

    @property
    def gradient_norms(self) -> np.ndarray:
        r"""(T + 1,) the tanh RNN's gradient norms k = 0..T steps back.

        Computed by :func:`rnn_gradient_norms` with this explorer's values.
        """
        return rnn_gradient_norms(
            self.scale,
            steps=self.steps,
            hidden_size=self.hidden_size,
            sequences=self.sequences,
            input_scale=self.input_scale,
            seed=self.seed,
        )


def gate_step(
    r: float, z: float, h: float, a: float, *, w_hn: float = 1.0, b_hn: float = 0.0
) -> tuple[float, float]:
    r"""One step of a one-unit GRU from its gates: the gate explorer's math, without a widget.

    .. math::
        n &= \tanh(a + r\,(w_{hn} h + b_{hn})), \\
        h' &= (1 - z)\, n + z\, h

    Args:
        r: the reset gate, in [0, 1].
        z: the update gate, in [0, 1].
        h: the previous state.
        a: the candidate's input term :math:`W_{in} x + b_{in}`.
        w_hn: the hidden weight of the candidate. Default: 1.
        b_hn: the hidden bias of the candidate. Default: 0.

    Returns:
        ``(n, h_next)``: the candidate and the new state.

    Use it for figures and checks; a widget made only to compute stays in the notebook's stored
    widget state. Introduced in chapter 4, *Gating*.
    """
    n = math.tanh(a + r * (w_hn * h + b_hn))
    return n, (1 - z) * n + z * h


def retention(z: float, steps: int = 50) -> np.ndarray:
    r"""(T + 1,) what a constant update gate keeps of a stored value after k steps, :math:`z^k`.

    Args:
        z: the update gate, in [0, 1].
        steps: T, the last k. Default: 50.

    Returns:
        The array :math:`z^0, z^1, \dots, z^T`. Introduced in chapter 4, *Gating*.
    """
    return z ** np.arange(steps + 1, dtype=float)


def rnn_gradient_norms(
    scale: float,
    *,
    steps: int = 50,
    hidden_size: int = 16,
    sequences: int = 8,
    input_scale: float = 0.3,
    seed: int = 1,
) -> np.ndarray:
    r"""(T + 1,) the gradient norms k steps back of the memory explorer's tanh RNN.

    The norm is :math:`\|\partial (u^\top h_T) / \partial h_{T-k}\|`, k = 0..T.

    The RNN is :math:`h_t = \tanh(\sigma Q h_{t-1} + x_t)` with :math:`Q` orthogonal; the norm is
    the geometric mean over the input sequences, and :math:`u = (1, \dots, 1) / \sqrt{H}`, so the
    value at k = 0 is 1. The front end draws the same weights and inputs (same generator).

    Args:
        scale: :math:`\sigma`, the scale of the recurrent weights.
        steps: T. Default: 50.
        hidden_size: H. Default: 16.
        sequences: how many input sequences to average over. Default: 8.
        input_scale: the inputs are uniform in [0, input_scale). Default: 0.3.
        seed: the generator's seed. Default: 1.

    Returns:
        The norms for k = 0..T. Introduced in chapter 4, *Gating*.
    """
    T, S, H = steps, sequences, hidden_size
    W = scale * _orthogonal(seed, H)  # (H, H)
    x = input_scale * _uniform(seed + 1, S * T * H).reshape(S, T, H)
    h, hs = np.zeros((S, H)), []
    for t in range(T):
        h = np.tanh(h @ W.T + x[:, t])  # h_t, (S, H)
        hs.append(h)
    g = np.full((S, H), 1 / math.sqrt(H))  # ∂(u·h_T)/∂h_T
    logs = [np.zeros(S)]
    for t in reversed(range(T)):
        g = (g * (1 - hs[t] ** 2)) @ W  # ∂(u·h_T)/∂h_{t-1}, (S, H)
        logs.append(np.log(np.maximum(np.linalg.norm(g, axis=1), 1e-300)))
    return np.exp(np.mean(logs, axis=1))


def _check_range(owner: str, name: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ValueError(f"{owner}: {name} must be in [{low}, {high}], got {name}={value}")
    return float(value)


def _check_int(owner: str, name: str, value: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(f"{owner}: {name} must be an int in [1, {high}], got {name}={value!r}")
    return value


def gate_explorer(
    r: float = 0.5,
    z: float = 0.5,
    h: float = 0.8,
    a: float = -0.5,
    *,
    w_hn: float = 1.0,
    b_hn: float = 0.0,
) -> GateExplorer:
    r"""A widget for one step of a one-unit GRU: sliders for r, z, h and a; h' and how it is made.

    .. math::
        \begin{aligned}
        n &= \tanh\big(a + r\,(w_{hn} h + b_{hn})\big) \\
        h' &= (1 - z)\, n + z\, h
        \end{aligned}

    where :math:`a = W_{in} x + b_{in}` is the candidate's input term and the reset gate r
    scales the hidden term, as in ``torch.nn.GRU``. The drawing puts h, n and h' on a number line:
    h' lies between n and h, a fraction 1 − z of the way from h to n.

    Args:
        r: the reset gate, in [0, 1].
        z: the update gate, in [0, 1].
        h: the previous state, in [−1, 1].
        a: the candidate's input term, in [−3, 3].
        w_hn: the hidden-to-candidate weight (fixed: no slider).
        b_hn: the hidden-to-candidate bias (fixed: no slider).

    Returns:
        The widget; its traitlets ``r``, ``z``, ``h``, ``a`` follow the sliders, and its
        properties ``n`` and ``h_next`` give the outputs.

    Example::

        >>> explorer = gate_explorer(z=0.9)
        >>> explorer.h_next   # mostly the old state
        >>> explorer          # the last value of a cell: shows the widget

    Introduced in chapter 4, *Gating*.
    """
    owner = "gate_explorer"
    return GateExplorer(
        r=_check_range(owner, "r", r, 0, 1),
        z=_check_range(owner, "z", z, 0, 1),
        h=_check_range(owner, "h", h, -1, 1),
        a=_check_range(owner, "a", a, -3, 3),
        w_hn=float(w_hn),
        b_hn=float(b_hn),
    )


def memory_explorer(
    z: float = 0.9,
    scale: float = 1.0,
    *,
    steps: int = 50,
    hidden_size: int = 16,
    sequences: int = 8,
    input_scale: float = 0.3,
    seed: int = 1,
) -> MemoryExplorer:
    r"""A widget: how long a GRU's gate keeps a value, beside how far a tanh RNN's gradient reaches.

    Left: with a constant update gate z and a candidate that adds nothing, the state after k steps
    keeps :math:`z^k` of a stored value (half of it after :math:`\ln 0.5 / \ln z` steps). Right: a
    tanh RNN :math:`h_t = \tanh(\sigma Q h_{t-1} + x_t)` with Q orthogonal and
    :math:`\sigma` the scale, from :math:`h_0 = 0` over T steps of uniform inputs; each step back
    multiplies the gradient by :math:`\sigma Q^\top \operatorname{diag}(1 - h_t^2)`, so its norm
    after k steps is at most :math:`\sigma^k` (the dashed line). Below 1 it vanishes; above, it
    may grow, but saturated units (:math:`h_t^2 \to 1`) hold it back.

    Args:
        z: the update gate, in [0, 1].
        scale: the recurrent weights' scale :math:`\sigma`, in [0, 4].
        steps: T, the number of steps shown, at most 200.
        hidden_size: H, the RNN's hidden size, at most 32.
        sequences: how many input sequences the gradient's norm is averaged over (geometric
            mean), at most 64.
        input_scale: the inputs are uniform in [−input_scale, input_scale].
        seed: the seed of the weights and inputs (the same in the page as in Python).

    Returns:
        The widget; its traitlets ``z`` and ``scale`` follow the sliders, and its properties
        ``retention`` (:math:`z^k`) and ``gradient_norms`` give the curves, k = 0..T.

    Example::

        >>> explorer = memory_explorer(scale=0.8)
        >>> explorer.gradient_norms[-1]   # the gradient T steps back: vanished
        >>> explorer

    Introduced in chapter 4, *Gating*.
    """
    owner = "memory_explorer"
    return MemoryExplorer(
        z=_check_range(owner, "z", z, 0, 1),
        scale=_check_range(owner, "scale", scale, 0, 4),
        steps=_check_int(owner, "steps", steps, 200),
        hidden_size=_check_int(owner, "hidden_size", hidden_size, 32),
        sequences=_check_int(owner, "sequences", sequences, 64),
        input_scale=_check_range(owner, "input_scale", input_scale, 0, math.inf),
        seed=int(seed),
    )
