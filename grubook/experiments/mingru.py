r"""Chapter 10's tables: minGRU's training step against the GRU's, its scans for speed and
accuracy, and minGRU against the GRU at the same budget on three tasks.

Three parts, each a list of rows with ``"part"``: ``"step"`` times a training step (forward,
backward) at one shape, interleaved in one process against ``torch.nn.GRU`` (the median of the
per-pair ratios); ``"scan"`` times each of :func:`grubook.scan.scan`'s ways over T and measures
its error against a float64 reference (the fused loop in float64, which equals the sequential
loop there to about 1e-15), beside the bound chapter 10 derives for the
log-space scan, :math:`16\,\varepsilon\,(1 + |a^*_T|)`; ``"task"`` trains a GRU and minGRUs with
the same steps, batch and hidden size on the adding problem (:class:`grubook.data.AddingProblem`),
the sign of a sum with lengths (:class:`grubook.data.SignOfSum`) and the parity of a bit string,
which needs a state-dependent gate (Grazzi et al. 2024, arXiv 2411.12537). Introduced in chapter
10, *Beyond the GRU*.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from grubook.classifier import GRUClassifier
from grubook.data import AddingProblem, SignOfSum, make_generator
from grubook.experiments.registry import Result, register
from grubook.experiments.training import flush_denormal
from grubook.layer import GRU
from grubook.mingru import MinGRU
from grubook.scan import extension, scan
from grubook.seed import seeded
from grubook.timing import compare_ms, num_threads

__all__ = ["mingru"]

NAME = "mingru"

#: The scans compared: the row's name and :func:`grubook.scan.scan`'s arguments.
SCANS = {
    "fast (C++)": {"mode": "fast", "cpp": True},
    "fast (PyTorch)": {"mode": "fast", "cpp": False},
    "log-scan": {"mode": "log-scan"},
    "sequential": {"mode": "sequential"},
}


def _train_step(model: nn.Module, x: torch.Tensor):
    """A function that runs one forward and backward pass of ``model`` on x (T, B, I)."""

    def step():
        output, _ = model(x)
        output.square().mean().backward()

    return step


def _step_rows(B, T, I, H, repeats):
    """Training-step time of each model against ``nn.GRU``, interleaved pair by pair."""
    x = torch.randn(T, B, I)
    reference = _train_step(nn.GRU(I, H), x)
    models = {"minGRU fast": MinGRU(I, H), "minGRU log-scan": MinGRU(I, H, mode="log-scan")}
    if extension() is not None:
        models["minGRU fast (PyTorch)"] = MinGRU(I, H)
    models["grubook.GRU"] = GRU(I, H)
    rows = []
    for name, model in models.items():
        step = _train_step(model, x)
        if name == "minGRU fast (PyTorch)":
            step = _without_cpp(step)
        few = repeats if "GRU" not in name else max(3, repeats // 4)  # the slow loop
        c = compare_ms(step, reference, repeats=few, warmup=1)
        rows.append(
            {
                "part": "step",
                "model": name,
                "T": T,
                "step_ms": c.a_median_ms,
                "nn_gru_ms": c.b_median_ms,
                "ratio_vs_nn_gru": c.ratio,
            }
        )
    return rows


def _without_cpp(fn):
    """``fn`` run with the C++ kernel hidden, so ``mode="fast"`` takes the PyTorch fallback."""
    import grubook.scan as scan_module

    def run():
        saved, scan_module.extension = scan_module.extension, lambda: None
        try:
            fn()
        finally:
            scan_module.extension = saved

    return run


def _scan_rows(Ts, B, H, repeats, loop_T_max):
    """Forward + backward time of each scan over T, and its error against float64."""
    rows = []
    for T in Ts:
        gi = torch.randn(T, B, 2 * H)  # (T, B, 2H): pre-activations like W x_t + b at init
        h0 = torch.zeros(B, H)
        ref = gi.double().requires_grad_(True)
        out_ref, _ = scan(ref, h0.double(), "fast")  # float64: equal to the loop (the tests)
        (grad_ref,) = torch.autograd.grad(out_ref.sum(), ref)
        out_ref = out_ref.detach()
        a_star = float(F.softplus(gi[..., :H].double()).sum(0).max())  # |a*_T|, the largest
        for name, kwargs in SCANS.items():
            if kwargs.get("cpp") and extension() is None:
                continue
            if name == "sequential" and T > loop_T_max:
                continue
            x = gi.clone().requires_grad_(True)

            def run(x=x, h0=h0, kwargs=kwargs):
                out, _ = scan(x, h0, **kwargs)
                (grad,) = torch.autograd.grad(out.sum(), x)
                return out, grad

            first = time.perf_counter()
            out, grad = run()
            slow = time.perf_counter() - first > 0.1  # the loops at large T: a few calls will do
            times = []
            for _ in range(min(repeats, 3) if slow else repeats):
                start = time.perf_counter()
                run()
                times.append(1e3 * (time.perf_counter() - start))
            rows.append(
                {
                    "part": "scan",
                    "model": name,
                    "T": T,
                    "scan_ms": statistics.median(times),
                    "out_error": float(
                        ((out.detach().double() - out_ref).abs() / out_ref.abs()).max()
                    ),
                    "grad_error": float(
                        (grad.double() - grad_ref).abs().max() / grad_ref.abs().max()
                    ),
                    "a_star": a_star,
                    "bound": 16 * torch.finfo(torch.float32).eps * (1 + a_star),
                }
            )
    return rows


def _parity(n: int, T: int, g: torch.Generator):
    """n strings of T bits as ±1 (T, n, 1), and the parity of each one's ones, (n,) in {0, 1}."""
    bits = torch.randint(0, 2, (T, n, 1), generator=g)
    return 2.0 * bits - 1, None, bits.sum((0, 2)) % 2


