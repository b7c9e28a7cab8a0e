"""The fast path of :class:`grubook.GRU` and :class:`grubook.GRUCell`: which loop runs.

Three loops compute the same recurrence:

- ``"plain"``: the teaching loop, one autograd node per operation (``fast=False``);
- ``"python"``: :class:`grubook.bptt.GRUScan`, the loop with a backward through time by hand;
- ``"cpp"``: :class:`CppGRUScan`, the same loops in C++ (``grubook/csrc/gru.cpp``), built on first
  use by :func:`grubook._cpp.load_extension`. For ``reset_after=True`` it runs the *fused step*
  (each step one pass on every thread, the matmul and the gates together); inside
  :func:`fused` ``(False)`` it runs the first C++ loop (ATen's matmul, then one pass), which
  chapter 8 times beside it.

A model built with ``fast=True`` (the default) takes the C++ loop, or the pure-PyTorch one where
the extension cannot be built (after one warning). :func:`backend` falls back to the plain loop
wherever a fast one does not apply: tensors off the CPU or not float32/float64, empty tensors,
a ``TorchFunctionMode`` (such as :func:`grubook.count_calls`, which counts the plain loop's
calls), ``torch.func`` transforms, ``torch.compile`` tracing.
Introduced in chapter 8, *Making it fast*.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from grubook import _checks as checks
from grubook._cpp import load_extension
from grubook.bptt import GRUScan, _double, _forward, _mask

__all__ = ["CppGRUScan", "backend", "check_fast", "extension", "fused", "scan"]

FAST_CHOICES = (True, False, "cpp", "python")
_FLOATS = (torch.float32, torch.float64)


_fused = True  # see fused()


@contextlib.contextmanager
def fused(enabled: bool = True) -> Iterator[None]:
    """Within this block, the C++ loop runs the fused step (``True``) or the first loop (``False``).

    Both compute the same numbers (to float rounding); the first loop makes per step one ATen
    matmul and one pass over the gates, the fused step one pass that does both, on every thread.
    The choice is made when the forward runs, and its backward follows it.

    Args:
        enabled: ``False`` for the first loop.

    Example::

        >>> with grubook.fast.fused(False):
        ...     output, h_n = grubook.GRU(4, 8)(torch.randn(5, 3, 4))

    Introduced in chapter 8, *Making it fast*.
    """
    global _fused
    before, _fused = _fused, bool(enabled)
    try:
        yield
    finally:
        _fused = before


def extension():
    """The compiled ``grubook/csrc/gru.cpp`` (built on the first call), or ``None``."""
    return load_extension("gru", "gru.cpp")


def check_fast(owner: str, fast) -> bool | str:
    """Return ``fast`` if it is one of ``True``, ``False``, ``"cpp"``, ``"python"``; else raise."""
    if not any(fast is c if isinstance(c, bool) else fast == c for c in FAST_CHOICES):
        raise checks.GRUbookValueError(
            f"{owner}: fast must be True, False, 'cpp' or 'python', got {fast!r}"
        )
    return fast


def _transformed() -> bool:
    """Is a ``TorchFunctionMode``, a ``torch.func`` transform or ``torch.compile`` active?"""
    if torch._C._is_torch_function_mode_enabled():
        return True
    functorch = getattr(torch._C, "_are_functorch_transforms_active", None)
    if functorch is not None and functorch():
        return True
    return torch.compiler.is_compiling()


def backend(fast, *tensors: Tensor) -> str:
    """Which loop runs for these tensors: ``"cpp"``, ``"python"`` or ``"plain"``.

    Args:
        fast: the model's ``fast`` setting (``True``, ``False``, ``"cpp"`` or ``"python"``).
        tensors: the input and state tensors of the call.
    """
    if fast is False or _transformed():
        return "plain"
    for t in tensors:
        if not t.is_cpu or t.dtype not in _FLOATS or t.numel() == 0:
            return "plain"
    if fast == "python":
        return "python"
    return "cpp" if extension() is not None else "python"


class CppGRUScan(torch.autograd.Function):
    """:class:`grubook.bptt.GRUScan` with its loops in C++ (``grubook/csrc/gru.cpp``).

    Same arguments and results; double backward recomputes through the plain loop.

    Introduced in chapter 8, *Making it fast*.
    """

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, lengths, reverse, reset_after):
        save = any(ctx.needs_input_grad[:4])  # inference keeps nothing
        out, h, gates, hprev = extension().forward(
            gi, h0, w_hh, b_hh, lengths, reverse, reset_after, save, _fused
        )
        ctx.save_for_backward(gi, h0, w_hh, b_hh, lengths, gates, hprev)
        ctx.options = (reverse, reset_after, _fused)
        return out, h

    @staticmethod
    def backward(ctx, dout, dh):
        gi, h0, w_hh, b_hh, lengths, gates, hprev = ctx.saved_tensors
        reverse, reset_after, fused_step = ctx.options
        if torch.is_grad_enabled():  # create_graph=True: differentiate a recomputation
            return _double(ctx, (gi, h0, w_hh, b_hh), lengths, dout, dh)
        dgi, dh0, dw, db = extension().backward(
            dout, dh, gates, hprev, w_hh, lengths, reverse, reset_after, fused_step
        )
        return dgi, dh0, dw, (db if b_hh is not None else None), None, None, None


def scan(kind: str, gi, h0, w_hh, b_hh, lengths, reverse: bool, reset_after: bool):
    """Run one layer and direction with the ``"cpp"`` or ``"python"`` loop.

    Args:
        kind: ``"cpp"`` or ``"python"``, as :func:`backend` chose.
        gi: (T, B, 3H), the input projection ``W_ih x_t + b_ih`` of every step.
        h0: (B, H), the initial state.
        w_hh: (3H, H), the hidden weights.
        b_hh: (3H,) or ``None``.
        lengths: (B,) int64 on the CPU, or ``None`` for full-length sequences.
        reverse: run from the last step to the first.
        reset_after: the formulation (see :class:`grubook.GRUCell`).

    Returns:
        ``(out (T, B, H), h_T (B, H))``, as the plain loop returns them.
    """
    if not needs_grad(gi, h0, w_hh, b_hh):  # inference: no autograd node, nothing saved
        if kind == "cpp":
            out, h, _, _ = extension().forward(
                gi, h0, w_hh, b_hh, lengths, reverse, reset_after, False, _fused
            )
            return out, h
        mask = None if lengths is None else _mask(lengths, gi)
        return _forward(gi, h0, w_hh, b_hh, mask, reverse, reset_after, save=False)[:2]
    function = CppGRUScan if kind == "cpp" else GRUScan
    return function.apply(gi, h0, w_hh, b_hh, lengths, reverse, reset_after)


def needs_grad(*tensors: Tensor | None) -> bool:
    """Will autograd record this call (grad mode on and some tensor requires grad)?"""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
