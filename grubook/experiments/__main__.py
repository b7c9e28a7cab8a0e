"""``python -m grubook.experiments``: list the experiments, or run one and print its table or JSON.

Usage::

    python -m grubook.experiments --list
    python -m grubook.experiments NAME [--seeds N] [--json] [--quick] [--set KEY=VALUE ...]

With ``--json`` the standard output is exactly one JSON object,
``{"experiment": NAME, "rows": [...], "config": {...}, "seconds": ...}``; progress bars, if any,
go to the standard error (and stay off when it is not a terminal).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys

from grubook.experiments.registry import EXPERIMENTS, Unavailable, run


def _setting(text: str) -> tuple[str, object]:
    """``"H=64"`` -> ``("H", 64)``: the value read as JSON if it is JSON, else as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grubook.experiments",
        description="Run one of the book's experiments: the same function the chapter calls.",
    )
    parser.add_argument("name", nargs="?", help="the experiment (see --list)")
    parser.add_argument("--list", action="store_true", help="name the experiments and stop")
    parser.add_argument("--seeds", type=int, metavar="N", help="run seeds 0..N-1; mean and std")
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--quick", action="store_true", help="a small, fast configuration")
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting (a JSON value, e.g. --set H=64 --set 'radii=[0.5,1]')",
    )
    args = parser.parse_args(argv)
    if args.list:
        width = max(map(len, EXPERIMENTS))
        for name, experiment in EXPERIMENTS.items():
            print(f"{name:{width}}  {experiment.summary}")
        return 0
    if args.name is None:
        parser.error("name an experiment (python -m grubook.experiments --list names them)")
    if args.name not in EXPERIMENTS:
        parser.error(f"unknown experiment {args.name!r}; choose from {', '.join(EXPERIMENTS)}")
    settings = dict(args.set)
    known = inspect.signature(EXPERIMENTS[args.name].func).parameters
    unknown = sorted(set(settings) - set(known))
    if unknown:
        parser.error(f"{args.name} has no setting {unknown[0]!r}; its settings: {', '.join(known)}")
    if "progress" in known:
        settings.setdefault("progress", True)
    try:
        result = run(args.name, seeds=args.seeds, quick=args.quick, **settings)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    except Unavailable as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    if args.json:
        print(result.to_json())
    else:
        print(f"{result.experiment}: {EXPERIMENTS[result.experiment].summary}\n")
        print(result.table())
        config = ", ".join(f"{k}={v}" for k, v in result.config.items())
        print(f"\nconfig: {config}\ntook {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
