"""The benchmark experiment: its rows, its shell command, and the robust part of its claims."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import torch
from first_version import GRUCell as Original

from grubook.experiments import run
from grubook.experiments.benchmark import FirstVersionCell

MODELS = {
    "first version",
    "grubook plain",
    "grubook Function",
    "C++ first loop",
    "grubook C++",
    "nn.GRU",
    "matmul",
}


def test_quick_run_has_every_model_task_and_sweep():
    threads = torch.get_num_threads()
    result = run("benchmark", quick=True)
    assert torch.get_num_threads() == threads and result.config["cpp"] is True
    rows = result.rows
    assert {r["model"] for r in rows if r["task"] == "train"} == MODELS
    assert {r["sweep"] for r in rows} == {"headline", "T", "B", "H", "batch-1 step"}
    step = {r["model"] for r in rows if r["task"] == "step"}
    assert step == {"grubook plain", "grubook Function", "grubook C++", "nn.GRUCell"}
    for r in rows:
        assert r["median_ms"] > 0 and r["ratio_to_nn_gru"] > 0 and r["gflops"] > 0
    baseline = [r for r in rows if r["model"] in ("nn.GRU", "nn.GRUCell")]
    assert all(r["ratio_to_nn_gru"] == 1 for r in baseline)


def test_the_shell_command_prints_one_json_object():
    done = subprocess.run(
        [sys.executable, "-m", "grubook.experiments", "benchmark", "--json", "--quick"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    assert data["experiment"] == "benchmark" and len(data["rows"]) == 4 * 2 * 7 + 4  # 4 shapes


def test_first_version_cell_is_chapter_2s():
    torch.manual_seed(0)
    original, ours = Original(3, 5), FirstVersionCell(3, 5)
    ours.load_state_dict(original.state_dict())
    x, h = torch.randn(4, 3), torch.randn(4, 5)
    with contextlib.redirect_stdout(io.StringIO()):
        expected, _ = original(x, h)
    torch.testing.assert_close(ours(x, h), expected)


def test_models_times_only_those_with_the_baselines():
    result = run("benchmark", quick=True, models=("grubook C++", "C++ first loop"))
    layer = {r["model"] for r in result.rows if r["task"] == "train"}
    assert layer == {"grubook C++", "C++ first loop", "nn.GRU", "matmul"}
    assert {r["model"] for r in result.rows if r["task"] == "step"} == {"grubook C++", "nn.GRUCell"}
    assert result.config["omp_wait_policy"]  # recorded: it changes nn.GRU's time (chapter 8)
