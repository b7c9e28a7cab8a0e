"""The book's starting point: the first version of the GRU from chapter 2, *The GRU cell*.

It is kept verbatim, with its defects on purpose (the print in ``forward``, the extra ``tanh`` on
the second return value, the classifier that reads the last *batch* row instead of the last step):
the chapter fixes them one at a time, and the tests check that ``grubook.from_first_version``
turns its three ``nn.Linear`` layers into a ``grubook.GRUCell`` with the same next hidden state.
"""
# Verbatim on purpose: no linter may "fix" the book's first version.
# ruff: noqa

import torch
from torch import nn


class GRUCell(nn.Module):
    """A GRU cell.

    Shapes: input is (batch, input_size), hidden is (batch, hidden_size).
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.reset_gate = nn.Linear(input_size + hidden_size, hidden_size)
        self.update_gate = nn.Linear(input_size + hidden_size, hidden_size)
        self.candidate = nn.Linear(input_size + hidden_size, hidden_size)

    def forward(self, input, hidden):
        print("input", input.shape, "hidden", hidden.shape)
        combined = torch.cat([input, hidden], dim=1)
        r = torch.sigmoid(self.reset_gate(combined))
        z = torch.sigmoid(self.update_gate(combined))
        combined_reset = torch.cat([input, r * hidden], dim=1)
        h_tilde = torch.tanh(self.candidate(combined_reset))
        next_hidden = (1 - z) * hidden + z * h_tilde
        output = torch.tanh(next_hidden)
        return next_hidden, output


class GRUClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.hidden_size = hidden_size
        self.gru = GRUCell(input_size, hidden_size)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x, h0):
        # x: (batch, input_size), h0: (batch, hidden_size)
        out, hn = self.gru(x, h0)
        out = self.fc(out[-1, :])
        return out
