"""The Elman recurrent network: the ungated baseline the GRU is compared against.

Elman, "Finding Structure in Time", Cognitive Science 14(2), 1990. Same interface and parameter
names as ``torch.nn.RNN``/``torch.nn.RNNCell``. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from grubook._checks import check_float_input, check_shape, check_size, check_tensor
from grubook.recurrent import RecurrentLayer

__all__ = ["RNN", "RNNCell"]

_NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def _nonlinearity(owner: str, name: str):
    if name not in _NONLINEARITIES:
        raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {name!r}")
    return _NONLINEARITIES[name]


class RNNCell(nn.Module):
    r"""An Elman RNN cell: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.

    where :math:`x` is the input (B, I) and :math:`h` the hidden state (B, H).

    Args:
        input_size: I. hidden_size: H. bias: use biases. Default: ``True``.
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``.

    Inputs: input (B, I) or (I,); hidden (B, H) or (H,), zeros if ``None``.
    Outputs: h' (B, H) or (H,).

    Attributes:
        - **weight_ih** (H, I), **weight_hh** (H, H), **bias_ih** (H,), **bias_hh** (H,).

        All start from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`, as in ``nn.RNNCell``.

    Example::

        >>> h = RNNCell(4, 8)(torch.randn(2, 4))   # (B, H) = (2, 8)

    Introduced in chapter 1, *Recurrent networks*.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = check_size("RNNCell", "input_size", input_size)
        self.hidden_size = check_size("RNNCell", "hidden_size", hidden_size)
        self.nonlinearity = nonlinearity
        self._act = _nonlinearity("RNNCell", nonlinearity)
        self.bias = bool(bias)
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, input: Tensor, hidden: Tensor | None = None) -> Tensor:
        check_tensor("RNNCell", "input", input)
        check_float_input("RNNCell", "input", input, self.weight_ih)
        if input.dim() not in (1, 2):
            raise ValueError(
                f"RNNCell: expected input of shape (B, I) or (I,), got {input.dim()}-D input "
                f"of shape {tuple(input.shape)}"
            )
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)  # (B, I)
        B, I = x.shape
        if I != self.input_size:
            raise ValueError(
                f"RNNCell: input has {I} features, expected input_size={self.input_size}"
            )
        if hidden is None:
            h = x.new_zeros(B, self.hidden_size)
        else:
            check_tensor("RNNCell", "hidden", hidden)
            check_float_input("RNNCell", "hidden", hidden, self.weight_ih)
            expected = (B, self.hidden_size) if batched else (self.hidden_size,)
            check_shape("RNNCell", "hidden", hidden, expected, "(B, H)" if batched else "(H,)")
            h = hidden if batched else hidden.unsqueeze(0)
        gi = torch.nn.functional.linear(x, self.weight_ih, self.bias_ih)  # (B, H)
        h_next = self._act(gi + torch.nn.functional.linear(h, self.weight_hh, self.bias_hh))
        return h_next if batched else h_next.squeeze(0)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


class RNN(RecurrentLayer):
    r"""A multi-layer Elman RNN, interchangeable with ``torch.nn.RNN``.

    Each layer computes :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`, where
    :math:`x_t` is the input at step t and :math:`h_{t-1}` the previous hidden state (``h0`` at
    t = 1). Arguments, inputs and outputs are those of :class:`grubook.GRU` (plus ``nonlinearity``,
    ``'tanh'`` or ``'relu'``); the weights are (H, ·) instead of (3H, ·).

    Example::

        >>> output, h_n = RNN(4, 8)(torch.randn(5, 3, 4))   # (T, B, H), (L*D, B, H)

    Introduced in chapter 1, *Recurrent networks*.
    """

    gate_count = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        self.nonlinearity = nonlinearity
        self._act = _nonlinearity("RNN", nonlinearity)
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )

    def _step(self, gi, h, weight_hh, bias_hh):
        return self._act(gi + torch.nn.functional.linear(h, weight_hh, bias_hh)), ()

    def to_torch(self) -> nn.RNN:
        """Return an ``nn.RNN`` with the same configuration and a copy of the weights."""
        ref = self.weight_ih_l0
        rnn = nn.RNN(
            self.input_size,
            self.hidden_size,
            self.num_layers,
            self.nonlinearity,
            self.bias,
            self.batch_first,
            self.dropout,
            self.bidirectional,
            device=ref.device,
            dtype=ref.dtype,
        )
        rnn.load_state_dict(self.state_dict())
        return rnn
