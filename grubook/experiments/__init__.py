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
from grubook.experiments.sequence_classification import sequence_classification
from grubook.experiments.language_id import language_id
from grubook.experiments.word_lm import word_lm
from grubook.experiments.japanese_vowels import japanese_vowels_ablation, japanese_vowels_table
from grubook.experiments.benchmark import benchmark
from grubook.experiments.gpu_benchmark import gpu_benchmark
from grubook.experiments.ddp import ddp
from grubook.experiments.mingru import mingru

# isort: on
from grubook.experiments.registry import (
    EXPERIMENTS,
    Experiment,
    Result,
    Unavailable,
    over_seeds,
    run,
)

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Result",
    "Unavailable",
    "adding",
    "benchmark",
    "copy_task",
    "ddp",
    "exploding_gradients",
    "gpu_benchmark",
    "gradient_decay",
    "gru_formulations",
    "language_id",
    "mingru",
    "over_seeds",
    "run",
    "sequence_classification",
    "word_lm",
    "japanese_vowels_ablation",
    "japanese_vowels_table",
]
