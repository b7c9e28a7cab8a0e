"""Training any model: :func:`fit`, and the :class:`History` of what it measured.

The loop is the one every chapter would otherwise write again (Goodfellow, Bengio & Courville,
*Deep Learning*, 2016, §8.1.3 for minibatches, §7.8 for early stopping, §10.11.1 for clipping the
gradient's norm): batches ``(x, lengths, y)`` as :func:`grubook.data.collate_sequences` makes them
(or ``(x, y)``), the model called as ``model(x, lengths=lengths)``, one optimizer step per batch,
a progress bar from ``tqdm.auto`` and a :class:`History` of every epoch. It prints nothing.
Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from grubook.evaluation import Metric, _batches, _metric, evaluate
from grubook.seed import seed_everything

__all__ = ["History", "fit"]


@dataclasses.dataclass
class History:
    """What :func:`fit` measured, one entry per epoch (epoch k at index k - 1).

    :func:`fit` fills it in; each argument is also an attribute of the same name.

    Args:
        metric: the metric's name; ``None`` when only the loss is tracked.
            Default: ``"accuracy"``.
        train_loss: the mean training loss of each epoch, over its batches as trained.
            Default: empty.
        train_metric: the metric over the same batches (empty without a metric). Default: empty.
        val_loss: the validation loss after each epoch (empty without a validation loader).
            Default: empty.
        val_metric: the validation metric after each epoch. Default: empty.
        epoch_seconds: the wall time of each epoch, validation included (a timing: it varies).
            Default: empty.
        best_epoch: the epoch (from 1) with the best validation metric (or loss); ``None``
            without validation. Default: ``None``.
        stopped_early: whether early stopping ended the training before ``epochs``.
            Default: ``False``.

    Introduced in chapter 2, *The GRU cell*.
    """

    metric: str | None = "accuracy"
    train_loss: list[float] = dataclasses.field(default_factory=list)
    train_metric: list[float] = dataclasses.field(default_factory=list)
    val_loss: list[float] = dataclasses.field(default_factory=list)
    val_metric: list[float] = dataclasses.field(default_factory=list)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """The number of epochs trained."""
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        """The history as a dict of JSON-ready values (lists of floats)."""
        return dataclasses.asdict(self)


def _optimizer(model: nn.Module, optimizer) -> torch.optim.Optimizer:
    """An optimizer instance as given, or made by a factory of the parameters, or Adam(1e-3)."""
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(model.parameters())
    raise TypeError(
        "fit: optimizer must be a torch.optim.Optimizer, a function of the parameters that "
        f"makes one (e.g. functools.partial(torch.optim.Adam, lr=1e-2)) or None, got {optimizer!r}"
    )


def _check_epochs(epochs: object) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be an int >= 1, got {epochs!r}")
    return epochs


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | Callable | None = None,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    metric: str | Metric | None = "accuracy",
    clip: float | None = None,
    early_stopping: int | None = None,
    scheduler: Callable | None = None,
    use_lengths: bool = True,
    progress: bool = True,
    seed: int | None = None,
) -> History:
    """Train a model for some epochs, one optimizer step per batch; return its :class:`History`.

    Each step: ``outputs = model(x, lengths=lengths)``, ``loss = loss_fn(outputs, y)``, zero the
    gradients, backpropagate, clip the gradients' total norm to ``clip`` (if set), take the step.
    After each epoch the model is evaluated on ``val_loader`` (if given) with :func:`evaluate`.

    Args:
        model: any ``nn.Module`` called as in :func:`evaluate`; batches go to its device.
        train_loader: an iterable of batches ``(x, lengths, y)`` or ``(x, y)``, e.g. from
            :func:`grubook.data.make_loader`.
        val_loader: batches to evaluate after each epoch. Default: ``None``.
        epochs: the number of passes over ``train_loader``.
        optimizer: an optimizer of the model's parameters, a function making one from them (e.g.
            ``partial(torch.optim.Adam, lr=1e-2)``, ``partial`` from ``functools``), or ``None``
            for Adam with lr 1e-3. Default: ``None``.
        loss_fn: ``loss_fn(outputs, y)``, a scalar tensor. Default: cross-entropy.
        metric: ``"accuracy"``, a function ``(outputs, y) -> float`` (higher is better unless it
            has an attribute ``higher_is_better = False``) or ``None``. Default: ``"accuracy"``.
        clip: the largest total gradient norm, or ``None`` for no clipping. Default: ``None``.
        early_stopping: stop after this many epochs without a better validation metric (the
            validation loss without a metric) and restore the best epoch's weights; ``None`` to
            train all epochs. Needs ``val_loader``. Default: ``None``.
        scheduler: a function of the optimizer making a learning-rate scheduler, stepped once
            after each epoch. Default: ``None``.
        use_lengths: pass the batches' lengths to the model. Default: ``True``.
        progress: show a ``tqdm.auto`` progress bar (on stderr, or a notebook widget) with the
            loss and the metric; it also stays off when stderr is not a terminal. Default: ``True``.
        seed: if set, :func:`grubook.seed_everything` is called with it first. Default: ``None``.

    Returns:
        The :class:`History` of the epochs trained.

    Raises:
        FloatingPointError: if a loss is NaN or infinite; the message names the epoch and step.
        TypeError: if a batch is not ``(x, lengths, y)`` or ``(x, y)``.
        ValueError: if ``epochs`` < 1, or ``early_stopping`` is set without ``val_loader``.

    Example::

        >>> model = grubook.GRUClassifier(2, 16, 2)
        >>> history = fit(model, make_loader(SignOfSum(2048), 64, shuffle=True), epochs=8,
        ...               optimizer=functools.partial(torch.optim.Adam, lr=1e-2))
        >>> history.train_loss[-1] < history.train_loss[0]
        True

    Introduced in chapter 2, *The GRU cell*.
    """
    epochs = _check_epochs(epochs)
    if early_stopping is not None and val_loader is None:
        raise ValueError("fit: early_stopping needs a val_loader to watch")
    if seed is not None:
        seed_everything(seed)
    name, metric_fn, higher = _metric("fit", metric)
    optimizer = _optimizer(model, optimizer)
    lr_scheduler = scheduler(optimizer) if scheduler is not None else None
    steps = _Steps(model, optimizer, loss_fn, name, metric_fn, clip, use_lengths)
    history = History(metric=name)
    watch = _Watch(name or "loss", higher if name else False, early_stopping is not None)
    batches = _length(train_loader)
    total = epochs * batches if batches is not None else None
    with _Progress(total, progress) as bar:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            loss, score = steps.epoch(train_loader, epoch, bar)
            history.train_loss.append(loss)
            history.train_metric += [score] if name else []
            if val_loader is not None:
                val = evaluate(
                    model, val_loader, loss_fn=loss_fn, metric=metric, use_lengths=use_lengths
                )
                history.val_loss.append(val["loss"])
                history.val_metric += [val[name]] if name else []
                history.best_epoch = watch.update(model, val, epoch)
                bar.show(**{f"val_{k}": v for k, v in val.items()})
            if lr_scheduler is not None:
                lr_scheduler.step()
            history.epoch_seconds.append(time.perf_counter() - start)
            if early_stopping is not None and watch.waited >= early_stopping:
                history.stopped_early = epoch < epochs
                break
    if watch.state is not None:
        model.load_state_dict(watch.state)
    return history


class _Progress:
    """fit's progress bar: ``tqdm.auto`` over all the batches, the latest values after it."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        # disable=None: tqdm turns itself off when stderr is not a terminal (a notebook's is on)
        self.bar = tqdm(total=total, desc="fit", unit="batch", disable=None if enabled else True)
        self.shown: dict[str, float] = {}

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.close()

    def step(self, **values: float) -> None:
        """One batch done: advance, and show ``values`` (redrawn at tqdm's own pace)."""
        self.bar.update()
        self.show(refresh=False, **values)

    def show(self, refresh: bool = True, **values: float) -> None:
        """Show ``values`` after the bar, ``accuracy`` as ``acc``, beside the ones shown before."""
        self.shown.update({k.replace("accuracy", "acc"): v for k, v in values.items()})
        self.bar.set_postfix(self.shown, refresh=refresh)


