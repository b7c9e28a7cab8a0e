"""GRUCell: equal to nn.GRUCell, the reset_after=False equations, and the first version."""

from __future__ import annotations

import contextlib
import io

import first_version as fv
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.autograd import gradcheck
from torch.func import functional_call
from torch.testing import assert_close

import grubook

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _grads(model: nn.Module, out: torch.Tensor, upstream: torch.Tensor, *inputs: torch.Tensor):
    """Backpropagate ``upstream`` from ``out``; return input grads and a name -> grad dict."""
    named = dict(model.named_parameters())
    grads = torch.autograd.grad(out, [*inputs, *named.values()], upstream)
    return grads[: len(inputs)], dict(zip(named, grads[len(inputs) :], strict=True))


# A short sequence of a small batch, and a seed for its random inputs.
SEQUENCE_SIZES = {
    "I": st.integers(1, 6),
    "H": st.integers(1, 6),
    "B": st.integers(1, 4),
    "T": st.integers(1, 6),
    "seed": st.integers(0, 2**31 - 1),
}


@given(
    I=st.integers(1, 6),
    H=st.integers(1, 6),
    B=st.integers(1, 4),
    bias=st.booleans(),
    batched=st.booleans(),
    with_hidden=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_matches_nn_grucell(I, H, B, bias, batched, with_hidden, seed):
    gen = torch.Generator().manual_seed(seed)
    ref = nn.GRUCell(I, H, bias=bias)
    ours = grubook.GRUCell(I, H, bias=bias)
    ours.load_state_dict(ref.state_dict())
    shape = (B,) if batched else ()
    x = torch.randn(*shape, I, generator=gen, requires_grad=True)
    h = torch.randn(*shape, H, generator=gen, requires_grad=True) if with_hidden else None
    upstream = torch.randn(*shape, H, generator=gen)
    inputs = (x, h) if with_hidden else (x,)

    out_ref, out = ref(x, h), ours(x, h)
    assert out.shape == out_ref.shape == (*shape, H)
    assert_close(out, out_ref, **TOL)
    in_ref, p_ref = _grads(ref, out_ref, upstream, *inputs)
    in_ours, p_ours = _grads(ours, out, upstream, *inputs)
    assert_close(in_ours, in_ref, **TOL)
    assert p_ours.keys() == p_ref.keys()
    assert_close(p_ours, p_ref, **TOL)


def cho_cell(cell: grubook.GRUCell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step of Cho et al.'s GRU (reset before the hidden matmul), from the equations."""
    H = cell.hidden_size
    W_ir, W_iz, W_in = cell.weight_ih.split(H)
    W_hr, W_hz, W_hn = cell.weight_hh.split(H)
    b_ir, b_iz, b_in = cell.bias_ih.split(H)
    b_hr, b_hz, b_hn = cell.bias_hh.split(H)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h


@given(**SEQUENCE_SIZES)
def test_reset_before_matches_equations(I, H, B, T, seed):
    gen = torch.Generator().manual_seed(seed)
    cell = grubook.GRUCell(I, H, reset_after=False)
    xs = torch.randn(T, B, I, generator=gen)
    h = h_ref = torch.randn(B, H, generator=gen)
    for t in range(T):  # the recurrence, stepped by hand
        h = cell(xs[t], h)
        h_ref = cho_cell(cell, xs[t], h_ref)
        assert_close(h, h_ref, **TOL)


def test_reset_before_differs_from_reset_after():
    """The two forms are different models: the same weights give different outputs."""
    torch.manual_seed(0)
    after = grubook.GRUCell(3, 4)
    before = grubook.GRUCell(3, 4, reset_after=False)
    before.load_state_dict(after.state_dict())
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    assert (after(x, h) - before(x, h)).abs().max() > 1e-3


# --- the book's first version -------------------------------------------------------------------


@given(**SEQUENCE_SIZES)
def test_from_first_version_equals_first_version(I, H, B, T, seed):
    torch.manual_seed(seed)
    first = fv.GRUCell(I, H)
    cell = grubook.from_first_version(first.reset_gate, first.update_gate, first.candidate)
    assert isinstance(cell, grubook.GRUCell)
    assert not cell.reset_after
    assert (cell.input_size, cell.hidden_size) == (I, H)
    xs, h0 = torch.randn(T, B, I), torch.randn(B, H)
    h_first, h = h0, h0
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()) as printed:
        # One step from random states, then the whole sequence stepped through time.
        assert_close(cell(xs[0], h0), first(xs[0], h0)[0], **TOL)
        for t in range(T):
            h_first, _ = first(xs[t], h_first)  # its FIRST return value is the next hidden state
            h = cell(xs[t], h)
            assert_close(h, h_first, **TOL)
    assert printed.getvalue().count("input torch.Size") == T + 1


def test_first_version_prints_and_is_swallowed(capsys):
    first = fv.GRUCell(2, 3)
    cell = grubook.from_first_version(first.reset_gate, first.update_gate, first.candidate)
    x, h = torch.randn(4, 2), torch.randn(4, 3)
    with torch.no_grad():
        next_hidden, output = first(x, h)
        assert_close(cell(x, h), next_hidden, **TOL)
        # The second return value is tanh of the state, not the state: not what the cell returns.
        assert not torch.allclose(cell(x, h), output)
    assert "input torch.Size([4, 2]) hidden torch.Size([4, 3])" in capsys.readouterr().out


def test_from_first_version_without_bias():
    torch.manual_seed(1)
    layers = [nn.Linear(5, 3, bias=False) for _ in range(3)]
    first = fv.GRUCell(2, 3)
    first.reset_gate, first.update_gate, first.candidate = layers
    cell = grubook.from_first_version(*layers)
    x, h = torch.randn(4, 2), torch.randn(4, 3)
    with torch.no_grad():
        assert_close(cell(x, h), first(x, h)[0], **TOL)


def test_from_first_version_rejects_non_linear():
    first = fv.GRUCell(2, 3)
    with pytest.raises(TypeError, match=r"expected three nn\.Linear layers"):
        grubook.from_first_version(first.reset_gate, nn.Identity(), first.candidate)


@pytest.mark.parametrize(
    "shapes",
    [
        [(5, 3), (5, 3), (7, 3)],  # candidate has the wrong input size
        [(5, 3), (5, 7), (5, 3)],  # update gate has the wrong output size
        [(3, 3), (3, 3), (3, 3)],  # in_features == out_features: no room for the input (I = 0)
    ],
)
def test_from_first_version_rejects_mismatched_layers(shapes):
    layers = [nn.Linear(i, o) for i, o in shapes]
    with pytest.raises(ValueError, match=r"expected three Linear\(I \+ H, H\) layers.*got"):
        grubook.from_first_version(*layers)


# --- gradients, state_dict, edge cases ----------------------------------------------------------


@pytest.mark.parametrize("reset_after", [True, False])
def test_gradcheck(reset_after):
    torch.manual_seed(0)
    cell = grubook.GRUCell(2, 3, reset_after=reset_after, dtype=torch.float64)
    names = [name for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    x = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)

    def f(x, h, *params):
        return functional_call(cell, dict(zip(names, params, strict=True)), (x, h))

    assert gradcheck(f, (x, h, *params))


def test_state_dict_round_trip_with_nn_grucell():
    torch.manual_seed(0)
    ref = nn.GRUCell(3, 5)
    ours = grubook.GRUCell(3, 5)
    ours.load_state_dict(ref.state_dict())
    back = nn.GRUCell(3, 5)
    back.load_state_dict(ours.state_dict())
    x, h = torch.randn(4, 3), torch.randn(4, 5)
    assert_close(ours(x, h), ref(x, h), **TOL)
    assert torch.equal(back(x, h), ref(x, h))


@pytest.mark.parametrize("bias", [True, False])
def test_seeded_init_equals_nn_grucell(bias):
    torch.manual_seed(123)
    ref = nn.GRUCell(4, 7, bias=bias)
    torch.manual_seed(123)
    ours = grubook.GRUCell(4, 7, bias=bias)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for name, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name


def test_save_and_load_weights_only(tmp_path):
    torch.manual_seed(0)
    cell = grubook.GRUCell(3, 4, reset_after=False)
    torch.save(cell.state_dict(), tmp_path / "cell.pt")
    torch.manual_seed(1)
    fresh = grubook.GRUCell(3, 4, reset_after=False)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    assert not torch.equal(fresh(x, h), cell(x, h))
    fresh.load_state_dict(torch.load(tmp_path / "cell.pt", weights_only=True))
    assert torch.equal(fresh(x, h), cell(x, h))


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_hidden_none_equals_zeros(reset_after, batched):
    cell = grubook.GRUCell(3, 4, reset_after=reset_after)
    x = torch.randn(2, 3) if batched else torch.randn(3)
    zeros = torch.zeros(2, 4) if batched else torch.zeros(4)
    assert torch.equal(cell(x), cell(x, zeros))
    assert not torch.equal(cell(x), cell(x, torch.ones_like(zeros)))


def test_batch_of_one_equals_unbatched():
    cell = grubook.GRUCell(3, 4)
    x, h = torch.randn(3), torch.randn(4)
    out = cell(x, h)
    assert out.shape == (4,)
    assert_close(cell(x[None], h[None]), out[None], **TOL)
