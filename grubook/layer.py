"""A multi-layer, optionally bidirectional GRU that computes its own recurrence.

Parameters are named and shaped exactly like ``torch.nn.GRU``'s, so a ``state_dict`` moves both
ways. The forward pass projects the inputs of all T steps with one matmul, then loops over time
with one fused hidden matmul per step (what PyTorch's CPU kernel does, pytorch
``aten/src/ATen/native/RNN.cpp``). Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from grubook import _checks as checks
from grubook import fast as fastpath
from grubook.cell import gru_step
from grubook.recurrent import RecurrentLayer

__all__ = ["GRU", "GateTrace"]


class GateTrace(NamedTuple):
    """Gate activations of every step, as returned by :meth:`GRU.gates`; time-first.

    Steps past a sequence's length hold zeros. Introduced in chapter 1, *Recurrent networks*
    (the update gate's mean); chapter 4, *Gating*, studies both.

    Args:
        r: the reset gate :math:`r_t` of every step, (L, D, T, B, H): layer, direction, step,
            sequence, unit.
        z: the update gate :math:`z_t` of every step, (L, D, T, B, H).
    """

    r: Tensor
    z: Tensor


class GRU(RecurrentLayer):
    r"""A multi-layer gated recurrent unit over a sequence, interchangeable with ``torch.nn.GRU``.

    For each element of the input sequence each layer computes, for :math:`t = 1 \dots T`,

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh\big(W_{in} x_t + b_{in} \\
            &\qquad {} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    where :math:`x_t` is the input at step t (the previous layer's output for layers above the
    first), :math:`h_{t-1}` the hidden state (``hx`` at t = 1), and :math:`r_t`, :math:`z_t`,
    :math:`n_t` the reset gate, update gate and candidate. With ``reset_after=False`` (Cho et al.
    2014) the candidate is

    .. math::
        n_t &= \tanh\big(W_{in} x_t + b_{in} \\
            &\qquad {} + W_{hn} (r_t \odot h_{t-1}) + b_{hn}\big)

    Args:
        input_size: I, features of the input.
        hidden_size: H, features of the hidden state.
        num_layers: L, stacked GRU layers. Default: 1.
        bias: use ``b_ih`` and ``b_hh``. Default: ``True``.
        batch_first: input and output are (B, T, ·) instead of (T, B, ·); ``hx``/``h_n`` are not
            affected. Default: ``False``.
        dropout: dropout on the outputs of every layer but the last, in training. Default: 0.
        bidirectional: add a second direction that reads the sequence backwards. Default: ``False``.
        proj_size: only 0: projections are an LSTM option (``nn.GRU`` refuses them too).
        device: where to create the parameters. Default: PyTorch's default device.
        dtype: the parameters' dtype. Default: PyTorch's default dtype.
        reset_after: reset gate after the hidden matmul (``True``, as ``nn.GRU``) or before it
            (``False``, Cho et al.). Keyword only. Default: ``True``.
        fast: which loop runs: ``True``, the C++ extension with a hand-written backward through
            time (built on first use; the pure-PyTorch one if it cannot be built), ``"cpp"`` or
            ``"python"`` to pick one, ``False`` for the plain autograd loop of chapter 2. Where
            the fast loops do not apply (see :mod:`grubook.fast`) the plain one runs. Keyword
            only; also an attribute. Default: ``True``.

    Inputs: input, hx, lengths
        - **input** (T, B, I), (B, T, I) with ``batch_first``, (T, I) unbatched, or a
          ``PackedSequence`` (then the output is one too).
        - **hx** (L*D, B, H) or (L*D, H): the initial hidden state :math:`h_0`; zeros if
          ``None``. Also accepted as ``h0=``, the name the equations give it.
        - **lengths** (B,) ints in [1, T], or ``None`` for full-length sequences: the book's
          extension, an alternative to packing.

    Outputs: output, h_n
        - **output** (T, B, D*H): the last layer's hidden state at every step, zero past each
          sequence's length.
        - **h_n** (L*D, B, H): each layer's and direction's state after each sequence's own last
          step (for the reverse direction: after reading back to step 1).

    Attributes:
        - **weight_ih_l[k]** (3H, I) for k = 0, else (3H, D*H): rows ``(W_ir|W_iz|W_in)``.
        - **weight_hh_l[k]** (3H, H): ``(W_hr|W_hz|W_hn)``.
        - **bias_ih_l[k]**, **bias_hh_l[k]** (3H,).

        The reverse direction's have the suffix ``_reverse``. All start from
        :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`, as in ``nn.GRU``.

    Example::

        >>> gru = GRU(4, 8, num_layers=2)
        >>> output, h_n = gru(torch.randn(5, 3, 4))   # (T, B, H) = (5, 3, 8); (L, B, H) = (2, 3, 8)
        >>> output, h_n = gru(torch.randn(5, 3, 4), lengths=[5, 2, 3])

    Introduced in chapter 2, *The GRU cell*; :meth:`gates` in chapter 1, *Recurrent networks*.
    """

    torch_class = nn.GRU

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        reset_after: bool = True,
        fast: bool | str = True,
    ) -> None:
        reset_after = checks.check_flag("GRU", "reset_after", reset_after)
        fast = fastpath.check_fast("GRU", fast)
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
            gate_count=3,
        )
        self.reset_after = reset_after
        self.fast = fast

    def _scan(self, gi, h, weight_hh, bias_hh, mask, reverse: bool, record: bool):
        custom = type(self)._step is not GRU._step or "_step" in vars(self)  # a changed step
        kind = "plain" if record or custom else fastpath.backend(getattr(self, "fast", True), gi, h)
        if kind == "plain":
            return super()._scan(gi, h, weight_hh, bias_hh, mask, reverse, record)
        lengths = None if mask is None else mask[:, :, 0].sum(0)  # (B,) int64
        out, h_last = fastpath.scan(
            kind, gi, h, weight_hh, bias_hh, lengths, reverse, self.reset_after
        )
        return out, h_last, []

    def _step(self, gi, h, weight_hh, bias_hh):
        h_next, r, z = gru_step(gi, h, weight_hh, bias_hh, self.reset_after)
        return h_next, (r, z)

    def gates(
        self,
        input: Tensor | PackedSequence,
        hx: Tensor | None = None,
        lengths=None,
        *,
        h0: Tensor | None = None,
    ) -> GateTrace:
        """Run the GRU and return the reset and update gates of every step, layer and direction.

        Args:
            input: x, as for :meth:`forward`: (T, B, I), (B, T, I) with ``batch_first``, (T, I)
                unbatched, or a ``PackedSequence``.
            hx: the initial hidden state :math:`h_0`, (L*D, B, H) or (L*D, H); zeros if ``None``.
            lengths: (B,) ints in [1, T], each sequence's number of valid steps, or ``None``.
            h0: the same argument as ``hx``, under the book's name (pass one of the two).

        Returns:
            A :class:`GateTrace` ``(r, z)`` of two (L, D, T, B, H) tensors, time-first whatever
            the input's layout (B = 1 for unbatched input), zero past each sequence's length.

        Introduced in chapter 1, *Recurrent networks*; studied in chapter 4, *Gating*.
        """
        hx = checks.pick_state("GRU", hx, "h0", h0)
        _, _, traces = self._run(input, hx, lengths, record=True)
        L, D = self.num_layers, self.num_directions
        r = torch.stack([torch.stack([g[0] for g in trace]) for trace in traces])  # (L*D, T, B, H)
        z = torch.stack([torch.stack([g[1] for g in trace]) for trace in traces])
        return GateTrace(r.unflatten(0, (L, D)), z.unflatten(0, (L, D)))

    def extra_repr(self) -> str:
        s = super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
        return s + ("" if getattr(self, "fast", True) is True else f", fast={self.fast!r}")
