"""The Elman recurrent network: the ungated baseline the GRU is compared against.

Elman, "Finding Structure in Time", Cognitive Science 14(2), 1990. Same interface and parameter
names as ``torch.nn.RNN``/``torch.nn.RNNCell``. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grubook import _checks as checks
from grubook.base import RecurrentCell
from grubook.recurrent import RecurrentLayer

__all__ = ["RNN", "RNNCell", "elman_step"]

_NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def elman_step(
    gi: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str = "tanh"
) -> Tensor:
    """One Elman step from the precomputed input projection ``gi = x W_ih^T + b_ih`` (B, H).

    Returns :math:`h' = f(gi + h W_{hh}^T + b_{hh})` with :math:`f` = ``tanh`` or ``relu``.
    """
    return _NONLINEARITIES[nonlinearity](gi + torch.nn.functional.linear(h, weight_hh, bias_hh))


class RNNCell(RecurrentCell):
    r"""An Elman RNN cell: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.

    where :math:`x` is the input (B, I) and :math:`h` the hidden state (B, H); with
    ``nonlinearity='relu'`` the :math:`\tanh` is a ReLU.

    Args:
        input_size: I, the number of features in the input.
        hidden_size: H, the number of features in the hidden state.
        bias: if ``False``, the cell has no ``bias_ih`` and ``bias_hh``. Default: ``True``.
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``.
        device: where to create the parameters. Default: PyTorch's default device.
        dtype: the parameters' dtype. Default: PyTorch's default dtype.

    Inputs and outputs are those of :class:`grubook.GRUCell`: ``cell(input, hx)`` with input
    (B, I) or (I,) and ``hx`` (B, H) or (H,), zeros if ``None``, returns the next state like
    ``hx``.

    Attributes:
        - **weight_ih** (H, I) and **weight_hh** (H, H).
        - **bias_ih** and **bias_hh** (H,).

        All start from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`, as in ``nn.RNNCell``.

    Example::

        >>> h = RNNCell(4, 8)(torch.randn(2, 4))   # (B, H) = (2, 8)

    Introduced in chapter 1, *Recurrent networks*.
    """

    torch_class = nn.RNNCell
    torch_options = (*RecurrentCell.torch_options, "nonlinearity")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        nonlinearity = checks.check_choice(
            "RNNCell", "nonlinearity", nonlinearity, ("tanh", "relu")
        )
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _cell(self, x: Tensor, h: Tensor) -> Tensor:
        gi = torch.nn.functional.linear(x, self.weight_ih, self.bias_ih)  # (B, H)
        return elman_step(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class RNN(RecurrentLayer):
    r"""A multi-layer Elman RNN, interchangeable with ``torch.nn.RNN``.

    Each layer computes, for :math:`t = 1 \dots T`,

    .. math::
        h_t &= \tanh\big(W_{ih} x_t + b_{ih} \\
            &\qquad {} + W_{hh} h_{t-1} + b_{hh}\big)

    where :math:`x_t` is the input at step t (the previous layer's output above the first layer) and
    :math:`h_{t-1}` the previous hidden state (``hx`` at t = 1); with ``nonlinearity='relu'`` the
    :math:`\tanh` is a ReLU. Inputs, outputs and the extra ``lengths`` argument are those of
    :class:`grubook.GRU`; the weights are (H, ·) instead of (3H, ·).

    Args:
        input_size: I, features of the input.
        hidden_size: H, features of the hidden state.
        num_layers: L, stacked RNN layers. Default: 1.
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``.
        bias: use ``b_ih`` and ``b_hh``. Default: ``True``.
        batch_first: input and output are (B, T, ·) instead of (T, B, ·). Default: ``False``.
        dropout: dropout on the outputs of every layer but the last, in training. Default: 0.
        bidirectional: add a second direction that reads the sequence backwards. Default: ``False``.
        device: where to create the parameters. Default: PyTorch's default device.
        dtype: the parameters' dtype. Default: PyTorch's default dtype.
        proj_size: only 0 (``nn.RNN`` refuses projections too). Keyword only.

    Example::

        >>> output, h_n = RNN(4, 8)(torch.randn(5, 3, 4))   # (T, B, H), (L*D, B, H)

    Introduced in chapter 1, *Recurrent networks*.
    """

    torch_class = nn.RNN
    torch_options = (*RecurrentLayer.torch_options, "nonlinearity")

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
        *,
        proj_size: int = 0,
    ) -> None:
        nonlinearity = checks.check_choice("RNN", "nonlinearity", nonlinearity, ("tanh", "relu"))
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
            gate_count=1,
        )
        self.nonlinearity = nonlinearity

    def _step(self, gi, h, weight_hh, bias_hh):
        return elman_step(gi, h, weight_hh, bias_hh, self.nonlinearity), ()
