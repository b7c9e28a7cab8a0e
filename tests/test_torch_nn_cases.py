"""The behaviours PyTorch's test/test_nn.py checks of nn.GRU, nn.RNN and their cells, on grubook.

test_nn.py does not ship with torch, so these are our own tests of the same behaviours, named
after the test of test_nn.py they follow (``test_rnn_args_check``, ``test_RNN_cell``, ...), with
grubook's classes where torch's are. Cases that test_nn.py runs only with cuDNN (dropout
placement, dropout state, changing dropout) check on the CPU what they check there.
"""

from __future__ import annotations

import io

import pytest
import torch
from conftest import TOL, check_gradients
from torch import nn
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence
from torch.testing import assert_close

import grubook

LAYERS = [grubook.GRU, grubook.RNN]
CELLS = [grubook.GRUCell, grubook.RNNCell]
TWIN = {grubook.GRU: nn.GRU, grubook.RNN: nn.RNN, grubook.GRUCell: nn.GRUCell}
TWIN[grubook.RNNCell] = nn.RNNCell

# test_rnn_args_check: I = 3, H = 5, L = 2, B = 4, T = 6, one size wrong at a time, by a prime.
I, H, L, B, T, BAD = 3, 5, 2, 4, 6, 7
ARGS_CHECKS = {
    "input batch": ((T, BAD, I), (L, B, H)),
    "hidden batch": ((T, B, I), (L, BAD, H)),
    "input size": ((T, B, BAD), (L, B, H)),
    "hidden size": ((T, B, I), (L, B, BAD)),
    "hidden layers": ((T, B, I), (BAD, B, H)),
}


@pytest.mark.parametrize("shapes", ARGS_CHECKS.values(), ids=ARGS_CHECKS.keys())
@pytest.mark.parametrize("layer", LAYERS)
def test_rnn_args_check(layer, shapes):
    model = layer(I, H, L)
    with pytest.raises(RuntimeError):
        model(torch.randn(shapes[0]), torch.randn(shapes[1]))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", CELLS)
def test_RNN_cell(cell, bias):  # noqa: N802 (test_nn.py's name)
    """Six steps and a backward pass; here also equal to torch's cell, step by step."""
    ref = TWIN[cell](10, 20, bias=bias)
    ours = cell(10, 20, bias=bias)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 10)
    hx = hx_ref = torch.randn(3, 20)
    for _ in range(6):
        hx, hx_ref = ours(x, hx), ref(x, hx_ref)
        assert_close(hx, hx_ref, **TOL)
    hx.sum().backward()
    assert all(p.grad is not None for p in ours.parameters())


@pytest.mark.parametrize(
    "make",
    [
        lambda: grubook.RNNCell(10, 0, nonlinearity="relu"),
        lambda: grubook.RNNCell(10, 0, nonlinearity="tanh"),
        lambda: grubook.GRUCell(10, 0),
    ],
    ids=["rnn relu", "rnn tanh", "gru"],
)
def test_RNN_cell_forward_zero_hidden_size(make):  # noqa: N802
    assert make()(torch.randn(3, 10), torch.randn(3, 0)).shape == (3, 0)


NO_BROADCASTING = {
    "hidden batch 1": ((3, 10), (1, 20)),
    "hidden size 1": ((3, 10), (3, 1)),
    "input size 1": ((3, 1), (3, 20)),
}


@pytest.mark.parametrize("shapes", NO_BROADCASTING.values(), ids=NO_BROADCASTING.keys())
@pytest.mark.parametrize("cell", CELLS)
def test_RNN_cell_no_broadcasting(cell, shapes):  # noqa: N802
    with pytest.raises(RuntimeError):
        cell(10, 20)(torch.randn(shapes[0]), torch.randn(shapes[1]))


