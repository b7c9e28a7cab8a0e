"""grubook.widgets in a kernel: the explorers' values drive their outputs as the math says.

The gate explorer is one step of the package's own GRU cell with one unit; the memory explorer's
gradient norms are what autograd computes for the same tanh RNN. What the front end shows on a
static page, for the same values, is checked in the browser (tests/test_widgets_site.py).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import traitlets

import grubook
from grubook.widgets import GateExplorer, MemoryExplorer, gate_explorer, memory_explorer

ROOT = Path(__file__).resolve().parents[1]


def gru_cell_step(r: float, z: float, h: float, a: float, w_hn: float, b_hn: float) -> float:
    """h' of a one-unit grubook.GRUCell whose gates come out as r and z for the input x = 1."""
    cell = grubook.GRUCell(1, 1).double()
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    double = lambda values: torch.tensor(values, dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        cell.weight_ih.copy_(double([[logit(r)], [logit(z)], [a]]))  # (W_ir|W_iz|W_in)
        cell.bias_ih.zero_()
        cell.weight_hh.copy_(double([[0.0], [0.0], [w_hn]]))
        cell.bias_hh.copy_(double([0.0, 0.0, b_hn]))
    x = torch.ones(1, 1, dtype=torch.float64)
    return cell(x, torch.tensor([[h]], dtype=torch.float64)).item()


@pytest.mark.parametrize(
    ("r", "z", "h", "a", "w_hn", "b_hn"),
    [
        (0.5, 0.5, 0.8, -0.5, 1.0, 0.0),
        (0.9, 0.1, -0.7, 1.3, 1.7, -0.2),
        (0.05, 0.97, 0.3, -2.5, -1, 0.4),
    ],
)
def test_gate_explorer_is_one_step_of_the_packages_gru_cell(r, z, h, a, w_hn, b_hn):
    explorer = gate_explorer(r, z, h, a, w_hn=w_hn, b_hn=b_hn)
    assert explorer.n == pytest.approx(math.tanh(a + r * (w_hn * h + b_hn)), abs=1e-15)
    assert explorer.h_next == pytest.approx(gru_cell_step(r, z, h, a, w_hn, b_hn), abs=1e-12)


def test_gate_explorer_follows_its_values():
    explorer = gate_explorer(r=0.5, z=0.5, h=0.8, a=-0.5)
    assert explorer.h_next == pytest.approx(0.5 * math.tanh(-0.5 + 0.5 * 0.8) + 0.5 * 0.8)
    explorer.z = 1.0  # the gate keeps the old state whatever the candidate
    assert explorer.h_next == 0.8
    explorer.z = 0.0  # the new state is the candidate
    assert explorer.h_next == explorer.n
    explorer.r = 0.0  # the reset gate cuts the old state out of the candidate
    assert explorer.n == math.tanh(-0.5)
    explorer.a = 2.0
    assert explorer.h_next == math.tanh(2.0)


@pytest.mark.parametrize("z", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_gate_explorer_interpolates_between_candidate_and_state(z):
    explorer = gate_explorer(r=0.7, z=z, h=-0.4, a=1.1)
    low, high = sorted((explorer.n, explorer.h))
    assert low - 1e-15 <= explorer.h_next <= high + 1e-15
    fraction = (explorer.h_next - explorer.h) / (explorer.n - explorer.h)  # of the way to n
    assert fraction == pytest.approx(1 - z)


def test_memory_explorer_retention_is_z_to_the_k():
    explorer = memory_explorer(z=0.5, steps=10)
    np.testing.assert_allclose(explorer.retention, 0.5 ** np.arange(11))
    explorer.z = 0.9
    half = math.log(0.5) / math.log(0.9)  # 6.58 steps
    assert explorer.retention[6] > 0.5 > explorer.retention[7]
    assert explorer.retention[6] == pytest.approx(0.5 ** (6 / half))


def tanh_rnn_gradient_norms(W: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(T + 1,) |d(u.h_T)/dh_{T-k}| by autograd for one sequence x (T, H), from h_0 = 0."""
    T, H = x.shape
    hs = [torch.zeros(H, dtype=torch.float64, requires_grad=True)]
    for t in range(T):
        hs.append(torch.tanh(W @ hs[-1] + x[t]))
    u = torch.full((H,), 1 / math.sqrt(H), dtype=torch.float64)
    grads = torch.autograd.grad(u @ hs[-1], hs)  # d/dh_0 .. d/dh_T
    return torch.stack([g.norm() for g in reversed(grads)])


def test_memory_explorer_gradient_norms_are_autograds():
    explorer = memory_explorer(scale=1.5, steps=12, hidden_size=5, sequences=3, seed=7)
    W = torch.from_numpy(1.5 * grubook.widgets._orthogonal(7, 5))
    torch.testing.assert_close(W.T @ W, 2.25 * torch.eye(5, dtype=torch.float64))
    inputs = 0.3 * grubook.widgets._uniform(8, 3 * 12 * 5).reshape(3, 12, 5)
    norms = torch.stack([tanh_rnn_gradient_norms(W, torch.from_numpy(x)) for x in inputs])
    geometric_mean = norms.log().mean(0).exp()
    np.testing.assert_allclose(explorer.gradient_norms, geometric_mean.numpy(), rtol=1e-10)


def test_gradient_norms_vanish_below_scale_one_and_explode_above():
    explorer = memory_explorer(scale=0.5)
    small = explorer.gradient_norms
    explorer.scale = 3.0
    large = explorer.gradient_norms
    T = explorer.steps
    assert small[0] == large[0] == pytest.approx(1.0)
    assert np.all(np.diff(small) < 0) and small[T] < 0.5**T  # below the bound σ^k
    assert large[T] > 1e3, "at scale 3 the gradient grows"
    for scale in (0.5, 1.0, 2.0, 3.0):  # |diag(1 - h^2) σQ| <= σ at every step
        explorer.scale = scale
        bound = scale ** np.arange(T + 1)
        assert np.all(explorer.gradient_norms <= bound * (1 + 1e-9)), scale


def test_out_of_range_values_are_errors():
    with pytest.raises(ValueError, match=r"gate_explorer: z must be in \[0, 1\], got z=1.5"):
        gate_explorer(z=1.5)
    with pytest.raises(ValueError, match=r"memory_explorer: steps must be an int in \[1, 200\]"):
        memory_explorer(steps=0)
    with pytest.raises(ValueError, match=r"memory_explorer: scale must be in \[0, 4\]"):
        memory_explorer(scale=-1)
    explorer = gate_explorer()
    with pytest.raises(traitlets.TraitError):
        explorer.r = -0.1


def test_state_carries_the_values_and_the_front_end():
    """What a notebook stores for the site: the values, and the front end itself."""
    for explorer in (gate_explorer(z=0.3), memory_explorer(scale=2.0)):
        state = explorer.get_state()
        assert isinstance(explorer, GateExplorer | MemoryExplorer)
        assert "export default { render }" in state["_esm"]
        assert ".grubook-widget" in state["_css"]
        assert state["explorer"] in ("gate", "memory")
    assert gate_explorer(z=0.3).get_state()["z"] == 0.3


def test_front_end_fetches_nothing():
    """No import and no address in widgets.js: the page must not reach beyond the site."""
    code = (ROOT / "grubook" / "widgets.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*import\b|\bimport\(|\bfetch\(|XMLHttpRequest", code, re.M)
    assert re.findall(r"\w+://[^\s\"']+", code) == ["http://www.w3.org/2000/svg"]


def test_front_end_version_is_the_python_packages():
    """package.json's anywidget (the front end the site serves) is the pinned Python anywidget."""
    npm = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert npm["anywidget"] == pins["anywidget"]
