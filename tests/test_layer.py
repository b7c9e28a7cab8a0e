"""GRU: interchangeable with nn.GRU (outputs, h_n, every gradient), lengths, gates, state_dict."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.autograd import gradcheck
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

import grubook

TOL = {"atol": 1e-5, "rtol": 1e-5}


@st.composite
def gru_configs(draw):
    """Random small GRU settings and inputs: sizes, layers, directions, layout, lengths, h0."""
    T, B = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    batched = draw(st.booleans())
    lengths = None
    if batched and draw(st.booleans()):
        lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    return {
        "I": draw(st.integers(1, 6)),
        "H": draw(st.integers(1, 6)),
        "T": T,
        "B": B,
        "L": draw(st.integers(1, 3)),
        "bidirectional": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "batched": batched,
        "lengths": lengths,
        "lengths_as_tensor": draw(st.booleans()),
        "with_h0": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


def _grads(model, outs, upstreams, inputs):
    """Backpropagate ``upstreams`` from ``outs``; return input grads and a name -> grad dict."""
    named = dict(model.named_parameters())
    grads = torch.autograd.grad(outs, [*inputs, *named.values()], upstreams, retain_graph=True)
    return grads[: len(inputs)], dict(zip(named, grads[len(inputs) :], strict=True))


def _nn_forward(ref: nn.GRU, x, h0, lengths, T):
    """nn.GRU on a PackedSequence when lengths are given, padded back to T steps."""
    if lengths is None:
        return ref(x, h0)
    packed = pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=ref.batch_first, enforce_sorted=False
    )
    out, h_n = ref(packed, h0)
    out, _ = pad_packed_sequence(out, batch_first=ref.batch_first, total_length=T)
    return out, h_n


@given(cfg=gru_configs())
def test_matches_nn_gru(cfg):
    I, H, T, B, L = cfg["I"], cfg["H"], cfg["T"], cfg["B"], cfg["L"]
    D = 2 if cfg["bidirectional"] else 1
    kw = {
        "num_layers": L,
        "bias": cfg["bias"],
        "batch_first": cfg["batch_first"],
        "bidirectional": cfg["bidirectional"],
    }
    gen = torch.Generator().manual_seed(cfg["seed"])
    ref = nn.GRU(I, H, **kw)
    ours = grubook.GRU(I, H, **kw)
    ours.load_state_dict(ref.state_dict())

    lengths = cfg["lengths"]
    if not cfg["batched"]:
        x_shape, h_shape, out_shape = (T, I), (L * D, H), (T, D * H)
    elif cfg["batch_first"]:
        x_shape, h_shape, out_shape = (B, T, I), (L * D, B, H), (B, T, D * H)
    else:
        x_shape, h_shape, out_shape = (T, B, I), (L * D, B, H), (T, B, D * H)
    x = torch.randn(x_shape, generator=gen, requires_grad=True)
    h0 = torch.randn(h_shape, generator=gen, requires_grad=True) if cfg["with_h0"] else None
    inputs = [x] if h0 is None else [x, h0]
    upstreams = [torch.randn(out_shape, generator=gen), torch.randn(h_shape, generator=gen)]

    out_ref, h_ref = _nn_forward(ref, x, h0, lengths, T)
    ours_lengths = torch.tensor(lengths) if lengths and cfg["lengths_as_tensor"] else lengths
    out, h_n = ours(x, h0, lengths=ours_lengths)
    assert out.shape == out_ref.shape == out_shape
    assert h_n.shape == h_ref.shape == h_shape
    assert_close(out, out_ref, **TOL)
    assert_close(h_n, h_ref, **TOL)
    if lengths is not None:  # zero past each sequence's end
        time_first = out.transpose(0, 1) if cfg["batch_first"] else out
        for b, length in enumerate(lengths):
            assert torch.all(time_first[length:, b] == 0)

    in_ref, p_ref = _grads(ref, [out_ref, h_ref], upstreams, inputs)
    in_ours, p_ours = _grads(ours, [out, h_n], upstreams, inputs)
    assert_close(in_ours, in_ref, **TOL)
    assert p_ours.keys() == p_ref.keys()
    assert_close(p_ours, p_ref, **TOL)


@given(
    I=st.integers(1, 6),
    H=st.integers(1, 6),
    L=st.integers(1, 3),
    bidirectional=st.booleans(),
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    enforce_sorted=st.booleans(),
    with_h0=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_packed_sequence_in_packed_sequence_out(
    I, H, L, bidirectional, lengths, enforce_sorted, with_h0, seed
):
    gen = torch.Generator().manual_seed(seed)
    D, B, T = 2 if bidirectional else 1, len(lengths), max(lengths)
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    ref = nn.GRU(I, H, L, bidirectional=bidirectional)
    ours = grubook.GRU(I, H, L, bidirectional=bidirectional)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(T, B, I, generator=gen, requires_grad=True)
    h0 = torch.randn(L * D, B, H, generator=gen, requires_grad=True) if with_h0 else None
    inputs = [x] if h0 is None else [x, h0]
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=enforce_sorted)

    out_ref, h_ref = ref(packed, h0)
    out, h_n = ours(packed, h0)
    assert isinstance(out, PackedSequence)
    assert_close(out.data, out_ref.data, **TOL)
    assert torch.equal(out.batch_sizes, out_ref.batch_sizes)
    for name in ("sorted_indices", "unsorted_indices"):
        mine, theirs = getattr(out, name), getattr(out_ref, name)
        assert (mine is None and theirs is None) or torch.equal(mine, theirs), name
    assert_close(h_n, h_ref, **TOL)

    upstreams = [torch.randn(out.data.shape, generator=gen), torch.randn(h_n.shape, generator=gen)]
    in_ref, p_ref = _grads(ref, [out_ref.data, h_ref], upstreams, inputs)
    in_ours, p_ours = _grads(ours, [out.data, h_n], upstreams, inputs)
    assert_close(in_ours, in_ref, **TOL)
    assert_close(p_ours, p_ref, **TOL)


# --- reset_after=False: Cho et al.'s equations, looped over time by hand ------------------------


def cho_gru(gru: grubook.GRU, x: torch.Tensor, h0: torch.Tensor, lengths: list[int]):
    """The reset-before GRU written from the equations: every layer, direction, sequence, step."""
    T, B, _ = x.shape
    L, D, H = gru.num_layers, gru.num_directions, gru.hidden_size
    layer_input, h_n = x, torch.zeros(L * D, B, H)
    for layer in range(L):
        out = torch.zeros(T, B, D * H)
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            W_ir, W_iz, W_in = getattr(gru, f"weight_ih{sfx}").split(H)
            W_hr, W_hz, W_hn = getattr(gru, f"weight_hh{sfx}").split(H)
            b_ir, b_iz, b_in = getattr(gru, f"bias_ih{sfx}").split(H)
            b_hr, b_hz, b_hn = getattr(gru, f"bias_hh{sfx}").split(H)
            for b in range(B):
                h = h0[layer * D + d, b]
                steps = range(lengths[b]) if d == 0 else range(lengths[b] - 1, -1, -1)
                for t in steps:
                    x_t = layer_input[t, b]
                    r = torch.sigmoid(W_ir @ x_t + b_ir + W_hr @ h + b_hr)
                    z = torch.sigmoid(W_iz @ x_t + b_iz + W_hz @ h + b_hz)
                    n = torch.tanh(W_in @ x_t + b_in + W_hn @ (r * h) + b_hn)
                    h = (1 - z) * n + z * h
                    out[t, b, d * H : (d + 1) * H] = h
                h_n[layer * D + d, b] = h
        layer_input = out
    return layer_input, h_n


@given(
    I=st.integers(1, 6),
    H=st.integers(1, 6),
    L=st.integers(1, 2),
    bidirectional=st.booleans(),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    seed=st.integers(0, 2**31 - 1),
)
def test_reset_before_matches_equations(I, H, L, bidirectional, lengths, seed):
    torch.manual_seed(seed)
    gru = grubook.GRU(I, H, L, bidirectional=bidirectional, reset_after=False)
    T, B, D = max(lengths), len(lengths), gru.num_directions
    x, h0 = torch.randn(T, B, I), torch.randn(L * D, B, H)
    with torch.no_grad():
        out, h_n = gru(x, h0, lengths=lengths)
        out_ref, h_ref = cho_gru(gru, x, h0, lengths)
        assert_close(out, out_ref, **TOL)
        assert_close(h_n, h_ref, **TOL)
        if all(length == T for length in lengths):
            assert_close(gru(x, h0), (out_ref, h_ref), **TOL)


def test_reset_before_gru_equals_cell_loop():
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, reset_after=False)
    cell = grubook.GRUCell(3, 4, reset_after=False)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in gru.state_dict().items()})
    x, h = torch.randn(5, 2, 3), torch.randn(2, 4)
    out, h_n = gru(x, h[None])
    for t in range(5):
        h = cell(x[t], h)
        assert_close(out[t], h, **TOL)
    assert_close(h_n[0], h, **TOL)


def test_to_torch_rejects_reset_before():
    with pytest.raises(ValueError, match=r"to_torch: nn\.GRU has no reset_after=False form"):
        grubook.GRU(3, 4, reset_after=False).to_torch()


# --- gradcheck ----------------------------------------------------------------------------------


def test_gradcheck_two_layers_bidirectional_with_lengths():
    torch.manual_seed(0)
    gru = grubook.GRU(2, 2, num_layers=2, bidirectional=True, dtype=torch.float64)
    names = [name for name, _ in gru.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in gru.parameters()]
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    lengths = [3, 2]

    def f(x, h0, *params):
        return functional_call(gru, dict(zip(names, params, strict=True)), (x, h0, lengths))

    assert gradcheck(f, (x, h0, *params))


# --- state_dict ---------------------------------------------------------------------------------

CONFIGS = [
    {},
    {"num_layers": 3},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "num_layers": 2},
]


@pytest.mark.parametrize("kw", CONFIGS)
def test_seeded_init_equals_nn_gru(kw):
    torch.manual_seed(7)
    ref = nn.GRU(3, 5, **kw)
    torch.manual_seed(7)
    ours = grubook.GRU(3, 5, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())  # same names, same order
    for name, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name


@pytest.mark.parametrize("kw", CONFIGS)
def test_state_dict_round_trip_with_nn_gru(kw):
    torch.manual_seed(0)
    ref = nn.GRU(3, 5, **kw)
    ours = grubook.GRU(3, 5, **kw)
    ours.load_state_dict(ref.state_dict())
    back = nn.GRU(3, 5, **kw)
    back.load_state_dict(ours.state_dict())
    x = torch.randn(4, 2, 3)
    assert_close(ours(x), ref(x), **TOL)
    assert_close(back(x), ref(x), rtol=0, atol=0)

    ours_from = grubook.GRU.from_torch(ref)
    assert (ours_from.num_layers, ours_from.bidirectional, ours_from.batch_first) == (
        ref.num_layers,
        ref.bidirectional,
        ref.batch_first,
    )
    assert ours_from.bias == ref.bias
    assert_close(ours_from(x), ref(x), **TOL)
    to = ours_from.to_torch()
    assert isinstance(to, nn.GRU)
    assert (to.num_layers, to.bidirectional, to.batch_first, to.bias) == (
        ref.num_layers,
        ref.bidirectional,
        ref.batch_first,
        ref.bias,
    )
    assert_close(to(x), ref(x), rtol=0, atol=0)


def test_from_torch_keeps_dtype():
    ref = nn.GRU(2, 3, dtype=torch.float64)
    ours = grubook.GRU.from_torch(ref)
    assert ours.weight_ih_l0.dtype == torch.float64
    x = torch.randn(4, 1, 2, dtype=torch.float64)
    assert_close(ours(x), ref(x))


def test_save_and_load_weights_only(tmp_path):
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, num_layers=2, bidirectional=True)
    torch.save(gru.state_dict(), tmp_path / "gru.pt")
    torch.manual_seed(1)
    fresh = grubook.GRU(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(5, 2, 3)
    assert not torch.equal(fresh(x)[0], gru(x)[0])
    fresh.load_state_dict(torch.load(tmp_path / "gru.pt", weights_only=True))
    assert torch.equal(fresh(x)[0], gru(x)[0])
    assert torch.equal(fresh(x)[1], gru(x)[1])


# --- edge cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("reset_after", [True, False])
def test_h0_none_equals_zeros(batched, reset_after):
    gru = grubook.GRU(3, 4, num_layers=2, bidirectional=True, reset_after=reset_after)
    x = torch.randn(5, 2, 3) if batched else torch.randn(5, 3)
    zeros = torch.zeros(4, 2, 4) if batched else torch.zeros(4, 4)
    out, h_n = gru(x)
    out_zeros, h_zeros = gru(x, zeros)
    assert torch.equal(out, out_zeros)
    assert torch.equal(h_n, h_zeros)
    assert not torch.equal(gru(x, torch.ones_like(zeros))[0], out)


def test_batch_of_one_equals_unbatched():
    gru = grubook.GRU(3, 4, num_layers=2, bidirectional=True)
    x, h0 = torch.randn(5, 3), torch.randn(4, 4)
    out, h_n = gru(x, h0)
    assert (out.shape, h_n.shape) == ((5, 8), (4, 4))
    out_b, h_b = gru(x[:, None], h0[:, None])
    assert_close(out_b[:, 0], out, **TOL)
    assert_close(h_b[:, 0], h_n, **TOL)


def test_one_step_equals_one_cell_step():
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4)
    cell = grubook.GRUCell(3, 4)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in gru.state_dict().items()})
    x, h = torch.randn(1, 2, 3), torch.randn(1, 2, 4)
    out, h_n = gru(x, h, lengths=[1, 1])
    assert out.shape == (1, 2, 4)
    assert_close(out[0], cell(x[0], h[0]), **TOL)
    assert_close(h_n, out, **TOL)


def test_batch_first_is_transposed_time_first():
    torch.manual_seed(0)
    kw = {"num_layers": 2, "bidirectional": True}
    time_first = grubook.GRU(3, 4, **kw)
    batch_first = grubook.GRU(3, 4, batch_first=True, **kw)
    batch_first.load_state_dict(time_first.state_dict())
    x, h0, lengths = torch.randn(5, 3, 3), torch.randn(4, 3, 4), [5, 2, 4]
    out, h_n = time_first(x, h0, lengths=lengths)
    out_bf, h_bf = batch_first(x.transpose(0, 1), h0, lengths=lengths)
    assert out_bf.shape == (3, 5, 8)
    assert torch.equal(out_bf, out.transpose(0, 1))
    assert torch.equal(h_bf, h_n)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    ours = grubook.GRU(3, 4, num_layers=2, dropout=0.5)
    ref = ours.to_torch()
    x = torch.randn(6, 3, 3)
    ours.eval()
    ref.eval()
    assert_close(ours(x), ref(x), **TOL)
    ours.train()
    assert not torch.allclose(ours(x)[0], ref(x)[0])


# --- gates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reset_after", [True, False])
def test_gates_shape_range_padding_and_equations(reset_after):
    torch.manual_seed(0)
    H, T, lengths = 4, 5, [5, 2, 3]
    gru = grubook.GRU(3, H, bidirectional=True, reset_after=reset_after)
    x, h0 = torch.randn(T, 3, 3), torch.randn(2, 3, H)
    with torch.no_grad():
        trace = gru.gates(x, h0, lengths=lengths)
        out, _ = gru(x, h0, lengths=lengths)
    assert isinstance(trace, grubook.GateTrace)
    assert trace.r.shape == trace.z.shape == (1, 2, T, 3, H)
    for b, length in enumerate(lengths):
        for gate in trace:
            assert torch.all((gate[:, :, :length, b] > 0) & (gate[:, :, :length, b] < 1))
            assert torch.all(gate[:, :, length:, b] == 0)
        # Recompute each valid step from the equations and the GRU's own outputs.
        for d in range(2):
            sfx = "_l0" + ("_reverse" if d else "")
            W_ir, W_iz, W_in = getattr(gru, f"weight_ih{sfx}").detach().split(H)
            W_hr, W_hz, W_hn = getattr(gru, f"weight_hh{sfx}").detach().split(H)
            b_ir, b_iz, b_in = getattr(gru, f"bias_ih{sfx}").detach().split(H)
            b_hr, b_hz, b_hn = getattr(gru, f"bias_hh{sfx}").detach().split(H)
            states = out[:, b, d * H : (d + 1) * H]
            for t in range(length):
                prev_t = t - 1 if d == 0 else t + 1
                h = h0[d, b] if prev_t in (-1, length) else states[prev_t]
                r = torch.sigmoid(W_ir @ x[t, b] + b_ir + W_hr @ h + b_hr)
                z = torch.sigmoid(W_iz @ x[t, b] + b_iz + W_hz @ h + b_hz)
                if reset_after:
                    n = torch.tanh(W_in @ x[t, b] + b_in + r * (W_hn @ h + b_hn))
                else:
                    n = torch.tanh(W_in @ x[t, b] + b_in + W_hn @ (r * h) + b_hn)
                assert_close(trace.r[0, d, t, b], r, **TOL)
                assert_close(trace.z[0, d, t, b], z, **TOL)
                assert_close(states[t], (1 - z) * n + z * h, **TOL)


def test_gates_of_upper_layer_are_those_of_its_input():
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, num_layers=2, bidirectional=True)
    bottom = grubook.GRU(3, 4, bidirectional=True)
    top = grubook.GRU(8, 4, bidirectional=True)
    state = gru.state_dict()
    bottom.load_state_dict({k: v for k, v in state.items() if "_l0" in k})
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in state.items() if "_l1" in k})
    x, h0, lengths = torch.randn(5, 2, 3), torch.randn(4, 2, 4), [3, 5]
    with torch.no_grad():
        trace = gru.gates(x, h0, lengths)
        bottom_out, _ = bottom(x, h0[:2], lengths)
        bottom_trace = bottom.gates(x, h0[:2], lengths)
        top_trace = top.gates(bottom_out, h0[2:], lengths)
    assert_close(trace.r[0], bottom_trace.r[0], **TOL)
    assert_close(trace.z[0], bottom_trace.z[0], **TOL)
    assert_close(trace.r[1], top_trace.r[0], **TOL)
    assert_close(trace.z[1], top_trace.z[0], **TOL)


def test_gates_unbatched_and_batch_first():
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, num_layers=2, batch_first=True)
    x = torch.randn(2, 5, 3)
    trace = gru.gates(x)
    assert trace.r.shape == (2, 1, 5, 2, 4)  # time-first, whatever the input layout
    single = gru.gates(x[1])  # unbatched (T, I)
    assert single.z.shape == (2, 1, 5, 1, 4)
    assert_close(single.z[:, :, :, 0], trace.z[:, :, :, 1], **TOL)


# --- no fused kernels ---------------------------------------------------------------------------


class FusedKernelCalled(Exception):
    pass


def _forbidden(*args, **kwargs):
    raise FusedKernelCalled


def test_forward_and_backward_use_no_fused_rnn_kernel(monkeypatch):
    for name in ("gru", "gru_cell", "rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell"):
        monkeypatch.setattr(torch._VF, name, _forbidden)
    for module in (nn.GRU, nn.GRUCell, nn.RNN, nn.RNNCell):
        monkeypatch.setattr(module, "forward", _forbidden)
    with pytest.raises(FusedKernelCalled):  # the patch is live: torch's own GRU now fails
        nn.GRU(2, 3)(torch.randn(4, 1, 2))

    torch.manual_seed(0)
    x, lengths = torch.randn(4, 2, 3), [4, 2]
    runs = [
        lambda: grubook.GRU(3, 5, num_layers=2, bidirectional=True)(x, lengths=lengths)[0],
        lambda: grubook.GRU(3, 5, reset_after=False)(x)[1],
        lambda: grubook.GRUCell(3, 5)(x[0]),
        lambda: grubook.GRUCell(3, 5, reset_after=False)(x[0]),
        lambda: grubook.RNN(3, 5, num_layers=2, bidirectional=True)(x, lengths=lengths)[0],
        lambda: grubook.RNNCell(3, 5)(x[0]),
        lambda: grubook.GRUClassifier(3, 5, 7, num_layers=2, bidirectional=True)(x, None, lengths),
        lambda: grubook.GRUClassifier(3, 5, 7, rnn_type="rnn")(x, lengths=lengths),
        lambda: grubook.GRUClassifier(3, 5, 7, vocab_size=11)(torch.randint(0, 11, (4, 2))),
    ]
    for run in runs:
        out = run()
        out.square().sum().backward()
        assert torch.isfinite(out).all()
