"""The time loop shared by the book's recurrent layers: parameters, checks, masking, packing.

:class:`grubook.GRU` and :class:`grubook.RNN` differ only in their step; everything around it
(parameters named like ``torch.nn.RNNBase``'s, argument checks, one matmul for the input projection
of all steps, per-sequence lengths, ``PackedSequence`` in and out, stacked layers and directions)
lives here. Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from grubook import _checks as checks

__all__ = ["RecurrentLayer"]


class RecurrentLayer(nn.Module):
    """Shared machinery of :class:`grubook.GRU` and :class:`grubook.RNN`: parameters, checks, loop.

    A subclass sets ``gate_count`` (3 for the GRU, 1 for the Elman RNN) and implements
    ``_step(gi, h, weight_hh, bias_hh) -> (h_next, gates)``.
    """

    gate_count = 1

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
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = checks.check_size(name, "input_size", input_size)
        self.hidden_size = checks.check_size(name, "hidden_size", hidden_size)
        self.num_layers = checks.check_size(name, "num_layers", num_layers)
        self.dropout = checks.check_probability(name, "dropout", dropout)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"{name}: dropout={self.dropout} acts between layers, so it has no effect with "
                f"num_layers=1",
                stacklevel=3,  # the user's GRU(...) or RNN(...) call
            )
        kw = {"device": device, "dtype": dtype}
        D, H, G = self.num_directions, self.hidden_size, self.gate_count
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else D * H
            for direction in range(D):
                sfx = self._suffix(layer, direction)
                # Registration order = nn.GRU's, so one seed gives the same initial weights.
                setattr(
                    self, f"weight_ih{sfx}", nn.Parameter(torch.empty(G * H, layer_input, **kw))
                )
                setattr(self, f"weight_hh{sfx}", nn.Parameter(torch.empty(G * H, H, **kw)))
                if self.bias:
                    setattr(self, f"bias_ih{sfx}", nn.Parameter(torch.empty(G * H, **kw)))
                    setattr(self, f"bias_hh{sfx}", nn.Parameter(torch.empty(G * H, **kw)))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        """D: 2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction == 1 else "")

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in nn.GRU's order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def _weights(
        self, layer: int, direction: int
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        sfx = self._suffix(layer, direction)
        get = lambda name: getattr(self, f"{name}{sfx}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _step(self, gi: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None):
        raise NotImplementedError

    def forward(
        self, input: Tensor | PackedSequence, h0: Tensor | None = None, lengths=None
    ) -> tuple[Tensor | PackedSequence, Tensor]:
        output, h_n, _ = self._run(input, h0, lengths, record=False)
        return output, h_n

    def _prepare(self, input, h0, lengths):
        """Check the arguments; return time-first x (T, B, I), h0 (L*D, B, H), lengths, batched."""
        name = type(self).__name__
        param = self.weight_ih_l0
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError(
                    f"{name}: a PackedSequence carries its own lengths; pass lengths=None"
                )
            checks.check_float_input(name, "input", input.data, param)
            x, lengths = pad_packed_sequence(input)  # (T, B, I), lengths in the original order
            batched = True
        else:
            checks.check_tensor(name, "input", input)
            checks.check_float_input(name, "input", input, param)
            if input.dim() not in (2, 3):
                dims = "(B, T, I)" if self.batch_first else "(T, B, I)"
                raise ValueError(
                    f"{name}: expected input of shape {dims} or (T, I) for one unbatched sequence, "
                    f"got {input.dim()}-D input of shape {tuple(input.shape)}"
                )
            batched = input.dim() == 3
            if not batched:
                x = input.unsqueeze(1)  # (T, 1, I)
            else:
                x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        T, B, I = x.shape
        if I != self.input_size:
            raise ValueError(
                f"{name}: input has {I} features, expected input_size={self.input_size}"
            )
        if T == 0:
            raise ValueError(f"{name}: input has T=0 steps; a sequence needs at least one step")
        if B == 0:
            raise ValueError(f"{name}: input has a batch of B=0 sequences")
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        if h0 is None:
            h0 = x.new_zeros(LD, B, H)
        else:
            checks.check_tensor(name, "h0", h0)
            checks.check_float_input(name, "h0", h0, param)
            if batched:
                checks.check_shape(name, "h0", h0, (LD, B, H), "(L*D, B, H)")
            else:
                checks.check_shape(name, "h0", h0, (LD, H), "(L*D, H)")
                h0 = h0.unsqueeze(1)  # (L*D, 1, H)
        if lengths is not None:
            lengths = checks.check_lengths(name, lengths, B, T)
        return x, h0, lengths, batched

    def _scan(self, gi, h, weight_hh, bias_hh, mask, reverse: bool, record: bool):
        """Loop over time; return outputs (T, B, H), the final state (B, H) and per-step gates."""
        T = gi.shape[0]
        outputs: list[Tensor] = [gi] * T
        gates: list[tuple[Tensor, ...]] = [()] * T
        for t in range(T - 1, -1, -1) if reverse else range(T):
            h_next, g = self._step(gi[t], h, weight_hh, bias_hh)
            if mask is None:
                h, outputs[t] = h_next, h_next
            else:  # past a sequence's end: keep its state, emit zeros
                h = torch.where(mask[t], h_next, h)
                outputs[t] = torch.where(mask[t], h_next, 0.0)
                g = tuple(torch.where(mask[t], a, 0.0) for a in g)
            if record:
                gates[t] = g
        return torch.stack(outputs), h, gates

    def _run(self, input, h0, lengths, record: bool):
        x, h0, lengths, batched = self._prepare(input, h0, lengths)
        T, B, _ = x.shape
        mask = None
        if lengths is not None:
            steps = torch.arange(T).unsqueeze(1)  # (T, 1)
            mask = (steps < lengths.unsqueeze(0)).unsqueeze(-1).to(x.device)  # (T, B, 1)
        D = self.num_directions
        layer_input, h_n, traces = x, [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
                gi = torch.nn.functional.linear(layer_input, w_ih, b_ih)  # (T, B, G*H), one matmul
                out, h_last, gates = self._scan(
                    gi, h0[layer * D + direction], w_hh, b_hh, mask, direction == 1, record
                )
                outputs.append(out)
                h_n.append(h_last)
                traces.append(gates)
            layer_input = torch.cat(outputs, dim=-1) if D == 2 else outputs[0]  # (T, B, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = torch.nn.functional.dropout(layer_input, self.dropout, training=True)
        output, h_n = layer_input, torch.stack(h_n)  # (T, B, D*H), (L*D, B, H)
        if isinstance(input, PackedSequence):
            order = input.sorted_indices
            sorted_out = output if order is None else output.index_select(1, order)
            sorted_len = lengths if order is None else lengths[order.cpu()]
            data = pack_padded_sequence(sorted_out, sorted_len, enforce_sorted=True).data
            output = PackedSequence(
                data, input.batch_sizes, input.sorted_indices, input.unsorted_indices
            )
        elif not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)  # (T, D*H), (L*D, H)
        elif self.batch_first:
            output = output.transpose(0, 1)  # (B, T, D*H)
        return output, h_n, traces

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for key, default in (("num_layers", 1), ("bias", True), ("batch_first", False)):
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s
