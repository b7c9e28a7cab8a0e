"""GRUCell: equal to nn.GRUCell, the reset_after=False equations, and the first version."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import first_version as fv
import pytest
import torch
from conftest import TOL, assert_interchangeable, check_gradients, grads
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

import grubook

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
    in_ref, p_ref = grads(ref, [out_ref], [upstream], inputs)
    in_ours, p_ours = grads(ours, [out], [upstream], inputs)
    assert_close(in_ours, in_ref, **TOL)
    assert p_ours.keys() == p_ref.keys()
    assert_close(p_ours, p_ref, **TOL)


def cho_cell(cell: grubook.GRUCell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step of Cho et al.'s GRU (reset before the hidden matmul), from the equations."""
    H = cell.hidden_size
    W_ir, W_iz, W_in = cell.weight_ih.split(H)
    W_hr, W_hz, W_hn = cell.weight_hh.split(H)
    zeros = torch.zeros(3 * H)  # bias=False: no biases at all
    b_ir, b_iz, b_in = (zeros if cell.bias_ih is None else cell.bias_ih).split(H)
    b_hr, b_hz, b_hn = (zeros if cell.bias_hh is None else cell.bias_hh).split(H)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h


@given(**SEQUENCE_SIZES, bias=st.booleans())
def test_reset_before_matches_equations(I, H, B, T, seed, bias):
    gen = torch.Generator().manual_seed(seed)
    cell = grubook.GRUCell(I, H, bias=bias, reset_after=False)
    assert (cell.bias_ih is None) is not bias
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


def test_first_version_is_the_copy_in_chapter_2():
    """tests/first_version.py holds the classes of chapter 2's first-version cell, renamed."""
    chapter = Path(__file__).parents[1] / "chapters" / "02_gru_cell.ipynb"
    cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    (book,) = [src for src in sources if "class FirstGRUCell(" in src]
    book = book.replace("FirstGRUClassifier", "GRUClassifier").replace("FirstGRUCell", "GRUCell")
    ours = Path(fv.__file__).read_text(encoding="utf-8")
    assert ours[ours.index("class GRUCell(") :].strip() == book.strip()


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


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gradcheck(reset_after, bias):
    torch.manual_seed(0)
    cell = grubook.GRUCell(2, 3, bias=bias, reset_after=reset_after, dtype=torch.float64)
    x = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert check_gradients(cell, (x, h))


@pytest.mark.parametrize("bias", [True, False])
def test_interchangeable_with_nn_grucell(bias):
    inputs = (torch.randn(4, 3), torch.randn(4, 5))
    assert_interchangeable(grubook.GRUCell, nn.GRUCell, (3, 5), {"bias": bias}, inputs)


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


# --- drop-in for nn.GRUCell: hx, empty sizes, conversion ----------------------------------------


def test_hx_keyword_and_the_hidden_alias():
    cell = grubook.GRUCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    assert torch.equal(cell(x, hx=h), cell(x, h))
    assert torch.equal(cell(x, hidden=h), cell(x, h))
    with pytest.raises(TypeError, match=r"GRUCell: got both hx and hidden"):
        cell(x, h, hidden=h)


@pytest.mark.parametrize(("I", "H"), [(3, 0), (0, 4), (0, 0)])
@pytest.mark.parametrize("batched", [True, False])
def test_empty_sizes_give_torchs_results(I, H, batched):
    torch.manual_seed(0)
    ref = nn.GRUCell(I, H)
    ours = grubook.GRUCell(I, H)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, I) if batched else torch.randn(I)
    h = torch.randn(2, H) if batched else torch.randn(H)
    for args in ((x,), (x, h)):
        out, out_ref = ours(*args), ref(*args)
        assert out.shape == out_ref.shape
        assert_close(out, out_ref, **TOL)


def test_batch_of_zero_samples():
    cell = grubook.GRUCell(3, 4)
    assert cell(torch.zeros(0, 3)).shape == (0, 4)
    assert cell(torch.zeros(0, 3), torch.zeros(0, 4)).shape == (0, 4)


def test_conversions_keep_dtype_and_refuse_what_torch_lacks():
    ours = grubook.GRUCell(3, 5, dtype=torch.float64)
    assert ours.to_torch().weight_ih.dtype == torch.float64
    assert grubook.GRUCell.from_torch(ours.to_torch()).weight_hh.dtype == torch.float64
    with pytest.raises(
        ValueError, match=r"GRUCell\.to_torch: nn\.GRUCell has no reset_after=False"
    ):
        grubook.GRUCell(3, 5, reset_after=False).to_torch()
    with pytest.raises(TypeError, match=r"GRUCell\.from_torch: expected an nn\.GRUCell, got GRU"):
        grubook.GRUCell.from_torch(nn.GRU(3, 5))
