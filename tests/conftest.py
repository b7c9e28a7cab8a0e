"""Shared test settings and helpers: one hypothesis profile, one tolerance, gradient helpers.

Modest example counts and no deadline keep the suite (2 CPU cores) well under 90 s; no example
database, so a test run writes nothing into the tree. Under CI (``CI`` set, as ``.ci/run`` runs)
the examples are derandomized, so a landing never depends on a lucky draw; a local run explores
new examples each time.

Test modules import the helpers with ``from conftest import ...`` (pytest puts ``tests/`` on the
path, as for ``first_version``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from hypothesis import HealthCheck, settings
from torch import nn
from torch.autograd import gradcheck, gradgradcheck
from torch.func import functional_call
from torch.testing import assert_close

settings.register_profile(
    "grubook",
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.register_profile("thorough", parent=settings.get_profile("grubook"), max_examples=1000)
settings.load_profile("grubook")  # `pytest --hypothesis-profile=thorough` for a longer search

# float32 equivalence with torch.nn after copying weights: the loops differ in summation order.
TOL = {"atol": 1e-5, "rtol": 1e-5}


def grads(
    model: nn.Module,
    outs: Sequence[torch.Tensor],
    upstreams: Sequence[torch.Tensor],
    inputs: Sequence[torch.Tensor],
) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    """Backpropagate ``upstreams`` from ``outs``; return the input grads and a name -> grad dict.

    The graph is kept, so the same outputs can be differentiated again.
    """
    named = dict(model.named_parameters())
    found = torch.autograd.grad(
        list(outs), [*inputs, *named.values()], list(upstreams), retain_graph=True
    )
    return found[: len(inputs)], dict(zip(named, found[len(inputs) :], strict=True))


def check_gradients(
    model: nn.Module,
    args: Sequence[torch.Tensor],
    kwargs=None,
    *,
    second_order: bool = False,
    fast_mode: bool = False,
) -> bool:
    """``gradcheck`` (and ``gradgradcheck``) of ``model``'s forward in its inputs and parameters.

    ``args`` are the float64 tensors that require grad; ``kwargs`` the other forward arguments.
    ``fast_mode`` checks random projections of the Jacobian instead of every entry (torch's
    ``gradcheck(fast_mode=True)``): for the many-sample sweeps.
    """
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in model.parameters()]
    n = len(args)

    def f(*tensors):
        state = dict(zip(names, tensors[n:], strict=True))
        out = functional_call(model, state, tuple(tensors[:n]), kwargs or {})
        return tuple(out) if isinstance(out, tuple) else out

    inputs = (*args, *params)
    ok = gradcheck(f, inputs, fast_mode=fast_mode)
    return ok and (not second_order or gradgradcheck(f, inputs, fast_mode=fast_mode))


def assert_interchangeable(ours_cls, torch_cls, args, kwargs, inputs) -> None:
    """Check that grubook's ``ours_cls`` and ``torch_cls`` can stand for each other.

    One seed gives both the same parameters (names, order, values); a ``state_dict`` moves both
    ways; ``from_torch``/``to_torch`` keep the configuration; all of them give torch's outputs on
    ``inputs``.
    """
    torch.manual_seed(7)
    ref = torch_cls(*args, **kwargs)
    torch.manual_seed(7)
    ours = ours_cls(*args, **kwargs)
    assert list(ours.state_dict()) == list(ref.state_dict())  # same names, same order
    for name, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name

    torch.manual_seed(8)
    fresh = ours_cls(*args, **kwargs)
    fresh.load_state_dict(ref.state_dict())
    back = torch_cls(*args, **kwargs)
    back.load_state_dict(fresh.state_dict())
    expected = ref(*inputs)
    assert_close(fresh(*inputs), expected, **TOL)
    assert_close(back(*inputs), expected, rtol=0, atol=0)

    converted = ours_cls.from_torch(ref)
    twin = converted.to_torch()
    assert type(twin) is torch_cls
    for key in ours_cls.torch_options:
        assert getattr(converted, key) == getattr(twin, key) == getattr(ref, key), key
    assert_close(converted(*inputs), expected, **TOL)
    assert_close(twin(*inputs), expected, rtol=0, atol=0)
