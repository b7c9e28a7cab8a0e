r"""Looking inside a recurrent network: how far the gradient reaches back, and the spectral radius.

For a loss L at the last step T, backpropagation through time carries
:math:`\partial L / \partial h_t` back one step at a time, multiplying by the step's Jacobian
:math:`\partial h_{t+1} / \partial h_t`; for a tanh RNN that Jacobian is
:math:`\operatorname{diag}(1 - h_{t+1}^2)\, W_{hh}`, so the spectral radius of :math:`W_{hh}`
bounds how fast the gradient can grow or shrink (Pascanu, Mikolov & Bengio, "On the difficulty of
training recurrent neural networks", ICML 2013, arXiv:1211.5063, §2). These functions work on any
model with ``torch.nn.RNN``'s interface: ``model(x, h)`` returning ``(output, h_n)``, and weights
named ``weight_hh_l{k}``. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["hidden_state_grad_norms", "set_spectral_radius", "spectral_radius"]


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
