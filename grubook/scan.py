r"""minGRU's recurrence over one direction, three ways: a loop, a log-space scan, a fused kernel.

With gates that read only the input (Feng et al. 2024, "Were RNNs All We Needed?", arXiv
2410.01201, section 3.1), one layer's recurrence is a linear one, element by element,

.. math::
    \begin{aligned}
    h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t \\
        &= a_t \odot h_{t-1} + b_t,
    \end{aligned}

whose coefficients :math:`a_t = 1 - z_t` and :math:`b_t = z_t \odot \tilde h_t` are all known
before the loop starts. :func:`scan` computes it with one ``lerp`` per step (the reference), with
Heinsen's log-space prefix sums (Heinsen 2023, "Efficient Parallelization of a Ubiquitous
Sequential Computation", arXiv 2311.06281), or with a fused C++ loop whose backward pass is the
same recurrence run backwards (``grubook/csrc/mingru.cpp``; a pure-PyTorch
``autograd.Function`` when it cannot be built). Introduced in chapter 10, *Beyond the GRU*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from grubook._cpp import load_extension

__all__ = ["MODES", "g", "log_g", "scan"]

MODES = ("fast", "sequential", "log-scan")
_CLOSED = -1e30  # a gate pre-activation k with sigmoid(k) = 0 exactly: the step changes nothing


def g(x: Tensor) -> Tensor:
    r""":math:`g(x) = x + \tfrac12` for :math:`x \ge 0`, :math:`\sigma(x)` otherwise: a positive
    candidate, so that its logarithm exists (Feng et al. 2024, appendix B.3).

    Args:
        x: the candidate's pre-activations, any shape.
    """
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    r""":math:`\log g(x)`, computed as :math:`\log(x + \tfrac12)` or :math:`-\mathrm{softplus}(-x)`
    so that no step takes the logarithm of a rounded-off small number.

    Args:
        x: the candidate's pre-activations, any shape.
    """
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def _sequential(k: Tensor, p: Tensor, h0: Tensor) -> Tensor:
    """One ``lerp`` per step: h_t = h_{t-1} + z_t (g(p_t) - h_{t-1}); returns (T, B, H)."""
    z, v = torch.sigmoid(k), g(p)
    h, out = h0, []
    for t in range(k.shape[0]):
        h = torch.lerp(h, v[t], z[t])
        out.append(h)
    return torch.stack(out)


def _log_scan(k: Tensor, p: Tensor, h0: Tensor) -> Tensor:
    r"""Heinsen's scan: :math:`h_t = e^{a^*_t} (h_0 + \sum_{s \le t} e^{\log b_s - a^*_s})`."""
    log_a = -F.softplus(k)  # log(1 - z_t)
    log_b = -F.softplus(-k) + log_g(p)  # log(z_t g(p_t))
    a_star = log_a.cumsum(0)  # (T, B, H): log of the product a_1 ... a_t
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, 0)) + torch.exp(a_star) * h0


