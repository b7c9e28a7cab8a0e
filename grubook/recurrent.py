"""The time loop shared by the book's recurrent layers: parameters, checks, masking, packing.

:class:`grubook.GRU` and :class:`grubook.RNN` differ only in their step; everything around it
(parameters named like ``torch.nn.RNNBase``'s, argument checks, one matmul for the input projection
of all steps, per-sequence lengths, ``PackedSequence`` in and out, stacked layers and directions)
lives here. Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from grubook import _checks as checks
from grubook.base import TorchConvertible, reset_uniform
from grubook.masks import length_mask

__all__ = ["RecurrentLayer"]


class RecurrentLayer(TorchConvertible, nn.Module):
    """Shared machinery of :class:`grubook.GRU` and :class:`grubook.RNN`: parameters, checks, loop.

    The arguments are ``torch.nn.RNNBase``'s, plus ``gate_count`` (G: 3 for the GRU, 1 for the
    Elman RNN), the number of stacked (H, ·) blocks in each weight. A subclass implements
    ``_step(gi, h, weight_hh, bias_hh) -> (h_next, gates)``.
    """

    torch_options = (
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
    )

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
        gate_count: int,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if proj_size != 0:
            raise checks.GRUbookValueError(
                f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU, "
                f"got proj_size={proj_size!r}"
            )
        self.proj_size = 0
        self.input_size = checks.check_size(name, "input_size", input_size)
        self.hidden_size = checks.check_size(name, "hidden_size", hidden_size)
        self.num_layers = checks.check_size(name, "num_layers", num_layers)
        self.dropout = checks.check_probability(name, "dropout", dropout)
        self.bias = checks.check_flag(name, "bias", bias)
        self.batch_first = checks.check_flag(name, "batch_first", batch_first)
        self.bidirectional = checks.check_flag(name, "bidirectional", bidirectional)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"{name}: dropout={self.dropout} acts between layers, so it has no effect with "
                f"num_layers=1",
                stacklevel=3,  # the user's GRU(...) or RNN(...) call
            )
        self._all_weights = self._create_weights(gate_count, {"device": device, "dtype": dtype})
        self.reset_parameters()

    def _create_weights(self, G: int, kw: dict) -> list[list[str]]:
        """Register every layer's and direction's weights in nn.GRU's order; return their names."""
        D, H, names = self.num_directions, self.hidden_size, []
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else D * H
            for direction in range(D):
                sfx = self._suffix(layer, direction)
                shapes = {"weight_ih": (G * H, layer_input), "weight_hh": (G * H, H)}
                if self.bias:
                    shapes.update({"bias_ih": (G * H,), "bias_hh": (G * H,)})
                for kind, shape in shapes.items():
                    setattr(self, kind + sfx, nn.Parameter(torch.empty(shape, **kw)))
                names.append([kind + sfx for kind in shapes])
        return names

    @property
    def num_directions(self) -> int:
        """D: 2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters of each layer and direction, as in ``nn.GRU``: a list of L*D lists
        ``[weight_ih, weight_hh, bias_ih, bias_hh]`` (the biases only with ``bias=True``)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Do nothing, as there is nothing to flatten; present so that code for nn.GRU runs.

        ``nn.GRU`` copies its weights into one contiguous buffer for cuDNN (and code calls this
        after moving a model between devices); grubook calls no cuDNN kernel and keeps each
        weight as its own tensor, so there is nothing to compact.
        """

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction == 1 else "")

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in nn.GRU's order."""
        reset_uniform(self, self.hidden_size)

    def _weights(self, layer: int, direction: int) -> list[Tensor | None]:
        sfx = self._suffix(layer, direction)
        return [
            getattr(self, kind + sfx, None)
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]

    def _step(self, gi: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None):
        raise NotImplementedError

    def forward(
        self,
        input: Tensor | PackedSequence,
        hx: Tensor | None = None,
        lengths=None,
        *,
        h0: Tensor | None = None,
    ) -> tuple[Tensor | PackedSequence, Tensor]:
        """Run the layers over the sequence; return the last layer's states and the final ones.

        Args:
            input: x, (T, B, I), (B, T, I) with ``batch_first``, (T, I) for one unbatched
                sequence, or a ``PackedSequence`` (then the output is one too).
            hx: :math:`h_0`, the initial hidden state, (L*D, B, H), or (L*D, H) unbatched;
                zeros if ``None``. ``batch_first`` does not apply to it.
            lengths: (B,) ints in [1, T], each sequence's number of valid steps (the book's
                extension: PyTorch packs instead), or ``None`` for full-length sequences.
            h0: the same argument as ``hx``, under the name the book's equations give it (pass
                one of the two).

        Returns:
            ``(output, h_n)``: output (T, B, D*H) (batch-first, unbatched or packed like the
            input), zero past each sequence's length; h_n (L*D, B, H), each layer's and
            direction's state after each sequence's own last step.
        """
        hx = checks.pick_state(type(self).__name__, hx, "h0", h0)
        output, h_n, _ = self._run(input, hx, lengths, record=False)
        return output, h_n

    def _prepare(self, input, hx, lengths):
        """Check the arguments; return time-first x (T, B, I), h0 (L*D, B, H), lengths, batched."""
        x, lengths, batched = self._time_first(input, lengths)
        T, B, I = x.shape
        name = type(self).__name__
        if I != self.input_size:
            raise checks.GRUbookValueError(
                f"{name}: input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {I}"
            )
        if T == 0:
            raise checks.GRUbookValueError(
                f"{name}: Expected sequence length to be larger than 0 in RNN, "
                f"got input of shape {tuple(x.shape)}"
            )
        h0 = self._initial_state(hx, x, batched)
        if lengths is not None:
            lengths = checks.check_lengths(name, lengths, B, T)
        return x, h0, lengths, batched

    def _time_first(self, input, lengths) -> tuple[Tensor, Tensor | None, bool]:
        """Return the input as a time-first (T, B, I) tensor, its lengths and whether batched."""
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise checks.GRUbookValueError(
                    f"{name}: a PackedSequence carries its own lengths; pass lengths=None"
                )
            checks.check_float_input(name, "RNN input", input.data, self.weight_ih_l0)
            x, lengths = pad_packed_sequence(input)  # (T, B, I), lengths in the original order
            return x, lengths, True
        checks.check_tensor(name, "input", input)
        checks.check_float_input(name, "RNN input", input, self.weight_ih_l0)
        dims = "(B, T, I)" if self.batch_first else "(T, B, I)"
        checks.check_rank(name, "input", input, (2, 3), f"{dims} or (T, I)")
        if input.dim() == 2:
            return input.unsqueeze(1), lengths, False  # (T, 1, I)
        return (input.transpose(0, 1) if self.batch_first else input), lengths, True

    def _initial_state(self, hx: Tensor | None, x: Tensor, batched: bool) -> Tensor:
        """Return the checked initial state as (L*D, B, H): zeros if ``hx`` is None."""
        name, (_, B, _) = type(self).__name__, x.shape
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        if hx is None:
            return x.new_zeros(LD, B, H)
        checks.check_tensor(name, "hx", hx)
        checks.check_float_input(name, "hx", hx, self.weight_ih_l0)
        if batched:
            checks.check_state(name, hx, (LD, B, H), "(L*D, B, H)", batched)
            return hx
        checks.check_state(name, hx, (LD, H), "(L*D, H)", batched)
        return hx.unsqueeze(1)  # (L*D, 1, H)

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

    def _layer(self, layer: int, x: Tensor, h0: Tensor, mask: Tensor | None, record: bool):
        """Run both directions of one layer on x (T, B, ·); return (T, B, D*H), D states, gates."""
        outputs, states, traces = [], [], []
        for direction in range(self.num_directions):
            w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
            gi = torch.nn.functional.linear(x, w_ih, b_ih)  # (T, B, G*H): one matmul for all T
            h = h0[layer * self.num_directions + direction]
            out, h_last, gates = self._scan(gi, h, w_hh, b_hh, mask, direction == 1, record)
            outputs.append(out)
            states.append(h_last)
            traces.append(gates)
        output = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)  # D = 1: no copy
        return output, states, traces  # (T, B, D*H)

    def _run(self, input, hx, lengths, record: bool):
        """Forward pass; also returns the gates of every layer and direction when ``record``."""
        x, h0, lengths, batched = self._prepare(input, hx, lengths)
        mask = (
            None if lengths is None else length_mask(lengths, x.shape[0]).unsqueeze(-1).to(x.device)
        )  # (T, B, 1)
        layer_input, h_n, traces = x, [], []
        for layer in range(self.num_layers):
            layer_input, states, gates = self._layer(layer, layer_input, h0, mask, record)
            h_n += states
            traces += gates
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = torch.nn.functional.dropout(layer_input, self.dropout, training=True)
        output = self._restore_layout(layer_input, input, lengths, batched)
        h_n = torch.stack(h_n)  # (L*D, B, H)
        return output, (h_n if batched else h_n.squeeze(1)), traces

    def _restore_layout(self, output: Tensor, input, lengths, batched: bool):
        """Give the time-first output (T, B, D*H) the layout of the input: packed, unbatched..."""
        if isinstance(input, PackedSequence):
            order = input.sorted_indices
            sorted_out = output if order is None else output.index_select(1, order)
            sorted_len = lengths if order is None else lengths[order.cpu()]
            data = pack_padded_sequence(sorted_out, sorted_len, enforce_sorted=True).data
            return PackedSequence(
                data, input.batch_sizes, input.sorted_indices, input.unsorted_indices
            )
        if not batched:
            return output.squeeze(1)  # (T, D*H)
        return output.transpose(0, 1) if self.batch_first else output  # (B, T, D*H) or (T, B, D*H)

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
