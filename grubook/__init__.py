"""grubook: the gated recurrent unit, built step by step — the package behind the book.

Every chapter imports it; it only hands names on (see each module for the concept it holds).
"""

from grubook._checks import GRUbookDtypeError, GRUbookTypeError, GRUbookValueError
from grubook.cell import GRUCell, from_first_version
from grubook.classifier import GRUClassifier
from grubook.layer import GRU, GateTrace
from grubook.notebook import glue
from grubook.rnn import RNN, RNNCell
from grubook.seed import seed_everything

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "GRUCell",
    "GRUClassifier",
    "GRUbookDtypeError",
    "GRUbookTypeError",
    "GRUbookValueError",
    "GateTrace",
    "RNN",
    "RNNCell",
    "from_first_version",
    "glue",
    "seed_everything",
    "__version__",
]
