"""The fast path: both fast loops equal the plain loop and nn.GRU, gradcheck, fallbacks, the loader.

CI builds the C++ extension here (the first test that needs it), so both fast loops are tested:
``"cpp"`` (grubook/csrc/gru.cpp) and ``"python"`` (grubook.bptt.GRUScan, the fallback).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.autograd import gradcheck, gradgradcheck
from torch.testing import assert_close

import grubook
from grubook import _cpp, fast
from grubook.bptt import GRUScan, reference_scan
from grubook.fast import CppGRUScan

F64 = torch.float64
KINDS = ["cpp", "python"]


def test_the_extension_builds():
    assert fast.extension() is not None
    assert fast.backend(True, torch.zeros(2, 3)) == "cpp"


def _scan_inputs(T, B, H, bias, seed, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    gi = torch.randn(T, B, 3 * H, generator=g, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, H, generator=g, dtype=dtype, requires_grad=True)
    w = (0.5 * torch.randn(3 * H, H, generator=g, dtype=dtype)).requires_grad_()
    b = torch.randn(3 * H, generator=g, dtype=dtype, requires_grad=True) if bias else None
    return gi, h0, w, b


@pytest.mark.parametrize("function", [CppGRUScan, GRUScan], ids=KINDS)
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize(
    ("lengths", "reverse"), [(None, False), ([4, 1, 3], False), ([4, 2, 1], True)]
)
def test_gradcheck_and_gradgradcheck(function, reset_after, lengths, reverse):
    gi, h0, w, b = _scan_inputs(4, 3, 2, True, seed=0)
    lengths = None if lengths is None else torch.tensor(lengths)

    def f(gi, h0, w, b):
        return function.apply(gi, h0, w, b, lengths, reverse, reset_after)

    assert gradcheck(f, (gi, h0, w, b))
    assert gradgradcheck(f, (gi, h0, w, b))  # double backward recomputes through the plain loop


@pytest.mark.parametrize("function", [CppGRUScan, GRUScan], ids=KINDS)
def test_gradcheck_without_bias_and_with_constant_inputs(function):
    gi, h0, w, _ = _scan_inputs(3, 2, 3, False, seed=1)
    h0 = h0.detach()  # needs no gradient: its slot stays None
    assert gradcheck(lambda gi, w: function.apply(gi, h0, w, None, None, False, True), (gi, w))


@pytest.mark.parametrize("function", [CppGRUScan, GRUScan], ids=KINDS)
@pytest.mark.parametrize("reset_after", [True, False])
def test_scan_equals_the_plain_loop_in_float32(function, reset_after):
    gi, h0, w, b = _scan_inputs(9, 4, 5, True, seed=2, dtype=torch.float32)
    lengths = torch.tensor([9, 3, 1, 6])
    for reverse in (False, True):
        expected = reference_scan(gi, h0, w, b, lengths, reverse, reset_after)
        found = function.apply(gi, h0, w, b, lengths, reverse, reset_after)
        assert_close(found, expected, atol=1e-6, rtol=1e-5)
        assert (found[0][lengths[1] :, 1] == 0).all()  # zero past the length
        with torch.no_grad():  # inference saves nothing, gives the same
            assert_close(function.apply(gi, h0, w, b, lengths, reverse, reset_after), found)


# Sizes at which the C++ loops split the units between two threads (B H^2 large enough), with
# several blocks of units, a last block cut short (H not a multiple of the vector width) and a
# last tile of fewer rows (B not a multiple of the tile's rows).
THREADED = [(5, 70, 37), (4, 19, 128), (3, 130, 20)]


def _with_threads(n, fn):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("T", "B", "H"), THREADED)
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_threaded_fused_loops_equal_the_reference(T, B, H, dtype):
    gi, h0, w, b = _scan_inputs(T, B, H, True, seed=3, dtype=dtype)
    lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(4))
    tol = {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {}
    for reverse in (False, True):
        args = (gi, h0, w, b, lengths, reverse, True)
        found = _with_threads(2, lambda: CppGRUScan.apply(*args))  # noqa: B023
        assert_close(found, reference_scan(*args), **tol)
        upstream = torch.randn_like(found[0])
        grads = _with_threads(
            2,
            lambda: torch.autograd.grad((found[0] * upstream).sum() + found[1].sum(), args[:4]),  # noqa: B023
        )
        expected = torch.autograd.grad(
            (GRUScan.apply(*args)[0] * upstream).sum() + GRUScan.apply(*args)[1].sum(), args[:4]
        )
        _assert_grads_close(grads, expected)

        # each unit is computed the same way whichever thread owns it: one thread, same bits,
        # in the forward and in the backward's loop (dL/dgi and dL/dh0; the weight gradient is
        # a BLAS matmul after the loop)
        def run():
            out, h = CppGRUScan.apply(*args)  # noqa: B023
            loss = (out * upstream).sum() + h.sum()  # noqa: B023
            return (out, h, *torch.autograd.grad(loss, args[:2]))  # noqa: B023

        one, two = _with_threads(1, run), _with_threads(2, run)
        assert all(torch.equal(a, c) for a, c in zip(one, two, strict=True))


@pytest.mark.parametrize(("T", "B", "H"), [(4, 3, 5), *THREADED])
@pytest.mark.parametrize("reset_after", [True, False])
def test_the_first_cpp_loop_equals_the_fused_step(T, B, H, reset_after):
    gi, h0, w, b = _scan_inputs(T, B, H, True, seed=7, dtype=torch.float32)
    lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(8))
    args = (gi, h0, w, b, lengths, True, reset_after)

    def run():
        out, h = CppGRUScan.apply(*args)
        return (out, h, *torch.autograd.grad(out.sum() + h.sum(), args[:4]))

    with fast.fused(False):
        first = run()
    assert fast._fused  # restored after the block
    found = run()
    assert_close(found[:2], first[:2], atol=1e-5, rtol=1e-5)
    _assert_grads_close(found[2:], first[2:])


def test_gradcheck_of_the_threaded_fused_loops():
    gi, h0, w, b = _scan_inputs(3, 80, 24, True, seed=5)  # 3 blocks of 8 doubles, 2 threads
    lengths = torch.randint(1, 4, (80,), generator=torch.Generator().manual_seed(6))

    def f(gi, h0, w, b):
        return CppGRUScan.apply(gi, h0, w, b, lengths, False, True)

    assert _with_threads(2, lambda: gradcheck(f, (gi, h0, w, b), fast_mode=True))


@st.composite
def configs(draw):
    T, B = draw(st.integers(1, 7)), draw(st.integers(1, 4))
    lengths = (
        draw(st.lists(st.integers(1, T), min_size=B, max_size=B)) if draw(st.booleans()) else None
    )
    return {
        "I": draw(st.integers(1, 5)),
        "H": draw(st.integers(1, 9)),
        "T": T,
        "B": B,
        "L": draw(st.integers(1, 3)),
        "bidirectional": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "reset_after": draw(st.booleans()),
        "lengths": lengths,
        "with_h0": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


def _run(model, x, h0, lengths, upstream):
    """Outputs and the gradients of <output, upstream> + sum(h_n) in x, h0 and every parameter."""
    out, h_n = model(x, h0) if isinstance(model, nn.GRU) else model(x, h0, lengths)
    loss = (out * upstream).sum() + h_n.sum()
    inputs = [x] + ([h0] if h0 is not None else []) + list(model.parameters())
    return (out, h_n), torch.autograd.grad(loss, inputs)


def _assert_grads_close(found, expected):
    """Each gradient within 1e-4 of the largest entry of the expected one.

    A gradient far smaller than the others (a deep layer's, say 1e-6 against 1e-1) carries the
    float32 rounding of the sums it came from, so the bound never falls below 1e-6 of the
    largest entry of all the gradients.
    """
    floor = 1e-6 * max(e.abs().max() for e in expected)
    for f, e in zip(found, expected, strict=True):
        scale = e.abs().max().clamp_min(1e-6)
        assert (f - e).abs().max() <= max(1e-4 * scale, floor)


@settings(max_examples=30)
@given(cfg=configs())
def test_fast_equals_plain_and_nn_gru(cfg):
    torch.manual_seed(cfg["seed"])
    D, L = (2 if cfg["bidirectional"] else 1), cfg["L"]
    kw = {"num_layers": L, "bias": cfg["bias"], "bidirectional": cfg["bidirectional"]}
    plain = grubook.GRU(cfg["I"], cfg["H"], **kw, reset_after=cfg["reset_after"], fast=False)
    x = torch.randn(cfg["T"], cfg["B"], cfg["I"], requires_grad=True)
    h0 = torch.randn(L * D, cfg["B"], cfg["H"], requires_grad=True) if cfg["with_h0"] else None
    lengths = cfg["lengths"]
    upstream = torch.randn(cfg["T"], cfg["B"], D * cfg["H"])
    expected, expected_grads = _run(plain, x, h0, lengths, upstream)
    for kind in KINDS:
        model = grubook.GRU(cfg["I"], cfg["H"], **kw, reset_after=cfg["reset_after"], fast=kind)
        model.load_state_dict(plain.state_dict())
        found, found_grads = _run(model, x, h0, lengths, upstream)
        assert_close(found, expected, atol=1e-5, rtol=0)
        _assert_grads_close(found_grads, expected_grads)
    if cfg["reset_after"] and lengths is None:  # nn.GRU has the one form, without lengths
        ref = nn.GRU(cfg["I"], cfg["H"], **kw)
        ref.load_state_dict(plain.state_dict())
        found, found_grads = _run(grubook.GRU.from_torch(ref), x, h0, None, upstream)
        ref_out, ref_grads = _run(ref, x, h0, None, upstream)
        assert_close(found, ref_out, atol=1e-5, rtol=0)
        _assert_grads_close(found_grads, ref_grads)


def _cells(reset_after, bias):
    plain = grubook.GRUCell(5, 7, bias=bias, reset_after=reset_after, fast=False)
    models = {}
    for kind in KINDS:
        models[kind] = grubook.GRUCell(5, 7, bias=bias, reset_after=reset_after, fast=kind)
        models[kind].load_state_dict(plain.state_dict())
    return plain, models


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("B", [1, 3])
def test_cell_fast_equals_plain(reset_after, bias, B):
    torch.manual_seed(0)
    plain, models = _cells(reset_after, bias)
    x, h = torch.randn(B, 5, requires_grad=True), torch.randn(B, 7, requires_grad=True)
    expected = plain(x, h)
    upstream = torch.randn(B, 7)
    grads = torch.autograd.grad(expected, [x, h, *plain.parameters()], upstream)
    for model in models.values():
        with torch.no_grad():  # inference: the C++ step (its own matrix-vector loop at B = 1)
            assert_close(model(x, h), expected, atol=1e-6, rtol=1e-5)
        found = model(x, h)
        assert_close(found, expected, atol=1e-6, rtol=1e-5)
        _assert_grads_close(
            torch.autograd.grad(found, [x, h, *model.parameters()], upstream), grads
        )
        assert_close(model(x[0]), plain(x[0]), atol=1e-6, rtol=1e-5)  # unbatched, h = 0


def test_classifier_passes_fast_on():
    assert grubook.GRUClassifier(3, 4, 2, fast=False).rnn.fast is False
    assert grubook.GRUClassifier(3, 4, 2).rnn.fast is True
    torch.manual_seed(0)
    plain = grubook.GRUClassifier(3, 4, 2, num_layers=2, bidirectional=True, fast=False)
    quick = grubook.GRUClassifier(3, 4, 2, num_layers=2, bidirectional=True)
    quick.load_state_dict(plain.state_dict())
    x = torch.randn(6, 5, 3)
    assert_close(quick(x, lengths=[6, 2, 3, 1, 5]), plain(x, lengths=[6, 2, 3, 1, 5]), **_tol())


def _tol():
    return {"atol": 1e-5, "rtol": 1e-5}


def test_backend_choice_and_fallbacks():
    x = torch.zeros(2, 3)
    assert fast.backend(False, x) == "plain"
    assert fast.backend("python", x) == "python"
    assert fast.backend(True, x.half()) == "plain"
    assert fast.backend(True, x.to(torch.bfloat16)) == "plain"
    assert fast.backend(True, torch.zeros(0, 3)) == "plain"
    with grubook.count_calls():
        assert fast.backend(True, x) == "plain"  # a TorchFunctionMode counts the plain loop


def test_call_counts_see_the_plain_loop():
    """Chapter 2 counts the matmuls of grubook.GRU: under count_calls the plain loop runs."""
    gru = grubook.GRU(3, 4)
    with grubook.count_calls(nn.functional.linear) as counter:
        gru(torch.randn(10, 2, 3))
    assert counter.calls == 1 + 10


def test_gates_and_hidden_state_grad_norms_agree_across_paths():
    torch.manual_seed(0)
    plain = grubook.GRU(3, 5, num_layers=2, dtype=F64, fast=False)
    quick = grubook.GRU(3, 5, num_layers=2, dtype=F64)
    quick.load_state_dict(plain.state_dict())
    x = torch.randn(12, 4, 3, dtype=F64)
    assert_close(quick.gates(x), plain.gates(x))
    ratios = grubook.hidden_state_grad_norms(quick, x)
    assert_close(ratios, grubook.hidden_state_grad_norms(plain, x))


def test_a_changed_step_runs_the_plain_loop():
    gru = grubook.GRU(3, 4)
    calls = []

    def step(gi, h, w, b):
        calls.append(1)
        return grubook.GRU._step(gru, gi, h, w, b)

    gru._step = step
    gru(torch.randn(5, 2, 3))
    assert len(calls) == 5


@pytest.mark.parametrize("cls", [grubook.GRU, grubook.GRUCell])
def test_fast_must_be_a_known_choice(cls):
    with pytest.raises(ValueError, match=r"fast must be True, False, 'cpp' or 'python', got 'c'"):
        cls(3, 4, fast="c")
    assert "fast='python'" in repr(cls(3, 4, fast="python"))
    assert "fast" not in repr(cls(3, 4))


def test_no_cpp_env_forces_the_fallback(monkeypatch):
    monkeypatch.setenv("GRUBOOK_NO_CPP", "1")
    assert _cpp.load_extension("gru", "gru.cpp") is None
    assert fast.backend(True, torch.zeros(2, 3)) == "python"


def test_a_failed_build_warns_once_and_returns_none():
    with pytest.warns(RuntimeWarning, match=r"could not build the C\+\+ extension 'missing'"):
        assert _cpp.load_extension("missing", "no_such_file.cpp") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _cpp.load_extension("missing", "no_such_file.cpp") is None  # no second warning


def test_a_fresh_process_without_cpp_trains_with_the_fallback():
    code = (
        "import torch, grubook\n"
        "gru = grubook.GRU(3, 4, num_layers=2, bidirectional=True)\n"
        "out, h = gru(torch.randn(5, 2, 3), lengths=[5, 2])\n"
        "(out.sum() + h.sum()).backward()\n"
        "print(grubook.fast.backend(True, out))\n"
    )
    env = {"GRUBOOK_NO_CPP": "1", "PATH": ""}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "python"
