"""RNN and RNNCell: the Elman baseline, interchangeable with nn.RNN and nn.RNNCell."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.autograd import gradcheck
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

import grubook

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _grads(model, outs, upstreams, inputs):
    """Backpropagate ``upstreams`` from ``outs``; return input grads and a name -> grad dict."""
    named = dict(model.named_parameters())
    grads = torch.autograd.grad(outs, [*inputs, *named.values()], upstreams, retain_graph=True)
    return grads[: len(inputs)], dict(zip(named, grads[len(inputs) :], strict=True))


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
    in_ref, p_ref = _grads(ref, [out_ref, h_ref], upstreams, inputs)
    in_ours, p_ours = _grads(ours, [out, h_n], upstreams, inputs)
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
    in_ref, p_ref = _grads(ref, [out_ref], [upstream], [x, h])
    in_ours, p_ours = _grads(ours, [out], [upstream], [x, h])
    assert_close(in_ours, in_ref, **TOL)
    assert_close(p_ours, p_ref, **TOL)


def test_gradcheck():
    torch.manual_seed(0)
    rnn = grubook.RNN(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64)
    names = [name for name, _ in rnn.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in rnn.parameters()]
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)

    def f(x, h0, *params):
        return functional_call(rnn, dict(zip(names, params, strict=True)), (x, h0, [3, 2]))

    assert gradcheck(f, (x, h0, *params))


@pytest.mark.parametrize(
    "kw", [{}, {"num_layers": 2, "bidirectional": True}, {"nonlinearity": "relu", "bias": False}]
)
def test_seeded_init_and_state_dict_round_trip(kw):
    torch.manual_seed(3)
    ref = nn.RNN(3, 4, **kw)
    torch.manual_seed(3)
    ours = grubook.RNN(3, 4, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for name, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name

    torch.manual_seed(4)
    fresh = grubook.RNN(3, 4, **kw)
    fresh.load_state_dict(ref.state_dict())
    back = nn.RNN(3, 4, **kw)
    back.load_state_dict(fresh.state_dict())
    x = torch.randn(5, 2, 3)
    assert_close(fresh(x), ref(x), **TOL)
    assert_close(back(x), ref(x), rtol=0, atol=0)
    to = fresh.to_torch()
    assert isinstance(to, nn.RNN)
    assert to.nonlinearity == ref.nonlinearity
    assert_close(to(x), ref(x), rtol=0, atol=0)


def test_cell_seeded_init_and_round_trip():
    torch.manual_seed(5)
    ref = nn.RNNCell(3, 4)
    torch.manual_seed(5)
    ours = grubook.RNNCell(3, 4)
    for name, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name
    back = nn.RNNCell(3, 4)
    back.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3)
    assert torch.equal(back(x), ref(x))


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
