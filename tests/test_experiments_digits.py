"""Chapter 5's experiment, sequential-digits: it reproduces the chapter's stored numbers, from the
function and from the shell. The fast models run in full (both seeds); the slow GRU on the inked
pixels is left to the notebook check (each model is seeded on its own, so a subset of the models
gives the same rows)."""

import json
import subprocess
import sys

import pytest
from test_experiments import stored_glue

from grubook.experiments import over_seeds, sequence_classification
from grubook.experiments.baselines import matched_hidden
from grubook.experiments.sequence_classification import NO_LENGTHS, PAD_FIRST, PADDED_END

CHAPTER = "05_sequence_classification.ipynb"


@pytest.fixture(scope="module")
def glue():
    return stored_glue(CHAPTER)


def settings(glue):
    """The chapter's settings, from its glue."""
    seeds = range(int(glue["n_seeds"]))
    epochs = {"digits": int(glue["epochs_digits"]), "ink": int(glue["epochs_ink"])}
    return seeds, epochs, int(glue["hidden"])


def close(value, stored):
    """``value`` in percent equals the glued number, within the notebook check's rtol (1e-2)."""
    return 100 * value == pytest.approx(stored, rel=1e-2, abs=1e-6)


def test_fast_models_reproduce_the_chapters_table(glue):
    seeds, epochs, H = settings(glue)
    table = over_seeds("sequential-digits", seeds, models=("LSTM", "MLP"), epochs=epochs)
    assert [(r["task"], r["model"]) for r in table.rows] == [
        ("digits", "LSTM"),
        ("digits", "MLP"),
        ("ink", "LSTM"),
        ("ink", "MLP"),
    ]
    for row in table.rows:
        key = f"{row['task']}_{row['model'].lower()}"
        assert row["params"] == glue[f"{key}_params"]
        assert close(row["test_accuracy_mean"], glue[f"{key}_acc"]), key
        assert close(row["test_accuracy_std"], glue[f"{key}_std"]), key
    assert table.config["lr"] == {"GRU": 3e-2, "RNN": 1e-2, "LSTM": 3e-2, "MLP": 1e-2}


def test_gru_on_the_digits_reproduces_the_chapter(glue):
    seeds, epochs, _ = settings(glue)
    table = over_seeds(
        "sequential-digits", seeds, tasks=("digits",), models=("GRU",), epochs=epochs
    )
    (row,) = table.rows
    assert row["params"] == glue["digits_gru_params"]
    assert close(row["test_accuracy_mean"], glue["digits_gru_acc"])
    assert close(row["test_accuracy_std"], glue["digits_gru_std"])


def test_parameter_counts_of_the_table(glue):
    _, _, H = settings(glue)
    for task, (I, T) in {"digits": (8, 8), "ink": (3, 30)}.items():
        for kind in ("GRU", "RNN", "LSTM", "MLP"):
            assert matched_hidden(kind, H, I, T, 10)[1] == glue[f"{task}_{kind.lower()}_params"]


def test_rows_padding_variants_and_errors():
    result = sequence_classification(
        tasks=("digits", "ink"), models=("MLP", NO_LENGTHS, PAD_FIRST, "GRU"), epochs=1
    )
    names = [(r["task"], r["model"]) for r in result.rows]
    # the GRUs without lengths only where lengths vary; the padded-end row after the ink GRU
    assert names == [
        ("digits", "MLP"),
        ("digits", "GRU"),
        ("ink", "MLP"),
        ("ink", NO_LENGTHS),
        ("ink", PAD_FIRST),
        ("ink", "GRU"),
        ("ink", PADDED_END),
    ]
    assert set(result.models) == set(names) - {("ink", PADDED_END)}
    assert set(result.data) == {"digits", "ink"}
    with pytest.raises(ValueError, match="unknown model 'CNN'"):
        sequence_classification(tasks=("digits",), models=("CNN",))
    with pytest.raises(ValueError, match="tasks must be 'digits' or 'ink', got 'words'"):
        sequence_classification(tasks=("words",))


def test_cli_quick_json():
    command = [
        sys.executable,
        "-m",
        "grubook.experiments",
        "sequential-digits",
        "--quick",
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["experiment"] == "sequential-digits"
    assert [r["model"] for r in printed["rows"]] == ["GRU", "MLP"]
    assert all(0.5 < r["test_accuracy"] <= 1 for r in printed["rows"])  # two epochs: well above 0.1
