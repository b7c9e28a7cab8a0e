"""grubook.diagnostics and grubook.timing: gradient norms, spectral radius, timers, call counts."""

import math
import time

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import grubook
from grubook.diagnostics import hidden_state_grad_norms, set_spectral_radius, spectral_radius
from grubook.timing import compare_ms, count_calls, median_ms, num_threads

F64 = torch.float64

# ---------------------------------------------------------------- hidden_state_grad_norms


def test_grad_norms_of_a_scalar_rnn_by_hand():
    w, u = 0.9, 0.7
    rnn = grubook.RNN(1, 1, bias=False, dtype=F64)
    with torch.no_grad():
        rnn.weight_hh_l0.fill_(w)
        rnn.weight_ih_l0.fill_(u)
    xs = [0.5, -1.0, 2.0, 0.3]
    h = [0.0]
    for x_t in xs:
        h.append(math.tanh(w * h[-1] + u * x_t))
    # dL/dh_t = prod_{s > t} (1 - h_s^2) w, with dL/dh_T = 1
    expected = [1.0]
    for t in range(len(xs) - 1, 0, -1):
        expected.insert(0, expected[0] * (1 - h[t + 1] ** 2) * w)
    ratios = hidden_state_grad_norms(rnn, torch.tensor(xs, dtype=F64).reshape(4, 1, 1))
    torch.testing.assert_close(ratios, torch.tensor(expected, dtype=F64))


def test_grad_norms_agree_with_torchs_modules_and_batch_first():
    torch.manual_seed(0)
    ours = grubook.GRU(3, 5, num_layers=2, dtype=F64)
    reference = nn.GRU(3, 5, num_layers=2, dtype=F64)
    reference.load_state_dict(ours.state_dict())
    first = nn.GRU(3, 5, num_layers=2, batch_first=True, dtype=F64)
    first.load_state_dict(ours.state_dict())
    x = torch.randn(12, 4, 3, dtype=F64)  # (T, B, I)
    ratios = hidden_state_grad_norms(ours, x)
    assert ratios.shape == (12,) and ratios[-1] == 1
    torch.testing.assert_close(hidden_state_grad_norms(reference, x), ratios)
    torch.testing.assert_close(hidden_state_grad_norms(first, x.transpose(0, 1)), ratios)


def test_grad_norms_of_an_lstm_use_its_hidden_state():
    torch.manual_seed(0)
    ratios = hidden_state_grad_norms(nn.LSTM(3, 5, dtype=F64), torch.randn(10, 2, 3, dtype=F64))
    assert ratios.shape == (10,) and ratios[-1] == 1 and (ratios[:-1] > 0).all()


def test_grad_norms_refuse_bidirectional_and_2d_input():
    with pytest.raises(ValueError, match="one direction"):
        hidden_state_grad_norms(grubook.GRU(3, 5, bidirectional=True), torch.randn(4, 2, 3))
    with pytest.raises(ValueError, match=r"x must be \(T, B, I\), got shape \(4, 3\)"):
        hidden_state_grad_norms(grubook.GRU(3, 5), torch.randn(4, 3))


# ---------------------------------------------------------------- spectral radius


def test_spectral_radius_of_a_rotation_and_a_diagonal():
    angle = torch.tensor(0.3, dtype=F64)
    rotation = 2 * torch.stack(
        [torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])]
    )
    assert spectral_radius(rotation) == pytest.approx(2.0)  # complex eigenvalues 2 e^{±0.3i}
    assert spectral_radius(torch.diag(torch.tensor([0.5, -3.0]))) == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"square matrix, got shape \(2, 3\)"):
        spectral_radius(torch.zeros(2, 3))


@pytest.mark.parametrize("rho", [0.5, 1.0, 2.0])
def test_set_spectral_radius_rescales_every_layer(rho):
    torch.manual_seed(0)
    rnn = grubook.RNN(4, 16, num_layers=2, dtype=F64)
    before = rnn.weight_hh_l1.detach().clone()
    assert set_spectral_radius(rnn, rho) is rnn
    for W in (rnn.weight_hh_l0, rnn.weight_hh_l1):
        assert spectral_radius(W) == pytest.approx(rho, rel=1e-9)
    scale = (rnn.weight_hh_l1 / before).detach()  # one factor for the whole matrix
    torch.testing.assert_close(scale, torch.full_like(scale, scale[0, 0].item()))


def test_set_spectral_radius_refuses_a_gru_and_bad_rho():
    with pytest.raises(ValueError, match=r"must be square \(H, H\), got \(24, 8\)"):
        set_spectral_radius(grubook.GRU(3, 8), 1.0)
    with pytest.raises(ValueError, match="rho must be > 0, got 0"):
        set_spectral_radius(grubook.RNN(3, 8), 0)
    with pytest.raises(ValueError, match="Linear has no weight_hh_l"):
        set_spectral_radius(nn.Linear(3, 3), 1.0)


# ---------------------------------------------------------------- timing


def test_median_ms_calls_warmup_then_repeats_and_takes_the_median():
    calls = []
    delays = iter([0.0] * 2 + [0.001, 0.02, 0.001, 0.001, 0.02])  # warmup, then 5 timed calls

    def fn():
        calls.append(1)
        time.sleep(next(delays))

    ms = median_ms(fn, repeats=5, warmup=2)
    assert len(calls) == 7
    assert 1 <= ms < 15  # the median is one of the 1 ms calls, not a 20 ms one
    with pytest.raises(ValueError, match="repeats must be an int >= 1, got 0"):
        median_ms(fn, repeats=0)


def test_compare_ms_interleaves_and_pins_threads():
    order, threads = [], []

    def a():
        order.append("a")
        threads.append(torch.get_num_threads())
        time.sleep(0.004)

    def b():
        order.append("b")
        time.sleep(0.001)

    before = torch.get_num_threads()
    result = compare_ms(a, b, repeats=5, warmup=1, threads=1)
    assert order == ["a", "b"] * 6
    assert set(threads) == {1} and torch.get_num_threads() == before
    assert len(result.a_ms) == len(result.b_ms) == 5
    assert result.ratio > 1.5 and result.a_median_ms > result.b_median_ms


def test_num_threads_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(KeyError), num_threads(1):
        assert torch.get_num_threads() == 1
        raise KeyError
    assert torch.get_num_threads() == before


def test_count_calls_counts_the_functions_named_or_all():
    layers = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Linear(4, 2))
    x = torch.randn(3, 4)
    with count_calls(F.linear) as linear:
        layers(x)
    assert linear.calls == 3 and dict(linear.counts) == {"linear": 3}
    with count_calls(torch.Tensor.matmul, torch.tanh) as both:
        _ = torch.tanh(x @ x.T @ x)
    assert dict(both.counts) == {"matmul": 2, "tanh": 1}
    with count_calls("matmul") as by_name:
        _ = torch.matmul(x, x.T) @ x
    assert by_name.calls == 2
    with count_calls() as everything:
        layers(x)
    assert everything.counts["linear"] == 3 and everything.counts["tanh"] == 1
