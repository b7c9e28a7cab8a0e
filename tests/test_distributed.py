"""Chapter 9's CPU parts: DDP on 2 gloo processes gives the full batch's gradients; the DDP and
GPU experiments run (the GPU one on CPU only as a test of its code)."""

from __future__ import annotations

import sys

import pytest
import torch
from torch.nn import functional as F

import grubook
from grubook.data import SignOfSum
from grubook.distributed import backend_for, ddp_gradients
from grubook.experiments import ddp, gpu_benchmark
from grubook.experiments.ddp import torchrun_command


def test_two_processes_on_half_batches_give_the_full_batchs_gradients():
    torch.manual_seed(0)
    model = grubook.GRUClassifier(2, 8, 2)
    x, lengths, y = SignOfSum(16, seed=3).tensors()  # random lengths: each half pads differently
    per_rank = ddp_gradients(model, x, lengths, y, world_size=2)
    F.cross_entropy(model(x, lengths=lengths), y).backward()
    assert len(per_rank) == 2 and len(per_rank[0]) == len(list(model.parameters()))
    for g0, g1, p in zip(*per_rank, model.parameters(), strict=True):
        torch.testing.assert_close(g0, g1, rtol=0, atol=0)  # all-reduce: every rank the same
        torch.testing.assert_close(g0, p.grad, rtol=1e-5, atol=1e-7)
    # and it is not the gradient of one half alone
    model.zero_grad()
    F.cross_entropy(model(x[:, :8], lengths=lengths[:8]), y[:8]).backward()
    assert not torch.allclose(per_rank[0][0], next(model.parameters()).grad, atol=1e-6)


def test_ddp_gradients_refuses_a_batch_that_does_not_split():
    x, lengths, y = SignOfSum(7, seed=0).tensors()
    with pytest.raises(ValueError, match="batch of 7 does not split into 2"):
        ddp_gradients(grubook.GRUClassifier(2, 4, 2), x, lengths, y, world_size=2)
    with pytest.raises(ValueError, match="world_size must be an int >= 1, got 0"):
        ddp_gradients(grubook.GRUClassifier(2, 4, 2), x, lengths, y, world_size=0)


def test_backend_for_device():
    assert backend_for("cpu") == "gloo"
    assert backend_for(torch.device("cuda", 0)) == "nccl"


def test_torchrun_command():
    command = torchrun_command(2, epochs=1, n_train=256)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in command and command[-4:] == ["--epochs", "1", "--n-train", "256"]


def test_ddp_experiment_one_and_two_processes_train_the_same_model():
    """DistributedSampler gives rank r every world_size-th index of one shuffle, so the two
    ranks' shares of a step are the one process's batch: the same training, up to rounding."""
    result = ddp(epochs=1, n_train=256, hidden_size=8)
    one, two = result.row("DDP, 1 process"), result.row("DDP, 2 processes")
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["backend"] == two["backend"] == "gloo"
    assert one["parameter_checksum"] == pytest.approx(two["parameter_checksum"], abs=1e-4)
    assert one["test_accuracy"] == pytest.approx(two["test_accuracy"], abs=2 / 1024)
    assert 0.4 < one["test_accuracy"] <= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message a CPU machine gives")
def test_gpu_benchmark_needs_cuda():
    with pytest.raises(RuntimeError, match=r"needs a CUDA GPU, and torch.cuda.is_available\(\)"):
        gpu_benchmark()


def test_gpu_benchmark_code_runs_on_cpu_quick():
    result = grubook.experiments.run("gpu-benchmark", quick=True, device="cpu")
    speed = [r for r in result.rows if r["kind"] in ("train", "forward")]
    accuracy = [r for r in result.rows if r["kind"] == "accuracy"]
    assert {r["precision"] for r in speed} == {"float32", "bfloat16", "float16"}
    assert all(r["ms"] > 0 and r["cudnn_ms"] > 0 and r["ratio_vs_cudnn"] > 0 for r in speed)
    assert [r["precision"] for r in accuracy] == ["float32", "bfloat16", "float16"]
    assert all(0 <= r["accuracy"] <= 1 for r in accuracy)
    assert all(r["device_name"] == "cpu" and r["cudnn"] is None for r in result.rows)
    with pytest.raises(ValueError, match="unknown precision 'float8'"):
        gpu_benchmark(device="cpu", precisions=("float8",))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message a CPU machine gives")
def test_gpu_benchmark_command_says_why_it_cannot_run():
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "grubook.experiments", "gpu-benchmark", "--quick"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "gpu-benchmark: needs a CUDA GPU" in done.stderr
