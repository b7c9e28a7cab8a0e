r"""Chapter 5's comparison models beside :class:`grubook.GRUClassifier`, sized to one budget.

Two models the package does not teach, with :class:`grubook.GRUClassifier`'s call
``model(x, lengths=lengths)`` so that :func:`grubook.fit` trains them all the same way:

- :class:`LSTMClassifier`: ``torch.nn.LSTM`` (Hochreiter & Schmidhuber, "Long Short-Term Memory",
  Neural Computation 9(8), 1997), read at each sequence's own last step;
- :class:`MLPClassifier`: no recurrence at all, a one-hidden-layer perceptron on the whole padded
  sequence flattened into one vector (possible only because every sequence fits in T steps).

:func:`make_classifier` builds any of the four kinds with the hidden size that gives it about as
many parameters as a GRU classifier of a given H (:func:`matched_hidden`). Introduced in
chapter 5, *From cell to classifier*.
"""

from __future__ import annotations

from torch import Tensor, nn

from grubook.classifier import GRUClassifier
from grubook.masks import length_mask

__all__ = ["KINDS", "LSTMClassifier", "MLPClassifier", "make_classifier", "matched_hidden"]

#: The kinds :func:`make_classifier` builds, by the name chapter 5's table uses.
KINDS = ("GRU", "RNN", "LSTM", "MLP")


class LSTMClassifier(nn.Module):
    """``torch.nn.LSTM`` read at each sequence's last valid step, then a linear layer.

    Args:
        input_size: I, features per step.
        hidden_size: H, features of the LSTM's hidden state.
        num_classes: C, the number of classes.

    Inputs: x, lengths
        - **x** (T, B, I) floats.
        - **lengths** (B,) ints in [1, T], or ``None`` (every sequence T steps long).

    Outputs: logits
        - **logits** (B, C).

    Introduced in chapter 5, *From cell to classifier*.
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        T, B, _ = x.shape
        output, _ = self.rnn(x)  # (T, B, H): padded, so steps past a length are garbage
        if lengths is None:
            return self.head(output[-1])  # (B, C)
        last = (lengths.to(x.device) - 1).view(1, B, 1).expand(1, B, output.shape[-1])
        return self.head(output.gather(0, last).squeeze(0))  # h at step lengths[b]: (B, C)


class MLPClassifier(nn.Module):
    r"""A one-hidden-layer perceptron on the whole sequence, zeroed past its length and flattened.

    .. math::
        \text{logits} &= W_2\, u + b_2, \\
        u &= \mathrm{ReLU}(W_1 \operatorname{vec}(x) + b_1)

    Args:
        steps: T, the padded length every input has.
        input_size: I, features per step.
        hidden_size: units of the hidden layer.
        num_classes: C, the number of classes.

    Inputs: x, lengths
        - **x** (T, B, I) floats, exactly T steps.
        - **lengths** (B,) ints in [1, T], or ``None``.

    Outputs: logits
        - **logits** (B, C).

    Introduced in chapter 5, *From cell to classifier*.
    """

    def __init__(self, steps: int, input_size: int, hidden_size: int, num_classes: int) -> None:
        super().__init__()
        self.steps = steps
        self.net = nn.Sequential(
            nn.Linear(steps * input_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, num_classes),
        )

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        T, B, _ = x.shape
        if T != self.steps:
            raise ValueError(f"MLPClassifier: x has {T} steps, expected steps={self.steps}")
        if lengths is not None:
            x = x * length_mask(lengths.to(x.device), T).unsqueeze(-1)  # zeros past each length
        return self.net(x.transpose(0, 1).flatten(1))  # (B, T*I) -> (B, C)


def _params(kind: str, hidden: int, input_size: int, steps: int, num_classes: int) -> int:
    """The parameter count of :func:`make_classifier`'s model of this kind and hidden size."""
    H, head = hidden, (hidden + 1) * num_classes
    if kind == "MLP":
        return (steps * input_size + 1) * H + head
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    return gates * (input_size * H + H * H + 2 * H) + head


def matched_hidden(
    kind: str, gru_hidden: int, input_size: int, steps: int, num_classes: int
) -> tuple[int, int]:
    """The hidden size that gives ``kind`` the parameter count closest to a GRU classifier's.

    Args:
        kind: one of ``KINDS``.
        gru_hidden: H of the GRU classifier whose parameter count is the budget.
        input_size: I, features per step.
        steps: T, the padded length (the MLP's input is T·I numbers).
        num_classes: C, the number of classes.

    Returns:
        ``(hidden_size, parameters)`` for ``kind``.

    Introduced in chapter 5, *From cell to classifier*.
    """
    if kind not in KINDS:
        raise ValueError(f"matched_hidden: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    budget = _params("GRU", gru_hidden, input_size, steps, num_classes)
    sizes = range(1, 8 * gru_hidden + 1)
    best = min(sizes, key=lambda h: abs(_params(kind, h, input_size, steps, num_classes) - budget))
    return best, _params(kind, best, input_size, steps, num_classes)


def make_classifier(
    kind: str, input_size: int, hidden_size: int, num_classes: int, *, steps: int
) -> nn.Module:
    """A classifier of ``kind`` called as ``model(x, lengths=lengths)`` on (T, B, I) inputs.

    Args:
        kind: ``"GRU"`` or ``"RNN"`` (:class:`grubook.GRUClassifier`), ``"LSTM"``
            (:class:`LSTMClassifier`) or ``"MLP"`` (:class:`MLPClassifier`).
        input_size: I, features per step.
        hidden_size: H, or the MLP's hidden units.
        num_classes: C, the number of classes.
        steps: T, the padded length (used by the MLP only).

    Introduced in chapter 5, *From cell to classifier*.
    """
    if kind in ("GRU", "RNN"):
        return GRUClassifier(input_size, hidden_size, num_classes, rnn_type=kind.lower())
    if kind == "LSTM":
        return LSTMClassifier(input_size, hidden_size, num_classes)
    if kind == "MLP":
        return MLPClassifier(steps, input_size, hidden_size, num_classes)
    raise ValueError(f"make_classifier: kind must be one of {', '.join(KINDS)}, got {kind!r}")
