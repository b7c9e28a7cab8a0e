r"""Chapter 5's table: four classifiers of about one size on two real sequence tasks.

The tasks are scikit-learn's 8×8 digits read row by row (:func:`grubook.data.sequential_digits`:
8 steps of 8 features, all the same length) and the same digits as the list of their inked pixels
(:func:`grubook.data.digit_ink`: 13 to 30 steps of (row, column, ink), so the lengths vary). The
models are :class:`grubook.GRUClassifier`, its tanh RNN variant, ``torch.nn.LSTM`` and a
perceptron on the flattened sequence, each with about the parameters of a GRU with H hidden units
(:func:`~grubook.experiments.baselines.make_classifier`). Each is trained with Adam on the training
split and keeps the weights of its best epoch on the validation split; the table is its accuracy
on the test split. On the inked pixels, three more rows measure what the padding does to a GRU
that is not told where each sequence ends. Introduced in chapter 5, *From cell to classifier*.
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
from grubook.seed import seeded
from grubook.timing import num_threads
from grubook.train import fit

__all__ = ["PADDING_ROWS", "sequence_classification"]

NAME = "sequential-digits"

#: The rows on the inked pixels that measure the padding: a GRU called without lengths.
PADDING_ROWS = (
    "GRU, read to the padded end",
    "GRU, trained without lengths",
    "GRU, padding first, without lengths",
)


def _task(name: str, threshold: int, split_seed: int) -> Splits:
    if name == "digits":
        return sequential_digits(seed=split_seed)
    if name == "ink":
        return digit_ink(threshold=threshold, seed=split_seed)
    raise ValueError(f"{NAME}: tasks must be 'digits' or 'ink', got {name!r}")


def _train(model, data: Splits, *, seed: int, use_lengths: bool = True, **options):
    """Train ``model`` (best validation epoch kept); return it, its history and test accuracy."""
    train = make_loader(data.train, options.pop("batch_size"), shuffle=True, seed=seed)
    val = make_loader(data.val, len(data.val))
    epochs = options.pop("epochs")
    history = fit(
        model,
        train,
        val,
        epochs=epochs,
        optimizer=functools.partial(torch.optim.Adam, lr=options.pop("lr")),
        early_stopping=epochs,  # never stops early; restores the best validation epoch
        use_lengths=use_lengths,
        **options,
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
    quick={"tasks": ("digits",), "models": ("GRU", "MLP"), "epochs": 2, "padding": False},
)
def sequence_classification(
    *,
    tasks: tuple[str, ...] = ("digits", "ink"),
    models: tuple[str, ...] = KINDS,
    hidden_size: int = 32,
    epochs: int | dict[str, int] = 30,
    batch_size: int = 64,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    threshold: int = 8,
    padding: bool = True,
    split_seed: int = 0,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
) -> Result:
    """Train each model on each task; test accuracy, and the padding rows on the inked pixels.

    Each model is made and trained under :func:`grubook.seeded` (``seed``): its weights and its
    batch order depend on the seed only, not on the models trained before it.

    Args:
        tasks: some of ``"digits"`` (:func:`grubook.data.sequential_digits`) and ``"ink"``
            (:func:`grubook.data.digit_ink`). Default: both.
        models: some of ``"GRU"``, ``"RNN"`` (tanh), ``"LSTM"``, ``"MLP"``. Default: all four.
        hidden_size: H of the GRU; the other models get the hidden size that matches its number
            of parameters (:func:`~grubook.experiments.baselines.matched_hidden`). Default: 32.
        epochs: passes over the training split, or one number per task
            (``{"digits": 20, "ink": 30}``). Default: 30.
        batch_size: B, sequences per batch. Default: 64.
        lr: Adam's learning rate. Default: 1e-2.
        clip: the largest gradient norm, or ``None``. Default: 1.0.
        threshold: the least ink of a pixel in the ``"ink"`` task. Default: 8.
        padding: on ``"ink"``, add the rows of :data:`PADDING_ROWS` (needs ``"GRU"``): the
            trained GRU read to the padded end; a GRU trained and tested without lengths; the
            same with the padding in front (:func:`grubook.data.pad_first`). Default: ``True``.
        split_seed: fixes the train/validation/test split. Default: 0.
        seed: seeds the weights and the batch order. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.
        progress: a progress bar for each training run. Default: ``False``.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per task and model, ``{"task",
        "model", "params", "hidden_size", "test_accuracy", "val_accuracy", "best_epoch",
        "train_seconds"}``; over seeds, ``test_accuracy_mean``, ``test_accuracy_std``, ... and
        ``seeds``. Extras, by ``(task, model)``: ``models`` (trained), ``histories``
        (:class:`grubook.History`); ``data``, the :class:`~grubook.data.digits.Splits` by task.

    Example::

        >>> result = sequence_classification(tasks=("digits",), models=("GRU", "MLP"))
        >>> result.rows[0]["test_accuracy"] > 0.9

    Introduced in chapter 5, *From cell to classifier*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("start", "progress")}
    config.update(tasks=list(tasks), models=list(models))
    extras: dict = {"models": {}, "histories": {}, "data": {}}
    rows = []
    options = {"lr": lr, "clip": clip, "batch_size": batch_size, "progress": progress}
    with num_threads(threads):
        for task in tasks:
            data = extras["data"][task] = _task(task, threshold, split_seed)
            T, I = data.train.x.shape[1:]
            task_epochs = epochs[task] if isinstance(epochs, dict) else epochs
            runs = [(kind, kind, data, True) for kind in models]
            if padding and task == "ink" and "GRU" in models:
                runs += [(PADDING_ROWS[1], "GRU", data, False)]
                runs += [(PADDING_ROWS[2], "GRU", Splits(*map(pad_first, data)), False)]
            for name, kind, split, use_lengths in runs:
                H, params = matched_hidden(kind, hidden_size, I, T, 10)
                with seeded(seed):
                    model = make_classifier(kind, I, H, 10, steps=T)
                    history, test_accuracy = _train(
                        model, split, seed=seed, use_lengths=use_lengths,
                        epochs=task_epochs, **options,
                    )  # fmt: skip
                extras["models"][task, name], extras["histories"][task, name] = model, history
                row = {"task": task, "model": name, "params": params, "hidden_size": H}
                best = history.best_epoch
                rows.append(
                    row
                    | {
                        "test_accuracy": test_accuracy,
                        "val_accuracy": history.val_metric[best - 1],
                        "best_epoch": best,
                        "train_seconds": sum(history.epoch_seconds),
                    }
                )
                if name == "GRU" and task == "ink" and padding:
                    rows.append(
                        row
                        | {
                            "model": PADDING_ROWS[0],
                            "test_accuracy": _accuracy(model, data.test, use_lengths=False),
                        }
                    )
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
