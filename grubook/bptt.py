r"""The GRU's backward through time written by hand, as a ``torch.autograd.Function``.

Autograd over the plain loop records about twenty small operations a step and walks them back one
by one; at the book's sizes their fixed cost outweighs the arithmetic. :class:`GRUScan` runs the
same recurrence with autograd switched off, keeps what the backward needs (r, z, n, and
:math:`W_{hn} h + b_{hn}` or :math:`r \odot h`, and each step's :math:`h_{t-1}`), and computes the
gradients itself: per step a few whole-tensor operations and one matmul, and the weight gradients
as one large matmul each after the loop. It is chapter 1's backpropagation through time for the
GRU (Werbos, "Backpropagation through time: what it does and how to do it", Proc. IEEE 1990).
The C++ extension (``grubook/csrc/gru.cpp``) runs the same loops. Introduced in chapter 8,
*Making it fast*.
"""

from __future__ import annotations

import torch
from torch import Tensor

from grubook import cell  # cell.py imports this module's users: the module, not the name

__all__ = ["GRUScan", "reference_scan"]


def reference_scan(gi, h0, w_hh, b_hh, lengths, reverse: bool, reset_after: bool):
    """The plain autograd loop over time: ``(out (T, B, H), h_T (B, H))`` from gi (T, B, 3H).

    Args:
        gi: (T, B, 3H), the input projection of every step, gates (r | z | n).
        h0: (B, H), the initial hidden state.
        w_hh: (3H, H), the hidden-to-hidden weights.
        b_hh: (3H,), the hidden bias, or ``None``.
        lengths: (B,) valid steps of each sequence, or ``None`` (all T).
        reverse: run from each sequence's last valid step back to its first.
        reset_after: the formulation (see :class:`grubook.GRUCell`).
    """
    T = gi.shape[0]
    mask = None if lengths is None else _mask(lengths, gi).bool()  # (T, B, 1)
    h, outputs = h0, [gi] * T
    for t in range(T - 1, -1, -1) if reverse else range(T):
        h_next, _, _ = cell.gru_step(gi[t], h, w_hh, b_hh, reset_after)
        h = h_next if mask is None else torch.where(mask[t], h_next, h)
        outputs[t] = h_next if mask is None else torch.where(mask[t], h_next, 0.0)
    return torch.stack(outputs), h


def _mask(lengths: Tensor, like: Tensor) -> Tensor:
    """(T, B, 1) floats of ``like``'s dtype: 1 where step t is inside sequence b."""
    steps = torch.arange(like.shape[0], device=like.device).unsqueeze(1)  # (T, 1)
    return (steps < lengths.to(like.device)).unsqueeze(-1).to(like.dtype)


