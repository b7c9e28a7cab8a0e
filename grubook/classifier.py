"""Many-to-one sequence classification: a recurrent encoder, then a linear layer on its last state.

Introduced in chapter 2, *The GRU cell* (the first version's classifier, fixed); used in every
case study.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grubook import _checks as checks
from grubook.layer import GRU
from grubook.masks import length_mask
from grubook.mingru import MinGRU
from grubook.rnn import RNN

__all__ = ["GRUClassifier"]


class GRUClassifier(nn.Module):
    r"""Classify whole sequences from the hidden state at each sequence's last valid step.

    .. math::
        \text{logits} = W_{o} [\overrightarrow{h}_{T_b}; \overleftarrow{h}_1] + b_o

    where :math:`\overrightarrow{h}_{T_b}` is the top layer's forward state after step
    :math:`T_b` (sequence b's own length) and :math:`\overleftarrow{h}_1` the backward direction's
    state after reading back to the first step (only when ``bidirectional``).

    Args:
        input_size: I, features per step; with ``vocab_size`` and no ``embedding_dim``, the
            embedding size.
        hidden_size: H, features of the recurrent layer's hidden state.
        num_classes: C, the number of classes (one logit each).
        num_layers: L, stacked recurrent layers. Default: 1.
        bidirectional: read each sequence in both directions and classify from both final
            states. Default: ``False``.
        dropout: between recurrent layers and before the output layer, in training. Default: 0.
        batch_first: x is (B, T, ·) instead of (T, B, ·). Default: ``False``.
        vocab_size: if set, x holds integer token ids in [0, vocab_size), 0 being padding, and an
            ``nn.Embedding(vocab_size, embedding_dim, padding_idx=0)`` comes first.
        embedding_dim: embedding size; defaults to ``input_size``.
        rnn_type: ``'gru'``, ``'rnn'`` (the Elman baseline) or ``'mingru'`` (chapter 10's
            :class:`grubook.MinGRU`). Default: ``'gru'``.
        reset_after: the GRU's formulation (see :class:`grubook.GRUCell`). Default: ``True``.
        pooling: the features the output layer reads: ``"last"`` (the final states), ``"mean"``,
            ``"max"`` or ``"mean+max"`` (both, concatenated) over each sequence's valid steps.
            Default: ``"last"``.
        fast: the GRU's loop (see :class:`grubook.GRU`); the Elman RNN has only the plain one.
            Default: ``True``.

    Inputs: x, h0, lengths
        - **x** (T, B, I) floats, or (T, B) token ids with ``vocab_size`` (batch-first if set).
        - **h0** (L*D, B, H): the initial hidden state, or ``None`` for zeros.
        - **lengths** (B,): each sequence's number of valid steps, or ``None`` (all of length T).

    Outputs: logits
        - **logits** (B, C): one score per class, before softmax.

    Example::

        >>> model = GRUClassifier(12, 32, 9)
        >>> logits = model(torch.randn(20, 4, 12), lengths=[20, 7, 15, 9])   # (B, C) = (4, 9)

    Introduced in chapter 2, *The GRU cell*; ``pooling`` in chapter 7,
    *Case study: who is speaking?*
    """

    POOLINGS = ("last", "mean", "max", "mean+max")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_classes: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        batch_first: bool = False,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        rnn_type: str = "gru",
        reset_after: bool = True,
        pooling: str = "last",
        fast: bool | str = True,
    ) -> None:
        super().__init__()
        name = "GRUClassifier"
        checks.check_size(name, "num_classes", num_classes)
        num_layers = checks.check_size(name, "num_layers", num_layers)
        dropout = checks.check_probability(name, "dropout", dropout)
        checks.check_choice(name, "rnn_type", rnn_type, ("gru", "rnn", "mingru"))
        self.pooling = checks.check_choice(name, "pooling", pooling, self.POOLINGS)
        self.vocab_size = (
            None
            if vocab_size is None
            else checks.check_size(name, "vocab_size", vocab_size, minimum=2)
        )
        self.embedding = None
        if self.vocab_size is not None:
            dim = checks.check_size(name, "embedding_dim", embedding_dim or input_size)
            self.embedding = nn.Embedding(self.vocab_size, dim, padding_idx=0)
            input_size = dim
        elif embedding_dim is not None:
            raise checks.GRUbookValueError(f"{name}: embedding_dim needs vocab_size")
        options = {"reset_after": reset_after, "fast": fast} if rnn_type == "gru" else {}
        if rnn_type != "gru" and not reset_after:
            raise checks.GRUbookValueError(f"{name}: reset_after=False needs rnn_type='gru'")
        self.rnn = {"gru": GRU, "rnn": RNN, "mingru": MinGRU}[rnn_type](
            input_size,
            hidden_size,
            num_layers,
            batch_first=batch_first,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            **options,
        )
        self.dropout = nn.Dropout(dropout)
        pooled = 2 if pooling == "mean+max" else 1
        self.head = nn.Linear(pooled * self.rnn.num_directions * hidden_size, num_classes)

    def forward(self, x: Tensor, h0: Tensor | None = None, lengths=None) -> Tensor:
        """Return the logits (B, C) of a batch of sequences.

        Args:
            x: (T, B, I) floats, (B, T, I) with ``batch_first``, or (T, B) token ids with
                ``vocab_size``.
            h0: the recurrent layer's initial hidden state (L*D, B, H), or ``None`` for zeros.
            lengths: (B,) ints in [1, T], each sequence's number of valid steps, or ``None``.
        """
        checks.check_tensor("GRUClassifier", "x", x)
        if self.embedding is not None:
            x = self._embed(x)
        output, h_n = self.rnn(x, h0, lengths)  # (T, B, D*H) or (B, T, D*H); (L*D, B, H)
        if h_n.dim() == 2:
            raise checks.GRUbookValueError(
                "GRUClassifier: expected a batch of sequences, got one unbatched sequence"
            )
        if self.pooling == "last":
            L, D = self.rnn.num_layers, self.rnn.num_directions
            last = h_n.unflatten(0, (L, D))[-1]  # (D, B, H): the top layer's final states
            features = last.transpose(0, 1).flatten(1)  # (B, D*H)
        else:
            features = self._pool(
                output.transpose(0, 1) if self.rnn.batch_first else output, lengths
            )
        return self.head(self.dropout(features))  # (B, C)

    def _pool(self, output: Tensor, lengths) -> Tensor:
        """Mean, max or both over each sequence's valid steps of output (T, B, D*H): (B, ·)."""
        T, B, _ = output.shape
        lengths = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths)
        valid = length_mask(lengths.cpu(), T).unsqueeze(-1).to(output.device)  # (T, B, 1)
        pooled = []
        if self.pooling in ("mean", "mean+max"):  # the output is zero past each length
            pooled.append(output.sum(0) / lengths.to(output.device).unsqueeze(-1))  # (B, D*H)
        if self.pooling in ("max", "mean+max"):
            pooled.append(output.masked_fill(~valid, float("-inf")).amax(0))  # (B, D*H)
        return torch.cat(pooled, dim=-1)  # (B, D*H) or (B, 2*D*H)

    def _embed(self, x: Tensor) -> Tensor:
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise checks.GRUbookTypeError(
                f"GRUClassifier: x has dtype {x.dtype}, expected integer token ids "
                f"(vocab_size={self.vocab_size})"
            )
        if x.dim() != 2:
            raise checks.GRUbookValueError(
                f"GRUClassifier: expected token ids of shape (T, B), got {tuple(x.shape)}"
            )
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab_size):
            raise checks.GRUbookValueError(
                f"GRUClassifier: token ids must be in [0, vocab_size={self.vocab_size}), got ids "
                f"from {int(x.min())} to {int(x.max())}"
            )
        return self.embedding(x)  # (T, B, E)