@pytest.mark.parametrize("layer", LAYERS)
def test_cudnn_forward_exception(layer):
    """test_nn.py runs this one on the CPU too: wrong hidden size, wrong input size."""
    model = layer(10, 20, batch_first=True)
    with pytest.raises(RuntimeError, match=r"Expected hidden.*size.*got"):
        model(torch.randn(2, 3, 10), torch.zeros(1, 2, 19))
    with pytest.raises(RuntimeError, match=r"input\.size\(-1\) must be equal to input_size"):
        model(torch.randn(2, 3, 3))


@pytest.mark.parametrize("layer", LAYERS)
def test_rnn_initial_hidden_state(layer):
    model = layer(30, 20, 2)
    x = torch.randn(10, 32, 30)
    assert_close(model(x, torch.zeros(2, 32, 20)), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("layer", LAYERS)
def test_projections_errors_on_gru_and_rnn(layer):
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN"):
        layer(30, 20, 2, proj_size=10)


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("layer", LAYERS)
def test_error_RNN_seq_len_zero(layer, bidirectional):  # noqa: N802
    model = layer(5, 6, bidirectional=bidirectional)
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN"):
        model(torch.ones(0, 10, 5))


@pytest.mark.parametrize("layer", LAYERS)
def test_RNN_input_size_zero(layer):  # noqa: N802
    """A batch of no sequences: empty outputs, and a backward pass that does not fail."""
    x = torch.zeros(5, 0, 3, requires_grad=True)
    out, h_n = layer(input_size=3, hidden_size=4)(x)
    assert (out.shape, h_n.shape) == ((5, 0, 4), (1, 0, 4))
    out.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("p", [0, 0.276, 0.731, 1])
def test_RNN_dropout(p, train):  # noqa: N802
    """Dropout acts between the layers only: with all-ones weights, ReLU and one input of ones,
    layer 0 gives 10 in each of its 1000 units, and layer 1 the sum of what dropout kept."""
    torch.set_default_dtype(torch.float64)
    try:
        rnn = grubook.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu").train(train)
    finally:
        torch.set_default_dtype(torch.float32)
    with torch.no_grad():
        for weight in rnn.parameters():
            weight.fill_(1)
    output, hy = rnn(torch.ones(1, 1, 10, dtype=torch.float64))
    assert output.min() == output.max()
    value = output[0, 0, 0].item()
    if p == 0 or not train:
        assert value == 10000
    elif p == 1:
        assert value == 0
    else:
        assert 8000 < value < 12000
        kept = value * (1 - p) / 10  # dropout scales what it keeps by 1 / (1 - p)
        assert abs(kept - round(kept)) < 1e-3
    assert (hy[0] == 10).all()  # layer 0's state: never dropped
    assert (hy[1] == value).all()  # the last layer's state is its output: not dropped after it


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("p", [0, 0.1234])
def test_RNN_dropout_state(p, train):  # noqa: N802
    rnn = grubook.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity="relu").train(train)
    x, hx = torch.rand(1, 1, 100), torch.rand(2, 1, 100)
    output1, hy1 = rnn(x, hx)
    output2, hy2 = rnn(x, hx)
    buffer = io.BytesIO()
    torch.save(rnn, buffer)
    buffer.seek(0)
    rnn2 = torch.load(buffer, weights_only=False)
    rnn2.flatten_parameters()
    output3, hy3 = rnn2(x, hx)
    same = p == 0 or not train
    assert torch.equal(output1, output2) is same
    assert torch.equal(output1, output3) is same
    assert torch.equal(hy1, hy2) is same
    assert torch.equal(hy1, hy3) is same


@pytest.mark.parametrize("train", [True, False])
def test_RNN_change_dropout(train):  # noqa: N802
    """Setting ``rnn.dropout`` after construction takes effect at the next call."""
    torch.manual_seed(0)
    rnn = grubook.RNN(100, 100, 2, dropout=0, nonlinearity="relu").train(train)
    x = torch.rand(3, 2, 100)
    previous = None
    for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
        rnn.dropout = p
        output1, hy1 = rnn(x)
        output2, hy2 = rnn(x)
        same = p in (0, 1) or not train
        assert torch.equal(output1, output2) is same
        assert torch.equal(hy1, hy2) is same
        if previous is not None:
            assert torch.equal(output1, previous) is not train
        previous = output1


