"""Chapter 9's table: cuDNN's ``nn.GRU`` against grubook's GRU on a GPU, and what autocast buys.

Every speed row times two models interleaved in one process (A B A B ..., the median of the
per-pair ratios; :func:`grubook.compare_ms`), each call followed by
``torch.cuda.synchronize()`` so that the clock sees the GPU's work, not just its launch.
``nn.GRU`` on CUDA runs cuDNN's persistent RNN kernels: the whole sequence in a few launches,
where grubook's loop launches a handful of small kernels per step. Autocast (Micikevicius et al.
2018, "Mixed Precision Training", arXiv 1710.03740) runs the matmuls in bfloat16 or float16;
the accuracy rows train the same classifier in each precision. Every row records the device's
name and the CUDA and cuDNN versions. Introduced in chapter 9, *On the GPU (optional)*.
"""

from __future__ import annotations

import contextlib
import time

import torch
from torch import nn
from torch.nn import functional as F

from grubook.classifier import GRUClassifier
from grubook.data import SignOfSum, make_loader
from grubook.evaluation import evaluate
from grubook.experiments.registry import Result, Unavailable, register
from grubook.layer import GRU
from grubook.seed import seeded
from grubook.timing import compare_ms

__all__ = ["device_info", "gpu_benchmark"]

