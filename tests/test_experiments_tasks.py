"""Chapter 3's experiments: the adding problem, the copy task and exploding gradients, from
functions and from the shell, and the plots they feed. Kept small: a few seconds in all."""

import json
import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import grubook
from grubook.data import AddingProblem, CopyTask, Stream
from grubook.experiments import adding, run
from grubook.experiments.training import (
    Curve,
    Readout,
    make_model,
    per_model,
    sequence_cross_entropy,
    train_on_task,
)
from grubook.plots import plot_gradient_norms, plot_learning_curves

ROW_KEYS = {"model", "T", "mse", "steps", "solved", "train_seconds", "ms_per_step"}


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "grubook.experiments", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_cli_adding_quick_json_parses_and_a_tiny_gru_beats_the_baseline():
    done = cli("adding", "--quick", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert printed["experiment"] == "adding" and printed["config"]["Ts"] == [10]
    (row,) = printed["rows"]
    assert set(row) == ROW_KEYS and row["model"] == "GRU" and row["T"] == 10
    # a GRU with H = 16 at T = 10 reaches the target 0.01 in about 100 steps; the baseline
    # (predicting the mean) is 1/6
    assert row["solved"] == 1.0 and row["mse"] <= 0.01 < AddingProblem.BASELINE_MSE / 10
    assert row["steps"] < printed["config"]["steps"]  # stopped early, at the target
    assert printed["config"]["lr"] == {"GRU": 3e-2}


def test_adding_over_seeds_has_the_table_columns_and_extras():
    result = run("adding", quick=True, seeds=2, steps=20, target=None)
    (row,) = result.rows
    assert {"model", "T", "mse_mean", "mse_std", "steps_mean", "solved_mean", "seeds"} <= set(row)
    assert row["seeds"] == 2 and row["steps_mean"] == 20 and row["mse_std"] > 0
    first = result.runs[0]
    curve = first.curves["GRU", 10]
    assert curve.steps == [0, 20] and curve.reached is None and math.isnan(curve.train_loss[0])
    assert curve.test_loss[-1] == first.rows[0]["mse"]
    init, trained = first.reach_init["GRU", 10], first.reach_trained["GRU", 10]
    assert init.shape == trained.shape == (10,) and init.dtype == torch.float64
    assert init[-1] == trained[-1] == 1 and not torch.equal(init, trained)
    assert first.baseline == pytest.approx(1 / 6)


def test_adding_is_deterministic_and_leaves_rng_and_threads():
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    settings = {"Ts": (6,), "models": ("RNN", "LSTM"), "hidden_size": 4, "steps": 10}
    a = adding(**settings, eval_every=5)
    b = adding(**settings, eval_every=5)
    assert [r["mse"] for r in a.rows] == [r["mse"] for r in b.rows]
    assert [r["model"] for r in a.rows] == ["RNN", "LSTM"]
    assert isinstance(a.models["LSTM", 6].rnn, nn.LSTM)
    assert isinstance(a.models["RNN", 6].rnn, grubook.RNN)
    assert a.config["lr"] == {"RNN": 1e-3, "LSTM": 3e-2}
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    with pytest.raises(ValueError, match="no setting for 'LSTM'"):
        adding(**settings, eval_every=5, lr={"RNN": 1e-3})


def test_copy_task_quick_rows():
    result = run("copy", quick=True)
    (row,) = result.rows
    assert row["model"] == "GRU" and row["T"] == 5 and result.config["lr"] == {"GRU": 2e-2}
    assert row["baseline"] == pytest.approx(10 * math.log(8) / 25)
    assert row["loss_to_baseline"] == pytest.approx(row["loss"] / row["baseline"])
    assert 0 <= row["recall_accuracy"] <= 1
    assert result.curves["GRU"].steps == [0, 10, 20]
    assert isinstance(result.test_data, CopyTask)


def test_exploding_gradients_diverge_without_clipping_and_not_with_it():
    result = run("exploding", quick=True)  # 40 steps; the large radius diverges after 32
    default, large, clipped = result.rows
    assert not default["diverged"] and default["steps"] == 40
    assert large["diverged"] and large["steps"] < 40 and math.isnan(large["mse"])
    assert not clipped["diverged"] and clipped["steps"] == 40 and math.isfinite(clipped["mse"])
    assert large["max_grad_norm"] > 1e3 * default["max_grad_norm"]
    # the same first batch and weights: the first gradient is the same with and without clipping
    assert result.grad_norms[large["model"]][0] == result.grad_norms[clipped["model"]][0]
    assert clipped["clipped_share"] > 0.5 > default["clipped_share"]
    assert result.config["optimizer"] == "sgd"


def test_exploding_gradients_with_adam_do_not_diverge():
    result = run("exploding", quick=True, optimizer="adam")
    assert not any(row["diverged"] for row in result.rows)  # Adam's step is scaled by sqrt(v)
    with pytest.raises(ValueError, match="optimizer must be 'sgd' or 'adam', got 'rmsprop'"):
        run("exploding", quick=True, optimizer="rmsprop")


def test_readout_shapes_and_make_model():
    x = torch.randn(7, 3, 2)
    for kind, cls in [("RNN", grubook.RNN), ("GRU", grubook.GRU), ("LSTM", nn.LSTM)]:
        model = make_model(kind, 2, 5)
        assert isinstance(model.rnn, cls) and model(x).shape == (3,)
    tokens = torch.randint(0, 6, (7, 3))
    per_step = make_model("GRU", 6, 5, 6, every_step=True, vocab_size=6)
    assert per_step(tokens).shape == (7, 3, 6)
    assert Readout(grubook.GRU(2, 5), 4)(x).shape == (3, 4)
    with pytest.raises(ValueError, match="kind must be one of RNN, GRU, LSTM, got 'gru'"):
        make_model("gru", 2, 5)
    assert per_model({"GRU": 1}, "GRU") == 1 and per_model(2, "GRU") == 2


def test_sequence_cross_entropy_is_the_mean_over_steps_and_sequences():
    logits, y = torch.randn(4, 3, 5), torch.randint(0, 5, (4, 3))
    by_hand = torch.stack(
        [nn.functional.cross_entropy(logits[t, b], y[t, b]) for t in range(4) for b in range(3)]
    )
    torch.testing.assert_close(sequence_cross_entropy(logits, y), by_hand.mean())


def test_train_on_task_stops_at_the_target_and_refuses_uneven_budgets():
    grubook.seed_everything(0)
    model = make_model("GRU", 2, 8)
    test = AddingProblem(64, 5, seed=1)
    curve = train_on_task(
        model,
        lambda n: Stream(AddingProblem, n, 5, seed=2),
        test,
        steps=400,
        eval_every=20,
        lr=3e-2,
        target=0.05,
    )
    assert curve.reached == curve.steps[-1] < 400 and curve.test_loss[-1] <= 0.05
    assert all(loss > 0.05 for loss in curve.test_loss[:-1])
    assert len(curve.steps) == len(curve.test_loss) == len(curve.train_loss)
    with pytest.raises(ValueError, match="not a multiple"):
        train_on_task(model, None, test, steps=30, eval_every=20, lr=1e-2)


def test_plot_learning_curves_draws_curves_baseline_and_target():
    curves = {
        "GRU": Curve(steps=[0, 10, 20], test_loss=[1.0, 0.1, 0.005]),
        "RNN": ([0, 10], [1, 0.2]),
    }
    ax = plot_learning_curves(curves, baseline=1 / 6, baseline_label="mean", target=0.01)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["GRU", "RNN", "mean", "target 0.01"]
    np.testing.assert_array_equal(lines["GRU"].get_xdata(), [0, 10, 20])
    np.testing.assert_array_equal(lines["mean"].get_ydata(), [1 / 6, 1 / 6])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "training step"
    with pytest.raises(ValueError, match="'bad' has 2 steps and 1 losses"):
        plot_learning_curves({"bad": ([0, 1], [1.0])})
    with pytest.raises(ValueError, match="curves is empty"):
        plot_learning_curves({})
    plt.close("all")


def test_plot_gradient_norms_steps_back():
    ax = plot_gradient_norms({"a": [0.01, 0.1, 1.0]}, steps_back=True, xlabel="$T - t$")
    (line,) = [line for line in ax.get_lines() if line.get_label() == "a"]
    np.testing.assert_array_equal(line.get_xdata(), [2, 1, 0])  # step 1 is T - 1 = 2 back
    np.testing.assert_array_equal(line.get_ydata(), [0.01, 0.1, 1.0])
    plt.close("all")
