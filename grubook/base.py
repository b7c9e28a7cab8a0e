"""What every model of the book shares: the cell base, the initialisation, conversion to torch.nn.

:class:`RecurrentCell` plays the part of PyTorch's ``RNNCellBase`` (pytorch
``torch/nn/modules/rnn.py``): it creates the weights of :class:`grubook.GRUCell` and
:class:`grubook.RNNCell` (``num_chunks`` = 3 or 1 stacked blocks of H rows), draws them, checks
the arguments of ``forward`` and handles unbatched input; a subclass writes only its step.
:class:`TorchConvertible` gives cells and layers ``to_torch``/``from_torch``.
Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from grubook import _checks as checks

__all__ = ["RecurrentCell", "TorchConvertible"]


def reset_uniform(module: nn.Module, hidden_size: int) -> None:
    """Draw every parameter of ``module`` from U(-1/sqrt(H), 1/sqrt(H)), in registration order."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for weight in module.parameters():
        nn.init.uniform_(weight, -bound, bound)


class TorchConvertible:
    """``to_torch``/``from_torch`` for a model whose ``torch.nn`` twin takes the same options.

    A subclass names the twin (``torch_class``) and the constructor options both share
    (``torch_options``); the ``state_dict`` then moves as it is, since the parameter names agree.
    """

    torch_class: ClassVar[type[nn.Module]]
    torch_options: ClassVar[tuple[str, ...]]

    def to_torch(self) -> nn.Module:
        """Return the ``torch.nn`` twin with the same configuration and a copy of the weights.

        Raises:
            GRUbookValueError: for ``reset_after=False``, a form that ``torch.nn`` does not have.
        """
        name, twin = type(self).__name__, self.torch_class.__name__
        if not getattr(self, "reset_after", True):
            raise checks.GRUbookValueError(
                f"{name}.to_torch: nn.{twin} has no reset_after=False form"
            )
        ref = self.weight_ih_l0 if hasattr(self, "weight_ih_l0") else self.weight_ih
        options = {key: getattr(self, key) for key in self.torch_options}
        module = self.torch_class(**options, device=ref.device, dtype=ref.dtype)
        module.load_state_dict(self.state_dict())
        return module

    @classmethod
    def from_torch(cls, module: nn.Module):
        """Return a model of this class with ``module``'s configuration and a copy of its weights.

        Args:
            module: an instance of the ``torch.nn`` twin (``nn.GRU`` for :class:`grubook.GRU`,
                ``nn.GRUCell`` for :class:`grubook.GRUCell`, and so on).
        """
        if not isinstance(module, cls.torch_class):
            raise checks.GRUbookTypeError(
                f"{cls.__name__}.from_torch: expected an nn.{cls.torch_class.__name__}, "
                f"got {type(module).__name__}"
            )
        ref = next(module.parameters())
        options = {key: getattr(module, key) for key in cls.torch_options}
        new = cls(**options, device=ref.device, dtype=ref.dtype)
        new.load_state_dict(module.state_dict())
        return new


class RecurrentCell(TorchConvertible, nn.Module):
    """Shared machinery of :class:`grubook.GRUCell` and :class:`grubook.RNNCell`.

    Args:
        input_size: I, the number of features in the input (0 is allowed, as in ``nn.GRUCell``).
        hidden_size: H, the number of features in the hidden state (0 gives empty states).
        bias: if ``False``, the cell has no ``bias_ih`` and ``bias_hh``.
        num_chunks: G, the number of stacked (H, ·) blocks in each weight: 3 for the GRU's
            (r, z, n), 1 for the Elman RNN.
        device: where to create the parameters. Default: PyTorch's default device.
        dtype: the parameters' dtype. Default: PyTorch's default dtype.

    A subclass implements ``_cell(x, h) -> h'`` on batched (B, I) and (B, H) tensors.
    """

    torch_options = ("input_size", "hidden_size", "bias")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = checks.check_size(name, "input_size", input_size, minimum=0)
        self.hidden_size = checks.check_size(name, "hidden_size", hidden_size, minimum=0)
        self.bias = checks.check_flag(name, "bias", bias)
        kw = {"device": device, "dtype": dtype}
        G, H, I = num_chunks, self.hidden_size, self.input_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, I, **kw))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H, **kw))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(G * H, **kw))
            self.bias_hh = nn.Parameter(torch.empty(G * H, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in ``torch.nn``'s order."""
        reset_uniform(self, self.hidden_size)

    def _cell(self, x: Tensor, h: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, input: Tensor, hx: Tensor | None = None, *, hidden: Tensor | None = None):
        """Run one step: return the next hidden state, (B, H) or (H,) like the input.

        Args:
            input: x, (B, I), or (I,) for one unbatched sample.
            hx: h, the hidden state, (B, H) or (H,) like the input; zeros if ``None``.
            hidden: the same argument under its earlier name (give one of the two).
        """
        x, h, batched = self._prepare(
            input, checks.pick_state(type(self).__name__, hx, "hidden", hidden)
        )
        h_next = self._cell(x, h)  # (B, H)
        return h_next if batched else h_next.squeeze(0)

    def _prepare(self, input, hx) -> tuple[Tensor, Tensor, bool]:
        """Check the arguments; return x (B, I), h (B, H) and whether the input was batched."""
        name, I, H = type(self).__name__, self.input_size, self.hidden_size
        checks.check_tensor(name, "input", input)
        checks.check_float_input(name, "input", input, self.weight_ih)
        checks.check_rank(name, "input", input, (1, 2), "(B, I) or (I,)")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)  # (B, I)
        B = x.shape[0]
        if x.shape[1] != I:
            raise checks.GRUbookValueError(
                f"{name}: input has inconsistent input_size: got {x.shape[1]} expected {I}"
            )
        if hx is None:
            return x, x.new_zeros(B, H), batched
        checks.check_tensor(name, "hx", hx)
        checks.check_float_input(name, "hx", hx, self.weight_ih)
        checks.check_rank(name, "hidden", hx, (1, 2), "(B, H) or (H,)")
        self._check_hidden(hx, B, batched)
        return x, (hx if batched else hx.unsqueeze(0)), batched

    def _check_hidden(self, hx: Tensor, B: int, batched: bool) -> None:
        """Raise unless ``hx`` is (B, H) for batched input, (H,) for unbatched input."""
        name, H = type(self).__name__, self.hidden_size
        expected, dims = ((B, H), "(B, H)") if batched else ((H,), "(H,)")
        detail = f"(hx has shape {tuple(hx.shape)}, expected {dims} = {expected})"
        if hx.dim() != len(expected):
            raise checks.GRUbookValueError(f"{name}: hx does not match the input {detail}")
        if batched and hx.shape[0] != B:
            raise checks.GRUbookValueError(
                f"{name}: Input batch size {B} doesn't match hidden0 batch size {hx.shape[0]} "
                + detail
            )
        if hx.shape[-1] != H:
            raise checks.GRUbookValueError(
                f"{name}: hidden0 has inconsistent hidden_size: got {hx.shape[-1]}, expected {H} "
                + detail
            )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s
