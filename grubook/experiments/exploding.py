r"""Chapter 3's exploding gradients: a tanh RNN whose gradient blows up, and clipping its norm.

Three runs of plain SGD (or Adam) on the adding problem, on the same batches: a tanh RNN at its
default initialisation; the same RNN with :math:`W_{hh}` rescaled to a large spectral radius, so
that :math:`\|\partial h_T / \partial h_t\|` grows with T - t (chapter 1); and that RNN again with
the gradient's total norm clipped, :math:`g \leftarrow g \cdot \min(1, c / \|g\|)` (Pascanu,
Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML 2013,
arXiv:1211.5063, §3.2, Algorithm 1). Plain SGD by default, because a step of Adam is divided by a
running scale of the gradient, which already damps a sudden spike. Introduced in chapter 3,
*Long memory*.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from grubook.data import AddingProblem, Stream, make_generator, make_loader
from grubook.diagnostics import set_spectral_radius
from grubook.experiments.registry import Result, register
from grubook.experiments.training import flush_denormal, make_model
from grubook.seed import seeded
from grubook.timing import num_threads

__all__ = ["exploding_gradients"]

NAME = "exploding"


OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def _run(model: nn.Module, loader, test: AddingProblem, optimizer, clip: float | None):
    """Train over the loader; the gradient norm and loss of each step, and the final test MSE.

    Stops at the first step whose loss is not finite (the test MSE is then ``nan``).
    """
    norms, losses = [], []
    for x, _, y in loader:
        loss = nn.functional.mse_loss(model(x), y)
        if not math.isfinite(loss.item()):
            return norms, losses, math.nan
        optimizer.zero_grad()
        loss.backward()
        # the norm before clipping; max_norm=inf leaves the gradient as it is
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip else math.inf)
        optimizer.step()
        norms.append(norm.item())
        losses.append(loss.item())
    x, y = test.tensors()
    with torch.no_grad():
        return norms, losses, nn.functional.mse_loss(model(x), y).item()


@register(
    NAME,
    "chapter 3: gradient norms of a tanh RNN trained by SGD on the adding problem, at its "
    "default initialisation and at a large spectral radius, without and with clipping",
    quick={"steps": 40},
)
def exploding_gradients(
    *,
    T: int = 50,
    hidden_size: int = 32,
    radius: float = 2.0,
    lr: float = 0.1,
    clip: float = 1.0,
    optimizer: str = "sgd",
    batch_size: int = 32,
    steps: int = 200,
    n_test: int = 256,
    seed: int = 0,
    threads: int = 1,
) -> Result:
    """Train three tanh RNNs on the same batches; record every step's gradient norm.

    Under :func:`grubook.seeded` (``seed``): the test set and each run's batches come from a
    generator seeded with ``seed`` (the same batches for every run); the RNN is made
    (:func:`~grubook.experiments.training.make_model`) once at the default initialisation and
    once more from the same seed, rescaled by :func:`grubook.set_spectral_radius` to ``radius``.

    Args:
        T: steps of the adding problem. Default: 50.
        hidden_size: H, features of the hidden state. Default: 32.
        radius: the spectral radius of :math:`W_{hh}` in the second and third runs. Default: 2.0.
        lr: the learning rate. Default: 0.1.
        clip: the largest gradient norm in the third run. Default: 1.0.
        optimizer: ``"sgd"`` (plain SGD) or ``"adam"``. Default: ``"sgd"``.
        batch_size: B, sequences per batch. Default: 32.
        steps: training steps of each run. Default: 200.
        n_test: test sequences. Default: 256.
        seed: seeds the data and the weights. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per run, ``{"model", "steps",
        "diverged", "max_grad_norm", "median_grad_norm", "clipped_share", "mse"}``: the steps
        taken before the loss stopped being finite (or all), whether it did, the largest and
        median gradient norm before clipping, the share of steps whose norm exceeded ``clip``,
        and the final test MSE (``nan`` after a divergence); extras ``grad_norms`` and ``losses``
        (by row name, one value per step).

    Example::

        >>> result = exploding_gradients()
        >>> result.row("RNN, ρ = 2")["diverged"]

    Introduced in chapter 3, *Long memory: vanishing and exploding gradients on real tasks*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k != "start"}
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"{NAME}: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    runs = {
        "RNN, default init": (None, None),
        f"RNN, ρ = {radius:g}": (radius, None),
        f"RNN, ρ = {radius:g}, clipped at {clip:g}": (radius, clip),
    }
    rows, extras = [], {"grad_norms": {}, "losses": {}}
    with seeded(seed), num_threads(threads), flush_denormal():
        for label, (rho, max_norm) in runs.items():
            torch.manual_seed(seed)  # the same initial weights for every run
            model = make_model("RNN", 2, hidden_size)
            if rho is not None:
                set_spectral_radius(model.rnn, rho)
            g = make_generator(seed)  # the same test set and batches for every run
            test = AddingProblem(n_test, T, seed=g)
            loader = make_loader(Stream(AddingProblem, steps * batch_size, T, seed=g), batch_size)
            optim = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
            norms, losses, mse = _run(model, loader, test, optim, max_norm)
            extras["grad_norms"][label], extras["losses"][label] = norms, losses
            n = torch.tensor(norms)
            rows.append(
                {
                    "model": label,
                    "steps": len(norms),
                    "diverged": not math.isfinite(mse),
                    "max_grad_norm": n.max().item(),
                    "median_grad_norm": n.median().item(),
                    "clipped_share": (n > clip).float().mean().item(),
                    "mse": mse,
                }
            )
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
