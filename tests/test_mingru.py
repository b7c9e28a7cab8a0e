"""grubook.MinGRU and grubook.scan: every mode against the sequential reference, gradients,
lengths, h0, layers, the classifier, bad inputs (chapter 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import grubook
from grubook import scan as S
from grubook.mingru import MinGRU

MODES = ("fast", "sequential", "log-scan")


def _run(model, x, lengths=None, h0=None):
    """Output, h_n and the gradients of every parameter and of x, for a fixed loss."""
    x = x.detach().clone().requires_grad_(True)
    out, h_n = model(x, h0, lengths)
    (out.square().sum() + h_n.sin().sum()).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    return [out.detach(), h_n.detach(), x.grad, *grads]


def _log_scan_tolerance(model, x) -> float:
    """The log-scan's relative error bound: a few float eps times |a*_T|, the largest cumulative
    log coefficient (chapter 10 derives it: the two terms of the exponent are both that large)."""
    eps = torch.finfo(x.dtype).eps
    a_star = 0.0
    with torch.no_grad():
        for name, w in model.named_parameters():
            if name.startswith("weight_ih_l0"):
                b = getattr(model, name.replace("weight", "bias"))
                k = F.linear(x, w, b)[..., : model.hidden_size]
                a_star = max(a_star, float(F.softplus(k).sum(0).max()))
    return 16 * eps * (1 + a_star)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["fast", "log-scan", "fallback"])
def test_every_mode_equals_the_sequential_reference(mode, dtype):
    torch.manual_seed(0)
    model = MinGRU(5, 7, num_layers=2, bidirectional=True, dtype=dtype, mode="sequential")
    x, lengths = torch.randn(13, 3, 5, dtype=dtype), [13, 4, 9]
    h0 = torch.randn(4, 3, 7, dtype=dtype)
    want = _run(model, x, lengths, h0)
    model.mode = "fast" if mode == "fallback" else mode
    if mode == "fallback":
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(S, "extension", lambda: None)
            got = _run(model, x, lengths, h0)
    else:
        got = _run(model, x, lengths, h0)
    eps = torch.finfo(dtype).eps
    rtol = _log_scan_tolerance(model, x) if mode == "log-scan" else 64 * eps
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * float(b.abs().max()))


def test_log_scan_error_grows_with_T_and_stays_within_the_bound():
    torch.manual_seed(0)
    errors = []
    for T in (64, 1024):
        gi = torch.randn(T, 4, 64)  # (T, B, 2H)
        h0 = torch.zeros(4, 32)
        ref, _ = S.scan(gi.double(), h0.double(), "sequential")
        got, _ = S.scan(gi, h0, "log-scan")
        rel = float(((got.double() - ref).abs() / ref.abs()).max())
        bound = (
            16 * torch.finfo(torch.float32).eps * (1 + float(F.softplus(gi[..., :32]).sum(0).max()))
        )
        assert rel <= bound
        errors.append(rel)
    assert errors[1] > 4 * errors[0]  # 16 times the steps: the error grows with T


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cpp", [None, False])
def test_gradcheck_of_the_fast_paths(cpp, reverse):
    torch.manual_seed(0)
    gi = torch.randn(6, 3, 8, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 2, 4])

    def f(gi, h0):
        return S.scan(gi, h0, "fast", lengths, reverse, cpp=cpp)

    assert torch.autograd.gradcheck(f, (gi, h0))


@pytest.mark.skipif(
    os.environ.get("GRUBOOK_NO_CPP", "") not in ("", "0"), reason="GRUBOOK_NO_CPP is set"
)
def test_the_cpp_kernel_builds_here():
    assert S.extension() is not None


@pytest.mark.parametrize("cpp", [None, False])
def test_double_backward_is_refused(cpp):
    gi = torch.randn(4, 2, 6, dtype=torch.float64, requires_grad=True)
    out, _ = S.scan(gi, torch.zeros(2, 3, dtype=torch.float64), "fast", cpp=cpp)
    with pytest.raises(RuntimeError, match="mode='fast' has no double backward"):
        torch.autograd.grad(out.sum(), gi, create_graph=True)


def test_cpp_true_without_the_extension_raises(monkeypatch):
    monkeypatch.setattr(S, "extension", lambda: None)
    with pytest.raises(RuntimeError, match="could not be built"):
        S.scan(torch.randn(3, 1, 4), torch.zeros(1, 2), cpp=True)


def test_no_cpp_environment_variable_gives_the_fallback(monkeypatch):
    monkeypatch.setenv("GRUBOOK_NO_CPP", "1")
    assert grubook._cpp.load_extension("mingru", "mingru.cpp") is None


@pytest.mark.parametrize("mode", MODES)
def test_padding_does_not_leak(mode):
    torch.manual_seed(0)
    model = MinGRU(3, 5, bidirectional=True, mode=mode)
    x, lengths = torch.randn(7, 2, 3), [7, 3]
    noisy = x.clone()
    noisy[3:, 1] = 100 * torch.randn(4, 3)
    noisy.requires_grad_(True)
    out_a, h_a = model(x, lengths=lengths)
    out_b, h_b = model(noisy, lengths=lengths)
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(h_a, h_b)
    assert out_b[3:, 1].abs().max() == 0
    (out_b.sum() + h_b.sum()).backward()
    assert noisy.grad[3:, 1].abs().max() == 0
    # each sequence alone gives the same as in the padded batch
    single, h_single = model(x[:3, 1:2])
    torch.testing.assert_close(out_a[:3, 1:2], single)
    torch.testing.assert_close(h_a[:, 1:2], h_single)


@pytest.mark.parametrize("mode", MODES)
def test_h0_none_is_zeros_and_h0_matters(mode):
    model = MinGRU(3, 4, num_layers=2, mode=mode)
    x = torch.randn(5, 2, 3)
    out, h_n = model(x)
    out0, h_n0 = model(x, torch.zeros(2, 2, 4))
    torch.testing.assert_close(out, out0)
    torch.testing.assert_close(h_n, h_n0)
    out1, _ = model(x, h0=torch.ones(2, 2, 4))
    assert (out1 - out).abs().max() > 1e-3


def test_layouts_batch_first_unbatched_and_edge_sizes():
    torch.manual_seed(0)
    model = MinGRU(3, 4, num_layers=3, residual=True)
    x = torch.randn(6, 2, 3)
    out, h_n = model(x)
    assert out.shape == (6, 2, 4) and h_n.shape == (3, 2, 4)
    first = MinGRU(3, 4, num_layers=3, residual=True, batch_first=True)
    first.load_state_dict(model.state_dict())
    out_bf, _ = first(x.transpose(0, 1))
    torch.testing.assert_close(out_bf, out.transpose(0, 1))
    out_u, h_u = model(x[:, 0])  # (T, I) unbatched
    torch.testing.assert_close(out_u, out[:, 0])
    assert h_u.shape == (3, 4)
    out_t1, _ = model(x[:1])  # T = 1
    torch.testing.assert_close(out_t1, out[:1])


def test_residual_adds_the_layer_input_above_the_first_layer():
    torch.manual_seed(0)
    plain, res = MinGRU(3, 4, num_layers=2), MinGRU(3, 4, num_layers=2, residual=True)
    res.load_state_dict(plain.state_dict())
    x = torch.randn(5, 2, 3)
    below, _ = MinGRU(3, 4).requires_grad_(False), None
    below.load_state_dict({k[:-1] + "0": v for k, v in plain.state_dict().items() if "l0" in k})
    h1, _ = below(x)
    torch.testing.assert_close(res(x)[0], plain(x)[0] + h1)


def test_sequential_mode_matches_a_hand_written_loop():
    torch.manual_seed(0)
    model = MinGRU(3, 4, mode="sequential")
    x, h = torch.randn(5, 2, 3), torch.zeros(2, 4)
    W, b = model.weight_ih_l0, model.bias_ih_l0
    for t in range(5):
        z = torch.sigmoid(x[t] @ W[:4].T + b[:4])
        h = (1 - z) * h + z * S.g(x[t] @ W[4:].T + b[4:])
    torch.testing.assert_close(model(x)[1][0], h)


def test_g_and_log_g():
    x = torch.tensor([-30.0, -1.0, 0.0, 2.0])
    torch.testing.assert_close(S.g(x), torch.tensor([torch.sigmoid(x[0]), 0.2689414, 0.5, 2.5]))
    torch.testing.assert_close(S.log_g(x), torch.log(S.g(x)))


def test_state_dict_is_shared_by_the_modes_and_has_no_hidden_weights():
    model = MinGRU(3, 4, num_layers=2, bidirectional=True)
    keys = set(model.state_dict())
    assert keys == {
        f"{kind}_l{k}{sfx}"
        for kind in ("weight_ih", "bias_ih")
        for k in (0, 1)
        for sfx in ("", "_reverse")
    }
    assert model.weight_ih_l1.shape == (8, 8)
    other = MinGRU(3, 4, num_layers=2, bidirectional=True, mode="log-scan")
    other.load_state_dict(model.state_dict())
    x = torch.randn(4, 2, 3)
    torch.testing.assert_close(other(x)[0], model(x)[0], rtol=1e-5, atol=1e-6)
    assert "weight_hh_l0" not in dict(MinGRU(3, 4, bias=False).named_parameters())


def test_inside_the_classifier_with_lengths():
    torch.manual_seed(0)
    model = grubook.GRUClassifier(3, 8, 4, rnn_type="mingru", num_layers=2, bidirectional=True)
    assert isinstance(model.rnn, MinGRU)
    x, lengths = torch.randn(9, 5, 3), [9, 2, 5, 7, 1]
    logits = model(x, lengths=lengths)
    assert logits.shape == (5, 4)
    noisy = x.clone()
    noisy[2:, 1] = 50.0
    torch.testing.assert_close(model(noisy, lengths=lengths), logits)
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 3, 0])).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    model = grubook.GRUClassifier(1, 16, 2, rnn_type="mingru")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(20, 64, 1)
    y = (x.sum(0)[:, 0] > 0).long()
    first = None
    for _ in range(150):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


def test_bad_inputs():
    model = MinGRU(5, 4)
    with pytest.raises(ValueError, match="MinGRU: input.size\\(-1\\) must be equal to input_size"):
        model(torch.randn(3, 2, 7))
    with pytest.raises(ValueError, match="MinGRU: Unknown mode 'parallel'"):
        MinGRU(5, 4, mode="parallel")
    with pytest.raises(ValueError, match="MinGRU: Unknown mode"):
        model.mode = "log_scan"
    with pytest.raises(TypeError, match="MinGRU: residual should be of type bool"):
        MinGRU(5, 4, residual=1)
    with pytest.raises(ValueError, match="Expected hidden size"):
        model(torch.randn(3, 2, 5), torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="lengths must be <= T=3"):
        model(torch.randn(3, 2, 5), lengths=[3, 7])
    with pytest.raises(TypeError, match="dtype"):
        model(torch.randn(3, 2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="torch.nn has no minGRU"):
        model.to_torch()
    with pytest.raises(TypeError, match="MinGRU: hidden_size should be of type int"):
        MinGRU(5, 4.0)


def _stored_glue() -> dict[str, float]:
    import nbformat
    import notebook_check

    path = Path(__file__).resolve().parents[1] / "chapters" / "10_mingru.ipynb"
    notebook = nbformat.read(path, as_version=4)
    return {k: float(t) for k, (_, t) in notebook_check.glued(notebook).items() if t is not None}


def test_experiment_reproduces_chapter_10_minGRU_rows():
    from grubook.experiments.mingru import _task_rows

    glue = _stored_glue()
    tasks = {"adding": int(glue["adding_T"]), "sign of sum": int(glue["sign_T"])}
    steps = int(glue["steps_short"])
    with grubook.seeded(0), grubook.num_threads(1):
        rows, _ = _task_rows(tasks, {"minGRU": ("mingru", 1)}, 32, steps, 64, 3e-2, 1024, 0)
    assert rows[0]["mse"] == pytest.approx(glue["adding_min_mse"], rel=1e-2)
    assert rows[1]["accuracy"] == pytest.approx(glue["sign_min_acc"], rel=1e-2)


def test_cli_quick_run_is_one_json_object_with_every_part():
    command = [sys.executable, "-m", "grubook.experiments", "mingru", "--json", "--quick"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout)
    assert result["experiment"] == "mingru"
    assert {row["part"] for row in result["rows"]} == {"step", "scan", "task"}
    for row in result["rows"]:
        if row["part"] == "scan":
            assert row["out_error"] <= row["bound"]