NAME = "gpu-benchmark"
CUDNN, GRUBOOK, COMPILED = "nn.GRU (cuDNN)", "grubook.GRU", "torch.compile(grubook.GRU)"
DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def device_info(device: torch.device | str) -> dict:
    """The device's name and the CUDA and cuDNN versions (``None`` where they do not apply).

    Args:
        device: the device the rows were measured on.

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return {"device_name": "cpu", "cuda": None, "cudnn": None}
    return {
        "device_name": torch.cuda.get_device_name(device),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
    }


def _synced(fn, device: torch.device):
    if device.type != "cuda":
        return fn

    def call():
        fn()
        torch.cuda.synchronize(device)

    return call


def _autocast(device: torch.device, precision: str):
    dtype = DTYPES[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _step(model, x, precision: str, device: torch.device, train: bool):
    """One forward (and backward, if ``train``) of a (T, B, I) batch: a function of nothing."""

    def forward():
        with _autocast(device, precision):
            return model(x)[0]

    def train_step():
        model.zero_grad(set_to_none=True)
        forward().float().square().mean().backward()

    if train:
        return _synced(train_step, device)
    return _synced(lambda: torch.no_grad()(forward)(), device)


def _speed_rows(T, B, I, H, precisions, repeats, device, compile_too) -> list[dict]:
    torch_gru = nn.GRU(I, H).to(device)
    ours = GRU.from_torch(torch_gru)  # the same weights
    contenders = {GRUBOOK: ours}
    if compile_too:
        contenders[COMPILED] = torch.compile(GRU.from_torch(torch_gru))
    x = torch.randn(T, B, I, device=device)
    rows = []
    for precision in precisions:
        for kind in ("train", "forward"):
            ref = _step(torch_gru, x, precision, device, kind == "train")
            for name, model in contenders.items():
                row = {"model": name, "kind": kind, "precision": precision, "T": T, "B": B}
                try:
                    start = time.perf_counter()
                    step = _step(model, x, precision, device, kind == "train")
                    step()  # a compile happens here
                    row["first_call_seconds"] = time.perf_counter() - start
                    c = compare_ms(step, ref, repeats=repeats, warmup=2)
                except Exception as error:  # a failed compile is a result too: say what failed
                    row["error"] = f"{type(error).__name__}: {error}"[:300]
                    rows.append(row)
                    continue
                row.update(ms=c.a_median_ms, cudnn_ms=c.b_median_ms, ratio_vs_cudnn=c.ratio)
                rows.append(row)
    return rows


def _accuracy_row(precision, device, hidden_size, epochs, n_train, seed) -> dict:
    """Train one classifier under autocast in ``precision``; its test accuracy in float32."""
    with seeded(seed):
        train, test = SignOfSum(n_train, seed=seed), SignOfSum(1024, seed=seed + 1)
        model = GRUClassifier(2, hidden_size, 2).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        scaler = torch.amp.GradScaler(device.type, enabled=precision == "float16")
        start = time.perf_counter()
        for _ in range(epochs):
            for x, lengths, y in make_loader(train, 64, shuffle=True, seed=seed):
                opt.zero_grad()
                with _autocast(device, precision):
                    logits = model(x.to(device), lengths=lengths.to(device))
                    loss = F.cross_entropy(logits.float(), y.to(device))
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
        seconds = time.perf_counter() - start
        model.cpu()
        accuracy = evaluate(model, make_loader(test, 256), metric="accuracy")["accuracy"]
    return {
        "model": f"GRUClassifier, {precision}",
        "kind": "accuracy",
        "precision": precision,
        "accuracy": accuracy,
        "train_seconds": seconds,
    }


@register(
    NAME,
    "chapter 9: cuDNN's nn.GRU against grubook's GRU on a GPU (train and forward, float32 and "
    "autocast), sweeps over B and T, and a short training run in each precision; needs CUDA",
    quick={
        "T": 8,
        "B": 4,
        "Ts": (8,),
        "Bs": (4,),
        "hidden_size": 8,
        "repeats": 3,
        "epochs": 1,
        "n_train": 128,
        "compile": False,
    },
)
def gpu_benchmark(
    *,
    device: str = "cuda",
    T: int = 100,
    B: int = 64,
    input_size: int = 32,
    hidden_size: int = 128,
    Ts: tuple[int, ...] = (25, 100, 400),
    Bs: tuple[int, ...] = (1, 16, 64, 256),
    precisions: tuple[str, ...] = ("float32", "bfloat16", "float16"),
    repeats: int = 20,
    epochs: int = 3,
    n_train: int = 4096,
    compile: bool = True,
    seed: int = 0,
) -> Result:
    """Time cuDNN's ``nn.GRU`` against grubook's GRU, and train in each precision.

    Speed rows (``kind`` ``"train"`` or ``"forward"``): the headline shape in every precision,
    then float32 sweeps over ``Ts`` (at B) and ``Bs`` (at T); each row has ``ms`` (grubook),
    ``cudnn_ms`` and ``ratio_vs_cudnn`` (the median of the per-pair ratios), and
    ``first_call_seconds`` (the compile, for ``torch.compile``). A failure (a compile that does
    not work) is a row with ``error``. Accuracy rows (``kind`` ``"accuracy"``): a
    :class:`grubook.GRUClassifier` trained on :class:`grubook.data.SignOfSum` under autocast
    in each precision, tested in float32. Every row names the device, CUDA and cuDNN.

    Args:
        device: ``"cuda"`` (or ``"cuda:1"``); ``"cpu"`` only to test the code. Default: ``"cuda"``.
        T: the headline length. Default: 100.
        B: the headline batch. Default: 64.
        input_size: I. Default: 32.
        hidden_size: H. Default: 128.
        Ts: lengths of the sweep over T. Default: ``(25, 100, 400)``.
        Bs: batches of the sweep over B. Default: ``(1, 16, 64, 256)``.
        precisions: among ``"float32"``, ``"bfloat16"``, ``"float16"``. Default: all three.
        repeats: timed pairs per row. Default: 20.
        epochs: epochs of each accuracy run. Default: 3.
        n_train: training sequences of each accuracy run. Default: 4096.
        compile: also time ``torch.compile`` of grubook's GRU. Default: ``True``.
        seed: seeds the weights, data and training. Default: 0.

    Raises:
        Unavailable: (a RuntimeError) if ``device`` is CUDA and this machine has none.

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise Unavailable(
            "gpu-benchmark: needs a CUDA GPU, and torch.cuda.is_available() is False here "
            f"(torch {torch.__version__}); pass device='cpu' only to test the code"
        )
    unknown = [p for p in precisions if p not in DTYPES]
    if unknown:
        raise ValueError(f"gpu-benchmark: unknown precision {unknown[0]!r}; use {list(DTYPES)}")
    start = time.perf_counter()
    I, H = input_size, hidden_size
    with seeded(seed):
        rows = _speed_rows(T, B, I, H, precisions, repeats, dev, compile)
        for t in (t for t in Ts if t != T):
            rows += _speed_rows(t, B, I, H, ("float32",), repeats, dev, False)
        for b in (b for b in Bs if b != B):
            rows += _speed_rows(T, b, I, H, ("float32",), repeats, dev, False)
    rows += [_accuracy_row(p, dev, H, epochs, n_train, seed) for p in precisions]
    info = device_info(dev)
    rows = [{**row, **info} for row in rows]
    config = dict(
        device=device,
        T=T,
        B=B,
        input_size=I,
        hidden_size=H,
        Ts=list(Ts),
        Bs=list(Bs),
        precisions=list(precisions),
        repeats=repeats,
        epochs=epochs,
        n_train=n_train,
        compile=compile,
        seed=seed,
        torch=torch.__version__,
        **info,
    )
    return Result(NAME, rows, config, time.perf_counter() - start)
