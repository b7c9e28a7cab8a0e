"""One function per results table of the book, and ``python -m grubook.experiments``.

Each function returns a :class:`Result` (rows, config, seconds, and the extras the chapter plots);
the chapter calls it and the shell runs it by name::

    python -m grubook.experiments --list
    python -m grubook.experiments gradient-decay --json
    python -m grubook.experiments gru-formulations --seeds 3

Nothing else in the package imports this one. Introduced in chapter 1, *Recurrent networks*.
"""

# Importing an experiment registers it: `--list` shows them in the book's order.
# isort: off
from grubook.experiments.gradient_decay import gradient_decay
from grubook.experiments.gru_formulations import gru_formulations
from grubook.experiments.adding import adding
from grubook.experiments.copy_task import copy_task
from grubook.experiments.exploding import exploding_gradients
from grubook.experiments.benchmark import benchmark

# isort: on
from grubook.experiments.registry import EXPERIMENTS, Experiment, Result, over_seeds, run

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Result",
    "adding",
    "benchmark",
    "copy_task",
    "exploding_gradients",
    "gradient_decay",
    "gru_formulations",
    "over_seeds",
    "run",
]
