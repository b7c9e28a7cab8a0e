r"""Chapter 3's table: the tanh RNN, the GRU and the LSTM on the adding problem at several T.

Each model reads T steps of (value, marker) and predicts the sum of the two marked values
(:class:`grubook.data.AddingProblem`; Arjovsky, Shah & Bengio, ICML 2016, arXiv:1511.06464, §4.2).
Predicting the mean gives the baseline mean squared error 1/6 ≈ 0.167; a model beats it only by
carrying the first marked value across about T/2 steps. Trained with Adam, B = 32, the gradient's
norm clipped at 1, a fresh batch every step, until a step budget runs out or the test MSE reaches
a target. Beside the table: the gradient reaching each step, :math:`\|\partial \mathcal{L} /
\partial h_t\|` relative to the last step's (:func:`grubook.hidden_state_grad_norms`), at
initialisation and after training. Introduced in
chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
"""

from __future__ import annotations

import copy
import time

import torch

from grubook.data import AddingProblem, make_generator
from grubook.diagnostics import hidden_state_grad_norms
from grubook.experiments.registry import Result, register
from grubook.experiments.training import flush_denormal, make_model, train_model
from grubook.seed import seeded
from grubook.timing import num_threads

__all__ = ["adding"]

NAME = "adding"

#: Adam's learning rate for each model unless told otherwise: the tanh RNN's loss jumps about
#: at 3e-2, where the GRU and the LSTM learn fastest.
LEARNING_RATES = {"RNN": 1e-3, "GRU": 3e-2, "LSTM": 3e-2}


def _reach(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Relative gradient norms (T,) of ``model``'s recurrent layer on x, in float64."""
    rnn = copy.deepcopy(model.rnn).double()
    return hidden_state_grad_norms(rnn, x.double()).detach()


@register(
    NAME,
    "chapter 3: test MSE on the adding problem (baseline 0.167) of the tanh RNN, the GRU and "
    "the LSTM, by T",
    keys=("model", "T"),
    aggregate=("mse", "steps", "solved", "train_seconds"),
    quick={"Ts": (10,), "models": ("GRU",), "hidden_size": 16, "steps": 160, "eval_every": 20},
)
def adding(
    *,
    Ts: tuple[int, ...] = (50, 100, 200),
    models: tuple[str, ...] = ("RNN", "GRU", "LSTM"),
    hidden_size: int = 32,
    lr: float | dict[str, float] | None = None,
    batch_size: int = 32,
    steps: int | dict[str, int] = 3000,
    eval_every: int = 10,
    target: float | None = 0.01,
    clip: float | None = 1.0,
    n_test: int = 256,
    n_reach: int = 32,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
) -> Result:
    """Train each model on the adding problem at each T; test MSE against the baseline 1/6.

    For each T, under :func:`grubook.seeded` (``seed``) and ``threads`` threads: one generator
    seeded with ``seed`` draws the test set (:class:`grubook.data.AddingProblem`), then feeds the
    models' training streams, one after the other in the order of ``models``; each model is made
    (:func:`~grubook.experiments.training.make_model`) and trained
    (:func:`~grubook.experiments.training.train_on_task`) in turn.

    Args:
        Ts: the sequence lengths T. Default: ``(50, 100, 200)``.
        models: some of ``"RNN"`` (tanh), ``"GRU"``, ``"LSTM"`` (``torch.nn.LSTM``).
            Default: all three.
        hidden_size: H, features of the hidden state. Default: 32.
        lr: Adam's learning rate, or one per model (``{"RNN": 1e-3, ...}``), or ``None`` for
            ``LEARNING_RATES``: 1e-3 for the RNN, 3e-2 for the GRU and the LSTM. Default: ``None``.
        batch_size: B, sequences per batch. Default: 32.
        steps: the step budget, or one per model. Default: 3000.
        eval_every: steps between evaluations on the test set. Default: 10.
        target: stop training at this test MSE, or ``None`` to use the whole budget.
            Default: 0.01.
        clip: the largest gradient norm, or ``None``. Default: 1.0.
        n_test: test sequences. Default: 256.
        n_reach: test sequences for the gradient norms. Default: 32.
        seed: seeds the data and the weights. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.
        progress: a progress bar for each training run. Default: ``False``.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per model and T, ``{"model", "T",
        "mse", "steps", "solved", "train_seconds", "ms_per_step"}``: the final test MSE, the steps
        trained, whether the MSE reached ``target`` (1.0 or 0.0), and the timings; over seeds,
        ``mse_mean``, ``mse_std``, ... and ``seeds``. Extras, by ``(model, T)``: ``models``
        (trained), ``curves`` (:class:`~grubook.experiments.training.Curve`), ``reach_init`` and
        ``reach_trained`` ((T,) relative gradient norms at initialisation and after training, in
        float64); ``baseline`` (1/6).

    Example::

        >>> result = adding(Ts=(200,), models=("GRU",))
        >>> result.row("GRU")["mse"] < 0.01

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("start", "progress")}
    lr = {kind: LEARNING_RATES[kind] for kind in models} if lr is None else lr
    config.update(Ts=list(Ts), models=list(models), lr=lr)
    rows, extras = [], {"models": {}, "curves": {}, "reach_init": {}, "reach_trained": {}}
    with seeded(seed), num_threads(threads), flush_denormal():
        for T in Ts:
            g = make_generator(seed)
            test = AddingProblem(n_test, T, seed=g)
            x_reach = test.tensors()[0][:, :n_reach]  # (T, n_reach, 2)
            for kind in models:
                model = make_model(kind, 2, hidden_size)
                extras["reach_init"][kind, T] = _reach(model, x_reach)
                curve = train_model(
                    kind,
                    model,
                    AddingProblem,
                    T,
                    test,
                    g,  # each model's stream continues the test set's generator
                    steps=steps,
                    lr=lr,
                    eval_every=eval_every,
                    batch_size=batch_size,
                    clip=clip,
                    target=target,
                    progress=progress,
                )
                extras["reach_trained"][kind, T] = _reach(model, x_reach)
                extras["models"][kind, T], extras["curves"][kind, T] = model, curve
                trained = curve.steps[-1]
                rows.append(
                    {
                        "model": kind,
                        "T": T,
                        "mse": curve.test_loss[-1],
                        "steps": trained,
                        "solved": float(curve.reached is not None),
                        "train_seconds": curve.seconds,
                        "ms_per_step": 1e3 * curve.seconds / max(trained, 1),
                    }
                )
    extras["baseline"] = AddingProblem.BASELINE_MSE
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
