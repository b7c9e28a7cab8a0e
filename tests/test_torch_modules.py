"""PyTorch's own test cases for nn.GRU, nn.GRUCell, nn.RNN and nn.RNNCell, run on grubook's classes.

The cases ship with torch: ``torch.testing._internal.common_modules.module_db`` holds, for each
module, sample constructor and forward arguments and a list of wrong arguments with the error
they must raise. Each sample is run as a user swapping classes would: grubook's model is built
with the same arguments, given torch's weights (``state_dict``), and must give torch's outputs
and gradients, its unbatched result must equal the batched one (torch's ``reference_fn``), and it
must survive what ``test/test_modules.py`` does to every module (non-contiguous inputs, a pickle
round trip, ``repr``, float64 ``gradcheck``/``gradgradcheck``). Each error input must raise the
error type it names with a message its regex finds, as ``test_modules.test_errors`` checks.

Differences kept on purpose are marked ``xfail(strict=True)`` with the reason (also listed on the
API page): they fail here today, and a strict xfail turns red if they ever start to pass.
"""

from __future__ import annotations

import copy
import io
import re

import pytest
import torch
from conftest import TOL, check_gradients
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torch.testing import assert_close
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db

import grubook

SUBSTITUTES = {nn.GRU: grubook.GRU, nn.GRUCell: grubook.GRUCell, nn.RNN: grubook.RNN}
SUBSTITUTES[nn.RNNCell] = grubook.RNNCell
INFOS = {info.module_cls.__name__: info for info in module_db if info.module_cls in SUBSTITUTES}


def _samples(name: str, *, packed: bool = False, dtype=torch.float32):
    """torch's sample inputs for module ``name``, drawn from a fixed seed."""
    torch.manual_seed(0)
    info = INFOS[name]
    samples = info.module_inputs_func(
        info, device="cpu", dtype=dtype, requires_grad=True, training=True
    )
    if not packed:
        return samples
    more = info.module_inputs_func(
        info,
        device="cpu",
        dtype=dtype,
        requires_grad=True,
        training=True,
        with_packed_sequence=True,
    )
    return [s for s in more if isinstance(s.forward_input.args[0], PackedSequence)]


def _errors(name: str):
    info = INFOS[name]
    return info.module_error_inputs_func(
        info, device="cpu", dtype=torch.float32, requires_grad=False, training=True
    )


SAMPLE_IDS = [(name, i, False) for name in INFOS for i in range(len(_samples(name)))]
SAMPLE_IDS += [
    (name, i, True) for name in ("GRU", "RNN") for i in range(len(_samples(name, packed=True)))
]
ERROR_IDS = [(name, i) for name in INFOS for i in range(len(_errors(name)))]


def _tensors(out) -> list[torch.Tensor]:
    """The output tensors of a forward: ``(output, h_n)`` with a packed output's ``.data``."""
    items = out if isinstance(out, tuple) else (out,)
    return [item.data if isinstance(item, PackedSequence) else item for item in items]


def _leaves(args) -> list[torch.Tensor]:
    """The tensors of the forward arguments that require grad (a packed input's ``.data``)."""
    found = [a.data if isinstance(a, PackedSequence) else a for a in args]
    return [a for a in found if isinstance(a, torch.Tensor) and a.requires_grad]


def _run(model: nn.Module, args, kwargs, upstream):
    """Forward, then the gradients of ``sum(upstream * outputs)`` in inputs and parameters."""
    outs = _tensors(model(*args, **kwargs))
    wrt = [*_leaves(args), *model.parameters()]
    return outs, torch.autograd.grad(outs, wrt, upstream, allow_unused=True)


