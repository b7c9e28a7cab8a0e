"""Chapter 8's table: how fast each GRU implementation trains and runs, interleaved in one process.

Six implementations of the same layer, timed in turns (one call of each, then again, so that a
slow moment of a shared machine slows all of them) with the thread count pinned: the first
version's cell of chapter 2 (three ``nn.Linear`` on ``[x, h]``) in a Python loop, ``grubook.GRU``
with the plain autograd loop, with the pure-PyTorch ``autograd.Function``, with the C++
extension's first loop (ATen's matmul, then one pass) and with its fused step (the default), and
``torch.nn.GRU``. Each is timed on a training step (forward and backward) and on inference
(forward under ``torch.no_grad``); each row gives the median time, the median of the per-round
ratios to ``nn.GRU``'s time, and the effective GFLOP/s beside a plain matmul of the same total
arithmetic, timed in the same rounds (how close to this machine's matmul speed). The batch-1
streaming step compares ``grubook.GRUCell`` with ``nn.GRUCell``. Introduced in chapter 8,
*Making it fast*.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from grubook.cell import GRUCell
from grubook.experiments.registry import Result, register
from grubook.fast import extension, fused
from grubook.layer import GRU
from grubook.seed import seeded
from grubook.timing import num_threads

__all__ = ["FirstVersionCell", "benchmark", "interleaved_ms"]

NAME = "benchmark"
FIRST, PLAIN, PYTHON, CPP_LOOP, CPP, TORCH, MATMUL = (
    "first version",
    "grubook plain",
    "grubook Function",
    "C++ first loop",
    "grubook C++",
    "nn.GRU",
    "matmul",
)


class FirstVersionCell(nn.Module):
    """Chapter 2's first version of the cell (its print removed): three ``Linear(I + H, H)``.

    Args:
        input_size: I, features of the input.
        hidden_size: H, features of the hidden state.

    Introduced in chapter 2, *The GRU cell*; timed in chapter 8, *Making it fast*.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.reset_gate = nn.Linear(input_size + hidden_size, hidden_size)
        self.update_gate = nn.Linear(input_size + hidden_size, hidden_size)
        self.candidate = nn.Linear(input_size + hidden_size, hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        combined = torch.cat([x, h], dim=1)  # (B, I + H)
        r = torch.sigmoid(self.reset_gate(combined))
        u = torch.sigmoid(self.update_gate(combined))
        candidate = torch.tanh(self.candidate(torch.cat([x, r * h], dim=1)))
        return (1 - u) * h + u * candidate


def interleaved_ms(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int
) -> dict[str, list[float]]:
    """Call each function once per round, ``repeats`` rounds after ``warmup``; times in ms.

    Args:
        fns: functions of no arguments, by name.
        repeats: timed rounds.
        warmup: untimed rounds first.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - start))
    return times


def _layers(I: int, H: int) -> dict[str, Callable]:
    """The implementations, same weights: each maps x (T, B, I) to the outputs (T, B, H)."""
    ref = nn.GRU(I, H)
    layers = {kind: GRU.from_torch(ref) for kind in (PLAIN, PYTHON, CPP)}
    for name, fast in ((PLAIN, False), (PYTHON, "python"), (CPP, "cpp")):
        layers[name].fast = fast
    first = FirstVersionCell(I, H)

    def first_loop(x):
        h, outs = x.new_zeros(x.shape[1], H), []
        for t in range(x.shape[0]):
            h = first(x[t], h)
            outs.append(h)
        return torch.stack(outs)

    def cpp_first_loop(x):
        with fused(False):
            return layers[CPP](x)[0]

    calls = {FIRST: first_loop, PLAIN: None, PYTHON: None, CPP_LOOP: cpp_first_loop}  # the order
    calls.update({name: (lambda x, m=m: m(x)[0]) for name, m in layers.items()})
    calls[TORCH] = lambda x: ref(x)[0]
    if extension() is None:  # both would fall back to the Function: rows timing that again
        del calls[CPP], calls[CPP_LOOP]
    return calls


def _tasks(calls: dict[str, Callable], x: torch.Tensor, mm: tuple) -> dict[str, dict]:
    """Training-step and inference closures of each implementation, plus the matmul."""
    a, w = mm

    def train(f):
        return lambda: f(x).sum().backward()

    def infer(f):
        def run():
            with torch.no_grad():
                f(x)

        return run

    tasks = {"train": {n: train(f) for n, f in calls.items()}}
    tasks["forward"] = {n: infer(f) for n, f in calls.items()}
    tasks["train"][MATMUL] = lambda: (a @ w, a @ w, a @ w)  # forward, and backward's two
    tasks["forward"][MATMUL] = lambda: a @ w
    return tasks


def _chosen(fns: dict, models, baseline: str) -> dict:
    """The functions of ``models`` (all if ``None``), always with the baseline and the matmul."""
    keep = set(fns) if models is None else {*models, baseline, MATMUL}
    return {name: fn for name, fn in fns.items() if name in keep}


def _shape_rows(sweep, T, B, I, H, repeats, warmup, models) -> list[dict]:
    calls = _chosen(_layers(I, H), models, TORCH)
    x = torch.randn(T, B, I)
    mm = (torch.randn(T * B, I + H), torch.randn(I + H, 3 * H))  # the same multiply-adds
    flops = 2 * T * B * (I + H) * 3 * H  # one forward's matmuls
    rows = []
    for task, fns in _tasks(calls, x, mm).items():
        times = interleaved_ms(fns, repeats, warmup)
        work = flops * (3 if task == "train" else 1)
        for model, ms in times.items():
            ratios = [a / b for a, b in zip(ms, times[TORCH], strict=True)]
            median = statistics.median(ms)
            rows.append(
                {
                    "model": model,
                    "task": task,
                    "sweep": sweep,
                    "T": T,
                    "B": B,
                    "I": I,
                    "H": H,
                    "median_ms": median,
                    "ratio_to_nn_gru": statistics.median(ratios),
                    "gflops": work / median / 1e6,
                }
            )
    return rows


def _step_rows(I: int, H: int, steps: int, repeats: int, warmup: int, models) -> list[dict]:
    """The batch-1 streaming step: ``steps`` GRUCell steps per timed call, no autograd."""
    ref = nn.GRUCell(I, H)
    cells = {kind: GRUCell.from_torch(ref) for kind in (PLAIN, PYTHON, CPP)}
    for name, fast in ((PLAIN, False), (PYTHON, "python"), (CPP, "cpp")):
        cells[name].fast = fast
    cells["nn.GRUCell"] = ref
    if extension() is None:
        del cells[CPP]
    cells = _chosen(cells, models, "nn.GRUCell")
    xs = torch.randn(steps, 1, I)

    def stream(cell):
        def run():
            with torch.no_grad():
                h = torch.zeros(1, H)
                for t in range(steps):
                    h = cell(xs[t], h)

        return run

    times = interleaved_ms({n: stream(c) for n, c in cells.items()}, repeats, warmup)
    rows = []
    for model, ms in times.items():
        ratios = [a / b for a, b in zip(ms, times["nn.GRUCell"], strict=True)]
        per_step = 1e3 * statistics.median(ms) / steps
        rows.append(
            {
                "model": model,
                "task": "step",
                "sweep": "batch-1 step",
                "T": 1,
                "B": 1,
                "I": I,
                "H": H,
                "median_ms": statistics.median(ms) / steps,
                "ratio_to_nn_gru": statistics.median(ratios),
                "gflops": 2 * (I + H) * 3 * H / per_step / 1e3,
            }
        )
    return rows


@register(
    NAME,
    "chapter 8: training-step and inference time of six GRU implementations against nn.GRU, "
    "with sweeps over T, B and H and the batch-1 streaming step",
    keys=("model", "task", "sweep", "T", "B", "I", "H"),
    quick={
        "T": 12,
        "B": 4,
        "I": 4,
        "H": 8,
        "sweep_T": (6,),
        "sweep_B": (2,),
        "sweep_H": (4,),
        "repeats": 3,
        "warmup": 1,
        "steps": 5,
    },
)
def benchmark(
    *,
    T: int = 100,
    B: int = 64,
    I: int = 32,
    H: int = 128,
    sweep_T: tuple[int, ...] = (25, 400),
    sweep_B: tuple[int, ...] = (8, 256),
    sweep_H: tuple[int, ...] = (32, 512),
    repeats: int = 15,
    warmup: int = 2,
    steps: int = 200,
    threads: int = 2,
    seed: int = 0,
    models: tuple[str, ...] | None = None,
) -> Result:
    """Time the six implementations at the headline shape, the sweeps and the batch-1 step.

    Args:
        T: the headline's sequence length.
        B: the headline's batch size.
        I: input features (all shapes).
        H: the headline's hidden size.
        sweep_T: other sequence lengths, each with the headline's B and H.
        sweep_B: other batch sizes.
        sweep_H: other hidden sizes.
        repeats: timed rounds per shape and task.
        warmup: untimed rounds first.
        steps: GRUCell steps per timed call of the batch-1 stream.
        threads: ``torch.set_num_threads`` during the run (restored after).
        seed: seeds the weights and inputs.
        models: time only these implementations (row names, such as ``"grubook C++"``), with
            the baselines and the matmul; ``None`` times all six.

    Returns:
        A :class:`Result` whose rows have ``model``, ``task`` (``"train"``, ``"forward"``,
        ``"step"``), ``sweep`` (``"headline"``, ``"T"``, ``"B"``, ``"H"``, ``"batch-1 step"``),
        the shape, ``median_ms`` (per step for the batch-1 rows), ``ratio_to_nn_gru`` (median of
        per-round ratios to ``nn.GRU``, or ``nn.GRUCell``) and ``gflops`` (effective, counting the
        matmuls' multiply-adds); ``config`` also says whether the C++ extension was built and
        how idle OpenMP threads wait (``OMP_WAIT_POLICY``). Timings vary from run to run.

    Introduced in chapter 8, *Making it fast*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k != "start"}
    config.update(sweep_T=list(sweep_T), sweep_B=list(sweep_B), sweep_H=list(sweep_H))
    config["models"] = None if models is None else list(models)
    config["cpp"] = extension() is not None
    # how idle OpenMP threads wait (see chapter 8): sleeping makes each small matmul wake them
    config["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "unset")
    shapes = [("headline", T, B, H)]
    shapes += [("T", t, B, H) for t in sweep_T] + [("B", T, b, H) for b in sweep_B]
    shapes += [("H", T, B, h) for h in sweep_H]
    rows: list[dict] = []
    with seeded(seed), num_threads(threads):
        for sweep, t, b, h in shapes:
            rows += _shape_rows(sweep, t, b, I, h, repeats, warmup, models)
        rows += _step_rows(I, H, steps, repeats, warmup, models)
    return Result(NAME, rows, config, time.perf_counter() - start)
