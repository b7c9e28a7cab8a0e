"""seed_everything and glue: the two helpers every chapter calls first and last."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
import torch

import grubook


def test_seed_everything_repeats_draws():
    def draws():
        return torch.randn(5), np.random.rand(5), random.random()

    assert grubook.seed_everything(7) == 7
    first = draws()
    assert grubook.seed_everything(7) == 7
    second = draws()
    assert torch.equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])
    assert first[2] == second[2]
    grubook.seed_everything(11)
    assert not torch.equal(torch.randn(5), first[0])


def test_seed_everything_default_and_large_seed():
    assert grubook.seed_everything() == 0
    big = 2**40 + 7
    assert grubook.seed_everything(big) == big


@pytest.mark.parametrize(
    ("seed", "error"),
    [
        (-1, ValueError),
        (-7, ValueError),
        (2.5, TypeError),
        ("3", TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_seed_everything_rejects_bad_seeds(seed, error):
    with pytest.raises(error, match=r"seed must be a non-negative int, got"):
        grubook.seed_everything(seed)


def test_seed_everything_accepts_numpy_ints():
    assert grubook.seed_everything(np.int64(3)) == 3


def test_glue_returns_its_value(capsys):
    value = {"loss": 0.25}
    assert grubook.glue("loss", value) is value
    assert grubook.glue("loss", 0.25, display=True) == 0.25
    capsys.readouterr()


def test_glue_without_myst_nb(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails, as in Colab
    assert grubook.glue("x", 3.5) == 3.5
    assert grubook.glue("x", 3.5, display=True) == 3.5
    assert "3.5" in capsys.readouterr().out
