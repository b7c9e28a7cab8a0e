"""Checkpoints: a model's weights saved to a file and loaded back safely.

Introduced in chapter 6, *Case study: which language is this word?*.
"""

from __future__ import annotations

import os

import torch
from torch import nn

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Save the model's ``state_dict`` (its parameters and buffers, no code) to ``path``.

    Args:
        model: any ``nn.Module``.
        path: the file to write (``.pt`` by convention); its folder must exist.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    torch.save(model.state_dict(), path)


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a ``state_dict`` saved by :func:`save_checkpoint` into ``model``, and return it.

    The file is read with ``torch.load(..., weights_only=True)``, which loads tensors and plain
    containers only and so cannot run code hidden in a checkpoint; tensors go to the device of the
    model's parameters.

    Args:
        model: a model of the same architecture as the one saved.
        path: the checkpoint file.

    Returns:
        ``model``, with the saved weights.

    Raises:
        RuntimeError: if the checkpoint's keys or shapes do not match the model's (from
            ``load_state_dict``).

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    device = next(model.parameters(), torch.empty(0)).device
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model
