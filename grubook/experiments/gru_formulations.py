"""Chapter 2's table: the two GRU formulations trained on one task, beside two baselines.

``reset_after=True`` (PyTorch's and cuDNN's form, the reset gate applied after the hidden matmul)
and ``reset_after=False`` (Cho et al. 2014, arXiv:1406.1078, eq. 5–8: before it) start from the
same weights and are trained the same way on :class:`grubook.data.SignOfSum`. Beside them: the
majority class of the test set, and the ``reset_after=True`` model called without the sequences'
lengths, so that it reads the random padding as data. Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import functools
import time

import torch

from grubook.classifier import GRUClassifier
from grubook.data import SignOfSum, make_generator, make_loader
from grubook.evaluation import evaluate
from grubook.experiments.registry import Result, register
from grubook.seed import seeded
from grubook.timing import num_threads
from grubook.train import fit

__all__ = ["gru_formulations"]

NAME = "gru-formulations"
AFTER, BEFORE = "GRU, reset_after=True", "GRU, reset_after=False"
MAJORITY, NO_LENGTHS = "majority class", "GRU, reset_after=True, without lengths"


@register(
    NAME,
    "chapter 2: test accuracy of reset_after=True and False on SignOfSum, beside the majority "
    "class and the model called without lengths",
    quick={"n_train": 256, "n_test": 128, "epochs": 1, "t_max": 12, "hidden_size": 8},
)
def gru_formulations(
    *,
    t_min: int = 5,
    t_max: int = 30,
    features: int = 2,
    hidden_size: int = 16,
    n_train: int = 2048,
    n_test: int = 512,
    batch_size: int = 64,
    epochs: int = 8,
    lr: float = 1e-2,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
) -> Result:
    """Train a ``reset_after=True`` and a ``reset_after=False`` GRU classifier; test both.

    Under :func:`grubook.seeded` (``seed``) and ``threads`` threads: the training set, then the
    test set, drawn one after the other from one generator seeded with ``seed``; a
    :class:`grubook.GRUClassifier` with ``reset_after=True``, and one with ``reset_after=False``
    given the same weights; each trained by :func:`grubook.fit` with Adam at ``lr`` on batches
    from :func:`grubook.data.make_loader` shuffled with ``seed``.

    Args:
        t_min: the shortest sequence. Default: 5.
        t_max: the longest sequence. Default: 30.
        features: I. Default: 2.
        hidden_size: H. Default: 16.
        n_train: training sequences. Default: 2048.
        n_test: test sequences. Default: 512.
        batch_size: B. Default: 64.
        epochs: passes over the training set. Default: 8.
        lr: Adam's learning rate. Default: 1e-2.
        seed: seeds the data, the weights and the batch order. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after); results in float32
            can depend on it. Default: 1.
        progress: show :func:`grubook.fit`'s progress bars. Default: ``False``.

    Returns:
        A :class:`~grubook.experiments.Result` with rows ``{"model", "test_accuracy"}`` (a
        fraction), the two trained models' rows also with ``final_train_loss`` and
        ``train_seconds``; extras ``models`` and ``histories`` (by row name, the two GRUs) and
        ``train_data``, ``test_data`` (the datasets).

    Example::

        >>> result = gru_formulations()
        >>> result.row("GRU, reset_after=True")["test_accuracy"]

    Introduced in chapter 2, *The GRU cell*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("start", "progress")}
    with seeded(seed), num_threads(threads):
        g = make_generator(seed)
        train = SignOfSum(n_train, t_min, t_max, features, seed=g)
        test = SignOfSum(n_test, t_min, t_max, features, seed=g)
        models = {AFTER: GRUClassifier(features, hidden_size, SignOfSum.num_classes)}
        models[BEFORE] = GRUClassifier(
            features, hidden_size, SignOfSum.num_classes, reset_after=False
        )
        models[BEFORE].load_state_dict(models[AFTER].state_dict())  # the same starting weights
        test_loader = make_loader(test, batch_size=n_test)  # the whole test set in one batch
        rows, histories = [], {}
        for label, model in models.items():
            began = time.perf_counter()
            histories[label] = fit(
                model,
                make_loader(train, batch_size, shuffle=True, seed=seed),
                epochs=epochs,
                optimizer=functools.partial(torch.optim.Adam, lr=lr),
                progress=progress,
            )
            seconds = time.perf_counter() - began
            rows.append(
                {
                    "model": label,
                    "test_accuracy": evaluate(model, test_loader)["accuracy"],
                    "final_train_loss": histories[label].train_loss[-1],
                    "train_seconds": seconds,
                }
            )
        share = test.y.float().mean().item()  # the fraction of class 1
        rows.append({"model": MAJORITY, "test_accuracy": max(share, 1 - share)})
        blind = evaluate(models[AFTER], test_loader, use_lengths=False)["accuracy"]
        rows.append({"model": NO_LENGTHS, "test_accuracy": blind})
    extras = {"models": models, "histories": histories, "train_data": train, "test_data": test}
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
