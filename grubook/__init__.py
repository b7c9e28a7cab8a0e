"""grubook: the gated recurrent unit, built step by step — the package behind the book.

Every chapter imports it; it only hands names on (see each module for the concept it holds).
"""

from grubook import data, diagnostics, experiments, timing
from grubook._checks import GRUbookDtypeError, GRUbookTypeError, GRUbookValueError
from grubook.cell import GRUCell, from_first_version
from grubook.checkpoint import load_checkpoint, save_checkpoint
from grubook.classifier import GRUClassifier
from grubook.data import SignOfSum, collate_sequences, make_loader
from grubook.diagnostics import (
    gate_saturation,
    hidden_state_grad_norms,
    input_connectivity,
    set_spectral_radius,
    spectral_radius,
)
from grubook.ensemble import Ensemble
from grubook.evaluation import accuracy, evaluate
from grubook.language_model import GRULanguageModel
from grubook.layer import GRU, GateTrace
from grubook.masks import length_mask
from grubook.mingru import MinGRU
from grubook.ngram import CharNgramLM, ngram_classifier
from grubook.notebook import glue
from grubook.rnn import RNN, RNNCell
from grubook.seed import seed_everything, seeded
from grubook.timing import compare_ms, count_calls, median_ms, num_threads
from grubook.train import History, fit

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "GRUCell",
    "GRUClassifier",
    "GRUbookDtypeError",
    "GRUbookTypeError",
    "GRUbookValueError",
    "GateTrace",
    "History",
    "MinGRU",
    "RNN",
    "RNNCell",
    "SignOfSum",
    "accuracy",
    "collate_sequences",
    "compare_ms",
    "count_calls",
    "data",
    "diagnostics",
    "evaluate",
    "experiments",
    "fit",
    "from_first_version",
    "gate_saturation",
    "glue",
    "hidden_state_grad_norms",
    "input_connectivity",
    "length_mask",
    "load_checkpoint",
    "make_loader",
    "median_ms",
    "num_threads",
    "save_checkpoint",
    "seed_everything",
    "seeded",
    "set_spectral_radius",
    "spectral_radius",
    "timing",
    "__version__",
    "CharNgramLM",
    "Ensemble",
    "GRULanguageModel",
    "ngram_classifier",
]
