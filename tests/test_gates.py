"""Chapter 4's diagnostics: gate saturation and input-to-output connectivity."""

import pytest
import torch

import grubook
from grubook.diagnostics import Saturation, gate_saturation, input_connectivity


def test_saturation_counts_each_units_steps_below_and_above_the_thresholds():
    # 4 steps, 1 sequence, 3 units: unit 0 always open, unit 1 closed half the time, unit 2 mid.
    gate = torch.tensor(
        [[0.95, 0.05, 0.5], [0.99, 0.02, 0.5], [0.91, 0.5, 0.5], [0.92, 0.5, 0.89]]
    ).unsqueeze(1)  # (T=4, B=1, H=3)
    left, right = gate_saturation(gate)
    torch.testing.assert_close(left, torch.tensor([0.0, 0.5, 0.0]))
    torch.testing.assert_close(right, torch.tensor([1.0, 0.0, 0.0]))


def test_saturation_thresholds_are_strict_and_configurable():
    gate = torch.tensor([0.1, 0.9, 0.2, 0.8]).reshape(4, 1, 1)
    assert gate_saturation(gate) == Saturation(torch.tensor([0.0]), torch.tensor([0.0]))
    left, right = gate_saturation(gate, low=0.25, high=0.75)
    assert (left.item(), right.item()) == (0.5, 0.5)


def test_saturation_ignores_steps_past_each_length_and_keeps_leading_dims():
    gate = torch.zeros(2, 1, 3, 2, 5)  # (L, D, T, B, H): padding would count as left-saturated
    gate[:, :, :2, 0] = 0.95  # sequence 0: 2 valid steps, both open
    gate[:, :, :1, 1] = 0.5  # sequence 1: 1 valid step, mid
    left, right = gate_saturation(gate, lengths=[2, 1])
    assert left.shape == right.shape == (2, 1, 5)
    torch.testing.assert_close(right, torch.full((2, 1, 5), 2 / 3))
    torch.testing.assert_close(left, torch.zeros(2, 1, 5))
    assert gate_saturation(gate).left[0, 0, 0].item() == pytest.approx(3 / 6)


def test_saturation_of_a_grus_gates_lies_in_the_triangle():
    gru = grubook.GRU(2, 7)
    r, z = gru.gates(torch.randn(11, 3, 2) * 3)
    for gate in (r, z):
        left, right = gate_saturation(gate)
        assert left.shape == (1, 1, 7)
        assert ((left >= 0) & (right >= 0) & (left + right <= 1)).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"lengths": [0]}, "lengths must be 1 ints in"), ({"low": 0.9, "high": 0.1}, "low <= high")],
)
def test_saturation_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gate_saturation(torch.rand(3, 1, 2), **kwargs)
    with pytest.raises(ValueError, match="must be"):
        gate_saturation(torch.rand(3, 2))


def _tiny(kind):
    torch.manual_seed(0)
    rnn = (grubook.GRU if kind == "GRU" else grubook.RNN)(3, 5).double()
    return rnn, torch.nn.Linear(5, 2).double(), torch.randn(6, 4, 3, dtype=torch.float64)


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_connectivity_equals_the_jacobian_per_sequence(kind):
    rnn, head, x = _tiny(kind)
    C = input_connectivity(rnn, x, head)  # (T, T)
    T, B, _ = x.shape
    expected = torch.zeros(T, T, dtype=x.dtype)
    for b in range(B):

        def predictions(xb, b=b):  # one sequence's (T,) summed predictions
            return head(rnn(xb.unsqueeze(1))[0][:, 0]).sum(-1)

        J = torch.autograd.functional.jacobian(predictions, x[:, b])  # (T_out, T_in, I)
        expected += J.norm(dim=-1) / B
    torch.testing.assert_close(C, expected)
    assert (C.triu(1) == 0).all() and (C.diagonal() > 0).all()  # no looking ahead


def test_connectivity_selected_steps_and_no_head():
    rnn, _, x = _tiny("GRU")
    full = input_connectivity(rnn, x)
    last = input_connectivity(rnn, x, steps=[-1, 2])
    assert last.shape == (2, 6)
    torch.testing.assert_close(last, full[[5, 2]])
    assert not x.requires_grad


def test_connectivity_refuses_batch_first_and_2d_input():
    with pytest.raises(ValueError, match="time-first"):
        input_connectivity(grubook.GRU(3, 5, batch_first=True), torch.randn(4, 6, 3))
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        input_connectivity(grubook.GRU(3, 5), torch.randn(6, 3))
