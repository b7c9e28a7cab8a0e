r"""What chapter 3's experiments share: a recurrent layer with a linear readout, and training on a
stream of fresh batches until a step budget runs out or the test loss reaches a target.

The three models of the chapter are the tanh :class:`grubook.RNN`, :class:`grubook.GRU` and
``torch.nn.LSTM`` (grubook has no LSTM of its own; the LSTM is the classic answer to the problem
the chapter measures, Hochreiter & Schmidhuber 1997). Each reads the sequence and a linear layer
reads its hidden state: at the last step (the adding problem) or at every step (the copy task).
Training is Adam with the gradient's norm clipped (Pascanu, Mikolov & Bengio 2013,
arXiv:1211.5063, §3.2), one fresh batch per step as in Arjovsky, Shah & Bengio 2016
(arXiv:1511.06464). Introduced in
chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from grubook.data import Stream, make_loader
from grubook.evaluation import evaluate
from grubook.layer import GRU
from grubook.rnn import RNN
from grubook.train import fit

__all__ = [
    "MODELS",
    "Curve",
    "Readout",
    "flush_denormal",
    "make_model",
    "per_model",
    "sequence_cross_entropy",
    "train_model",
    "train_on_task",
]

#: The chapter's models, by the name its tables use.
MODELS = {"RNN": RNN, "GRU": GRU, "LSTM": nn.LSTM}


class Readout(nn.Module):
    r"""A recurrent layer and a linear layer on its hidden state: at the last step or at every one.

    .. math::
        \hat y = W_o h_T + b_o \quad \text{or} \quad \hat y_t = W_o h_t + b_o

    Args:
        rnn: a time-first recurrent layer with ``torch.nn.RNN``'s interface (``grubook.RNN``,
            ``grubook.GRU``, ``torch.nn.LSTM``).
        out_features: O, outputs per prediction (1 for a regression, C for classes).
        every_step: predict at every step instead of once at the end. Default: ``False``.
        vocab_size: if set, x holds token ids, fed to the layer one-hot. Default: ``None``.

    Inputs: x
        - **x** (T, B, I) floats, or (T, B) token ids with ``vocab_size``.

    Outputs:
        (B,) with one output at the last step, (B, O) with more; (T, B, O) with ``every_step``.

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """

    def __init__(
        self,
        rnn: nn.Module,
        out_features: int,
        *,
        every_step: bool = False,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__()
        self.rnn, self.every_step, self.vocab_size = rnn, every_step, vocab_size
        self.head = nn.Linear(rnn.hidden_size, out_features)

    def forward(self, x: Tensor) -> Tensor:
        if self.vocab_size is not None:
            x = F.one_hot(x, self.vocab_size).to(self.head.weight.dtype)  # (T, B, C)
        output, _ = self.rnn(x)  # (T, B, H)
        if self.every_step:
            return self.head(output)  # (T, B, O)
        y = self.head(output[-1])  # (B, O)
        return y.squeeze(-1) if y.shape[-1] == 1 else y


def make_model(
    kind: str, input_size: int, hidden_size: int, out_features: int = 1, **readout: object
) -> Readout:
    """A :class:`Readout` around a one-layer ``"RNN"`` (tanh), ``"GRU"`` or ``"LSTM"``.

    Args:
        kind: ``"RNN"`` (:class:`grubook.RNN`), ``"GRU"`` (:class:`grubook.GRU`) or ``"LSTM"``
            (``torch.nn.LSTM``).
        input_size: I, features per step (the vocabulary's size for token ids).
        hidden_size: H, features of the hidden state.
        out_features: O, outputs per prediction. Default: 1.
        readout: keyword arguments of :class:`Readout` (``every_step``, ``vocab_size``).

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    if kind not in MODELS:
        raise ValueError(f"make_model: kind must be one of {', '.join(MODELS)}, got {kind!r}")
    return Readout(MODELS[kind](input_size, hidden_size), out_features, **readout)


def per_model(value: object, kind: str) -> object:
    """``value``, or ``value[kind]`` if it is a dict of one setting per model.

    Args:
        value: a setting (``3e-2``), or one per model (``{"RNN": 1e-3, "GRU": 3e-2}``).
        kind: the model's name, a key of ``value`` if it is a dict.

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    if isinstance(value, dict):
        if kind not in value:
            raise ValueError(f"no setting for {kind!r} in {value!r}")
        return value[kind]
    return value


def sequence_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """The mean cross-entropy over every step of every sequence, in nats.

    Args:
        logits: (T, B, C) scores of every step.
        y: (T, B) the target classes.

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


@dataclasses.dataclass
class Curve:
    """A training run's test (and training) loss, every ``eval_every`` steps.

    :func:`train_on_task` fills one in; each argument is also the attribute of that name.

    Args:
        steps: the steps taken at each evaluation, from 0 (before training).
        test_loss: the loss on the fixed test set at each evaluation.
        train_loss: the mean training loss over the steps since the evaluation before (``nan``
            at step 0).
        reached: the first step whose test loss was at or below the target, or ``None``.
        seconds: the wall time of the training, evaluations included (a timing).

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """

    steps: list[int] = dataclasses.field(default_factory=list)
    test_loss: list[float] = dataclasses.field(default_factory=list)
    train_loss: list[float] = dataclasses.field(default_factory=list)
    reached: int | None = None
    seconds: float = 0.0


def train_on_task(
    model: nn.Module,
    stream: Callable[[int], object],
    test: object,
    *,
    steps: int,
    eval_every: int,
    lr: float,
    batch_size: int = 32,
    clip: float | None = 1.0,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.mse_loss,
    target: float | None = None,
    progress: bool = False,
) -> Curve:
    """Train with Adam on fresh batches, evaluating every ``eval_every`` steps; return the curve.

    Each round calls :func:`grubook.fit` for one pass over ``stream(eval_every * batch_size)``
    (one Adam optimizer throughout), then measures ``loss_fn`` on ``test``. Training stops after
    ``steps`` steps, or at the first evaluation at or below ``target``.

    Args:
        model: called as ``model(x)`` on batches of the stream.
        stream: a function of the number of items that returns a :class:`grubook.data.Stream`
            of them (the same stream object each call, so that items are never repeated).
        test: the test set, a map-style dataset evaluated as one batch.
        steps: the step budget, a multiple of ``eval_every``.
        eval_every: steps between evaluations.
        lr: Adam's learning rate.
        batch_size: B, sequences per batch. Default: 32.
        clip: the largest gradient norm, or ``None``. Default: 1.0.
        loss_fn: the loss, ``(outputs, y) -> scalar``. Default: mean squared error.
        target: stop once the test loss is at or below it, or ``None``. Default: ``None``.
        progress: a ``tqdm.auto`` bar over the steps. Default: ``False``.

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    if steps % eval_every:
        raise ValueError(f"train_on_task: steps={steps} is not a multiple of {eval_every=}")
    padding = -100 if test[0][1].dim() else None  # sequence targets come time-first, like x
    loader = functools.partial(make_loader, batch_size=batch_size, target_padding=padding)
    test_loader = loader(test, batch_size=len(test))
    train_loader = loader(stream(eval_every * batch_size))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    measure = functools.partial(evaluate, loss_fn=loss_fn, metric=None, use_lengths=False)
    curve, start = Curve(), time.perf_counter()
    curve.steps.append(0)
    curve.test_loss.append(measure(model, test_loader)["loss"])
    curve.train_loss.append(float("nan"))
    bar = tqdm(total=steps, desc="train", unit="step", disable=None if progress else True)
    with bar:
        while curve.steps[-1] < steps and curve.reached is None:
            history = fit(
                model,
                train_loader,
                epochs=1,
                optimizer=optimizer,
                loss_fn=loss_fn,
                metric=None,
                clip=clip,
                use_lengths=False,
                progress=False,
            )
            curve.steps.append(curve.steps[-1] + eval_every)
            curve.test_loss.append(measure(model, test_loader)["loss"])
            curve.train_loss.append(history.train_loss[0])
            if target is not None and curve.test_loss[-1] <= target:
                curve.reached = curve.steps[-1]
            bar.update(eval_every)
            bar.set_postfix(test_loss=curve.test_loss[-1])
    curve.seconds = time.perf_counter() - start
    return curve


def train_model(
    kind: str,
    model: nn.Module,
    task: Callable,
    T: int,
    test: object,
    generator: torch.Generator,
    *,
    steps: int | dict[str, int],
    lr: float | dict[str, float],
    **options: object,
) -> Curve:
    """Train one of an experiment's models on fresh items of a task: :func:`train_on_task`.

    Args:
        kind: the model's name (``"RNN"``, ``"GRU"``, ``"LSTM"``), to pick its settings.
        model: the model to train.
        task: the dataset class of the training items (:class:`grubook.data.AddingProblem`,
            :class:`grubook.data.CopyTask`), drawn by a :class:`grubook.data.Stream`.
        T: the task's length argument.
        test: the test set.
        generator: the generator the stream continues (the experiment's, after its test set).
        steps: the step budget, or one per model.
        lr: Adam's learning rate, or one per model.
        options: the other keyword arguments of :func:`train_on_task`.

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    return train_on_task(
        model,
        lambda n: Stream(task, n, T, seed=generator),
        test,
        steps=per_model(steps, kind),
        lr=per_model(lr, kind),
        **options,
    )


@contextlib.contextmanager
def flush_denormal() -> Iterator[None]:
    """Flush denormal floats to zero in the block (off again after it).

    As a gradient vanishes it passes through denormal numbers, which a CPU computes with far more
    slowly (on the book's CPU an ``nn.GRU`` training step at T = 200, H = 128, B = 128 went from
    840 to 222 ms); flushing them changes only values below about 1e-38 in float32. Every model of
    a comparison runs under the same setting.

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
