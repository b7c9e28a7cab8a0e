r"""Chapter 1's table: how much gradient reaches 50 steps back, in RNNs and GRUs at initialisation.

Five models read the same random input; the loss is the sum of the last hidden state, and the
table gives :math:`\|\partial L / \partial h_{T - \text{lag}}\| / \|\partial L / \partial h_T\|`
for each (see :func:`grubook.hidden_state_grad_norms`): a tanh RNN at its default initialisation
and with :math:`W_{hh}` rescaled to spectral radius 1 and 2, a GRU at its default initialisation and
one whose update-gate bias is raised so that the gate starts near 1 (the idea of initialising an
LSTM's forget-gate bias to 1: Jozefowicz, Zaremba & Sutskever, ICML 2015). In float64, so that the
smallest ratios do not underflow. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import math
import time

import torch

from grubook.diagnostics import hidden_state_grad_norms, set_spectral_radius
from grubook.experiments.registry import Result, register
from grubook.layer import GRU
from grubook.rnn import RNN
from grubook.seed import seeded

__all__ = ["gradient_decay"]

NAME = "gradient-decay"


def _dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in ("float32", "float64"):
        raise ValueError(f"{NAME}: dtype must be 'float32' or 'float64', got {dtype!r}")
    return getattr(torch, dtype)


@register(
    NAME,
    "chapter 1: the gradient reaching 50 steps back, relative to the last step's, in "
    "RNNs and GRUs at initialisation",
    aggregate=("log10_ratio",),
    quick={"T": 20, "B": 4, "H": 8, "lag": 10},
)
def gradient_decay(
    *,
    T: int = 100,
    B: int = 16,
    I: int = 8,
    H: int = 32,
    lag: int = 50,
    radii: tuple[float, ...] = (1.0, 2.0),
    update_bias: float = 3.0,
    seed: int = 0,
    dtype: str | torch.dtype = "float64",
) -> Result:
    """Measure the gradient reaching ``lag`` steps back from a loss at step T, for five models.

    Under :func:`grubook.seeded` (``seed``), in this order: x (T, B, I) standard normal; a
    ``grubook.RNN(I, H)``; one RNN per radius in ``radii``, rescaled with
    :func:`grubook.set_spectral_radius`; a ``grubook.GRU(I, H)``; a GRU with ``update_bias``
    added to its update gate's recurrent bias.

    Args:
        T: steps. Default: 100.
        B: sequences. Default: 16.
        I: input features. Default: 8.
        H: hidden units. Default: 32.
        lag: how many steps back from T the table looks, 1 to T - 1. Default: 50.
        radii: spectral radii of the rescaled RNNs. Default: ``(1.0, 2.0)``.
        update_bias: added to the update gate's bias :math:`b_{hz}`. Default: 3.0.
        seed: seeds the input and the weights. Default: 0.
        dtype: ``"float64"`` or ``"float32"``. Default: ``"float64"``.

    Returns:
        A :class:`~grubook.experiments.Result` with rows ``{"model", "ratio", "log10_ratio"}``
        (ratio at step T - lag) and extras ``norms`` ({model: (T,) ratios at every step}),
        ``models`` ({model: module}) and ``x`` (the input).

    Example::

        >>> result = gradient_decay()
        >>> result.row("GRU, update bias +3")["ratio"]   # 8.97e-02

    Introduced in chapter 1, *Recurrent networks*.
    """
    if not 1 <= lag < T:
        raise ValueError(f"{NAME}: lag must be in [1, T - 1] = [1, {T - 1}], got lag={lag}")
    start = time.perf_counter()
    dt = _dtype(dtype)
    with seeded(seed):
        x = torch.randn(T, B, I, dtype=dt)  # (T, B, I)
        models = {"RNN, default init": RNN(I, H, dtype=dt)}
        for rho in radii:
            models[f"RNN, ρ = {rho:g}"] = set_spectral_radius(RNN(I, H, dtype=dt), rho)
        models["GRU, default init"] = GRU(I, H, dtype=dt)
        gru = GRU(I, H, dtype=dt)
        with torch.no_grad():
            gru.bias_hh_l0[H : 2 * H] += update_bias  # rows (r | z | n): the update gate's bias
        models[f"GRU, update bias +{update_bias:g}"] = gru
    norms = {label: hidden_state_grad_norms(model, x).detach() for label, model in models.items()}
    rows = []
    for label, n in norms.items():
        ratio = n[-1 - lag].item()  # t = T - lag
        log10 = math.log10(ratio) if ratio > 0 else -math.inf
        rows.append({"model": label, "ratio": ratio, "log10_ratio": log10})
    config = {
        "T": T,
        "B": B,
        "I": I,
        "H": H,
        "lag": lag,
        "radii": list(radii),
        "update_bias": update_bias,
        "seed": seed,
        "dtype": str(dt).removeprefix("torch."),
    }
    seconds = time.perf_counter() - start
    return Result(NAME, rows, config, seconds, {"norms": norms, "models": models, "x": x})