@pytest.mark.parametrize("layer", LAYERS)
def test_rnn_retain_variables(layer):
    rnn = layer(10, 20, num_layers=2, dtype=torch.float64)
    x = torch.randn(5, 6, 10, dtype=torch.float64, requires_grad=True)
    output = rnn(x)
    output[0].sum().backward(retain_graph=True)
    grads = [x.grad.clone()] + [p.grad.clone() for p in rnn.parameters()]
    for _ in range(4):
        rnn.zero_grad()
        x.grad.zero_()
        output[0].sum().backward(retain_graph=True)
        assert_close([x.grad] + [p.grad for p in rnn.parameters()], grads, rtol=0, atol=0)


@pytest.mark.parametrize("bias", [True, False])
def test_GRU_grad_and_gradgrad(bias):  # noqa: N802
    gru = grubook.GRU(4, 4, bias=bias, dtype=torch.float64)
    x = torch.rand(1, 3, 4, dtype=torch.float64, requires_grad=True)
    assert check_gradients(gru, (x,), second_order=True)


def test_RNN_nonlinearity():  # noqa: N802
    assert grubook.RNN(1, 10).nonlinearity == "tanh"
    assert grubook.RNN(1, 10, nonlinearity="relu").nonlinearity == "relu"
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        grubook.RNN(1, 10, nonlinearity="garbage")


def test_RNN_nonlinearity_passed_as_arg():  # noqa: N802
    rnn = grubook.RNN(2, 3, 1, "relu")
    assert (rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.nonlinearity) == (2, 3, 1, "relu")


@pytest.mark.parametrize("layer", LAYERS)
def test_variable_sequence(layer):
    """A packed batch of sequences of different lengths equals each sequence run alone."""
    torch.manual_seed(0)
    rnn = layer(3, 4, num_layers=2, bidirectional=True)
    lengths = [5, 4, 2, 1]
    seqs = [torch.randn(n, 3) for n in lengths]
    packed_out, h_n = rnn(pack_sequence(seqs))
    padded, got_lengths = pad_packed_sequence(packed_out)
    assert got_lengths.tolist() == lengths
    for b, seq in enumerate(seqs):
        alone, h_alone = rnn(seq)  # unbatched (T, I)
        assert_close(padded[: lengths[b], b], alone, **TOL)
        assert torch.all(padded[lengths[b] :, b] == 0)
        assert_close(h_n[:, b], h_alone, **TOL)


@pytest.mark.parametrize("layer", LAYERS)
def test_rnn_weight_norm(layer):
    """weight_norm on a recurrent weight: same output at first, one more parameter, removable."""
    model = layer(10, 6, 2)
    x = torch.randn(7, 4, 10)
    expected = model(x)
    before = len(list(model.parameters()))
    model = nn.utils.parametrizations.weight_norm(model, name="weight_hh_l0")
    assert len(list(model.parameters())) == before + 1  # g and v instead of the weight
    assert_close(model(x), expected, **TOL)
    nn.utils.parametrize.remove_parametrizations(model, "weight_hh_l0")
    assert len(list(model.parameters())) == before
    assert_close(model(x), expected, **TOL)


@pytest.mark.parametrize("layer", LAYERS)
def test_all_weights_copy_between_models(layer):
    """test_nn.py's CPU-vs-cuDNN comparison copies weights through ``all_weights``."""
    ref = TWIN[layer](10, 6, 2, bidirectional=True, dtype=torch.float64)
    ours = layer(10, 6, 2, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for mine, theirs in zip(ours.all_weights, ref.all_weights, strict=True):
            for w_mine, w_theirs in zip(mine, theirs, strict=True):
                w_mine.copy_(w_theirs)
    x = torch.randn(7, 6, 10, dtype=torch.float64)
    assert_close(ours(x), ref(x))
