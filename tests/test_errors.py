"""Bad input fails at the public boundary with an error naming what was expected and what it got.

One dimension is wrong at a time, and the wrong size is a prime (7 or 11) that no right size
divides, so a message cannot pass by accident (pytorch ``test_rnn_args_check`` does the same).
Every error is a ValueError or TypeError and also a RuntimeError (grubook.GRUbookValueError,
GRUbookTypeError, GRUbookDtypeError), and where torch.nn has the same mistake it is an instance
of the class torch raises, so code written for torch.nn catches it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import grubook
from grubook import GRUbookDtypeError as DtypeError
from grubook import GRUbookTypeError as TypeError_
from grubook import GRUbookValueError as ValueError_

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
    (
        "gru 1-D input",
        lambda: gru()(x(7)),
        ValueError_,
        r"GRU: Expected input to be 2D or 3D, got 1D instead \(shape \(7,\)",
    ),
    (
        "gru 4-D input",
        lambda: gru()(x(T, B, I, 7)),
        ValueError_,
        r"got 4D instead \(shape \(3, 2, 4, 7\); expected \(T, B, I\) or \(T, I\)\)",
    ),
    (
        "gru 4-D input batch_first",
        lambda: gru(batch_first=True)(x(B, T, I, 7)),
        ValueError_,
        r"got 4D instead \(shape \(2, 3, 4, 7\); expected \(B, T, I\) or \(T, I\)\)",
    ),
    (
        "gru features",
        lambda: gru()(x(T, B, 7)),
        ValueError_,
        r"GRU: input\.size\(-1\) must be equal to input_size\. Expected 4, got 7$",
    ),
    (
        "gru features unbatched",
        lambda: gru()(x(T, 11)),
        ValueError_,
        r"input\.size\(-1\) must be equal to input_size\. Expected 4, got 11$",
    ),
    (
        "gru T=0",
        lambda: gru()(x(0, B, I)),
        ValueError_,
        r"GRU: Expected sequence length to be larger than 0 in RNN, got input of shape \(0, 2, 4\)",
    ),
    ("gru not a tensor", lambda: gru()([[0.0] * I]), TypeError_, r"input must be a torch\.Tensor"),
    (
        "gru int input",
        lambda: gru()(x(dtype=torch.int64)),
        DtypeError,
        r"GRU: RNN input dtype \(torch\.int64\) does not match weight dtype "
        r"\(torch\.float32\)\. Convert input: input\.to\(torch\.float32\), or convert model: "
        r"model\.to\(torch\.int64\) \(token ids go through GRUClassifier",
    ),
    (
        "gru float64 input",
        lambda: gru()(x(dtype=torch.float64)),
        DtypeError,
        r"RNN input dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)",
    ),
    # --- GRU: h0 --------------------------------------------------------------------------------
    (
        "gru h0 batch",
        lambda: gru()(x(), torch.zeros(L, 7, H)),
        ValueError_,
        r"GRU: Expected hidden size \(L\*D, B, H\) = \(2, 2, 5\), got \[2, 7, 5\]$",
    ),
    (
        "gru h0 hidden",
        lambda: gru()(x(), torch.zeros(L, B, 7)),
        ValueError_,
        r"Expected hidden size \(L\*D, B, H\) = \(2, 2, 5\), got \[2, 2, 7\]",
    ),
    (
        "gru h0 layers",
        lambda: gru()(x(), torch.zeros(7, B, H)),
        ValueError_,
        r"GRU: Expected hidden size \(L\*D, B, H\) = \(2, 2, 5\), got \[7, 2, 5\]",
    ),
    (
        "gru h0 layers bidirectional",
        lambda: gru(bidirectional=True)(x(), torch.zeros(L, B, H)),
        ValueError_,
        r"Expected hidden size \(L\*D, B, H\) = \(4, 2, 5\), got \[2, 2, 5\]",
    ),
    (
        "gru h0 unbatched",
        lambda: gru()(x(T, I), torch.zeros(L, 7)),
        ValueError_,
        r"Expected hidden size \(L\*D, H\) = \(2, 5\), got \[2, 7\]",
    ),
    (
        "gru h0 rank",
        lambda: gru()(x(), torch.zeros(L, H)),
        ValueError_,
        r"GRU: For batched 3-D input, hx should also be 3-D but got 2-D tensor of shape \(2, "
        r"5\), expected \(L\*D, B, H\) = \(2, 2, 5\)",
    ),
    (
        "gru h0 float64",
        lambda: gru()(x(), torch.zeros(L, B, H, dtype=torch.float64)),
        DtypeError,
        r"GRU: hx dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)\. "
        r"Convert hx: hx\.to\(torch\.float32\)",
    ),
    (
        "gru h0 int",
        lambda: gru()(x(), torch.zeros(L, B, H, dtype=torch.int64)),
        DtypeError,
        r"hx dtype \(torch\.int64\) does not match weight dtype "
        r"\(torch\.float32\).*model\.to\(torch\.int64\)$",
    ),
    # --- GRU: lengths ---------------------------------------------------------------------------
    (
        "lengths zero",
        lambda: gru()(x(), lengths=[3, 0]),
        ValueError_,
        r"lengths must be >= 1, got a length of 0",
    ),
    (
        "lengths negative",
        lambda: gru()(x(), lengths=[-7, 3]),
        ValueError_,
        r"lengths must be >= 1, got a length of -7",
    ),
    (
        "lengths beyond T",
        lambda: gru()(x(), lengths=[3, 7]),
        ValueError_,
        r"lengths must be <= T=3 \(the input's steps\), got 7",
    ),
    (
        "lengths one beyond T",
        lambda: gru()(x(), lengths=[T + 1, 1]),
        ValueError_,
        r"lengths must be <= T=3 \(the input's steps\), got 4",
    ),
    (
        "lengths count",
        lambda: gru()(x(), lengths=[1] * 7),
        ValueError_,
        r"one length per sequence: expected \(B,\) = \(2,\), got \(7,\)",
    ),
    (
        "lengths 2-D",
        lambda: gru()(x(), lengths=[[1], [2]]),
        ValueError_,
        r"expected \(B,\) = \(2,\), got \(2, 1\)",
    ),
    (
        "lengths float list",
        lambda: gru()(x(), lengths=[2.5, 3.0]),
        TypeError_,
        r"lengths must hold integers, got dtype torch\.float32",
    ),
    (
        "lengths float tensor",
        lambda: gru()(x(), lengths=torch.tensor([2.0, 3.0], dtype=torch.float64)),
        TypeError_,
        r"lengths must hold integers, got dtype torch\.float64",
    ),
    (
        "lengths not numbers",
        lambda: gru()(x(), lengths=["a", "b"]),
        TypeError_,
        r"lengths must be a sequence of ints, got \['a', 'b'\]",
    ),
    (
        "lengths with packed input",
        lambda: gru()(pack_padded_sequence(x(), [3, 2]), lengths=[3, 2]),
        ValueError_,
        r"PackedSequence carries its own lengths; pass lengths=None",
    ),
    (
        "packed float64",
        lambda: gru()(pack_padded_sequence(x(dtype=torch.float64), [3, 2])),
        DtypeError,
        r"RNN input dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)",
    ),
    # --- GRUCell --------------------------------------------------------------------------------
    (
        "cell 3-D input",
        lambda: cell()(x(B, I, 7)),
        ValueError_,
        r"GRUCell: Expected input to be 1D or 2D, got 3D instead \(shape \(2, 4, 7\); expected "
        r"\(B, I\) or \(I,\)\)",
    ),
    (
        "cell features",
        lambda: cell()(x(B, 7)),
        ValueError_,
        r"GRUCell: input has inconsistent input_size: got 7 expected 4$",
    ),
    (
        "cell features unbatched",
        lambda: cell()(x(11)),
        ValueError_,
        r"input has inconsistent input_size: got 11 expected 4",
    ),
    (
        "cell hidden batch",
        lambda: cell()(x(B, I), torch.zeros(7, H)),
        ValueError_,
        r"GRUCell: Input batch size 2 doesn't match hidden0 batch size 7 \(hx has shape \(7, "
        r"5\), expected \(B, H\) = \(2, 5\)\)",
    ),
    (
        "cell hidden size",
        lambda: cell()(x(B, I), torch.zeros(B, 7)),
        ValueError_,
        r"hidden0 has inconsistent hidden_size: got 7, expected 5 \(hx has shape \(2, 7\), "
        r"expected \(B, H\) = \(2, 5\)\)",
    ),
    (
        "cell hidden unbatched",
        lambda: cell()(x(I), torch.zeros(7)),
        ValueError_,
        r"hidden0 has inconsistent hidden_size: got 7, expected 5 \(hx has shape \(7,\), "
        r"expected \(H,\) = \(5,\)\)",
    ),
    (
        "cell int input",
        lambda: cell()(x(B, I, dtype=torch.int32)),
        DtypeError,
        r"GRUCell: input dtype \(torch\.int32\) does not match weight dtype \(torch\.float32\)",
    ),
    (
        "cell float64 input",
        lambda: cell()(x(B, I, dtype=torch.float64)),
        DtypeError,
        r"GRUCell: input dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)",
    ),
    (
        "cell float64 hidden",
        lambda: cell()(x(B, I), torch.zeros(B, H, dtype=torch.float64)),
        DtypeError,
        r"GRUCell: hx dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)",
    ),
    (
        "cell float64 model, float32 input",
        lambda: grubook.GRUCell(I, H, dtype=torch.float64)(x(B, I)),
        DtypeError,
        r"input dtype \(torch\.float32\) does not match weight dtype \(torch\.float64\)\. "
        r"Convert input: input\.to\(torch\.float64\), or convert model: "
        r"model\.to\(torch\.float32\)",
    ),
    # --- RNN and RNNCell ------------------------------------------------------------------------
    (
        "rnn features",
        lambda: grubook.RNN(I, H)(x(T, B, 7)),
        ValueError_,
        r"RNN: input\.size\(-1\) must be equal to input_size\. Expected 4, got 7",
    ),
    (
        "rnn h0 layers",
        lambda: grubook.RNN(I, H)(x(), torch.zeros(7, B, H)),
        ValueError_,
        r"RNN: Expected hidden size \(L\*D, B, H\) = \(1, 2, 5\), got \[7, 2, 5\]",
    ),
    (
        "rnncell 3-D input",
        lambda: grubook.RNNCell(I, H)(x(B, I, 7)),
        ValueError_,
        r"RNNCell: Expected input to be 1D or 2D, got 3D instead",
    ),
    (
        "rnncell hidden size",
        lambda: grubook.RNNCell(I, H)(x(B, I), torch.zeros(B, 7)),
        ValueError_,
        r"RNNCell: hidden0 has inconsistent hidden_size: got 7, expected 5",
    ),
    (
        "rnncell int input",
        lambda: grubook.RNNCell(I, H)(x(B, I, dtype=torch.int64)),
        DtypeError,
        r"RNNCell: input dtype \(torch\.int64\) does not match weight dtype",
    ),
    # --- GRUClassifier --------------------------------------------------------------------------
    (
        "classifier int input without vocab",
        lambda: classifier()(x(dtype=torch.int64)),
        DtypeError,
        r"RNN input dtype \(torch\.int64\) does not match.*GRUClassifier\(vocab_size=\.\.\.\)",
    ),
    (
        "classifier float64 input",
        lambda: classifier()(x(dtype=torch.float64)),
        DtypeError,
        r"RNN input dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)",
    ),
    (
        "classifier features",
        lambda: classifier()(x(T, B, 7)),
        ValueError_,
        r"GRU: input\.size\(-1\) must be equal to input_size\. Expected 4, got 7",
    ),
    (
        "classifier unbatched",
        lambda: classifier()(x(T, I)),
        ValueError_,
        r"GRUClassifier: expected a batch of sequences, got one unbatched sequence",
    ),
    (
        "classifier lengths",
        lambda: classifier()(x(), lengths=[3, 7]),
        ValueError_,
        r"lengths must be <= T=3",
    ),
    (
        "classifier h0 layers",
        lambda: classifier(num_layers=2)(x(), torch.zeros(7, B, H)),
        ValueError_,
        r"GRU: Expected hidden size \(L\*D, B, H\) = \(2, 2, 5\), got \[7, 2, 5\]",
    ),
    (
        "token model float input",
        lambda: classifier(vocab_size=11)(torch.zeros(T, B)),
        TypeError_,
        r"GRUClassifier: x has dtype torch\.float32, expected integer token ids \(vocab_size=11\)",
    ),
    (
        "token model bool input",
        lambda: classifier(vocab_size=11)(torch.zeros(T, B, dtype=torch.bool)),
        TypeError_,
        r"x has dtype torch\.bool, expected integer token ids",
    ),
    (
        "token id negative",
        lambda: classifier(vocab_size=11)(torch.tensor([[1, -7], [2, 3]])),
        ValueError_,
        r"token ids must be in \[0, vocab_size=11\), got ids from -7 to 3",
    ),
    (
        "token id too large",
        lambda: classifier(vocab_size=11)(torch.tensor([[1, 11], [2, 3]])),
        ValueError_,
        r"token ids must be in \[0, vocab_size=11\), got ids from 1 to 11",
    ),
    (
        "token ids 3-D",
        lambda: classifier(vocab_size=11)(torch.zeros(T, B, 7, dtype=torch.int64)),
        ValueError_,
        r"expected token ids of shape \(T, B\), got \(3, 2, 7\)",
    ),
    (
        "classifier not a tensor",
        lambda: classifier()([[1.0]]),
        TypeError_,
        r"GRUClassifier: x must be a torch\.Tensor, got list",
    ),
    # --- constructors ---------------------------------------------------------------------------
    (
        "GRU input_size=0",
        lambda: grubook.GRU(0, H),
        ValueError_,
        r"GRU: input_size must be greater than zero, got input_size=0",
    ),
    (
        "GRU hidden_size=-1",
        lambda: grubook.GRU(I, -1),
        ValueError_,
        r"GRU: hidden_size must be greater than zero, got hidden_size=-1",
    ),
    (
        "GRU num_layers=0",
        lambda: grubook.GRU(I, H, num_layers=0),
        ValueError_,
        r"GRU: num_layers must be greater than zero, got num_layers=0",
    ),
    (
        "GRU input_size=2.5",
        lambda: grubook.GRU(2.5, H),
        TypeError_,
        r"GRU: input_size should be of type int, got: float 2\.5",
    ),
    (
        "GRU hidden_size=True",
        lambda: grubook.GRU(I, True),
        TypeError_,
        r"GRU: hidden_size should be of type int, got: bool True",
    ),
    (
        "GRU num_layers='2'",
        lambda: grubook.GRU(I, H, num_layers="2"),
        TypeError_,
        r"GRU: num_layers should be of type int, got: str '2'",
    ),
    (
        "GRU dropout=-0.1",
        lambda: grubook.GRU(I, H, num_layers=2, dropout=-0.1),
        ValueError_,
        r"GRU: dropout should be a number in range \[0, 1\] representing the probability of an "
        r"element being zeroed, got dropout=-0\.1",
    ),
    (
        "GRU dropout=1.5",
        lambda: grubook.GRU(I, H, num_layers=2, dropout=1.5),
        ValueError_,
        r"dropout should be a number in range \[0, 1\].*, got dropout=1\.5",
    ),
    (
        "GRU dropout='0.5'",
        lambda: grubook.GRU(I, H, num_layers=2, dropout="0.5"),
        ValueError_,
        r"dropout should be a number in range \[0, 1\].*, got dropout='0\.5'",
    ),
    (
        "GRUCell input_size=-1",
        lambda: grubook.GRUCell(-1, H),
        ValueError_,
        r"GRUCell: input_size must be non-negative, got input_size=-1",
    ),
    (
        "GRUCell hidden_size=2.5",
        lambda: grubook.GRUCell(I, 2.5),
        TypeError_,
        r"GRUCell: hidden_size should be of type int, got: float 2\.5",
    ),
    (
        "RNN hidden_size=0",
        lambda: grubook.RNN(I, 0),
        ValueError_,
        r"RNN: hidden_size must be greater than zero, got hidden_size=0",
    ),
    (
        "RNN nonlinearity",
        lambda: grubook.RNN(I, H, nonlinearity="sigmoid"),
        ValueError_,
        r"RNN: Unknown nonlinearity 'sigmoid'\. Select from 'tanh' or 'relu'\.",
    ),
    (
        "RNNCell input_size=-1",
        lambda: grubook.RNNCell(-1, H),
        ValueError_,
        r"RNNCell: input_size must be non-negative, got input_size=-1",
    ),
    (
        "RNNCell nonlinearity",
        lambda: grubook.RNNCell(I, H, nonlinearity="gelu"),
        ValueError_,
        r"RNNCell: Unknown nonlinearity 'gelu'\. Select from 'tanh' or 'relu'\.",
    ),
    (
        "GRUClassifier num_classes=0",
        lambda: grubook.GRUClassifier(I, H, 0),
        ValueError_,
        r"GRUClassifier: num_classes must be greater than zero, got num_classes=0",
    ),
    (
        "GRUClassifier num_classes=2.5",
        lambda: grubook.GRUClassifier(I, H, 2.5),
        TypeError_,
        r"num_classes should be of type int, got: float 2\.5",
    ),
    (
        "GRUClassifier hidden_size=0",
        lambda: grubook.GRUClassifier(I, 0, 3),
        ValueError_,
        r"GRU: hidden_size must be greater than zero, got hidden_size=0",
    ),
    (
        "GRUClassifier num_layers=0",
        lambda: grubook.GRUClassifier(I, H, 3, num_layers=0),
        ValueError_,
        r"GRUClassifier: num_layers must be greater than zero, got num_layers=0",
    ),
    (
        "GRUClassifier vocab_size=1",
        lambda: grubook.GRUClassifier(I, H, 3, vocab_size=1),
        ValueError_,
        r"vocab_size must be at least 2, got vocab_size=1",
    ),
    (
        "GRUClassifier embedding_dim=2.5",
        lambda: grubook.GRUClassifier(I, H, 3, vocab_size=11, embedding_dim=2.5),
        TypeError_,
        r"embedding_dim should be of type int, got: float 2\.5",
    ),
    (
        "GRUClassifier embedding_dim without vocab",
        lambda: grubook.GRUClassifier(I, H, 3, embedding_dim=7),
        ValueError_,
        r"embedding_dim needs vocab_size",
    ),
    (
        "GRUClassifier rnn_type",
        lambda: grubook.GRUClassifier(I, H, 3, rnn_type="lstm"),
        ValueError_,
        r"GRUClassifier: Unknown rnn_type 'lstm'\. Select from 'gru' or 'rnn' or 'mingru'\.",
    ),
    (
        "GRUClassifier dropout=1.5",
        lambda: grubook.GRUClassifier(I, H, 3, num_layers=2, dropout=1.5),
        ValueError_,
        r"dropout should be a number in range \[0, 1\].*, got dropout=1\.5",
    ),
    (
        "GRUClassifier one layer dropout=-0.1",
        lambda: grubook.GRUClassifier(I, H, 3, dropout=-0.1),
        ValueError_,
        r"GRUClassifier: dropout should be a number in range \[0, 1\].*, got dropout=-0\.1",
    ),
    (
        "GRUClassifier one layer dropout='0.5'",
        lambda: grubook.GRUClassifier(I, H, 3, dropout="0.5"),
        ValueError_,
        r"GRUClassifier: dropout should be a number in range \[0, 1\].*, got dropout='0\.5'",
    ),
    # --- flags: bool only, as nn.GRU checks bias and batch_first ---------------------------------
    (
        "GRU bias=0",
        lambda: grubook.GRU(I, H, bias=0),
        TypeError_,
        r"GRU: bias should be of type bool, got: int 0",
    ),
    (
        "GRU batch_first='False'",
        lambda: grubook.GRU(I, H, batch_first="False"),
        TypeError_,
        r"GRU: batch_first should be of type bool, got: str 'False'",
    ),
    (
        "GRU bidirectional=1",
        lambda: grubook.GRU(I, H, bidirectional=1),
        TypeError_,
        r"GRU: bidirectional should be of type bool, got: int 1",
    ),
    (
        "GRU reset_after='no'",
        lambda: grubook.GRU(I, H, reset_after="no"),
        TypeError_,
        r"GRU: reset_after should be of type bool, got: str 'no'",
    ),
    (
        "GRU bias=np.bool_",
        lambda: grubook.GRU(I, H, bias=np.bool_(True)),
        TypeError_,
        r"GRU: bias should be of type bool, got: bool np\.True_",
    ),
    (
        "RNN batch_first=None",
        lambda: grubook.RNN(I, H, batch_first=None),
        TypeError_,
        r"RNN: batch_first should be of type bool, got: NoneType None",
    ),
    (
        "GRUCell bias='relu'",
        lambda: grubook.GRUCell(I, H, "relu"),
        TypeError_,
        r"GRUCell: bias should be of type bool, got: str 'relu'",
    ),
    (
        "RNNCell bias=1",
        lambda: grubook.RNNCell(I, H, bias=1),
        TypeError_,
        r"RNNCell: bias should be of type bool, got: int 1",
    ),
    (
        "GRUClassifier bidirectional=1",
        lambda: grubook.GRUClassifier(I, H, 3, bidirectional=1),
        TypeError_,
        r"GRU: bidirectional should be of type bool, got: int 1",
    ),
    # --- options nn.GRU refuses, and the two names of the initial state ---------------------------
    (
        "GRU proj_size=2",
        lambda: grubook.GRU(I, H, proj_size=2),
        ValueError_,
        r"GRU: proj_size argument is only supported for LSTM, not RNN or GRU, got proj_size=2",
    ),
    (
        "RNN proj_size=2",
        lambda: grubook.RNN(I, H, proj_size=2),
        ValueError_,
        r"RNN: proj_size argument is only supported for LSTM, not RNN or GRU",
    ),
    (
        "gru hx and h0",
        lambda: gru()(x(), torch.zeros(L, B, H), h0=torch.zeros(L, B, H)),
        TypeError_,
        r"GRU: got both hx and h0; they are one argument",
    ),
    (
        "gates hx and h0",
        lambda: gru().gates(x(), torch.zeros(L, B, H), h0=torch.zeros(L, B, H)),
        TypeError_,
        r"GRU: got both hx and h0",
    ),
    (
        "cell hx and hidden",
        lambda: cell()(x(B, I), torch.zeros(B, H), hidden=torch.zeros(B, H)),
        TypeError_,
        r"GRUCell: got both hx and hidden",
    ),
    (
        "cell hidden 4-D",
        lambda: cell()(x(B, I), torch.zeros(B, 1, 1, H)),
        ValueError_,
        r"GRUCell: Expected hidden to be 1D or 2D, got 4D instead",
    ),
    (
        "cell hidden unbatched for batched input",
        lambda: cell()(x(B, I), torch.zeros(H)),
        ValueError_,
        r"GRUCell: hx does not match the input \(hx has shape \(5,\), expected \(B, H\)",
    ),
    (
        "gru input on another device",
        lambda: gru()(x().to("meta")),
        ValueError_,
        r"GRU: Input and parameter tensors are not at the same device, found input tensor at "
        r"meta and parameter tensor at cpu",
    ),
    (
        "cell hidden on another device",
        lambda: cell()(x(B, I), torch.zeros(B, H, device="meta")),
        ValueError_,
        r"GRUCell: Input and parameter tensors are not at the same device, found hx tensor",
    ),
    (
        "from_torch of another class",
        lambda: grubook.RNN.from_torch(nn.GRU(I, H)),
        TypeError_,
        r"RNN\.from_torch: expected an nn\.RNN, got GRU",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert type(info.value) is error
    assert isinstance(info.value, RuntimeError)  # what nn.GRU raises for most of them
    assert info.match(match)


# The same mistake made with torch.nn and with grubook, models built by `make(GRU or nn.GRU)`:
# grubook's error is an instance of the class torch raises, so torch users' `except` catches it.
LAYER, CELL = (grubook.GRU, nn.GRU), (grubook.GRUCell, nn.GRUCell)
ELMAN, ELMAN_CELL = (grubook.RNN, nn.RNN), (grubook.RNNCell, nn.RNNCell)
TWINS = [
    ("features", LAYER, lambda M: M(I, H, L)(x(T, B, 7))),
    ("1-D input", LAYER, lambda M: M(I, H, L)(x(7))),
    ("T=0", LAYER, lambda M: M(I, H, L)(x(0, B, I))),
    ("float64 input", LAYER, lambda M: M(I, H, L)(x(dtype=torch.float64))),
    ("int input", LAYER, lambda M: M(I, H, L)(x(dtype=torch.int64))),
    ("h0 batch", LAYER, lambda M: M(I, H, L)(x(), torch.zeros(L, 7, H))),
    ("h0 layers", LAYER, lambda M: M(I, H, L)(x(), torch.zeros(7, B, H))),
    ("h0 rank", LAYER, lambda M: M(I, H, L)(x(), torch.zeros(L, H))),
    ("h0 rank unbatched", LAYER, lambda M: M(I, H, L)(x(T, I), torch.zeros(L, 1, H))),
    ("h0 float64", LAYER, lambda M: M(I, H, L)(x(), torch.zeros(L, B, H, dtype=torch.float64))),
    ("hidden_size=0", LAYER, lambda M: M(I, 0)),
    ("input_size=-1", LAYER, lambda M: M(-1, H)),
    ("num_layers=0", LAYER, lambda M: M(I, H, 0)),
    ("input_size=2.5", LAYER, lambda M: M(2.5, H)),
    ("num_layers='2'", LAYER, lambda M: M(I, H, "2")),
    ("bias=0", LAYER, lambda M: M(I, H, bias=0)),
    ("batch_first='False'", LAYER, lambda M: M(I, H, batch_first="False")),
    ("dropout=1.5", LAYER, lambda M: M(I, H, 2, dropout=1.5)),
    ("dropout='0.5'", LAYER, lambda M: M(I, H, 2, dropout="0.5")),
    ("proj_size=2", LAYER, lambda M: M(I, H, proj_size=2)),
    ("rnn nonlinearity", ELMAN, lambda M: M(I, H, nonlinearity="sigmoid")),
    ("rnn features", ELMAN, lambda M: M(I, H)(x(T, B, 7))),
    ("cell 3-D input", CELL, lambda M: M(I, H)(x(B, I, 7))),
    ("cell features", CELL, lambda M: M(I, H)(x(B, 7))),
    ("cell hidden batch", CELL, lambda M: M(I, H)(x(B, I), torch.zeros(7, H))),
    ("cell hidden size", CELL, lambda M: M(I, H)(x(B, I), torch.zeros(B, 7))),
    ("cell hidden 4-D", CELL, lambda M: M(I, H)(x(B, I), torch.zeros(B, 1, 1, H))),
    ("cell float64 input", CELL, lambda M: M(I, H)(x(B, I, dtype=torch.float64))),
    ("cell negative size", CELL, lambda M: M(I, -1)),
    ("cell size 2.5", CELL, lambda M: M(I, 2.5)),
    ("rnncell hidden size", ELMAN_CELL, lambda M: M(I, H)(x(B, I), torch.zeros(B, 7))),
]


@pytest.mark.parametrize(("pair", "call"), [t[1:] for t in TWINS], ids=[t[0] for t in TWINS])
def test_errors_are_instances_of_what_torch_raises(pair, call):
    ours, theirs = pair
    with pytest.raises(Exception) as torch_info:
        call(theirs)
    with pytest.raises(Exception) as info:
        call(ours)
    assert isinstance(info.value, type(torch_info.value)), (info.value, torch_info.value)


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
    with pytest.raises(ValueError, match=r"dropout should be a number in range.*got dropout=7"):
        grubook.GRU(I, H, dropout=7)
