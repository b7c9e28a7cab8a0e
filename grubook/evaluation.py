"""Measuring a model on a loader: :func:`evaluate` and the metrics it reports.

Batches are ``(x, lengths, y)``, as :func:`grubook.data.collate_sequences` makes them, or
``(x, y)``; the model is called as ``model(x, lengths=lengths)`` (``model(x)`` without lengths).
Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from grubook.data.collate import _describe

__all__ = ["accuracy", "evaluate"]

Metric = Callable[[Tensor, Tensor], float]


def accuracy(logits: Tensor, y: Tensor) -> float:
    r"""The fraction of predictions whose largest logit is the target class.

    .. math::
        \hat y_i &= \arg\max_c \text{logits}_{i,c} \\
        \text{accuracy} &= \frac{1}{N} \sum_{i} [\hat y_i = y_i]

    where i runs over the N predictions (N = B for logits (B, C)) and :math:`[\cdot]` is 1 if it
    holds, else 0.

    Args:
        logits: (..., C) scores, e.g. (B, C).
        y: (...) the target classes, e.g. (B,).

    Returns:
        A float in [0, 1].

    Introduced in chapter 2, *The GRU cell*.
    """
    if logits.shape[:-1] != y.shape:
        raise ValueError(
            f"accuracy: logits {tuple(logits.shape)} and targets {tuple(y.shape)} do not match: "
            "expected logits (..., C) and targets (...)"
        )
    return (logits.argmax(-1) == y).float().mean().item()


def _unpack(owner: str, batch: Any) -> tuple[Tensor, Tensor | None, Tensor]:
    """Split a batch into x, lengths (or ``None``) and y; raise TypeError on any other structure."""
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        if all(isinstance(v, Tensor) for v in batch):
            return batch[0], (batch[1] if len(batch) == 3 else None), batch[-1]
    raise TypeError(
        f"{owner}: expected each batch to be (x, lengths, y) or (x, y) tensors, got "
        f"{_describe(batch)}; grubook.data.make_loader makes (x, lengths, y) batches"
    )


def _metric(owner: str, metric: str | Metric | None) -> tuple[str | None, Metric | None, bool]:
    """Return the metric's name, its function and whether higher is better."""
    if metric is None:
        return None, None, True
    if metric == "accuracy":
        return "accuracy", accuracy, True
    if callable(metric):
        higher = getattr(metric, "higher_is_better", True)
        return getattr(metric, "__name__", "metric"), metric, higher
    raise ValueError(
        f"{owner}: metric must be 'accuracy', a function (outputs, y) -> float or None, "
        f"got {metric!r}"
    )


def _batches(owner, model, loader, loss_fn, metric_fn, use_lengths):
    """Yield (outputs, loss, number of targets, metric) for each batch, on the model's device."""
    device = next(model.parameters(), torch.empty(0)).device
    for batch in loader:
        x, lengths, y = _unpack(owner, batch)
        x, y = x.to(device), y.to(device)
        out = model(x, lengths=lengths) if use_lengths and lengths is not None else model(x)
        loss = loss_fn(out, y) if loss_fn is not None else None
        yield out, loss, y.numel(), (metric_fn(out.detach(), y) if metric_fn else None)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = F.cross_entropy,
    metric: str | Metric | None = "accuracy",
    use_lengths: bool = True,
) -> dict[str, float]:
    """The model's mean loss and metric over a loader, in eval mode and without gradients.

    Means are over targets: each batch counts with the number of elements of its y.

    Args:
        model: any ``nn.Module`` called as ``model(x, lengths=lengths)`` (``model(x)`` for
            ``(x, y)`` batches or with ``use_lengths=False``).
        loader: an iterable of batches ``(x, lengths, y)`` or ``(x, y)``.
        loss_fn: ``loss_fn(outputs, y)``, or ``None`` for no loss. Default: cross-entropy.
        metric: ``"accuracy"``, a function ``(outputs, y) -> float`` or ``None``.
            Default: ``"accuracy"``.
        use_lengths: pass the batches' lengths to the model. ``False`` shows what a model that
            reads the padding as data does. Default: ``True``.

    Returns:
        ``{"loss": ..., "accuracy": ...}``: the loss (if ``loss_fn``) and the metric under its name.

    Example::

        >>> evaluate(model, make_loader(SignOfSum(512, seed=1), 512))["accuracy"]

    Introduced in chapter 2, *The GRU cell*.
    """
    name, metric_fn, _ = _metric("evaluate", metric)
    if loss_fn is None and metric_fn is None:
        raise ValueError("evaluate: loss_fn and metric are both None; nothing to measure")
    was_training = model.training
    model.eval()
    loss_sum = metric_sum = 0.0
    count = 0
    try:
        for _, loss, k, score in _batches(
            "evaluate", model, loader, loss_fn, metric_fn, use_lengths
        ):
            count += k
            loss_sum += loss.item() * k if loss is not None else 0.0
            metric_sum += score * k if score is not None else 0.0
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    result = {"loss": loss_sum / count} if loss_fn is not None else {}
    if metric_fn is not None:
        result[name] = metric_sum / count
    return result
