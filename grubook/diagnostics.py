r"""Looking inside a recurrent network: how far the gradient reaches back, the spectral radius,
how saturated the gates are, and which input steps a prediction depends on.

For a loss L at the last step T, backpropagation through time carries
:math:`\partial L / \partial h_t` back one step at a time, multiplying by the step's Jacobian
:math:`\partial h_{t+1} / \partial h_t`; for a tanh RNN that Jacobian is
:math:`\operatorname{diag}(1 - h_{t+1}^2)\, W_{hh}`, so the spectral radius of :math:`W_{hh}`
bounds how fast the gradient can grow or shrink (Pascanu, Mikolov & Bengio, "On the difficulty of
training recurrent neural networks", ICML 2013, arXiv:1211.5063, §2). These functions work on any
model with ``torch.nn.RNN``'s interface: ``model(x, h)`` returning ``(output, h_n)``, and weights
named ``weight_hh_l{k}``. Introduced in chapter 1, *Recurrent networks*.

:func:`gate_saturation` (Karpathy, Johnson & Fei-Fei, "Visualizing and understanding recurrent
networks", arXiv:1506.02078, §4.2) and :func:`input_connectivity` (Madsen, "Visualizing
memorization in RNNs", Distill 2019, doi:10.23915/distill.00016) are introduced in chapter 4,
*Gating*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

__all__ = [
    "Saturation",
    "gate_saturation",
    "hidden_state_grad_norms",
    "input_connectivity",
    "set_spectral_radius",
    "spectral_radius",
]


def hidden_state_grad_norms(model: nn.Module, x: Tensor) -> Tensor:
    r"""The norm of the gradient reaching each step's hidden state, relative to the last step's.

    The model reads x one step at a time from :math:`h_0 = 0`; with the loss
    :math:`L = \sum h_T` (every unit of every layer's last state),

    .. math::
        \rho_t = \frac{\|\partial L / \partial h_t\|}{\|\partial L / \partial h_T\|},
        \qquad t = 1, \dots, T

    where :math:`h_t` is the state after step t, (L, B, H) for L layers, and the norm is taken over
    all of it. An LSTM's state is ``(h, c)``: the gradient is taken with respect to h.

    Args:
        model: a one-directional ``torch.nn.RNN``-like module (``grubook.RNN``, ``grubook.GRU``,
            ``torch.nn.GRU``, ``torch.nn.LSTM``), time-first or ``batch_first``.
        x: (T, B, I) inputs ((B, T, I) if the model is ``batch_first``), of the model's dtype.

    Returns:
        (T,) the ratios :math:`\rho_1, \dots, \rho_T`; the last one is 1.

    Raises:
        ValueError: if the model is bidirectional or x is not 3-D.

    Example::

        >>> ratios = hidden_state_grad_norms(grubook.RNN(8, 32), torch.randn(100, 16, 8))
        >>> ratios[-1 - 50]   # the gradient 50 steps back, relative to the last step's

    Introduced in chapter 1, *Recurrent networks*.
    """
    if getattr(model, "bidirectional", False):
        raise ValueError("hidden_state_grad_norms: the model must run in one direction")
    if x.dim() != 3:
        raise ValueError(
            f"hidden_state_grad_norms: x must be (T, B, I), got shape {tuple(x.shape)}"
        )
    batch_first = getattr(model, "batch_first", False)
    if batch_first:
        x = x.transpose(0, 1)  # (T, B, I)
    T, B, _ = x.shape
    h = x.new_zeros(getattr(model, "num_layers", 1), B, model.hidden_size)  # h_0, (L, B, H)
    state = (h, torch.zeros_like(h)) if isinstance(model, nn.LSTM) else h
    hs = []
    for t in range(T):
        step = x[t : t + 1].transpose(0, 1) if batch_first else x[t : t + 1]  # one step
        _, state = model(step, state)  # h_t (L, B, H), or (h_t, c_t)
        hs.append(state[0] if isinstance(state, tuple) else state)
    grads = torch.autograd.grad(hs[-1].sum(), hs)
    norms = torch.stack([g.norm() for g in grads])  # (T,)
    return norms / norms[-1]


def spectral_radius(W: Tensor) -> float:
    r"""The spectral radius of a square matrix: :math:`\max_i |\lambda_i|` over its eigenvalues.

    Args:
        W: (H, H), e.g. an RNN's ``weight_hh_l0``.

    Example::

        >>> spectral_radius(torch.eye(3) * 0.5)
        0.5

    Introduced in chapter 1, *Recurrent networks*.
    """
    if W.dim() != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"spectral_radius: W must be a square matrix, got shape {tuple(W.shape)}")
    return torch.linalg.eigvals(W.detach()).abs().max().item()


def set_spectral_radius(rnn: nn.Module, rho: float) -> nn.Module:
    """Rescale each recurrent weight ``weight_hh_l{k}`` (H, H) in place to spectral radius ``rho``.

    Each matrix is multiplied by ``rho / spectral_radius(W)``; its eigenvectors stay the same.

    Args:
        rnn: a module with square recurrent weights named ``weight_hh_l0``, ``weight_hh_l1``, ...
            (``grubook.RNN``, ``torch.nn.RNN``; a GRU's are (3H, H) and are refused).
        rho: the spectral radius wanted, > 0.

    Returns:
        ``rnn``, changed in place.

    Raises:
        ValueError: if ``rho`` <= 0, or the module has no square ``weight_hh_l*`` matrices.

    Example::

        >>> rnn = set_spectral_radius(grubook.RNN(8, 32), 2.0)
        >>> round(spectral_radius(rnn.weight_hh_l0), 3)
        2.0

    Introduced in chapter 1, *Recurrent networks*.
    """
    if not rho > 0:
        raise ValueError(f"set_spectral_radius: rho must be > 0, got {rho!r}")
    weights = [p for name, p in rnn.named_parameters() if name.startswith("weight_hh_l")]
    if not weights:
        raise ValueError(
            f"set_spectral_radius: {type(rnn).__name__} has no weight_hh_l* parameters"
        )
    for W in weights:
        if W.dim() != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(
                f"set_spectral_radius: the recurrent weights must be square (H, H), got "
                f"{tuple(W.shape)} (a GRU's weight_hh stacks its three gates)"
            )
    with torch.no_grad():
        for W in weights:
            W.mul_(rho / torch.linalg.eigvals(W).abs().max())
    return rnn


class Saturation(NamedTuple):
    """Each unit's fractions of saturated steps, as :func:`grubook.gate_saturation` returns them.

    Args:
        left: (..., H) the fraction of steps with the gate below ``low`` (nearly 0).
        right: (..., H) the fraction of steps with the gate above ``high`` (nearly 1).

    Introduced in chapter 4, *Gating*.
    """

    left: Tensor
    right: Tensor


def gate_saturation(
    gate: Tensor,
    lengths: Tensor | Sequence[int] | None = None,
    *,
    low: float = 0.1,
    high: float = 0.9,
) -> Saturation:
    r"""How often each unit's gate is saturated: the fractions of steps below low and above high.

    For unit j, over every step t of every sequence b that is not padding,

    .. math::
        \text{left}_j &= \frac{\#\{(t, b) : g_{tbj} < 0.1\}}{\#\{(t, b)\}}, \\
        \text{right}_j &= \frac{\#\{(t, b) : g_{tbj} > 0.9\}}{\#\{(t, b)\}}

    (Karpathy, Johnson & Fei-Fei 2015, arXiv:1506.02078, §4.2 and their figure 3: a unit near
    the top left is a gate that is almost always open; a unit near the origin, one that works in
    its linear range).

    Args:
        gate: (T, B, H) gate values in [0, 1], or (..., T, B, H), e.g. a
            :class:`grubook.GateTrace`'s ``z``, (L, D, T, B, H).
        lengths: (B,) each sequence's number of valid steps (the steps after it are not counted),
            or ``None`` for all T.
        low: the left threshold. Default: 0.1.
        high: the right threshold. Default: 0.9.

    Returns:
        A :class:`~grubook.diagnostics.Saturation` ``(left, right)``: two (..., H) tensors in
        [0, 1].

    Raises:
        ValueError: if ``gate`` has fewer than 3 dimensions, ``lengths`` does not have B entries
            in [1, T], or not ``0 <= low <= high <= 1``.

    Example::

        >>> r, z = gru.gates(x)                      # (L, D, T, B, H) each
        >>> left, right = gate_saturation(z[0, 0])   # (H,) each

    Introduced in chapter 4, *Gating*.
    """
    if gate.dim() < 3:
        raise ValueError(f"gate_saturation: gate must be (..., T, B, H), got {tuple(gate.shape)}")
    if not 0 <= low <= high <= 1:
        raise ValueError(f"gate_saturation: need 0 <= low <= high <= 1, got {low=}, {high=}")
    T, B, _ = gate.shape[-3:]
    valid = gate.new_ones(T, B, dtype=torch.bool)  # (T, B)
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=gate.device)
        if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > T:
            raise ValueError(
                f"gate_saturation: lengths must be {B} ints in [1, {T}], got {lengths.tolist()}"
            )
        valid = torch.arange(T, device=gate.device)[:, None] < lengths[None, :]
    valid = valid[..., None]  # (T, B, 1)
    count = valid.sum()
    left = ((gate < low) & valid).sum(dim=(-3, -2)) / count  # (..., H)
    right = ((gate > high) & valid).sum(dim=(-3, -2)) / count
    return Saturation(left.to(gate.dtype), right.to(gate.dtype))


def input_connectivity(
    model: nn.Module,
    x: Tensor,
    head: Callable[[Tensor], Tensor] | None = None,
    *,
    steps: Sequence[int] | None = None,
) -> Tensor:
    r"""How strongly each prediction depends on each input step: the norm of its gradient.

    The model reads x (time-first) and a prediction is made from its output at step s,
    :math:`\hat y_s = \text{head}(o_s)` (the output itself without a head). The connectivity of
    input step t to output step s is, averaged over the B sequences,

    .. math::
        C_{st} = \frac{1}{B} \sum_b \left\| \frac{\partial\, \textstyle\sum_k \hat y_{s,b,k}}
        {\partial x_{t,b}} \right\|

    the norm over the I input features of the gradient of the prediction (summed over its
    features when it has several). :math:`C_{st} = 0` for t > s: the model cannot look ahead
    (Madsen, "Visualizing memorization in RNNs", Distill 2019, the "connectivity" figures).

    Args:
        model: a one-directional time-first module with ``torch.nn.GRU``'s interface,
            ``model(x)`` returning ``(output, h_n)`` with output (T, B, H) (``grubook.GRU``,
            ``grubook.RNN``, ``torch.nn.GRU``).
        x: (T, B, I) inputs of the model's dtype.
        head: the readout from an output step (B, H) to a prediction (B,) or (B, O), e.g. an
            ``nn.Linear``; ``None`` for the output itself. Default: ``None``.
        steps: the output steps s (from 0; negative counts from the end), or ``None`` for all T.
            Default: ``None``.

    Returns:
        (S, T) the connectivity :math:`C_{st}`, one row per output step in ``steps``.

    Raises:
        ValueError: if x is not 3-D, or the model is ``batch_first`` or bidirectional.

    Example::

        >>> C = input_connectivity(model.rnn, x, model.head, steps=[-1])   # many-to-one: (1, T)

    Introduced in chapter 4, *Gating*.
    """
    if x.dim() != 3:
        raise ValueError(f"input_connectivity: x must be (T, B, I), got shape {tuple(x.shape)}")
    if getattr(model, "batch_first", False) or getattr(model, "bidirectional", False):
        raise ValueError("input_connectivity: the model must be time-first and one-directional")
    T = x.shape[0]
    x = x.detach().requires_grad_(True)
    output, _ = model(x)  # (T, B, H)
    rows = []
    for s in range(T) if steps is None else steps:
        y = output[s] if head is None else head(output[s])  # (B,) or (B, O)
        (grad,) = torch.autograd.grad(y.sum(), x, retain_graph=True)  # (T, B, I)
        rows.append(grad.norm(dim=-1).mean(dim=1))  # (T,)
    return torch.stack(rows)  # (S, T)
