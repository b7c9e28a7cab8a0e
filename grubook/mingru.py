r"""minGRU: the GRU with the hidden state taken out of its gates, so that training runs as a scan.

Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201: section 3.1 derives minGRU from
the GRU (no reset gate, gates and candidate from :math:`x_t` only, no tanh), appendix B.3 its
log-space form with the positive candidate :math:`g`. The recurrence itself lives in
:mod:`grubook.scan`. Introduced in chapter 10, *Beyond the GRU*.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from grubook import _checks as checks
from grubook.recurrent import RecurrentLayer
from grubook.scan import MODES, scan

__all__ = ["MinGRU"]


class MinGRU(RecurrentLayer):
    r"""A multi-layer minGRU over a sequence, called like :class:`grubook.GRU`.

    For each element of the input sequence each layer computes, for :math:`t = 1 \dots T`,

    .. math::
        z_t &= \sigma(W_{z} x_t + b_{z}) \\
        \tilde h_t &= g(W_{h} x_t + b_{h}) \\
        h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    where :math:`x_t` is the input at step t (the layer below's output, plus its input with
    ``residual``, for layers above the first), :math:`z_t` the update gate, :math:`\tilde h_t`
    the candidate and :math:`g(a) = a + \tfrac12` for :math:`a \ge 0`, :math:`\sigma(a)`
    otherwise (:func:`grubook.scan.g`). Neither :math:`z_t` nor :math:`\tilde h_t` reads
    :math:`h_{t-1}`: that is what lets the recurrence run as a prefix scan.

    Args:
        input_size: I, features of the input.
        hidden_size: H, features of the hidden state.
        num_layers: L, stacked layers; layer l + 1 reads layer l's hidden states, so its gates
            depend on the past through them. Default: 1.
        bias: use ``bias_ih``. Default: ``True``.
        batch_first: input and output are (B, T, ·) instead of (T, B, ·). Default: ``False``.
        dropout: dropout on the outputs of every layer but the last, in training. Default: 0.
        bidirectional: add a second direction that reads the sequence backwards. Default: ``False``.
        residual: add each layer's input to its output where their sizes agree (layers above the
            first), as deep stacks commonly do.
            Keyword only. Default: ``False``.
        mode: ``"fast"`` (a fused C++ loop per direction, pure PyTorch where it cannot be built),
            ``"sequential"`` (one ``lerp`` per step: the reference) or ``"log-scan"`` (Heinsen's
            log-space prefix sums). The attribute can be changed after creation; all modes share
            the parameters. Keyword only. Default: ``"fast"``.
        device: where to create the parameters. Default: PyTorch's default device.
        dtype: the parameters' dtype. Default: PyTorch's default dtype.

    Inputs: input, h0, lengths
        - **input** (T, B, I), (B, T, I) with ``batch_first``, (T, I) unbatched, or a
          ``PackedSequence``.
        - **h0** (L*D, B, H) or (L*D, H): the initial hidden state; zeros if ``None``. Also
          accepted as ``hx=``.
        - **lengths** (B,) ints in [1, T], or ``None`` for full-length sequences.

    Outputs: output, h_n
        - **output** (T, B, D*H): the last layer's hidden state at every step, zero past each
          sequence's length.
        - **h_n** (L*D, B, H): each layer's and direction's state after each sequence's own last
          step.

    Attributes:
        - **weight_ih_l[k]** (2H, I) for k = 0, else (2H, D*H): rows ``(W_z|W_h)``.
        - **bias_ih_l[k]** (2H,): ``(b_z|b_h)``. The reverse direction's have the suffix
          ``_reverse``. All start from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.

    Note:
        The candidate goes through :math:`g`, the paper's log-space choice, in every mode (so
        the modes compute one function): it keeps :math:`\tilde h_t > 0` and grows linearly
        for large pre-activations where the GRU's tanh saturates.

    Example::

        >>> model = MinGRU(4, 8, num_layers=2)
        >>> output, h_n = model(torch.randn(5, 3, 4), lengths=[5, 2, 3])   # (5, 3, 8), (2, 3, 8)

    Introduced in chapter 10, *Beyond the GRU*.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        residual: bool = False,
        mode: str = "fast",
    ) -> None:
        residual = checks.check_flag("MinGRU", "residual", residual)
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
            gate_count=2,
        )
        self.residual, self.mode = residual, mode

    def __setattr__(self, name, value):
        if name == "mode":
            value = checks.check_choice("MinGRU", "mode", value, MODES)
        super().__setattr__(name, value)

    def _create_weights(self, G: int, kw: dict) -> list[list[str]]:
        """The GRU's weights in nn.GRU's order, less the hidden-to-hidden ones minGRU lacks."""
        names = super()._create_weights(G, kw)
        for name in [n for group in names for n in group if "_hh" in n]:
            delattr(self, name)
        return [[n for n in group if "_hh" not in n] for group in names]

    def _run(self, input: Tensor | PackedSequence, hx, lengths, record: bool = False):
        """Forward pass: the layers and directions, each one :func:`grubook.scan.scan`."""
        x, h0, lengths, batched = self._prepare(input, hx, lengths)
        layer_input, h_n, D = x, [], self.num_directions
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                w_ih, _, b_ih, _ = self._weights(layer, direction)
                gi = torch.nn.functional.linear(layer_input, w_ih, b_ih)  # (T, B, 2H)
                h = h0[layer * D + direction]
                out, h_last = scan(gi, h, self.mode, lengths, reverse=direction == 1)
                outputs.append(out)
                h_n.append(h_last)
            output = outputs[0] if D == 1 else torch.cat(outputs, dim=-1)  # (T, B, D*H)
            if self.residual and layer > 0 and output.shape[-1] == layer_input.shape[-1]:
                output = output + layer_input
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                output = torch.nn.functional.dropout(output, self.dropout, training=True)
            layer_input = output
        output = self._restore_layout(layer_input, input, lengths, batched)
        h_n = torch.stack(h_n)  # (L*D, B, H)
        return output, (h_n if batched else h_n.squeeze(1)), []

    def to_torch(self):
        """Refuse: ``torch.nn`` has no minGRU."""
        raise checks.GRUbookValueError("MinGRU.to_torch: torch.nn has no minGRU")

    @classmethod
    def from_torch(cls, module):
        """Refuse: ``torch.nn`` has no minGRU."""
        raise checks.GRUbookValueError("MinGRU.from_torch: torch.nn has no minGRU")

    def extra_repr(self) -> str:
        s = super().extra_repr()
        s += ", residual=True" if self.residual else ""
        return s + (f", mode={self.mode!r}" if self.mode != "fast" else "")
