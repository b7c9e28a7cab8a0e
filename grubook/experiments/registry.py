"""The experiments' common parts: the :class:`Result` they return, the registry, runs over seeds.

Each results table of the book is one function registered here under a shell-friendly name; the
chapter calls the function, ``python -m grubook.experiments NAME`` calls the same function, so
the page and the shell agree by construction. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["EXPERIMENTS", "Experiment", "Result", "Unavailable", "over_seeds", "register", "run"]


class Unavailable(RuntimeError):
    """An experiment that cannot run on this machine (e.g. one that needs a GPU).

    Introduced in chapter 9, *On the GPU (optional)*.
    """


@dataclasses.dataclass
class Result:
    """What an experiment measured: a table of rows, the configuration, the time it took.

    Everything else the chapter needs (models, inputs, histories, per-step values) is in
    ``extras`` and readable as attributes: ``result.models`` is ``result.extras["models"]``.

    Each argument is also an attribute of the same name.

    Args:
        experiment: the registered name, e.g. ``"gradient-decay"``.
        rows: one dict per row of the table, each with ``"model"`` and the metrics.
        config: every setting the run used (JSON values), the seed included.
        seconds: the wall time of the run (a timing: it varies).
        extras: results that are not JSON (tensors, models), by name. Default: empty.

    Introduced in chapter 1, *Recurrent networks*.
    """

    experiment: str
    rows: list[dict[str, Any]]
    config: dict[str, Any]
    seconds: float
    extras: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__} of {self.experiment!r} has no {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__.get("extras", {})))

    def to_dict(self) -> dict[str, Any]:
        """``{"experiment": ..., "rows": [...], "config": {...}, "seconds": ...}`` (no extras)."""
        return {
            "experiment": self.experiment,
            "rows": self.rows,
            "config": self.config,
            "seconds": self.seconds,
        }

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as one JSON object; NaN and infinite numbers become ``null``.

        Args:
            indent: spaces per level of nesting, or ``None`` for one line. Default: ``None``.
        """
        return json.dumps(_finite(self.to_dict()), indent=indent, ensure_ascii=False)

    def row(self, model: str) -> dict[str, Any]:
        """The row whose ``"model"`` is ``model``.

        Args:
            model: the row's name, e.g. ``"GRU, default init"``.

        Raises:
            KeyError: if no row has that name.
        """
        for row in self.rows:
            if row.get("model") == model:
                return row
        raise KeyError(f"{self.experiment}: no row for model {model!r}")

    def table(self) -> str:
        """The rows as an aligned text table, numbers to 3 significant digits."""
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        cells = [[_format(row.get(key, "")) for key in columns] for row in self.rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        for r in cells:
            lines.append(
                "  ".join(
                    v.ljust(w) if i == 0 else v.rjust(w)
                    for i, (v, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        return "\n".join(lines)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment: what ``register`` stores and :func:`run` looks up.

    Each argument is also an attribute of the same name.

    Args:
        name: the shell name, e.g. ``"gru-formulations"``.
        func: the function; keyword arguments are its settings, ``seed`` among them.
        summary: one line for ``--list``.
        keys: the row fields that name a row, not averaged over seeds. Default: ``("model",)``.
        aggregate: the metrics averaged over seeds; ``None`` for every other number.
            Default: ``None``.
        quick: settings for a fast smoke run (``--quick``). Default: ``{}``.

    Introduced in chapter 1, *Recurrent networks*.
    """

    name: str
    func: Callable[..., Result]
    summary: str
    keys: tuple[str, ...] = ("model",)
    aggregate: tuple[str, ...] | None = None
    quick: dict[str, Any] = dataclasses.field(default_factory=dict)


EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, summary: str, **options: Any) -> Callable:
    """Register the decorated function as experiment ``name`` (options: see :class:`Experiment`)."""

    def decorate(func: Callable[..., Result]) -> Callable[..., Result]:
        EXPERIMENTS[name] = Experiment(name, func, summary, **options)
        return func

    return decorate


def _get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        known = ", ".join(EXPERIMENTS)
        raise KeyError(f"unknown experiment {name!r}; the experiments are: {known}")
    return EXPERIMENTS[name]


def run(name: str, *, seeds: int | None = None, quick: bool = False, **settings: Any) -> Result:
    """Run the experiment ``name``: once (seed 0 unless ``seed=`` is set), or over seeds.

    Args:
        name: a registered name (``python -m grubook.experiments --list``).
        seeds: ``None`` for one run; N to run seeds 0, ..., N-1 and average (:func:`over_seeds`).
        quick: start from the experiment's small smoke-test settings. Default: ``False``.
        settings: keyword arguments for the experiment's function.

    Introduced in chapter 1, *Recurrent networks*.
    """
    experiment = _get(name)
    settings = {**(experiment.quick if quick else {}), **settings}
    if seeds is None:
        return experiment.func(**settings)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"run: seeds must be an int >= 1, got {seeds!r}")
    return over_seeds(name, range(seeds), **settings)


def over_seeds(name: str, seeds: Iterable[int], **settings: Any) -> Result:
    """Run experiment ``name`` once per seed; rows hold each metric's mean and standard deviation.

    Rows are matched across seeds by the experiment's ``keys``; each aggregated metric m becomes
    ``m_mean`` and ``m_std`` (the sample standard deviation; 0 for one seed), and ``seeds`` counts
    the runs. The single runs are kept in ``result.runs``.

    Args:
        name: a registered name (``python -m grubook.experiments --list``).
        seeds: the seeds, one run each, e.g. ``range(5)``.
        settings: keyword arguments for the experiment's function (not ``seed``).

    Returns:
        A :class:`Result` with one row per key, its config without ``seed`` and with ``seeds``
        (the list of seeds), and extras ``runs``.

    Introduced in chapter 1, *Recurrent networks*.
    """
    experiment = _get(name)
    start = time.perf_counter()
    runs = [experiment.func(**settings, seed=seed) for seed in seeds]
    if not runs:
        raise ValueError("over_seeds: no seeds given")
    table: dict[tuple, list[dict]] = {}
    for result in runs:
        for row in result.rows:
            table.setdefault(tuple(row.get(k) for k in experiment.keys), []).append(row)
    rows = [_aggregate(group, experiment) for group in table.values()]
    config = {k: v for k, v in runs[0].config.items() if k != "seed"}
    config["seeds"] = [result.config.get("seed") for result in runs]
    seconds = time.perf_counter() - start
    return Result(experiment.name, rows, config, seconds, {"runs": runs})


def _aggregate(group: list[dict], experiment: Experiment) -> dict[str, Any]:
    """One row from the same row of several runs: keys kept, metrics as mean and std."""
    row = {k: group[0][k] for k in experiment.keys if k in group[0]}
    names = experiment.aggregate or [
        k
        for k, v in group[0].items()
        if k not in experiment.keys and isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    for m in names:
        values = [r[m] for r in group if r.get(m) is not None]
        if values:
            mean, std = _stat_names(m)
            row[mean] = statistics.fmean(values)
            row[std] = statistics.stdev(values) if len(values) > 1 else 0.0
    row["seeds"] = len(group)
    return row


def _stat_names(metric: str) -> tuple[str, str]:
    """``("m_mean", "m_std")``; a timing keeps its unit last: ``train_mean_seconds``."""
    for unit in ("_seconds", "_ms"):
        if metric.endswith(unit):
            base = metric[: -len(unit)]
            return f"{base}_mean{unit}", f"{base}_std{unit}"
    return f"{metric}_mean", f"{metric}_std"