def _forward(gi, h0, w_hh, b_hh, mask, reverse, reset_after, save=True):
    """The loop, without autograd; returns out, h_T and the saved (T, B, ·) tensors.

    Each step is a handful of whole-tensor calls (every Python call costs microseconds):
    one matmul, the sigmoid of r and z together, the candidate, and ``lerp`` for
    :math:`n + z (h - n)`. Every call writes with ``out=`` into step t of a tensor allocated
    before the loop, so nothing is stacked afterwards; inference reuses one step's buffers.
    """
    T, B, G = gi.shape
    H = G // 3
    gi_rz, gi_n = gi[..., : 2 * H].unbind(0), gi[..., 2 * H :]
    b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
    if not reset_after and b_n is not None:
        gi_n = gi_n + b_n  # W_in x + b_in + b_hn for every step at once
    gi_n = gi_n.unbind(0)
    w_t, w_rz_t, w_n_t = w_hh.t(), w_hh[: 2 * H].t(), w_hh[2 * H :].t()
    kept = T if save else 1  # steps whose intermediates are kept

    def steps(x):  # step t of x, or its one step (inference)
        views = x.unbind(0)
        return views if save else views * T

    gh_all = gi.new_empty(kept, B, (3 if reset_after else 2) * H)  # W_hh h (+ b_hh)
    rz = gi.new_empty(kept, B, 2 * H)  # r and z
    n = gi.new_empty(kept, B, H)
    extra = gh_all[..., 2 * H :] if reset_after else gi.new_empty(kept, B, H)  # ghn, or r h
    gh = steps(gh_all)
    rz_t, r_t, z_t = steps(rz), steps(rz[..., :H]), steps(rz[..., H:])
    n_t, extra_t, gh_rz = steps(n), steps(extra), [g[:, : 2 * H] for g in gh]
    out = gi.new_empty(T, B, H)
    out_t = out.unbind(0)
    h, hprev = h0, [None] * T
    on = None if mask is None else mask.bool().unbind(0)
    for t in range(T - 1, -1, -1) if reverse else range(T):
        hprev[t] = h
        if reset_after:
            if b_hh is None:
                torch.mm(h, w_t, out=gh[t])
            else:
                torch.addmm(b_hh, h, w_t, out=gh[t])  # (B, 3H); its last H: W_hn h + b_hn
            torch.add(gi_rz[t], gh_rz[t], out=rz_t[t]).sigmoid_()  # r and z together
            torch.addcmul(gi_n[t], r_t[t], extra_t[t], out=n_t[t]).tanh_()
        else:
            if b_rz is None:
                torch.mm(h, w_rz_t, out=gh[t])
            else:
                torch.addmm(b_rz, h, w_rz_t, out=gh[t])  # (B, 2H)
            torch.add(gi_rz[t], gh[t], out=rz_t[t]).sigmoid_()
            torch.mul(r_t[t], h, out=extra_t[t])  # r * h
            torch.addmm(gi_n[t], extra_t[t], w_n_t, out=n_t[t]).tanh_()
        h_new = torch.lerp(n_t[t], h, z_t[t], out=out_t[t])  # n + z (h - n) = (1 - z) n + z h
        h = h_new if on is None else torch.where(on[t], h_new, h)  # keep h past the end
    if mask is not None:
        out.mul_(mask)
    if not save:  # inference: only the outputs
        return out, h, ()
    return out, h, (rz, n, extra, torch.stack(hprev))


def _factors(rz, n, extra, hprev, mask, reset_after):
    """The per-step factors of the backward, for all steps at once, in few (T, B, ·) tensors.

    With u = dL/dh_t: dn = u * A, dz = u * Bz, and dL/dh_{t-1} gets u * keep. Each large
    temporary costs page faults, so the products are built in place.
    """
    H = n.shape[-1]
    r, z = rz[..., :H], rz[..., H:]
    one_minus_z = 1 - z
    A = (n * n).neg_().add_(1).mul_(one_minus_z)  # (1 - z)(1 - n^2)
    K = torch.empty(*n.shape[:-1], 3 * H, dtype=n.dtype, device=n.device) if reset_after else None
    Bz = hprev - n if K is None else torch.sub(hprev, n, out=K[..., H : 2 * H])
    Bz.mul_(z).mul_(one_minus_z)  # (h - n) z (1 - z)
    keep = z
    if mask is not None:
        A.mul_(mask)
        Bz.mul_(mask)
        keep = z * mask + (1 - mask)  # a masked step passes u through
    if K is None:
        return A, Bz, keep, None
    torch.mul(A, r, out=K[..., 2 * H :])  # dL/d(ghn) = dn * r
    dr = torch.mul(K[..., 2 * H :], extra, out=K[..., :H])
    dr.addcmul_(dr, r, value=-1)  # dr = dn ghn r (1 - r)
    return A, Bz, keep, K


