"""grubook.experiments: the chapters' tables from functions, and the same from the shell."""

import json
import math
import subprocess
import sys
from pathlib import Path

import nbformat
import notebook_check
import pytest
import torch

from grubook import experiments
from grubook.experiments import EXPERIMENTS, Result, gradient_decay, gru_formulations, run
from grubook.experiments.__main__ import main
from grubook.experiments.registry import Experiment

ROOT = Path(__file__).resolve().parents[1]


def stored_glue(chapter: str) -> dict[str, float]:
    """The numbers a chapter notebook glued into its prose, as stored (what the site shows)."""
    notebook = nbformat.read(ROOT / "chapters" / chapter, as_version=4)
    return {
        name: float(text)
        for name, (_, text) in notebook_check.glued(notebook).items()
        if text is not None and not text.startswith(("'", '"'))
    }


def chapter_1_ratios() -> dict[str, float]:
    """The ratio 50 steps back per model, as chapter 1's prose states it (glued)."""
    glue = stored_glue("01_recurrent_networks.ipynb")
    return {
        "RNN, default init": 10 ** -glue["rnn_default_orders"],
        "RNN, ρ = 1": 10 ** -glue["rnn_rho1_orders"],
        "RNN, ρ = 2": glue["rnn_rho2_factor"],
        "GRU, default init": 10 ** -glue["gru_default_orders"],
        "GRU, update bias +3": glue["gru_biased_ratio"],
    }


def chapter_2_percent() -> dict[str, float]:
    """Chapter 2's test accuracies in percent, as its table shows them (glued)."""
    glue = stored_glue("02_gru_cell.ipynb")
    return {
        "GRU, reset_after=True": glue["exp_acc_after"],
        "GRU, reset_after=False": glue["exp_acc_before"],
        "majority class": glue["exp_acc_majority"],
        "GRU, reset_after=True, without lengths": glue["exp_acc_no_lengths"],
    }


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "grubook.experiments", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def without_timings(rows):
    return [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in rows]


def test_gradient_decay_reproduces_chapter_1():
    result = gradient_decay()
    chapter = chapter_1_ratios()
    assert [row["model"] for row in result.rows] == list(chapter)
    for row in result.rows:
        assert row["ratio"] == pytest.approx(chapter[row["model"]], rel=1e-9)
        assert row["log10_ratio"] == pytest.approx(math.log10(row["ratio"]))
    assert result.config["T"] == 100 and result.config["dtype"] == "float64"
    assert result.x.shape == (100, 16, 8) and result.x.dtype == torch.float64
    for label, norms in result.norms.items():
        assert norms.shape == (100,) and norms[-1] == 1
        assert norms[-1 - 50].item() == result.row(label)["ratio"]
    assert set(result.models) == set(chapter)


def test_gru_formulations_reproduces_chapter_2():
    result = gru_formulations()  # ~3 s: the chapter's exact data, weights and batch order
    for model, percent in chapter_2_percent().items():
        assert 100 * result.row(model)["test_accuracy"] == pytest.approx(percent, rel=1e-9)
    histories = result.histories
    assert [h.epochs for h in histories.values()] == [8, 8]
    # Float rounding of the loop (the fast path's or the plain one's) moves the loss by ~1e-9.
    assert histories["GRU, reset_after=True"].train_loss[0] == pytest.approx(0.4745559450, abs=1e-6)


def test_gru_formulations_quick_run_is_deterministic_and_leaves_rng_and_threads():
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    first = run("gru-formulations", quick=True)
    again = run("gru-formulations", quick=True)
    assert without_timings(first.rows) == without_timings(again.rows)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    assert first.config["n_train"] == 256 and "progress" not in first.config
    assert set(first.models) == {"GRU, reset_after=True", "GRU, reset_after=False"}


