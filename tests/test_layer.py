"""GRU: interchangeable with nn.GRU (outputs, h_n, every gradient), lengths, gates, state_dict."""

from __future__ import annotations

import pytest
import torch
from conftest import TOL, assert_interchangeable, check_gradients, grads
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

import grubook


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

    in_ref, p_ref = grads(ref, [out_ref, h_ref], upstreams, inputs)
    in_ours, p_ours = grads(ours, [out, h_n], upstreams, inputs)
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
    in_ref, p_ref = grads(ref, [out_ref.data, h_ref], upstreams, inputs)
    in_ours, p_ours = grads(ours, [out.data, h_n], upstreams, inputs)
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
            zeros = torch.zeros(3 * H)  # bias=False: no biases at all
            b_ir, b_iz, b_in = getattr(gru, f"bias_ih{sfx}", zeros).split(H)
            b_hr, b_hz, b_hn = getattr(gru, f"bias_hh{sfx}", zeros).split(H)
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
    bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_reset_before_matches_equations(I, H, L, bidirectional, lengths, bias, seed):
    torch.manual_seed(seed)
    gru = grubook.GRU(I, H, L, bias=bias, bidirectional=bidirectional, reset_after=False)
    assert hasattr(gru, "bias_hh_l0") is bias
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
    with pytest.raises(ValueError, match=r"GRU\.to_torch: nn\.GRU has no reset_after=False form"):
        grubook.GRU(3, 4, reset_after=False).to_torch()
    with pytest.raises(TypeError, match=r"GRU\.from_torch: expected an nn\.GRU, got RNN"):
        grubook.GRU.from_torch(nn.RNN(3, 4))


# --- gradcheck ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reset_after", [True, False])
def test_gradcheck_two_layers_bidirectional_with_lengths(reset_after):
    torch.manual_seed(0)
    gru = grubook.GRU(
        2, 2, num_layers=2, bidirectional=True, reset_after=reset_after, dtype=torch.float64
    )
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    assert check_gradients(gru, (x, h0), {"lengths": [3, 2]})


# --- state_dict ---------------------------------------------------------------------------------

CONFIGS = [
    {},
    {"num_layers": 3},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "num_layers": 2},
]


@pytest.mark.parametrize("kw", CONFIGS)
def test_interchangeable_with_nn_gru(kw):
    x = torch.randn(2, 4, 3) if kw.get("batch_first") else torch.randn(4, 2, 3)
    assert_interchangeable(grubook.GRU, nn.GRU, (3, 5), kw, (x,))


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


@pytest.mark.parametrize("kw", [{"num_layers": 3}, {"num_layers": 2, "bidirectional": True}])
def test_dropout_in_training_equals_nn_grus_under_one_seed(kw):
    """nn.GRU draws one dropout mask per layer boundary on (T, B, D*H); so does grubook."""
    torch.manual_seed(0)
    ref = nn.GRU(3, 4, dropout=0.4, **kw)
    ours = grubook.GRU.from_torch(ref)
    x = torch.randn(6, 5, 3, requires_grad=True)
    outs = []
    for model in (ref, ours):
        torch.manual_seed(1)
        outs.append(model(x))
    assert_close(outs[1], outs[0], **TOL)
    torch.manual_seed(2)  # another mask: another output
    assert not torch.allclose(ours(x)[0], outs[1][0])
    upstream = [torch.randn_like(outs[0][0]), torch.randn_like(outs[0][1])]
    in_ref, p_ref = grads(ref, outs[0], upstream, [x])
    in_ours, p_ours = grads(ours, outs[1], upstream, [x])
    assert_close(in_ours, in_ref, **TOL)
    assert_close(p_ours, p_ref, **TOL)


def test_dropout_zeroes_inputs_of_upper_layers_never_outputs():
    """p = 1 drops all of layer 0's outputs: layer 1 reads zeros, and its output is kept whole."""
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, num_layers=2, dropout=1.0).train()
    top = grubook.GRU(4, 4)  # layer 1 alone
    top.load_state_dict(
        {k.replace("_l1", "_l0"): v for k, v in gru.state_dict().items() if "_l1" in k}
    )
    x = torch.randn(5, 2, 3)
    out, h_n = gru(x)
    top_out, top_h = top(torch.zeros(5, 2, 4))
    assert_close(out, top_out, **TOL)  # not dropped after the last layer: nonzero, = layer 1
    assert (out != 0).all()
    assert_close(h_n[1], top_h[0], **TOL)
    assert_close(h_n[0], gru.eval()(x)[1][0], **TOL)  # layer 0's own states are not dropped


# --- drop-in for nn.GRU: hx, all_weights, flatten_parameters, empty batches --------------------


def test_hx_keyword_and_the_h0_alias():
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, num_layers=2)
    x, h = torch.randn(5, 2, 3), torch.randn(2, 2, 4)
    expected = gru(x, h)
    for call in (lambda: gru(x, hx=h), lambda: gru(x, h0=h), lambda: gru(input=x, hx=h)):
        assert_close(call(), expected, rtol=0, atol=0)
    assert_close(gru.gates(x, h0=h), gru.gates(x, hx=h), rtol=0, atol=0)
    with pytest.raises(TypeError, match=r"GRU: got both hx and h0"):
        gru(x, h, h0=h)


@pytest.mark.parametrize("kw", CONFIGS)
def test_all_weights_are_nn_grus(kw):
    ref = nn.GRU(3, 5, **kw)
    ours = grubook.GRU(3, 5, **kw)
    shapes = [[tuple(w.shape) for w in layer] for layer in ref.all_weights]
    assert [[tuple(w.shape) for w in layer] for layer in ours.all_weights] == shapes
    named = dict(ours.named_parameters())
    for layer in ours.all_weights:
        for weight in layer:
            assert any(weight is p for p in named.values())
    with torch.no_grad():  # copying through all_weights, as torch's own tests do
        for mine, theirs in zip(ours.all_weights, ref.all_weights, strict=True):
            for w_mine, w_theirs in zip(mine, theirs, strict=True):
                w_mine.copy_(w_theirs)
    x = torch.randn(4, 2, 3)
    assert_close(ours(x), ref(x), **TOL)


def test_flatten_parameters_is_a_no_op():
    torch.manual_seed(0)
    gru = grubook.GRU(3, 4, num_layers=2)
    before = {k: v.clone() for k, v in gru.state_dict().items()}
    assert gru.flatten_parameters() is None
    for name, value in gru.state_dict().items():
        assert torch.equal(value, before[name]), name


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_batch_of_zero_sequences(batch_first, bidirectional):
    kw = {"num_layers": 2, "batch_first": batch_first, "bidirectional": bidirectional}
    ref = nn.GRU(3, 4, **kw)
    ours = grubook.GRU.from_torch(ref)
    x = torch.zeros((0, 5, 3) if batch_first else (5, 0, 3), requires_grad=True)
    out, h_n = ours(x)
    out_ref, h_ref = ref(x)
    assert (out.shape, h_n.shape) == (out_ref.shape, h_ref.shape)
    out.sum().backward()
    assert ours(x, lengths=[])[0].shape == out_ref.shape


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