def _backward(dout, dh, saved, w_hh, mask, reverse, reset_after):
    """BPTT by hand; returns dgi (T, B, 3H), dh_0, dW_hh, db_hh."""
    rz, n, extra, hprev = saved
    T, B, H = n.shape
    A, Bz, keep, K = _factors(rz, n, extra, hprev, mask, reset_after)
    keep = keep.unbind(0)
    dout = (dout if mask is None else dout * mask).unbind(0)
    dg = n.new_empty(T, B, 3 * H)  # dL/d(gh), the hidden matmul's output, step by step
    us = n.new_empty(T, B, H)  # u = dL/dh_t of every step
    dg_t, u_t = dg.unbind(0), us.unbind(0)
    w_rz, w_n = w_hh[: 2 * H], w_hh[2 * H :]
    if reset_after:  # dL/d(gh) = u * (A r(1-r) ghn, Bz, A r) in one product
        K = K.view(T, B, 3, H).unbind(0)
    else:
        r = rz[..., :H]
        A_, Bz_, E, r_ = A.unbind(0), Bz.unbind(0), (hprev * r * (1 - r)).unbind(0), r.unbind(0)
        dr_t, dz_t, dn_t = (dg[..., i * H : (i + 1) * H].unbind(0) for i in range(3))
        drz_t = dg[..., : 2 * H].unbind(0)
    for t in range(T) if reverse else range(T - 1, -1, -1):
        u = torch.add(dh, dout[t], out=u_t[t])
        if reset_after:
            torch.mul(K[t], u.unsqueeze(1), out=dg_t[t].view(B, 3, H))  # (B, 3H)
            dh = torch.addmm(u * keep[t], dg_t[t], w_hh)
        else:
            dn = torch.mul(u, A_[t], out=dn_t[t])
            drh = dn @ w_n  # dL/d(r * h)
            torch.mul(drh, E[t], out=dr_t[t])
            torch.mul(u, Bz_[t], out=dz_t[t])
            dh = torch.addmm(torch.addcmul(u * keep[t], drh, r_[t]), drz_t[t], w_rz)
    flat_g, flat_h = dg.view(T * B, 3 * H), hprev.reshape(T * B, H)
    db = flat_g.sum(0)
    if reset_after:
        dw = flat_g.t() @ flat_h  # (3H, H): one matmul for all steps
        torch.mul(us, A, out=dg[..., 2 * H :])  # now dL/d(gi): dn, not dn * r
        return dg, dh, dw, db
    rh = extra.reshape(T * B, H)
    dw = torch.cat([flat_g[:, : 2 * H].t() @ flat_h, flat_g[:, 2 * H :].t() @ rh])
    return dg, dh, dw, db


class GRUScan(torch.autograd.Function):
    """One layer and direction of the GRU over time, with its backward through time by hand.

    ``GRUScan.apply(gi, h0, w_hh, b_hh, lengths, reverse, reset_after)`` returns
    ``(out (T, B, H), h_T (B, H))`` as the plain loop does (zero outputs, and the state kept,
    past each sequence's length). ``gi`` (T, B, 3H) is the input projection of every step;
    ``b_hh`` and ``lengths`` may be ``None``. Double backward (``create_graph=True``) recomputes
    through :func:`reference_scan`, so it is correct, at the plain loop's speed.

    Introduced in chapter 8, *Making it fast*.
    """

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, lengths, reverse, reset_after):
        mask = None if lengths is None else _mask(lengths, gi)
        save = any(ctx.needs_input_grad[:4])  # inference keeps nothing
        out, h, saved = _forward(gi, h0, w_hh, b_hh, mask, reverse, reset_after, save)
        ctx.save_for_backward(gi, h0, w_hh, b_hh, lengths, *saved)
        ctx.options = (reverse, reset_after)
        return out, h

    @staticmethod
    def backward(ctx, dout, dh):
        gi, h0, w_hh, b_hh, lengths, *saved = ctx.saved_tensors
        reverse, reset_after = ctx.options
        if torch.is_grad_enabled():  # create_graph=True: differentiate a recomputation
            return _double(ctx, (gi, h0, w_hh, b_hh), lengths, dout, dh)
        mask = None if lengths is None else _mask(lengths, gi)
        dgi, dh0, dw, db = _backward(dout, dh, saved, w_hh, mask, reverse, reset_after)
        return dgi, dh0, dw, (db if b_hh is not None else None), None, None, None


def _double(ctx, inputs, lengths, dout, dh):
    """Gradients that autograd can differentiate again: the plain loop, rerun and differentiated."""
    reverse, reset_after = ctx.options[:2]
    wanted = [x for x, need in zip(inputs, ctx.needs_input_grad[:4], strict=True) if need]
    out, h = reference_scan(*inputs, lengths, reverse, reset_after)
    found = iter(torch.autograd.grad((out, h), wanted, (dout, dh), create_graph=True))
    grads = [next(found) if need else None for need in ctx.needs_input_grad[:4]]
    return (*grads, None, None, None)