def _adding(n: int, T: int, g: torch.Generator):
    x, y = AddingProblem(n, T, seed=g).tensors()
    return x, None, y


def _sign_of_sum(n: int, T: int, g: torch.Generator):
    x, lengths, y = SignOfSum(n, t_min=T // 4, t_max=T, seed=g).tensors()
    return x, lengths, y


TASKS = {"adding": (_adding, 2, 1), "sign of sum": (_sign_of_sum, 2, 2), "parity": (_parity, 1, 2)}


def _fit(model, task, T, steps, batch_size, lr, g, test):
    """Adam on fresh batches, gradient norm clipped at 1; the test loss or accuracy after."""
    draw, _, classes = TASKS[task]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    for _ in range(steps):
        x, lengths, y = draw(batch_size, T, g)
        loss = _loss(model(x, lengths=lengths), y, classes)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        x, lengths, y = test
        out = model(x, lengths=lengths)
        score = _loss(out, y, classes) if classes == 1 else (out.argmax(-1) == y).float().mean()
    return float(score), seconds


def _loss(out, y, classes):
    return F.mse_loss(out[:, 0], y) if classes == 1 else F.cross_entropy(out, y)


def _task_rows(tasks, models, hidden_size, steps, batch_size, lr, n_test, seed):
    """Train each model on each task from the same seed; one row per model and task."""
    rows, extras = [], {}
    for task, T in tasks.items():
        draw, features, classes = TASKS[task]
        test = draw(n_test, T, make_generator(seed + 1))
        for name, (rnn_type, layers) in models.items():
            torch.manual_seed(seed)
            model = GRUClassifier(
                features, hidden_size, classes, rnn_type=rnn_type, num_layers=layers
            )
            budget = steps[task] if isinstance(steps, dict) else steps
            score, seconds = _fit(
                model, task, T, budget, batch_size, lr, make_generator(seed), test
            )
            metric = "mse" if classes == 1 else "accuracy"
            rows.append(
                {
                    "part": "task",
                    "model": name,
                    "task": task,
                    "T": T,
                    "steps": budget,
                    metric: score,
                    "params": sum(p.numel() for p in model.rnn.parameters()),
                    "train_seconds": seconds,
                }
            )
            extras[task, name] = model
    return rows, extras


@register(
    NAME,
    "chapter 10: minGRU's training step against nn.GRU and grubook.GRU, its scans for speed "
    "and error over T, and minGRU against the GRU on three tasks",
    keys=("part", "model", "task", "T"),
    quick={
        "T": 32,
        "repeats": 3,
        "scan_Ts": (32, 128),
        "tasks": {"parity": 8},
        "steps": 20,
        "n_test": 64,
    },
)
def mingru(
    *,
    B: int = 16,
    T: int = 1024,
    I: int = 32,
    H: int = 128,
    repeats: int = 15,
    scan_Ts: tuple[int, ...] = (64, 256, 1024, 4096),
    loop_T_max: int = 1024,
    tasks: dict[str, int] | None = None,
    models: dict[str, tuple[str, int]] | None = None,
    hidden_size: int = 32,
    steps: int | dict[str, int] = 1000,
    batch_size: int = 64,
    lr: float = 3e-2,
    n_test: int = 1024,
    seed: int = 0,
    threads: int = 2,
) -> Result:
    """Time minGRU against the GRU, compare its scans, and train both on three tasks.

    Args:
        B: the step timing's batch. Default: 16.
        T: the step timing's sequence length. Default: 1024.
        I: the step timing's input features. Default: 32.
        H: hidden units of the step and scan timings. Default: 128.
        repeats: timed pairs (or calls) per measurement. Default: 15.
        scan_Ts: the lengths T of the scan comparison. Default: ``(64, 256, 1024, 4096)``.
        loop_T_max: the longest T at which the sequential loop (with autograd, slow) is timed.
            Default: 1024.
        tasks: ``{task: T}`` for some of ``"adding"``, ``"sign of sum"``, ``"parity"``; ``None``
            for ``{"adding": 50, "sign of sum": 50, "parity": 8}``.
        models: ``{name: (rnn_type, num_layers)}`` trained on each task; ``None`` for the GRU,
            minGRU and a two-layer minGRU.
        hidden_size: H of the task models. Default: 32.
        steps: training steps per model (the budget), or ``{task: steps}``. Default: 1000.
        batch_size: sequences per training step. Default: 64.
        lr: Adam's learning rate. Default: 3e-2.
        n_test: test sequences per task. Default: 1024.
        seed: seeds the data and the weights. Default: 0.
        threads: ``torch.set_num_threads`` during the timings (restored after); the tasks train
            with one thread, so that they repeat exactly. Default: 2.

    Returns:
        A :class:`~grubook.experiments.Result` whose rows have ``"part"`` ``"step"`` (``model``,
        ``T``, ``step_ms``, ``nn_gru_ms``, ``ratio_vs_nn_gru``), ``"scan"`` (``model``, ``T``,
        ``scan_ms``, ``out_error``, ``grad_error``, ``a_star``, ``bound``) or ``"task"``
        (``model``, ``task``, ``T``, ``steps``, ``mse`` or ``accuracy``, ``params``,
        ``train_seconds``).
        Extras: ``models``, the trained models by ``(task, name)``.

    Introduced in chapter 10, *Beyond the GRU*.
    """
    start = time.perf_counter()
    tasks = {"adding": 50, "sign of sum": 50, "parity": 8} if tasks is None else tasks
    if models is None:
        models = {"GRU": ("gru", 1), "minGRU": ("mingru", 1), "minGRU, 2 layers": ("mingru", 2)}
    config = {k: v for k, v in locals().items() if k != "start"}
    config.update(scan_Ts=list(scan_Ts), models={k: list(v) for k, v in models.items()})
    with seeded(seed), num_threads(threads), flush_denormal():
        rows = _step_rows(B, T, I, H, repeats)
        rows += _scan_rows(scan_Ts, B, H, repeats, loop_T_max)
    with seeded(seed), num_threads(1), flush_denormal():  # small models: one thread, repeatable
        task_rows, trained = _task_rows(
            tasks, models, hidden_size, steps, batch_size, lr, n_test, seed
        )
    return Result(NAME, rows + task_rows, config, time.perf_counter() - start, {"models": trained})
