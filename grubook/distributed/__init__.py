"""Data-parallel training on several processes: PyTorch's DistributedDataParallel (DDP).

DDP (Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training",
arXiv 2006.15704) keeps one copy of the model per process. Each process runs forward and backward
on its own share of the batch; during the backward pass DDP averages the gradients over all
processes (an all-reduce: gloo on CPUs, nccl on NVIDIA GPUs), so every copy takes the same
optimizer step. With equal shares and a mean loss, the averaged gradient is the full batch's
gradient: :func:`ddp_gradients` checks exactly that.

Launch a training run with ``torchrun`` (``python -m torch.distributed.run``), which starts the
processes and gives each its ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and rendezvous address::

    torchrun --standalone --nproc-per-node 2 -m grubook.distributed --epochs 3 --json

Introduced in chapter 9, *On the GPU (optional)*.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from grubook.classifier import GRUClassifier
from grubook.data import SignOfSum, collate_sequences
from grubook.evaluation import evaluate
from grubook.seed import seed_everything

__all__ = ["backend_for", "ddp_gradients", "train_ddp"]


def backend_for(device: torch.device | str) -> str:
    """The collective backend for a device: ``"nccl"`` for CUDA, ``"gloo"`` otherwise.

    Args:
        device: the device the process computes on.

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def _shard(t: Tensor, rank: int, world_size: int, dim: int) -> Tensor:
    return t.tensor_split(world_size, dim=dim)[rank]


def _gradient_worker(rank, world_size, init_file, model, x, lengths, y, out_dir) -> None:
    """One process of :func:`ddp_gradients`: its share of the batch, DDP's averaged gradients."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        ddp = DistributedDataParallel(model)
        x_r, y_r = _shard(x, rank, world_size, 1), _shard(y, rank, world_size, 0)
        lengths_r = _shard(lengths, rank, world_size, 0)
        F.cross_entropy(ddp(x_r, lengths=lengths_r), y_r).backward()  # the all-reduce runs here
        grads = [p.grad for p in ddp.module.parameters()]
        torch.save(grads, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def ddp_gradients(
    model: nn.Module, x: Tensor, lengths: Tensor, y: Tensor, world_size: int = 2
) -> list[list[Tensor]]:
    """The gradients each of ``world_size`` DDP processes holds after one backward pass.

    The batch is split into ``world_size`` equal shares along B (one per process, gloo on CPU,
    a file rendezvous so no port is needed); each process computes the mean cross-entropy of
    its share, and DDP averages the gradients. The result equals the gradient of the mean loss
    over the whole batch in one process.

    Args:
        model: a classifier called as ``model(x, lengths=lengths)``; each process gets a copy.
        x: (T, B, I) inputs; B must be divisible by ``world_size``.
        lengths: (B,) valid steps of each sequence.
        y: (B,) class indices.
        world_size: the number of processes. Default: 2.

    Returns:
        One list of gradients per process (rank 0 first), in ``model.parameters()`` order.

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"ddp_gradients: world_size must be an int >= 1, got {world_size!r}")
    if y.shape[0] % world_size:
        raise ValueError(
            f"ddp_gradients: batch of {y.shape[0]} does not split into {world_size} equal shares"
        )
    with tempfile.TemporaryDirectory() as out_dir:
        init_file = Path(out_dir) / "rendezvous"
        args = (world_size, str(init_file), model, x, lengths, y, out_dir)
        mp.start_processes(_gradient_worker, args, nprocs=world_size, start_method="spawn")
        return [
            torch.load(Path(out_dir) / f"rank{r}.pt", weights_only=True) for r in range(world_size)
        ]


def _loader(data, batch_size: int, sampler=None, shuffle: bool = False) -> DataLoader:
    return DataLoader(
        data, batch_size, sampler=sampler, shuffle=shuffle, collate_fn=collate_sequences
    )


def train_ddp(
    epochs: int = 3,
    batch_size: int = 64,
    hidden_size: int = 32,
    n_train: int = 4096,
    lr: float = 3e-3,
    seed: int = 0,
) -> dict:
    """Train a GRU classifier on :class:`grubook.data.SignOfSum` with DDP, inside ``torchrun``.

    Each process reads ``RANK`` and ``WORLD_SIZE`` from the environment ``torchrun`` sets (a
    single process without them), trains on its share of every epoch
    (``DistributedSampler``), and the averaged gradients keep the copies equal. ``batch_size``
    is the global batch: each process takes ``batch_size / WORLD_SIZE`` sequences a step.

    Args:
        epochs: passes over the training set. Default: 3.
        batch_size: sequences per optimizer step, over all processes. Default: 64.
        hidden_size: H of the classifier. Default: 32.
        n_train: training sequences. Default: 4096.
        lr: Adam's learning rate. Default: 3e-3.
        seed: seeds the data, the model and the sampler. Default: 0.

    Returns:
        ``{"world_size", "backend", "test_accuracy", "train_seconds", "samples_per_second",
        "parameter_checksum"}`` (the same on every rank).

    Introduced in chapter 9, *On the GPU (optional)*.
    """
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if batch_size % world_size:
        raise ValueError(f"train_ddp: batch_size={batch_size} must divide by {world_size}")
    device = torch.device("cpu")
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    backend = backend_for(device)
    if "WORLD_SIZE" in os.environ:  # under torchrun: MASTER_ADDR, MASTER_PORT, ... are set
        dist.init_process_group(backend)
    else:  # one process on its own: a file rendezvous, no port
        rendezvous = Path(tempfile.mkdtemp()) / "rendezvous"
        dist.init_process_group(backend, init_method=f"file://{rendezvous}", rank=0, world_size=1)
    try:
        seed_everything(seed)
        train, test = SignOfSum(n_train, seed=seed), SignOfSum(1024, seed=seed + 1)
        model = DistributedDataParallel(GRUClassifier(2, hidden_size, 2).to(device))
        sampler = DistributedSampler(train, world_size, rank, shuffle=True, seed=seed)
        loader = _loader(train, batch_size // world_size, sampler)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        start = time.perf_counter()
        for epoch in range(epochs):
            sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
            for x, lengths, y in loader:
                opt.zero_grad()
                logits = model(x.to(device), lengths=lengths.to(device))
                F.cross_entropy(logits, y.to(device)).backward()
                opt.step()
        seconds = time.perf_counter() - start
        accuracy = evaluate(model.module, _loader(test, 256), metric="accuracy")["accuracy"]
        checksum = sum(p.double().sum().item() for p in model.module.parameters())
        return {
            "world_size": world_size,
            "backend": backend,
            "test_accuracy": accuracy,
            "train_seconds": seconds,
            "samples_per_second": epochs * n_train / seconds,
            "parameter_checksum": checksum,
        }
    finally:
        dist.destroy_process_group()
