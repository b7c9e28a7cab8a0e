"""Argument checks shared by the models: clear errors at the public boundary.

Every message starts with the object's name and ends with the values it got, in PyTorch's words
where ``torch.nn`` has words for the same mistake (so a search for the message finds PyTorch's
answers too), e.g. ``"GRU: input.size(-1) must be equal to input_size. Expected 4, got 6"``.
A wrong shape fails where the user made it instead of deep inside a matmul (the first version's
defect in chapter 2).

The errors are ``ValueError``/``TypeError`` *and* ``RuntimeError`` (:class:`GRUbookValueError`,
:class:`GRUbookTypeError`), so ``except RuntimeError`` written for ``nn.GRU`` catches them too.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["GRUbookDtypeError", "GRUbookTypeError", "GRUbookValueError"]


class GRUbookValueError(ValueError, RuntimeError):
    """A bad value (a size, a shape, a probability): a ``ValueError`` and a ``RuntimeError``.

    ``torch.nn``'s recurrent modules raise ``RuntimeError`` for most shape mistakes and
    ``ValueError`` for bad settings; this class is both, so either ``except`` clause catches it.

    Introduced in chapter 2, *The GRU cell*.
    """


class GRUbookTypeError(TypeError, RuntimeError):
    """A bad type (a float size, a string flag): a ``TypeError`` and a ``RuntimeError``.

    Introduced in chapter 2, *The GRU cell*.
    """


class GRUbookDtypeError(GRUbookTypeError, ValueError):
    """Input and weights of different dtypes: a ``TypeError``, ``ValueError`` and ``RuntimeError``.

    ``nn.GRU`` raises ``ValueError`` here and ``nn.GRUCell`` a ``RuntimeError``; it is a type
    mistake, so the book's own code catches ``TypeError``.

    Introduced in chapter 2, *The GRU cell*.
    """


def check_size(owner: str, name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum`` (``bool`` is not a size); raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise GRUbookTypeError(
            f"{owner}: {name} should be of type int, got: {type(value).__name__} {value!r}"
        )
    if value < minimum:
        bound = {0: "non-negative", 1: "greater than zero"}.get(minimum, f"at least {minimum}")
        raise GRUbookValueError(f"{owner}: {name} must be {bound}, got {name}={value}")
    return int(value)


def check_flag(owner: str, name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``: ``0``, ``1``, ``"False"`` are refused (as nn.GRU)."""
    if not isinstance(value, bool):
        raise GRUbookTypeError(
            f"{owner}: {name} should be of type bool, got: {type(value).__name__} {value!r}"
        )
    return value


def check_probability(owner: str, name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1]; raise ValueError otherwise (as nn.GRU does)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise GRUbookValueError(
            f"{owner}: {name} should be a number in range [0, 1] representing the probability "
            f"of an element being zeroed, got {name}={value!r}"
        )
    return float(value)


def check_choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``; raise ValueError naming them otherwise."""
    if value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise GRUbookValueError(f"{owner}: Unknown {name} {value!r}. Select from {options}.")
    return value  # type: ignore[return-value]


def check_tensor(owner: str, name: str, value: object) -> Tensor:
    """Raise TypeError unless ``value`` is a tensor."""
    if not isinstance(value, Tensor):
        raise GRUbookTypeError(
            f"{owner}: {name} must be a torch.Tensor, got {type(value).__name__}"
        )
    return value


def check_float_input(owner: str, name: str, x: Tensor, param: Tensor) -> None:
    """Raise unless ``x`` has the parameters' dtype and device; ``name`` ends with the argument."""
    arg = name.split()[-1]  # "RNN input" -> input, as PyTorch's message words it
    if x.dtype != param.dtype:
        hint = ""
        if arg == "input" and not x.is_floating_point():
            hint = " (token ids go through GRUClassifier(vocab_size=...))"
        raise GRUbookDtypeError(
            f"{owner}: {name} dtype ({x.dtype}) does not match weight dtype ({param.dtype}). "
            f"Convert {arg}: {arg}.to({param.dtype}), or convert model: model.to({x.dtype})" + hint
        )
    if x.device != param.device:
        raise GRUbookValueError(
            f"{owner}: Input and parameter tensors are not at the same device, found {arg} "
            f"tensor at {x.device} and parameter tensor at {param.device}"
        )


def check_rank(owner: str, name: str, x: Tensor, ranks: tuple[int, int], dims: str) -> None:
    """Raise ValueError unless ``x.dim()`` is one of ``ranks``; ``dims`` names the shapes."""
    if x.dim() not in ranks:
        raise GRUbookValueError(
            f"{owner}: Expected {name} to be {ranks[0]}D or {ranks[1]}D, got {x.dim()}D instead "
            f"(shape {tuple(x.shape)}; expected {dims})"
        )


def check_state(owner: str, hx: Tensor, expected: tuple[int, ...], dims: str, batched: bool):
    """Raise unless the initial hidden state ``hx`` of a layer has the shape ``expected``."""
    if hx.dim() != len(expected):
        kind = "batched 3-D" if batched else "unbatched 2-D"
        raise GRUbookValueError(
            f"{owner}: For {kind} input, hx should also be {len(expected)}-D but got "
            f"{hx.dim()}-D tensor of shape {tuple(hx.shape)}, expected {dims} = {expected}"
        )
    if tuple(hx.shape) != expected:
        raise GRUbookValueError(
            f"{owner}: Expected hidden size {dims} = {expected}, got {list(hx.shape)}"
        )


def pick_state(owner: str, hx: Tensor | None, alias: str, value: Tensor | None) -> Tensor | None:
    """Return the initial state given as ``hx`` or under the book's name ``alias``, not both."""
    if value is None:
        return hx
    if hx is not None:
        raise GRUbookTypeError(
            f"{owner}: got both hx and {alias}; they are one argument ({alias} is the book's "
            f"name for PyTorch's hx), pass it once"
        )
    return value


def check_lengths(owner: str, lengths: Sequence[int] | Tensor, batch: int, steps: int) -> Tensor:
    """Return ``lengths`` as a 1-D int64 CPU tensor of B values in [1, T]; raise otherwise."""
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as err:
            raise GRUbookTypeError(
                f"{owner}: lengths must be a sequence of ints, got {lengths!r}"
            ) from err
        if lengths.numel() == 0:  # [] for a batch of no sequences: as_tensor reads it as float
            lengths = lengths.to(torch.int64)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise GRUbookTypeError(f"{owner}: lengths must hold integers, got dtype {lengths.dtype}")
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise GRUbookValueError(
            f"{owner}: lengths must hold one length per sequence: expected (B,) = ({batch},), "
            f"got {tuple(lengths.shape)}"
        )
    lengths = lengths.detach().to("cpu", torch.int64)
    if batch == 0:
        return lengths
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1:
        raise GRUbookValueError(f"{owner}: lengths must be >= 1, got a length of {low}")
    if high > steps:
        raise GRUbookValueError(
            f"{owner}: lengths must be <= T={steps} (the input's steps), got {high}"
        )
    return lengths
