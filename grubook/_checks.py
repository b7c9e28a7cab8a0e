"""Argument checks shared by the models: clear errors at the public boundary.

Every message names the object, the expected value and the actual one, in the form
``"GRU: input has 6 features, expected input_size=4"``, so that a wrong shape fails where
the user made it instead of deep inside a matmul (the first version's defect in chapter 2).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor


def check_size(owner: str, name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``; raise TypeError/ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {name}={value}")
    return int(value)


def check_probability(owner: str, name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1]; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner}: {name} must be in [0, 1], got {name}={value}")
    return float(value)


def check_tensor(owner: str, name: str, value: object) -> Tensor:
    """Raise TypeError unless ``value`` is a tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{owner}: {name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_float_input(owner: str, name: str, x: Tensor, param: Tensor) -> None:
    """Raise TypeError unless ``x`` is floating point with the parameters' dtype and device."""
    if not x.is_floating_point():
        raise TypeError(
            f"{owner}: {name} has dtype {x.dtype}, expected a floating-point tensor "
            f"(token ids go through GRUClassifier(vocab_size=...))"
        )
    if x.dtype != param.dtype:
        raise TypeError(
            f"{owner}: {name} has dtype {x.dtype}, expected the parameters' dtype {param.dtype} "
            f"(convert the input with .to({param.dtype}) or the model with .to({x.dtype}))"
        )
    if x.device != param.device:
        raise ValueError(
            f"{owner}: {name} is on {x.device}, expected the parameters' device {param.device}"
        )


def check_shape(owner: str, name: str, x: Tensor, expected: tuple[int, ...], dims: str) -> None:
    """Raise ValueError unless ``x.shape == expected``; ``dims`` names them, e.g. '(B, H)'."""
    if tuple(x.shape) != tuple(expected):
        raise ValueError(
            f"{owner}: {name} has shape {tuple(x.shape)}, expected {dims} = {tuple(expected)}"
        )


def check_lengths(owner: str, lengths: Sequence[int] | Tensor, batch: int, steps: int) -> Tensor:
    """Return ``lengths`` as a 1-D int64 CPU tensor of B values in [1, T]; raise otherwise."""
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{owner}: lengths must be a sequence of ints, got {lengths!r}"
            ) from err
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{owner}: lengths must hold integers, got dtype {lengths.dtype}")
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise ValueError(
            f"{owner}: lengths must hold one length per sequence: expected (B,) = ({batch},), "
            f"got {tuple(lengths.shape)}"
        )
    lengths = lengths.detach().to("cpu", torch.int64)
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1:
        raise ValueError(f"{owner}: lengths must be >= 1, got a length of {low}")
    if high > steps:
        raise ValueError(f"{owner}: lengths must be <= T={steps} (the input's steps), got {high}")
    return lengths
