"""Measuring speed honestly: median times, interleaved A/B comparisons, pinned threads, call counts.

A single timing of a small model on a shared CPU is mostly noise. The helpers here take the median
of many runs, and compare two functions by running them in turn (A B A B ...), so that a slow
moment of the machine slows both, and report the median of the per-pair ratios. Small recurrent
networks are sensitive to the number of threads, so a comparison can pin it. Counting calls (how
many matrix products a forward makes) needs no clock at all. Timings are results that change from
run to run: their names end in ``_ms`` or ``_seconds``. Introduced in chapter 2, *The GRU cell*.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["CallCounter", "Comparison", "compare_ms", "count_calls", "median_ms", "num_threads"]


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[int]:
    """Run a block with ``torch.set_num_threads(n)``, then restore the previous thread count.

    Args:
        n: the number of threads inside the block, an int >= 1.

    Returns:
        A context manager; ``with num_threads(n) as k`` binds k = n.

    Example::

        >>> with num_threads(1):
        ...     torch.get_num_threads()
        1

    Introduced in chapter 2, *The GRU cell*.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"num_threads: n must be an int >= 1, got {n!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(previous)


def _check_repeats(owner: str, repeats: object, warmup: object) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"{owner}: repeats must be an int >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"{owner}: warmup must be an int >= 0, got {warmup!r}")


def _ms(fn: Callable[[], Any]) -> float:
    """The wall time of one call of ``fn``, in milliseconds."""
    start = time.perf_counter()
    fn()
    return 1e3 * (time.perf_counter() - start)


def median_ms(fn: Callable[[], Any], repeats: int = 30, *, warmup: int = 1) -> float:
    """The median wall time of ``fn()`` in milliseconds, over ``repeats`` calls after ``warmup``.

    Args:
        fn: a function of no arguments.
        repeats: the number of timed calls. Default: 30.
        warmup: untimed calls first (caches, lazy initialisation). Default: 1.

    Example::

        >>> ms = median_ms(lambda: torch.randn(64, 64) @ torch.randn(64, 64))

    Introduced in chapter 2, *The GRU cell*.
    """
    _check_repeats("median_ms", repeats, warmup)
    for _ in range(warmup):
        fn()
    return statistics.median(_ms(fn) for _ in range(repeats))


@dataclasses.dataclass
class Comparison:
    """Times of two functions run in turn, and their ratio.

    :func:`~grubook.compare_ms` makes it; each argument is also an attribute of the same name.

    Args:
        a_ms: the time of each call of A, in milliseconds.
        b_ms: the time of each call of B (call i ran right after A's call i), in milliseconds.
        ratio: the median over the pairs of ``a_ms[i] / b_ms[i]``: how many times B's time A
            takes (a timing, so it varies from run to run).

    Introduced in chapter 2, *The GRU cell*.
    """

    a_ms: list[float]
    b_ms: list[float]
    ratio: float

    @property
    def a_median_ms(self) -> float:
        """The median time of A."""
        return statistics.median(self.a_ms)

    @property
    def b_median_ms(self) -> float:
        """The median time of B."""
        return statistics.median(self.b_ms)


def compare_ms(
    a: Callable[[], Any],
    b: Callable[[], Any],
    *,
    repeats: int = 20,
    warmup: int = 2,
    threads: int | None = None,
) -> Comparison:
    """Time two functions interleaved, A B A B ..., and return both series and their ratio.

    Args:
        a: a function of no arguments.
        b: another one, to compare with.
        repeats: the number of A/B pairs timed. Default: 20.
        warmup: untimed pairs first. Default: 2.
        threads: run with ``torch.set_num_threads(threads)`` (restored after), or ``None`` to
            leave the thread count as it is. Default: ``None``.

    Returns:
        A :class:`~grubook.timing.Comparison`; ``ratio`` > 1 means A is slower.

    Example::

        >>> result = compare_ms(lambda: gru(x), lambda: torch_gru(x), threads=2)
        >>> result.ratio   # how many times nn.GRU's time grubook's GRU takes

    Introduced in chapter 2, *The GRU cell*.
    """
    _check_repeats("compare_ms", repeats, warmup)
    pinned = num_threads(threads) if threads is not None else contextlib.nullcontext()
    with pinned:
        for _ in range(warmup):
            a()
            b()
        a_ms, b_ms = [], []
        for _ in range(repeats):
            a_ms.append(_ms(a))
            b_ms.append(_ms(b))
    ratio = statistics.median(
        x / y if y > 0 else float("inf") for x, y in zip(a_ms, b_ms, strict=True)
    )
    return Comparison(a_ms, b_ms, ratio)


class CallCounter(TorchFunctionMode):
    """A ``TorchFunctionMode`` that counts the torch functions called while it is active.

    :func:`~grubook.count_calls` makes one; use it as a context manager (``with counter: ...``).

    Args:
        funcs: the functions to count, or their names (a name counts every function of that
            name); empty to count every call. Default: ``()``.

    Attributes:
        - **funcs**: as given.
        - **counts**: calls per function name (``{"linear": 31}``).
        - **calls**: the total number of calls counted.

    Introduced in chapter 2, *The GRU cell*.
    """

    def __init__(self, funcs: tuple[Callable | str, ...] = ()) -> None:
        super().__init__()
        self.funcs = funcs
        self.counts: Counter[str] = Counter()

    @property
    def calls(self) -> int:
        return sum(self.counts.values())

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", repr(func))
        if not self.funcs or any(func is f or name == f for f in self.funcs):
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))


def count_calls(*funcs: Callable | str) -> CallCounter:
    """Count calls of torch functions inside a ``with`` block (all of them, without ``funcs``).

    Counts what goes through ``__torch_function__``: ``torch.*`` and ``torch.nn.functional.*``
    functions, tensor methods, and operators as the method they call (``a @ b`` is
    ``torch.Tensor.matmul``).

    Args:
        funcs: the functions to count, e.g. ``torch.nn.functional.linear``, or names, which
            count every function of that name (``"matmul"``: ``torch.matmul`` and ``@``).

    Example::

        >>> with count_calls(torch.nn.functional.linear) as counter:
        ...     _ = grubook.GRU(4, 8)(torch.randn(50, 3, 4))
        >>> counter.calls   # one input projection for all steps, one hidden matmul per step
        51

    Introduced in chapter 2, *The GRU cell*.
    """
    return CallCounter(tuple(funcs))
