"""Bad input fails at the public boundary with a ValueError or TypeError naming what was expected.

One dimension is wrong at a time, and the wrong size is a prime (7 or 11) that no right size
divides, so a message cannot pass by accident (pytorch ``test_rnn_args_check`` does the same).
Also here: seed_everything and glue.
"""

from __future__ import annotations

import random
import sys
import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import grubook

# The models under test: I = 4, H = 5, L = 2, B = 2, T = 3 (none of them divides 7 or 11).
I, H, L, B, T = 4, 5, 2, 2, 3


def gru(**kw):
    return grubook.GRU(I, H, num_layers=L, **kw)


def cell():
    return grubook.GRUCell(I, H)


def x(*shape, dtype=torch.float32):
    return torch.zeros(shape or (T, B, I), dtype=dtype)


def classifier(**kw):
    return grubook.GRUClassifier(I, H, 3, **kw)


CASES = [
    # --- GRU: the input -------------------------------------------------------------------------
    ("gru 1-D input", lambda: gru()(x(7)), ValueError, r"got 1-D input of shape \(7,\)"),
    (
        "gru 4-D input",
        lambda: gru()(x(T, B, I, 7)),
        ValueError,
        r"expected input of shape \(T, B, I\) or \(T, I\).*got 4-D input of shape \(3, 2, 4, 7\)",
    ),
    (
        "gru 4-D input batch_first",
        lambda: gru(batch_first=True)(x(B, T, I, 7)),
        ValueError,
        r"expected input of shape \(B, T, I\).*got 4-D",
    ),
    (
        "gru features",
        lambda: gru()(x(T, B, 7)),
        ValueError,
        r"GRU: input has 7 features, expected input_size=4",
    ),
    (
        "gru features unbatched",
        lambda: gru()(x(T, 11)),
        ValueError,
        r"input has 11 features, expected input_size=4",
    ),
    ("gru T=0", lambda: gru()(x(0, B, I)), ValueError, r"GRU: input has T=0 steps"),
    ("gru B=0", lambda: gru()(x(T, 0, I)), ValueError, r"batch of B=0"),
    ("gru not a tensor", lambda: gru()([[0.0] * I]), TypeError, r"input must be a torch\.Tensor"),
    (
        "gru int input",
        lambda: gru()(x(dtype=torch.int64)),
        TypeError,
        r"GRU: input has dtype torch\.int64, expected a floating-point tensor",
    ),
    (
        "gru float64 input",
        lambda: gru()(x(dtype=torch.float64)),
        TypeError,
        r"input has dtype torch\.float64, expected the parameters' dtype torch\.float32",
    ),
    # --- GRU: h0 --------------------------------------------------------------------------------
    (
        "gru h0 batch",
        lambda: gru()(x(), torch.zeros(L, 7, H)),
        ValueError,
        r"GRU: h0 has shape \(2, 7, 5\), expected \(L\*D, B, H\) = \(2, 2, 5\)",
    ),
    (
        "gru h0 hidden",
        lambda: gru()(x(), torch.zeros(L, B, 7)),
        ValueError,
        r"h0 has shape \(2, 2, 7\), expected \(L\*D, B, H\) = \(2, 2, 5\)",
    ),
    (
        "gru h0 layers",
        lambda: gru()(x(), torch.zeros(7, B, H)),
        ValueError,
        r"h0 has shape \(7, 2, 5\), expected \(L\*D, B, H\) = \(2, 2, 5\)",
    ),
    (
        "gru h0 layers bidirectional",
        lambda: gru(bidirectional=True)(x(), torch.zeros(L, B, H)),
        ValueError,
        r"h0 has shape \(2, 2, 5\), expected \(L\*D, B, H\) = \(4, 2, 5\)",
    ),
    (
        "gru h0 unbatched",
        lambda: gru()(x(T, I), torch.zeros(L, 7)),
        ValueError,
        r"h0 has shape \(2, 7\), expected \(L\*D, H\) = \(2, 5\)",
    ),
    (
        "gru h0 rank",
        lambda: gru()(x(), torch.zeros(L, H)),
        ValueError,
        r"h0 has shape \(2, 5\), expected \(L\*D, B, H\) = \(2, 2, 5\)",
    ),
    (
        "gru h0 float64",
        lambda: gru()(x(), torch.zeros(L, B, H, dtype=torch.float64)),
        TypeError,
        r"GRU: h0 has dtype torch\.float64, expected the parameters' dtype torch\.float32",
    ),
    (
        "gru h0 int",
        lambda: gru()(x(), torch.zeros(L, B, H, dtype=torch.int64)),
        TypeError,
        r"h0 has dtype torch\.int64, expected a floating-point tensor",
    ),
    # --- GRU: lengths ---------------------------------------------------------------------------
    (
        "lengths zero",
        lambda: gru()(x(), lengths=[3, 0]),
        ValueError,
        r"lengths must be >= 1, got a length of 0",
    ),
    (
        "lengths negative",
        lambda: gru()(x(), lengths=[-7, 3]),
        ValueError,
        r"lengths must be >= 1, got a length of -7",
    ),
    (
        "lengths beyond T",
        lambda: gru()(x(), lengths=[3, 7]),
        ValueError,
        r"lengths must be <= T=3 \(the input's steps\), got 7",
    ),
    (
        "lengths one beyond T",
        lambda: gru()(x(), lengths=[T + 1, 1]),
        ValueError,
        r"lengths must be <= T=3 \(the input's steps\), got 4",
    ),
    (
        "lengths count",
        lambda: gru()(x(), lengths=[1] * 7),
        ValueError,
        r"one length per sequence: expected \(B,\) = \(2,\), got \(7,\)",
    ),
    (
        "lengths 2-D",
        lambda: gru()(x(), lengths=[[1], [2]]),
        ValueError,
        r"expected \(B,\) = \(2,\), got \(2, 1\)",
    ),
    (
        "lengths float list",
        lambda: gru()(x(), lengths=[2.5, 3.0]),
        TypeError,
        r"lengths must hold integers, got dtype torch\.float32",
    ),
    (
        "lengths float tensor",
        lambda: gru()(x(), lengths=torch.tensor([2.0, 3.0], dtype=torch.float64)),
        TypeError,
        r"lengths must hold integers, got dtype torch\.float64",
    ),
    (
        "lengths not numbers",
        lambda: gru()(x(), lengths=["a", "b"]),
        TypeError,
        r"lengths must be a sequence of ints, got \['a', 'b'\]",
    ),
    (
        "lengths with packed input",
        lambda: gru()(pack_padded_sequence(x(), [3, 2]), lengths=[3, 2]),
        ValueError,
        r"PackedSequence carries its own lengths; pass lengths=None",
    ),
    (
        "packed float64",
        lambda: gru()(pack_padded_sequence(x(dtype=torch.float64), [3, 2])),
        TypeError,
        r"input has dtype torch\.float64, expected the parameters' dtype torch\.float32",
    ),
    # --- GRUCell --------------------------------------------------------------------------------
    (
        "cell 3-D input",
        lambda: cell()(x(B, I, 7)),
        ValueError,
        r"GRUCell: expected input of shape \(B, I\) or \(I,\), got 3-D input of shape \(2, 4, 7\)",
    ),
    (
        "cell features",
        lambda: cell()(x(B, 7)),
        ValueError,
        r"GRUCell: input has 7 features, expected input_size=4",
    ),
    (
        "cell features unbatched",
        lambda: cell()(x(11)),
        ValueError,
        r"input has 11 features, expected input_size=4",
    ),
    (
        "cell hidden batch",
        lambda: cell()(x(B, I), torch.zeros(7, H)),
        ValueError,
        r"GRUCell: hidden has shape \(7, 5\), expected \(B, H\) = \(2, 5\)",
    ),
    (
        "cell hidden size",
        lambda: cell()(x(B, I), torch.zeros(B, 7)),
        ValueError,
        r"hidden has shape \(2, 7\), expected \(B, H\) = \(2, 5\)",
    ),
    (
        "cell hidden unbatched",
        lambda: cell()(x(I), torch.zeros(7)),
        ValueError,
        r"hidden has shape \(7,\), expected \(H,\) = \(5,\)",
    ),
    (
        "cell int input",
        lambda: cell()(x(B, I, dtype=torch.int32)),
        TypeError,
        r"GRUCell: input has dtype torch\.int32, expected a floating-point tensor",
    ),
    (
        "cell float64 input",
        lambda: cell()(x(B, I, dtype=torch.float64)),
        TypeError,
        r"input has dtype torch\.float64, expected the parameters' dtype torch\.float32",
    ),
    (
        "cell float64 hidden",
        lambda: cell()(x(B, I), torch.zeros(B, H, dtype=torch.float64)),
        TypeError,
        r"hidden has dtype torch\.float64, expected the parameters' dtype torch\.float32",
    ),
    (
        "cell float64 model, float32 input",
        lambda: grubook.GRUCell(I, H, dtype=torch.float64)(x(B, I)),
        TypeError,
        r"input has dtype torch\.float32, expected the parameters' dtype torch\.float64",
    ),
    # --- RNN and RNNCell ------------------------------------------------------------------------
    (
        "rnn features",
        lambda: grubook.RNN(I, H)(x(T, B, 7)),
        ValueError,
        r"RNN: input has 7 features, expected input_size=4",
    ),
    (
        "rnn h0 layers",
        lambda: grubook.RNN(I, H)(x(), torch.zeros(7, B, H)),
        ValueError,
        r"RNN: h0 has shape \(7, 2, 5\), expected \(L\*D, B, H\) = \(1, 2, 5\)",
    ),
    (
        "rnncell 3-D input",
        lambda: grubook.RNNCell(I, H)(x(B, I, 7)),
        ValueError,
        r"RNNCell: expected input of shape \(B, I\) or \(I,\), got 3-D",
    ),
    (
        "rnncell hidden size",
        lambda: grubook.RNNCell(I, H)(x(B, I), torch.zeros(B, 7)),
        ValueError,
        r"RNNCell: hidden has shape \(2, 7\), expected \(B, H\) = \(2, 5\)",
    ),
    (
        "rnncell int input",
        lambda: grubook.RNNCell(I, H)(x(B, I, dtype=torch.int64)),
        TypeError,
        r"RNNCell: input has dtype torch\.int64, expected a floating-point tensor",
    ),
    # --- GRUClassifier --------------------------------------------------------------------------
    (
        "classifier int input without vocab",
        lambda: classifier()(x(dtype=torch.int64)),
        TypeError,
        r"input has dtype torch\.int64, expected a floating-point tensor.*vocab_size",
    ),
    (
        "classifier float64 input",
        lambda: classifier()(x(dtype=torch.float64)),
        TypeError,
        r"input has dtype torch\.float64, expected the parameters' dtype torch\.float32",
    ),
    (
        "classifier features",
        lambda: classifier()(x(T, B, 7)),
        ValueError,
        r"input has 7 features, expected input_size=4",
    ),
    (
        "classifier unbatched",
        lambda: classifier()(x(T, I)),
        ValueError,
        r"GRUClassifier: expected a batch of sequences, got one unbatched sequence",
    ),
    (
        "classifier lengths",
        lambda: classifier()(x(), lengths=[3, 7]),
        ValueError,
        r"lengths must be <= T=3",
    ),
    (
        "classifier h0 layers",
        lambda: classifier(num_layers=2)(x(), torch.zeros(7, B, H)),
        ValueError,
        r"h0 has shape \(7, 2, 5\), expected \(L\*D, B, H\) = \(2, 2, 5\)",
    ),
    (
        "token model float input",
        lambda: classifier(vocab_size=11)(torch.zeros(T, B)),
        TypeError,
        r"GRUClassifier: x has dtype torch\.float32, expected integer token ids \(vocab_size=11\)",
    ),
    (
        "token model bool input",
        lambda: classifier(vocab_size=11)(torch.zeros(T, B, dtype=torch.bool)),
        TypeError,
        r"x has dtype torch\.bool, expected integer token ids",
    ),
    (
        "token id negative",
        lambda: classifier(vocab_size=11)(torch.tensor([[1, -7], [2, 3]])),
        ValueError,
        r"token ids must be in \[0, vocab_size=11\), got ids from -7 to 3",
    ),
    (
        "token id too large",
        lambda: classifier(vocab_size=11)(torch.tensor([[1, 11], [2, 3]])),
        ValueError,
        r"token ids must be in \[0, vocab_size=11\), got ids from 1 to 11",
    ),
    (
        "token ids 3-D",
        lambda: classifier(vocab_size=11)(torch.zeros(T, B, 7, dtype=torch.int64)),
        ValueError,
        r"expected token ids of shape \(T, B\), got \(3, 2, 7\)",
    ),
    (
        "classifier not a tensor",
        lambda: classifier()([[1.0]]),
        TypeError,
        r"GRUClassifier: x must be a torch\.Tensor, got list",
    ),
    # --- constructors ---------------------------------------------------------------------------
    ("GRU input_size=0", lambda: grubook.GRU(0, H), ValueError, r"input_size must be >= 1"),
    (
        "GRU hidden_size=-1",
        lambda: grubook.GRU(I, -1),
        ValueError,
        r"GRU: hidden_size must be >= 1, got hidden_size=-1",
    ),
    (
        "GRU num_layers=0",
        lambda: grubook.GRU(I, H, num_layers=0),
        ValueError,
        r"GRU: num_layers must be >= 1, got num_layers=0",
    ),
    (
        "GRU input_size=2.5",
        lambda: grubook.GRU(2.5, H),
        TypeError,
        r"GRU: input_size must be an int, got float 2\.5",
    ),
    (
        "GRU hidden_size=True",
        lambda: grubook.GRU(I, True),
        TypeError,
        r"hidden_size must be an int, got bool True",
    ),
    (
        "GRU num_layers='2'",
        lambda: grubook.GRU(I, H, num_layers="2"),
        TypeError,
        r"num_layers must be an int, got str '2'",
    ),
    (
        "GRU dropout=-0.1",
        lambda: grubook.GRU(I, H, num_layers=2, dropout=-0.1),
        ValueError,
        r"GRU: dropout must be in \[0, 1\], got dropout=-0\.1",
    ),
    (
        "GRU dropout=1.5",
        lambda: grubook.GRU(I, H, num_layers=2, dropout=1.5),
        ValueError,
        r"dropout must be in \[0, 1\], got dropout=1\.5",
    ),
    (
        "GRU dropout='0.5'",
        lambda: grubook.GRU(I, H, num_layers=2, dropout="0.5"),
        TypeError,
        r"dropout must be a number, got str",
    ),
    (
        "GRUCell input_size=0",
        lambda: grubook.GRUCell(0, H),
        ValueError,
        r"GRUCell: input_size must be >= 1, got input_size=0",
    ),
    (
        "GRUCell hidden_size=2.5",
        lambda: grubook.GRUCell(I, 2.5),
        TypeError,
        r"GRUCell: hidden_size must be an int, got float 2\.5",
    ),
    (
        "RNN hidden_size=0",
        lambda: grubook.RNN(I, 0),
        ValueError,
        r"RNN: hidden_size must be >= 1, got hidden_size=0",
    ),
    (
        "RNN nonlinearity",
        lambda: grubook.RNN(I, H, nonlinearity="sigmoid"),
        ValueError,
        r"RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'",
    ),
    (
        "RNNCell input_size=-1",
        lambda: grubook.RNNCell(-1, H),
        ValueError,
        r"RNNCell: input_size must be >= 1, got input_size=-1",
    ),
    (
        "RNNCell nonlinearity",
        lambda: grubook.RNNCell(I, H, nonlinearity="gelu"),
        ValueError,
        r"RNNCell: nonlinearity must be 'tanh' or 'relu', got 'gelu'",
    ),
    (
        "GRUClassifier num_classes=0",
        lambda: grubook.GRUClassifier(I, H, 0),
        ValueError,
        r"GRUClassifier: num_classes must be >= 1, got num_classes=0",
    ),
    (
        "GRUClassifier num_classes=2.5",
        lambda: grubook.GRUClassifier(I, H, 2.5),
        TypeError,
        r"num_classes must be an int, got float 2\.5",
    ),
    (
        "GRUClassifier hidden_size=0",
        lambda: grubook.GRUClassifier(I, 0, 3),
        ValueError,
        r"hidden_size must be >= 1, got hidden_size=0",
    ),
    (
        "GRUClassifier num_layers=0",
        lambda: grubook.GRUClassifier(I, H, 3, num_layers=0),
        ValueError,
        r"num_layers must be >= 1, got num_layers=0",
    ),
    (
        "GRUClassifier vocab_size=1",
        lambda: grubook.GRUClassifier(I, H, 3, vocab_size=1),
        ValueError,
        r"vocab_size must be >= 2, got vocab_size=1",
    ),
    (
        "GRUClassifier embedding_dim=2.5",
        lambda: grubook.GRUClassifier(I, H, 3, vocab_size=11, embedding_dim=2.5),
        TypeError,
        r"embedding_dim must be an int, got float 2\.5",
    ),
    (
        "GRUClassifier embedding_dim without vocab",
        lambda: grubook.GRUClassifier(I, H, 3, embedding_dim=7),
        ValueError,
        r"embedding_dim needs vocab_size",
    ),
    (
        "GRUClassifier rnn_type",
        lambda: grubook.GRUClassifier(I, H, 3, rnn_type="lstm"),
        ValueError,
        r"rnn_type must be 'gru' or 'rnn', got 'lstm'",
    ),
    (
        "GRUClassifier dropout=1.5",
        lambda: grubook.GRUClassifier(I, H, 3, num_layers=2, dropout=1.5),
        ValueError,
        r"dropout must be in \[0, 1\], got dropout=1\.5",
    ),
    (
        "GRUClassifier one layer dropout=-0.1",
        lambda: grubook.GRUClassifier(I, H, 3, dropout=-0.1),
        ValueError,
        r"GRUClassifier: dropout must be in \[0, 1\], got dropout=-0\.1",
    ),
    (
        "GRUClassifier one layer dropout='0.5'",
        lambda: grubook.GRUClassifier(I, H, 3, dropout="0.5"),
        TypeError,
        r"GRUClassifier: dropout must be a number, got str",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert type(info.value) is error  # exactly ValueError or TypeError, never a RuntimeError
    assert info.match(match)


@pytest.mark.parametrize("make", [grubook.GRU, grubook.RNN])
def test_dropout_with_one_layer_warns(make):
    with pytest.warns(UserWarning, match=r"dropout=0\.5 acts between layers.*num_layers=1"):
        make(I, H, dropout=0.5)


def test_no_dropout_warning_otherwise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grubook.GRU(I, H, num_layers=2, dropout=0.5)
        grubook.GRU(I, H, dropout=0.0)
        grubook.GRUClassifier(I, H, 3, dropout=0.5)  # dropout before the head only


def test_dropout_out_of_range_with_one_layer_is_an_error():
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\], got dropout=7"):
        grubook.GRU(I, H, dropout=7)


# --- seed_everything and glue -------------------------------------------------------------------


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