def _noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` with the same values laid out with a stride of 2."""
    wide = torch.stack([torch.zeros_like(t), t.detach()], dim=-1)
    return wide.select(-1, 1).requires_grad_(t.requires_grad)


@pytest.mark.parametrize(
    ("name", "index", "packed"),
    SAMPLE_IDS,
    ids=[f"{n}-{i}" + ("-packed" if p else "") for n, i, p in SAMPLE_IDS],
)
def test_sample_matches_torch(name, index, packed):
    sample = _samples(name, packed=packed)[index]
    c_args, c_kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    args, kwargs = sample.forward_input.args, sample.forward_input.kwargs
    ref = INFOS[name].module_cls(*c_args, **c_kwargs)
    ours = SUBSTITUTES[type(ref)](*c_args, **c_kwargs)
    ours.load_state_dict(ref.state_dict())

    outs_ref = _tensors(ref(*args, **kwargs))
    upstream = [torch.randn_like(o) for o in outs_ref]
    outs_ref, grads_ref = _run(ref, args, kwargs, upstream)
    outs, grads = _run(ours, args, kwargs, upstream)
    assert [o.shape for o in outs] == [o.shape for o in outs_ref]
    assert_close(outs, outs_ref, **TOL)
    assert_close(grads, grads_ref, **TOL)
    if packed:
        return
    # test_modules: the unbatched result equals the batched one (torch's reference_fn) ...
    expected = sample.reference_fn(ours, *args, **kwargs)  # it passes the parameters itself
    assert_close(_tensors(ours(*args, **kwargs)), _tensors(expected), **TOL)
    # ... non-contiguous inputs give the same result ...
    strided = [_noncontiguous(a) for a in args]
    assert not strided[0].is_contiguous()
    assert_close(_tensors(ours(*strided, **kwargs)), outs, rtol=0, atol=0)
    # ... a pickled module (torch.save of the module itself) comes back equal, and prints.
    buffer = io.BytesIO()
    torch.save(ours, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert_close(_tensors(loaded(*args, **kwargs)), outs, rtol=0, atol=0)
    assert repr(ours).startswith(type(ours).__name__ + "(")
    assert_close(_tensors(copy.deepcopy(ours)(*args, **kwargs)), outs, rtol=0, atol=0)


GRADCHECK_IDS = [(name, i) for name, i, packed in SAMPLE_IDS if not packed]


@pytest.mark.parametrize(
    ("name", "index"), GRADCHECK_IDS, ids=[f"{n}-{i}" for n, i in GRADCHECK_IDS]
)
def test_sample_gradcheck_and_gradgradcheck(name, index):
    """test_modules.test_grad and test_gradgrad: float64, inputs and parameters."""
    sample = _samples(name, dtype=torch.float64)[index]
    c_args, c_kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    model = SUBSTITUTES[INFOS[name].module_cls](*c_args, **c_kwargs, dtype=torch.float64)
    args = sample.forward_input.args
    # Second order on the first sample of each module only: it costs ~10x first order; fast mode
    # checks random projections of the Jacobian, enough to catch a wrong backward.
    assert check_gradients(model, args, second_order=index == 0, fast_mode=True)


def _expected_difference(name: str, error) -> str | None:
    """Why grubook answers an error input differently from torch, where it does on purpose."""
    args = error.module_error_input.constructor_input.args
    if name.endswith("Cell") and len(args) > 2 and isinstance(args[2], str):
        return (
            f"{name}(10, 20, {args[2]!r}) passes {args[2]!r} as bias, which nn.{name} silently "
            "reads as True; grubook raises TypeError for a bias that is not a bool, as nn.GRU "
            "and nn.RNN do"
        )
    return None


@pytest.mark.parametrize(("name", "index"), ERROR_IDS, ids=[f"{n}-{i}" for n, i in ERROR_IDS])
def test_error_input_raises_torchs_error(name, index, request):
    error = _errors(name)[index]
    sample = error.module_error_input
    c_args, c_kwargs = sample.constructor_input.args, sample.constructor_input.kwargs

    def build_and_run(cls):
        model = cls(*c_args, **c_kwargs)
        if error.error_on == ModuleErrorEnum.FORWARD_ERROR:
            model(*sample.forward_input.args, **sample.forward_input.kwargs)

    with pytest.raises(error.error_type, match=error.error_regex):  # the case is right for torch
        build_and_run(INFOS[name].module_cls)
    reason = _expected_difference(name, error)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    with pytest.raises(error.error_type) as info:
        build_and_run(SUBSTITUTES[INFOS[name].module_cls])
    assert re.search(error.error_regex, str(info.value)), (error.error_regex, str(info.value))


def test_every_module_and_case_was_found():
    """The counts of torch 2.13's cases: a torch that drops or renames them fails here."""
    counts = {name: (len(_samples(name)), len(_errors(name))) for name in INFOS}
    assert counts == {"GRU": (16, 14), "GRUCell": (2, 6), "RNN": (32, 14), "RNNCell": (3, 6)}
    assert (len(_samples("GRU", packed=True)), len(_samples("RNN", packed=True))) == (16, 32)
