"""RNN and RNNCell: the Elman baseline, interchangeable with nn.RNN and nn.RNNCell."""

from __future__ import annotations

import pytest
import torch
from conftest import TOL, assert_interchangeable, check_gradients, grads
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

import grubook


@given(
    I=st.integers(1, 6),
    H=st.integers(1, 6),
    T=st.integers(1, 6),
    L=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    nonlinearity=st.sampled_from(["tanh", "relu"]),
    lengths=st.none() | st.lists(st.integers(1, 6), min_size=1, max_size=4),
    with_h0=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_matches_nn_rnn(
    I, H, T, L, bidirectional, batch_first, nonlinearity, lengths, with_h0, seed
):
    gen = torch.Generator().manual_seed(seed)
    D = 2 if bidirectional else 1
    kw = {
        "num_layers": L,
        "nonlinearity": nonlinearity,
        "batch_first": batch_first,
        "bidirectional": bidirectional,
    }
    ref = nn.RNN(I, H, **kw)
    ours = grubook.RNN(I, H, **kw)
    ours.load_state_dict(ref.state_dict())
    B = 3 if lengths is None else len(lengths)
    T = T if lengths is None else max(lengths)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=gen, requires_grad=True)
    h0 = torch.randn(L * D, B, H, generator=gen, requires_grad=True) if with_h0 else None
    inputs = [x] if h0 is None else [x, h0]

    if lengths is None:
        out_ref, h_ref = ref(x, h0)
    else:
        packed = pack_padded_sequence(
            x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
        )
        out_ref, h_ref = ref(packed, h0)
        out_ref, _ = pad_packed_sequence(out_ref, batch_first=batch_first, total_length=T)
    out, h_n = ours(x, h0, lengths=lengths)
    assert_close(out, out_ref, **TOL)
    assert_close(h_n, h_ref, **TOL)

    upstreams = [torch.randn(out.shape, generator=gen), torch.randn(h_n.shape, generator=gen)]
    in_ref, p_ref = grads(ref, [out_ref, h_ref], upstreams, inputs)
    in_ours, p_ours = grads(ours, [out, h_n], upstreams, inputs)
    assert_close(in_ours, in_ref, **TOL)
    assert_close(p_ours, p_ref, **TOL)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_nn_rnncell(nonlinearity, batched):
    torch.manual_seed(0)
    ref = nn.RNNCell(3, 5, nonlinearity=nonlinearity)
    ours = grubook.RNNCell(3, 5, nonlinearity=nonlinearity)
    ours.load_state_dict(ref.state_dict())
    shape = (4,) if batched else ()
    x = torch.randn(*shape, 3, requires_grad=True)
    h = torch.randn(*shape, 5, requires_grad=True)
    out_ref, out = ref(x, h), ours(x, h)
    assert_close(out, out_ref, **TOL)
    upstream = torch.randn(out.shape)
    in_ref, p_ref = grads(ref, [out_ref], [upstream], [x, h])
    in_ours, p_ours = grads(ours, [out], [upstream], [x, h])
    assert_close(in_ours, in_ref, **TOL)
    assert_close(p_ours, p_ref, **TOL)


def test_gradcheck():
    torch.manual_seed(0)
    rnn = grubook.RNN(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    assert check_gradients(rnn, (x, h0), {"lengths": [3, 2]})


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"num_layers": 2, "bidirectional": True, "batch_first": True},
        {"nonlinearity": "relu", "bias": False},
    ],
)
def test_interchangeable_with_nn_rnn(kw):
    x = torch.randn(2, 5, 3) if kw.get("batch_first") else torch.randn(5, 2, 3)
    assert_interchangeable(grubook.RNN, nn.RNN, (3, 4), kw, (x,))


@pytest.mark.parametrize("kw", [{}, {"nonlinearity": "relu", "bias": False}])
def test_cell_interchangeable_with_nn_rnncell(kw):
    inputs = (torch.randn(2, 3), torch.randn(2, 4))
    assert_interchangeable(grubook.RNNCell, nn.RNNCell, (3, 4), kw, inputs)


def test_h0_none_equals_zeros():
    rnn = grubook.RNN(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(5, 2, 3)
    out, h_n = rnn(x)
    out_zeros, h_zeros = rnn(x, torch.zeros(4, 2, 4))
    assert torch.equal(out, out_zeros)
    assert torch.equal(h_n, h_zeros)
    cell = grubook.RNNCell(3, 4)
    assert torch.equal(cell(x[0]), cell(x[0], torch.zeros(2, 4)))
    assert not torch.equal(cell(x[0]), cell(x[0], torch.ones(2, 4)))


def test_unbatched_and_single_step():
    torch.manual_seed(0)
    rnn = grubook.RNN(3, 4)
    cell = grubook.RNNCell(3, 4)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in rnn.state_dict().items()})
    x, h = torch.randn(1, 3), torch.randn(1, 4)  # unbatched, T = 1
    out, h_n = rnn(x, h)
    assert out.shape == h_n.shape == (1, 4)
    assert_close(out[0], cell(x[0], h[0]), **TOL)


# --- drop-in for nn.RNN and nn.RNNCell -----------------------------------------------------------


def test_nonlinearity_positional_and_keyword_like_nn_rnn():
    rnn = grubook.RNN(2, 3, 1, "relu")
    assert (rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.nonlinearity) == (2, 3, 1, "relu")
    assert grubook.RNN(2, 3).nonlinearity == "tanh"
    assert grubook.RNNCell(2, 3, True, "relu").nonlinearity == "relu"
    with pytest.raises(ValueError, match=r"RNN: Unknown nonlinearity 'gelu'\. Select from"):
        grubook.RNN(2, 3, nonlinearity="gelu")


def test_hx_keyword_and_aliases():
    torch.manual_seed(0)
    rnn, cell = grubook.RNN(3, 4), grubook.RNNCell(3, 4)
    x, h = torch.randn(5, 2, 3), torch.randn(1, 2, 4)
    assert_close(rnn(x, hx=h), rnn(x, h), rtol=0, atol=0)
    assert_close(rnn(x, h0=h), rnn(x, h), rtol=0, atol=0)
    assert torch.equal(cell(x[0], hx=h[0]), cell(x[0], h[0]))
    assert torch.equal(cell(x[0], hidden=h[0]), cell(x[0], h[0]))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_cell_with_zero_hidden_size_gives_empty_states(nonlinearity):
    cell = grubook.RNNCell(3, 0, nonlinearity=nonlinearity)
    assert cell(torch.randn(2, 3)).shape == (2, 0)
    assert cell(torch.randn(2, 3), torch.randn(2, 0)).shape == (2, 0)
    assert cell(torch.randn(3)).shape == (0,)


def test_dropout_in_training_equals_nn_rnns_under_one_seed():
    torch.manual_seed(0)
    ref = nn.RNN(3, 4, num_layers=3, dropout=0.3, nonlinearity="relu", bidirectional=True)
    ours = grubook.RNN.from_torch(ref)
    x = torch.randn(6, 5, 3)
    outs = []
    for model in (ref, ours):
        torch.manual_seed(1)
        outs.append(model(x))
    assert_close(outs[1], outs[0], **TOL)
    ours.eval()
    assert not torch.allclose(ours(x)[0], outs[1][0])
