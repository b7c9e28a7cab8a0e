r"""Chapter 5's table: four classifiers of about one size on two real sequence tasks.

The tasks are scikit-learn's 8×8 digits read row by row (:func:`grubook.data.sequential_digits`:
8 steps of 8 features, all the same length) and the same digits as the list of their inked pixels
(:func:`grubook.data.digit_ink`: 13 to 30 steps of (row, column, ink), so the lengths vary). The
models are :class:`grubook.GRUClassifier`, its tanh RNN variant, ``torch.nn.LSTM`` and a
perceptron on the flattened sequence, each with about the parameters of a GRU with H hidden units
(:func:`~grubook.experiments.baselines.make_classifier`). Each is trained with Adam on the training
split and keeps the weights of its best epoch on the validation split; the table is its accuracy
on the test split. Three more rows measure what the padding does to a GRU that is not told where
each sequence ends: the trained GRU read to the padded end, and two GRUs trained without lengths.
Introduced in chapter 5, *From cell to classifier*.
"""

from __future__ import annotations

import functools
import time

import torch

from grubook.data import make_loader
from grubook.data.digits import Splits, digit_ink, pad_first, sequential_digits
from grubook.evaluation import evaluate
from grubook.experiments.baselines import KINDS, make_classifier, matched_hidden
from grubook.experiments.registry import Result, register
from grubook.experiments.training import per_model
from grubook.seed import seeded
from grubook.timing import num_threads
from grubook.train import History, fit

__all__ = [
    "LEARNING_RATES",
    "NO_LENGTHS",
    "PADDED_END",
    "PAD_FIRST",
    "sequence_classification",
    "train_classifier",
]

NAME = "sequential-digits"

#: Adam's learning rate of each kind: the best of 3e-3, 1e-2 and 3e-2 on the validation split of
#: both tasks (seed 0, 30 epochs); the tanh RNN's training fell apart at 3e-2 on the inked pixels.
LEARNING_RATES = {"GRU": 3e-2, "RNN": 1e-2, "LSTM": 3e-2, "MLP": 1e-2}

#: The trained GRU of a task with varying lengths, called without them: it reads to step T.
PADDED_END = "GRU, read to the padded end"
#: A GRU trained and tested without lengths, its sequences padded at the end.
NO_LENGTHS = "GRU, trained without lengths"
#: A GRU trained and tested without lengths, its padding moved in front (:func:`pad_first`).
PAD_FIRST = "GRU, padding first, without lengths"


def _task(name: str, threshold: int, split_seed: int) -> Splits:
    if name == "digits":
        return sequential_digits(seed=split_seed)
    if name == "ink":
        return digit_ink(threshold=threshold, seed=split_seed)
    raise ValueError(f"{NAME}: tasks must be 'digits' or 'ink', got {name!r}")


def _runs(models: tuple[str, ...], data: Splits) -> list[tuple[str, str, Splits, bool]]:
    """``(row name, kind, data, use_lengths)`` for each model; the GRU variants need lengths."""
    varying = bool((data.train.lengths < data.train.x.shape[1]).any())
    runs = []
    for name in models:
        if name in KINDS:
            runs.append((name, name, data, True))
        elif name == NO_LENGTHS and varying:
            runs.append((name, "GRU", data, False))
        elif name == PAD_FIRST and varying:
            runs.append((name, "GRU", Splits(*map(pad_first, data)), False))
        elif name not in (NO_LENGTHS, PAD_FIRST):
            known = ", ".join((*KINDS, NO_LENGTHS, PAD_FIRST))
            raise ValueError(f"{NAME}: unknown model {name!r}; the models are: {known}")
    return runs