def test_result_json_and_extras():
    result = Result(
        "demo",
        [{"model": "a", "x": float("nan"), "y": 1.5}],
        {"seed": 0},
        0.1,
        {"models": {"a": 1}},
    )
    assert json.loads(result.to_json()) == {
        "experiment": "demo",
        "rows": [{"model": "a", "x": None, "y": 1.5}],
        "config": {"seed": 0},
        "seconds": 0.1,
    }
    assert result.models == {"a": 1} and "models" in dir(result)
    with pytest.raises(AttributeError, match="'demo' has no 'norms'"):
        _ = result.norms
    with pytest.raises(KeyError, match="no row for model 'b'"):
        result.row("b")
    lines = result.table().splitlines()
    assert lines[0].split() == ["model", "x", "y"] and lines[2].split() == ["a", "nan", "1.5"]


def _fake(*, seed=0, scale=1.0):
    rows = [{"model": "m", "score": scale * seed, "train_seconds": 0.5, "tag": "t"}]
    return Result("fake", rows, {"seed": seed, "scale": scale}, 0.0)


def test_over_seeds_averages_each_row(monkeypatch):
    monkeypatch.setitem(EXPERIMENTS, "fake", Experiment("fake", _fake, "a test"))
    result = run("fake", seeds=3, scale=2.0)
    assert result.rows == [
        {
            "model": "m",
            "score_mean": 2.0,  # seeds 0, 1, 2 scaled by 2
            "score_std": 2.0,
            "train_mean_seconds": 0.5,
            "train_std_seconds": 0.0,
            "seeds": 3,
        }
    ]
    assert result.config == {"scale": 2.0, "seeds": [0, 1, 2]}
    assert [r.config["seed"] for r in result.runs] == [0, 1, 2]
    with pytest.raises(ValueError, match="seeds must be an int >= 1"):
        run("fake", seeds=0)
    with pytest.raises(KeyError, match="unknown experiment 'nope'"):
        run("nope")


def test_cli_lists_the_experiments():
    done = cli("--list")
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert names == list(EXPERIMENTS) and {"gradient-decay", "gru-formulations"} <= set(names)


def test_cli_json_is_one_object_with_the_functions_rows():
    done = cli("gradient-decay", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert set(printed) == {"experiment", "rows", "config", "seconds"}
    assert printed["experiment"] == "gradient-decay"
    assert printed["rows"] == gradient_decay().rows
    chapter = chapter_1_ratios()  # the shell and the page agree
    for row in printed["rows"]:
        assert row["ratio"] == pytest.approx(chapter[row["model"]], rel=1e-9)


def test_cli_seeds_settings_and_tables():
    done = cli("gru-formulations", "--quick", "--seeds", "2", "--set", "epochs=2", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    expected = run("gru-formulations", quick=True, seeds=2, epochs=2)
    assert without_timings(printed["rows"]) == without_timings(expected.rows)
    assert printed["config"]["epochs"] == 2 and printed["config"]["seeds"] == [0, 1]
    assert printed["rows"][0]["seeds"] == 2 and "test_accuracy_std" in printed["rows"][0]


def test_cli_table_and_errors_in_process(capsys):
    assert main(["gradient-decay", "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gradient-decay: chapter 1") and "GRU, update bias +3" in out
    assert "config: T=20, B=4, I=8, H=8, lag=10" in out
    for argv, message in [
        (["no-such-thing"], "unknown experiment 'no-such-thing'; choose from gradient-decay"),
        (["gradient-decay", "--set", "lag=500"], "lag must be in [1, T - 1] = [1, 99]"),
        (
            ["gradient-decay", "--set", "width=3"],
            "gradient-decay has no setting 'width'; its settings: T, B, I, H, lag",
        ),
        (["gradient-decay", "--set", "lag"], "expected KEY=VALUE, got 'lag'"),
        ([], "name an experiment"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def test_the_package_exposes_the_experiments():
    assert experiments.gradient_decay is gradient_decay
    assert {e.name for e in EXPERIMENTS.values()} == set(EXPERIMENTS)