def _refuse_double_backward() -> None:
    """Raise if a backward pass is asked to build a graph (``create_graph=True``): the fast
    mode's hand-written backward is not itself differentiable."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            "MinGRU: mode='fast' has no double backward (create_graph=True); "
            "use mode='sequential' or mode='log-scan'"
        )


class _ReverseScan(torch.autograd.Function):
    """h_t = (1 - z_t) h_{t-1} + z_t v_t in a loop without autograd; backward runs it in reverse."""

    @staticmethod
    def forward(ctx, z: Tensor, v: Tensor, h0: Tensor) -> Tensor:
        out = torch.empty_like(v)
        h = h0
        for t in range(v.shape[0]):
            h = out[t] = torch.lerp(h, v[t], z[t])
        ctx.save_for_backward(z, v, h0, out)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        _refuse_double_backward()
        z, v, h0, out = ctx.saved_tensors
        prev = torch.cat([h0.unsqueeze(0), out[:-1]])  # (T, B, H): h_{t-1}
        d_h = torch.empty_like(grad_out)  # dL/dh_t through every path
        d = torch.zeros_like(h0)
        for t in range(v.shape[0] - 1, -1, -1):
            d = d_h[t] = grad_out[t] + d
            d = d * (1 - z[t])
        return d_h * (v - prev), d_h * z, d


class _Fused(torch.autograd.Function):
    """The C++ kernel over one direction: (T, B, 2H) pre-activations to (T, B, H) states."""

    @staticmethod
    def forward(ctx, ext, gi: Tensor, h0: Tensor, lengths: Tensor, reverse: bool):
        out, h_n, sig = ext.forward(gi, h0, lengths, reverse)
        ctx.ext, ctx.reverse = ext, reverse
        ctx.save_for_backward(gi, sig, h0, out, lengths)
        return out, h_n

    @staticmethod
    def backward(ctx, grad_out: Tensor, grad_hn: Tensor):
        _refuse_double_backward()
        gi, sig, h0, out, lengths = ctx.saved_tensors
        d_gi, d_h0 = ctx.ext.backward(grad_out, grad_hn, gi, sig, h0, out, lengths, ctx.reverse)
        return None, d_gi, d_h0, None, None


def extension():
    """The compiled kernel of ``grubook/csrc/mingru.cpp``, or ``None`` where it cannot be built."""
    return load_extension("mingru", "mingru.cpp")


def scan(
    gi: Tensor,
    h0: Tensor,
    mode: str = "fast",
    lengths: Tensor | None = None,
    reverse: bool = False,
    *,
    cpp: bool | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Run minGRU's recurrence over one direction of one layer.

    .. math::
        z_t &= \sigma(k_t), \quad \tilde h_t = g(p_t), \\
        h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    where :math:`(k_t | p_t)` = ``gi[t]`` are the gate's and the candidate's pre-activations.

    Args:
        gi: (T, B, 2H), the input projection :math:`W x_t + b` of every step, rows (k | p).
        h0: (B, H), the initial hidden state.
        mode: ``"fast"`` (fused kernel), ``"sequential"`` (one ``lerp`` per step) or
            ``"log-scan"`` (Heinsen's prefix sums in log space). Default: ``"fast"``.
        lengths: (B,) int64 on the CPU, each sequence's valid steps in [1, T], or ``None``.
        reverse: read each sequence backwards from its last valid step. Default: ``False``.
        cpp: for ``"fast"``: ``None`` uses the C++ kernel if it builds, ``False`` the
            pure-PyTorch ``autograd.Function``, ``True`` insists on C++. Default: ``None``.

    Returns:
        ``(output, h_n)``: output (T, B, H), zero past each length; h_n (B, H).

    Introduced in chapter 10, *Beyond the GRU*.
    """
    T, B, _ = gi.shape
    ext = None if mode != "fast" or cpp is False else extension()
    if cpp and ext is None:
        raise RuntimeError("scan: cpp=True but the C++ extension could not be built")
    if ext is not None:
        full = torch.full((B,), T, dtype=torch.int64)
        return _Fused.apply(ext, gi, h0, full if lengths is None else lengths, reverse)
    k, p = gi.chunk(2, dim=-1)  # (T, B, H) each
    mask = None
    if lengths is not None:
        mask = (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).unsqueeze(-1).to(gi.device)
        k = torch.where(mask, k, _CLOSED)  # a closed gate keeps the state through the padding
    if reverse:
        k, p = k.flip(0), p.flip(0)
    if mode == "sequential":
        out = _sequential(k, p, h0)
    elif mode == "log-scan":
        out = _log_scan(k, p, h0)
    else:
        out = _ReverseScan.apply(torch.sigmoid(k), g(p), h0)
    h_n = out[-1]
    if reverse:
        out = out.flip(0)
    return (out if mask is None else out * mask), h_n