def _length(loader: Iterable) -> int | None:
    """The number of batches of ``loader``, or ``None`` if it does not know (a generator)."""
    try:
        return len(loader)
    except TypeError:  # no __len__, or a DataLoader over an IterableDataset without one
        return None


class _Watch:
    """The best validation value so far (of ``key``), its epoch, the epochs since, its weights."""

    def __init__(self, key: str, higher_is_better: bool, keep_weights: bool) -> None:
        self.key, self.keep_weights = key, keep_weights
        self.sign = 1.0 if higher_is_better else -1.0
        self.best: float | None = None
        self.epoch: int | None = None
        self.state: dict[str, Tensor] | None = None
        self.waited = 0

    def update(self, model: nn.Module, val: dict[str, float], epoch: int) -> int | None:
        """Record one epoch's validation results; return the best epoch so far."""
        value = self.sign * val[self.key]
        if self.best is None or value > self.best:
            self.best, self.epoch, self.waited = value, epoch, 0
            if self.keep_weights:
                self.state = copy.deepcopy(model.state_dict())
        else:
            self.waited += 1
        return self.epoch


@dataclasses.dataclass
class _Steps:
    """What every training step of one :func:`fit` uses."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    metric: str | None
    metric_fn: Metric | None
    clip: float | None
    use_lengths: bool

    def epoch(self, loader: Iterable, epoch: int, bar: _Progress) -> tuple[float, float | None]:
        """One pass over the loader; return its mean loss and metric (``None`` without one)."""
        model, name = self.model, self.metric
        model.train()
        loss_sum = metric_sum = 0.0
        count = 0
        batches = _batches("fit", model, loader, self.loss_fn, self.metric_fn, self.use_lengths)
        for step, (_, loss, k, score) in enumerate(batches, start=1):
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"fit: the loss is {value} at epoch {epoch}, step {step}; try a lower "
                    "learning rate, clip=1.0, or look for NaN or infinite values in the data"
                )
            self.optimizer.zero_grad()
            loss.backward()
            if self.clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            self.optimizer.step()
            count += k
            loss_sum += value * k
            metric_sum += score * k if score is not None else 0.0
            shown = {name: metric_sum / count} if name else {}
            bar.step(epoch=epoch, loss=loss_sum / count, **shown)
        if count == 0:
            raise ValueError(f"fit: the train_loader yielded no batches in epoch {epoch}")
        return loss_sum / count, (metric_sum / count if name else None)