def train_classifier(
    model: torch.nn.Module,
    data: Splits,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 64,
    clip: float | None = 1.0,
    use_lengths: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> tuple[History, float]:
    """Train a classifier as chapter 5's table does; return its history and test accuracy.

    Adam on shuffled batches of ``data.train`` (:func:`grubook.fit`), the gradient's norm
    clipped, evaluated on ``data.val`` after each epoch; the weights of the best validation epoch
    are kept, then measured on ``data.test``.

    Args:
        model: called as ``model(x, lengths=lengths)`` (``model(x)`` without lengths).
        data: the :class:`~grubook.data.Splits` to train, select and test on.
        epochs: passes over the training split.
        lr: Adam's learning rate.
        batch_size: B, sequences per batch. Default: 64.
        clip: the largest gradient norm, or ``None``. Default: 1.0.
        use_lengths: tell the model each sequence's length. Default: ``True``.
        seed: seeds the order of the batches. Default: 0.
        progress: a progress bar. Default: ``False``.

    Returns:
        ``(history, test_accuracy)``: the :class:`grubook.History` and a float in [0, 1].

    Introduced in chapter 5, *From cell to classifier*.
    """
    train = make_loader(data.train, batch_size, shuffle=True, seed=seed)
    val = make_loader(data.val, len(data.val))
    history = fit(
        model,
        train,
        val,
        epochs=epochs,
        optimizer=functools.partial(torch.optim.Adam, lr=lr),
        clip=clip,
        early_stopping=epochs,  # never stops early; restores the best validation epoch
        use_lengths=use_lengths,
        progress=progress,
    )
    return history, _accuracy(model, data.test, use_lengths)


def _accuracy(model, test, use_lengths: bool) -> float:
    loader = make_loader(test, len(test))
    return evaluate(model, loader, loss_fn=None, use_lengths=use_lengths)["accuracy"]


@register(
    NAME,
    "chapter 5: test accuracy of GRU, tanh RNN, LSTM and MLP classifiers of one size on the "
    "digits read row by row and on their inked pixels; the padding's effect on a GRU",
    keys=("task", "model", "params"),
    aggregate=("test_accuracy", "val_accuracy", "best_epoch", "train_seconds"),
    quick={"tasks": ("digits",), "models": ("GRU", "MLP"), "epochs": 2},
)
def sequence_classification(
    *,
    tasks: tuple[str, ...] = ("digits", "ink"),
    models: tuple[str, ...] = (*KINDS, NO_LENGTHS, PAD_FIRST),
    hidden_size: int = 32,
    epochs: int | dict[str, int] = 30,
    batch_size: int = 64,
    lr: float | dict[str, float] | None = None,
    clip: float | None = 1.0,
    threshold: int = 8,
    split_seed: int = 0,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
) -> Result:
    """Train each model on each task; test accuracy, and what the padding does to a GRU.

    Each model is made and trained under :func:`~grubook.seeded` (``seed``): its weights and its
    batch order depend on the seed only, not on the models trained before it, so a run of some
    of the models gives the same rows as the run of all of them.

    Args:
        tasks: some of ``"digits"`` (:func:`~grubook.data.sequential_digits`) and ``"ink"``
            (:func:`~grubook.data.digit_ink`). Default: both.
        models: some of ``"GRU"``, ``"RNN"`` (tanh), ``"LSTM"``, ``"MLP"``, and two GRUs that
            are never told the lengths, ``NO_LENGTHS`` and ``PAD_FIRST`` (these two only
            on tasks whose lengths vary). Default: all six.
        hidden_size: H of the GRU; the other models get the hidden size that matches its number
            of parameters (:func:`~grubook.experiments.baselines.matched_hidden`). Default: 32.
        epochs: passes over the training split, or one number per task
            (``{"digits": 20, "ink": 30}``). Default: 30.
        batch_size: B, sequences per batch. Default: 64.
        lr: Adam's learning rate, one per kind (``{"GRU": 3e-2, ...}``), or ``None`` for
            ``LEARNING_RATES``. Default: ``None``.
        clip: the largest gradient norm, or ``None``. Default: 1.0.
        threshold: the least ink of a pixel in the ``"ink"`` task. Default: 8.
        split_seed: fixes the train/validation/test split. Default: 0.
        seed: seeds the weights and the batch order. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.
        progress: a progress bar for each training run. Default: ``False``.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per task and model, ``{"task",
        "model", "params", "hidden_size", "test_accuracy", "val_accuracy", "best_epoch",
        "train_seconds"}``, and after the GRU's row on a task whose lengths vary, the row
        ``PADDED_END`` (its test accuracy called without lengths); over seeds,
        ``test_accuracy_mean``, ``test_accuracy_std``, ... and ``seeds``. Extras, by ``(task,
        model)``: ``models`` (trained), ``histories`` (:class:`~grubook.History`); ``data``, the
        :class:`~grubook.data.Splits` by task.

    Example::

        >>> result = sequence_classification(tasks=("digits",), models=("GRU", "MLP"))
        >>> result.rows[0]["test_accuracy"] > 0.9

    Introduced in chapter 5, *From cell to classifier*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("start", "progress")}
    lr = dict(LEARNING_RATES) if lr is None else lr
    config.update(tasks=list(tasks), models=list(models), lr=lr)
    extras: dict = {"models": {}, "histories": {}, "data": {}}
    rows = []
    with num_threads(threads):
        for task in tasks:
            data = extras["data"][task] = _task(task, threshold, split_seed)
            T, I = data.train.x.shape[1:]
            for name, kind, split, use_lengths in _runs(models, data):
                H, params = matched_hidden(kind, hidden_size, I, T, 10)
                with seeded(seed):
                    model = make_classifier(kind, I, H, 10, steps=T)
                    history, test_accuracy = train_classifier(
                        model, split, seed=seed, use_lengths=use_lengths, clip=clip,
                        epochs=per_model(epochs, task), lr=per_model(lr, kind),
                        batch_size=batch_size, progress=progress,
                    )  # fmt: skip
                extras["models"][task, name], extras["histories"][task, name] = model, history
                row = {"task": task, "model": name, "params": params, "hidden_size": H}
                rows.append(
                    row
                    | {
                        "test_accuracy": test_accuracy,
                        "val_accuracy": history.val_metric[history.best_epoch - 1],
                        "best_epoch": history.best_epoch,
                        "train_seconds": sum(history.epoch_seconds),
                    }
                )
                if name == "GRU" and bool((data.test.lengths < T).any()):
                    padded_end = _accuracy(model, data.test, use_lengths=False)
                    rows.append(row | {"model": PADDED_END, "test_accuracy": padded_end})
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
