"""Chapter 9's DDP table: one process against several, each launched by ``torchrun``.

Each row is one ``torchrun --standalone --nproc-per-node N -m grubook.distributed --json`` run
(:func:`grubook.distributed.train_ddp`: a GRU classifier on :class:`grubook.data.SignOfSum`,
the same global batch, the gradients averaged by DDP), started as a subprocess and read back
from its JSON line. Introduced in chapter 9, *On the GPU (optional)*.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from grubook.experiments.registry import Result, register

__all__ = ["ddp", "torchrun_command"]

NAME = "ddp"


def torchrun_command(processes: int, **options) -> list[str]:
    """The ``torchrun`` command line (as ``python -m torch.distributed.run``) for a DDP run.

    Args:
        processes: processes on this machine (``--nproc-per-node``).
        options: options of ``grubook.distributed``, e.g. ``epochs=3`` gives ``--epochs 3``.

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={processes}",
        "-m",
        "grubook.distributed",
        "--json",
    ]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    return command


@register(
    NAME,
    "chapter 9: a GRU classifier trained with DistributedDataParallel by torchrun on 1 and on "
    "2 processes (gloo on CPU, nccl on GPU): accuracy and throughput",
    quick={"epochs": 1, "n_train": 256},
)
def ddp(
    *,
    processes: tuple[int, ...] = (1, 2),
    epochs: int = 3,
    batch_size: int = 64,
    hidden_size: int = 32,
    n_train: int = 4096,
    threads: int = 1,
    seed: int = 0,
) -> Result:
    """Train with DDP on each number of ``processes``; one row each.

    Rows: ``model`` ("DDP, N process(es)"), ``world_size``, ``backend``, ``test_accuracy``,
    ``train_seconds`` and ``samples_per_second`` (timings), ``parameter_checksum``.

    Args:
        processes: the numbers of processes to run. Default: ``(1, 2)``.
        epochs: passes over the training set. Default: 3.
        batch_size: the global batch (split over the processes). Default: 64.
        hidden_size: H. Default: 32.
        n_train: training sequences. Default: 4096.
        threads: torch threads per process. Default: 1.
        seed: seeds data, model and sampler. Default: 0.

    Raises:
        RuntimeError: if a ``torchrun`` run fails (its error output is in the message).

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    start = time.perf_counter()
    rows = []
    for n in processes:
        command = torchrun_command(
            n,
            epochs=epochs,
            batch_size=batch_size,
            threads=threads,
            hidden_size=hidden_size,
            n_train=n_train,
            seed=seed,
        )
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"ddp: torchrun with {n} processes failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"model": f"DDP, {n} process{'es' if n > 1 else ''}", **result})
    config = dict(
        processes=list(processes),
        epochs=epochs,
        batch_size=batch_size,
        hidden_size=hidden_size,
        n_train=n_train,
        threads=threads,
        seed=seed,
    )
    return Result(NAME, rows, config, time.perf_counter() - start)
