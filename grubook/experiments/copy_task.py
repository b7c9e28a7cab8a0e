r"""Chapter 3's copy task: recall ten symbols after T blank steps, against the memoryless baseline.

Each model reads the T + 20 tokens of :class:`grubook.data.CopyTask` one-hot and predicts a token
at every step (Arjovsky, Shah & Bengio, ICML 2016, arXiv:1511.06464, §4.1). A model that
remembers nothing reaches the cross-entropy :math:`10 \log 8 / (T + 20)` per token; the table
gives each model's test cross-entropy and the share of the recalled symbols it gets right
(chance: 1/8). Trained as the adding problem is (Adam, B = 32, clipping at 1, a fresh batch
every step). Introduced in
chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
"""

from __future__ import annotations

import time

import torch

from grubook.data import CopyTask, make_generator
from grubook.experiments.registry import Result, register
from grubook.experiments.training import (
    flush_denormal,
    make_model,
    sequence_cross_entropy,
    train_model,
)
from grubook.seed import seeded
from grubook.timing import num_threads

__all__ = ["copy_task"]

NAME = "copy"

#: Adam's learning rate for each model unless told otherwise: the tanh RNN's loss jumps above the
#: baseline at 2e-2, where the GRU and the LSTM learn fastest.
LEARNING_RATES = {"RNN": 1e-3, "GRU": 2e-2, "LSTM": 2e-2}


@torch.no_grad()
def recall_accuracy(model: torch.nn.Module, data: CopyTask) -> float:
    """The share of the recalled symbols (the last ``length`` steps) that the model gets right."""
    x, y = data.tensors()  # (T', N), (T', N)
    predicted = model(x)[-data.length :].argmax(-1)  # (length, N)
    return (predicted == y[-data.length :]).float().mean().item()


@register(
    NAME,
    "chapter 3: test cross-entropy on the copy task against the memoryless baseline "
    "10 log 8 / (T + 20), for the tanh RNN, the GRU and the LSTM",
    keys=("model", "T"),
    aggregate=("loss", "loss_to_baseline", "recall_accuracy", "train_seconds"),
    quick={"T": 5, "models": ("GRU",), "hidden_size": 8, "steps": 20, "eval_every": 10},
)
def copy_task(
    *,
    T: int = 20,
    models: tuple[str, ...] = ("RNN", "GRU", "LSTM"),
    hidden_size: int = 64,
    lr: float | dict[str, float] | None = None,
    batch_size: int = 32,
    steps: int | dict[str, int] = 1000,
    eval_every: int = 20,
    clip: float | None = 1.0,
    n_test: int = 256,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
) -> Result:
    """Train each model on the copy task with T blanks; test cross-entropy against the baseline.

    Under :func:`grubook.seeded` (``seed``) and ``threads`` threads: one generator seeded with
    ``seed`` draws the test set, then feeds the models' training streams in the order of
    ``models``; each model (:func:`~grubook.experiments.training.make_model`, one-hot input,
    a prediction at every step) is trained for ``steps`` steps.

    Args:
        T: the blanks between the symbols and the recall. Default: 20.
        models: some of ``"RNN"`` (tanh), ``"GRU"``, ``"LSTM"`` (``torch.nn.LSTM``).
            Default: all three.
        hidden_size: H, features of the hidden state. Default: 64.
        lr: Adam's learning rate, or one per model, or ``None`` for ``LEARNING_RATES``: 1e-3 for
            the RNN, 2e-2 for the GRU and the LSTM. Default: ``None``.
        batch_size: B, sequences per batch. Default: 32.
        steps: the step budget, or one per model. Default: 1000.
        eval_every: steps between evaluations on the test set. Default: 20.
        clip: the largest gradient norm, or ``None``. Default: 1.0.
        n_test: test sequences. Default: 256.
        seed: seeds the data and the weights. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.
        progress: a progress bar for each training run. Default: ``False``.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per model, ``{"model", "T", "loss",
        "baseline", "loss_to_baseline", "recall_accuracy", "train_seconds"}`` (cross-entropy in
        nats per token; ``loss_to_baseline`` below 1 means the model remembers), and extras
        ``models``, ``curves`` (by model) and ``test_data``.

    Example::

        >>> result = copy_task(T=20, models=("GRU",))
        >>> result.row("GRU")["loss_to_baseline"]

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("start", "progress")}
    lr = {kind: LEARNING_RATES[kind] for kind in models} if lr is None else lr
    config.update(models=list(models), lr=lr)
    rows, trained, curves = [], {}, {}
    with seeded(seed), num_threads(threads), flush_denormal():
        g = make_generator(seed)
        test = CopyTask(n_test, T, seed=g)
        vocab = test.num_classes
        for kind in models:
            model = make_model(kind, vocab, hidden_size, vocab, every_step=True, vocab_size=vocab)
            curve = train_model(
                kind,
                model,
                CopyTask,
                T,
                test,
                g,
                steps=steps,
                lr=lr,
                eval_every=eval_every,
                batch_size=batch_size,
                clip=clip,
                loss_fn=sequence_cross_entropy,
                progress=progress,
            )
            trained[kind], curves[kind] = model, curve
            rows.append(
                {
                    "model": kind,
                    "T": T,
                    "loss": curve.test_loss[-1],
                    "baseline": test.baseline_loss,
                    "loss_to_baseline": curve.test_loss[-1] / test.baseline_loss,
                    "recall_accuracy": recall_accuracy(model, test),
                    "train_seconds": curve.seconds,
                }
            )
    extras = {"models": trained, "curves": curves, "test_data": test}
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
