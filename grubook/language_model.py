r"""A character-level language model: a GRU that predicts each next character of a word.

Each word is read between two boundary markers; at every step the model gives the probability
of the next character, the closing marker included, so that it knows when a word ends:

.. math::
    P(c_1 \dots c_n) = \prod_{t=1}^{n+1} P(c_t \mid c_0 \dots c_{t-1}),
    \qquad P(\cdot \mid c_{<t}) = \operatorname{softmax}(W_o h_t + b_o)

where :math:`c_0` and :math:`c_{n+1}` are the boundary marker and :math:`h_t` the GRU's hidden
state after reading :math:`c_0 \dots c_{t-1}`. Sampling draws one character at a time from
:math:`\operatorname{softmax}(\text{logits} / \tau)` with a temperature τ (Graves 2013,
arXiv:1308.0850, §2; Karpathy's char-rnn). Introduced in chapter 6, *Case study: which language
is this word?*.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grubook import _checks as checks
from grubook.layer import GRU

__all__ = ["GRULanguageModel"]


class GRULanguageModel(nn.Module):
    r"""Embedding, :class:`grubook.GRU` and a linear layer: next-token logits at every step.

    Args:
        vocab_size: V, the number of token ids (0 is padding).
        embedding_dim: E, the embedding size.
        hidden_size: H, features of the hidden state.
        num_layers: L, stacked GRU layers. Default: 1.
        dropout: on the embeddings and before the output layer, in training. Default: 0.

    Inputs: x, h0
        - **x** (T, B) token ids.
        - **h0** (L, B, H) the initial hidden state, or ``None`` for zeros.

    Outputs: logits, h_n
        - **logits** (T, B, V): scores of the next token after each step.
        - **h_n** (L, B, H): the hidden state after the last step.

    Example::

        >>> lm = GRULanguageModel(30, 16, 64)
        >>> logits, h = lm(torch.randint(1, 30, (7, 4)))   # (7, 4, 30), (1, 4, 64)

    Introduced in chapter 6, *Case study: which language is this word?*.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        name = "GRULanguageModel"
        self.vocab_size = checks.check_size(name, "vocab_size", vocab_size, minimum=2)
        checks.check_size(name, "embedding_dim", embedding_dim)
        dropout = checks.check_probability(name, "dropout", dropout)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.rnn = GRU(
            embedding_dim, hidden_size, num_layers, dropout=dropout if num_layers > 1 else 0.0
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Return the next-token logits (T, B, V) and the final hidden state (L, B, H).

        Args:
            x: (T, B) token ids in [0, V).
            h0: the initial hidden state (L, B, H), or ``None`` for zeros.
        """
        if x.dim() != 2 or x.is_floating_point():
            raise checks.GRUbookValueError(
                f"GRULanguageModel: expected (T, B) integer token ids, got {tuple(x.shape)} "
                f"{x.dtype}"
            )
        output, h_n = self.rnn(self.dropout(self.embedding(x)), h0)  # (T, B, H)
        return self.head(self.dropout(output)), h_n  # (T, B, V)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        start: int,
        end: int,
        temperature: float = 1.0,
        max_length: int = 20,
        generator: torch.Generator | None = None,
    ) -> list[list[int]]:
        """Draw ``n`` sequences, one token at a time, each until ``end`` or ``max_length``.

        Args:
            n: how many sequences.
            start: the id fed first (the boundary marker).
            end: the id that ends a sequence (not included in it).
            temperature: τ > 0; below 1 sharpens the distribution, above 1 flattens it.
                Default: 1.
            max_length: the most tokens a sequence gets. Default: 20.
            generator: the random generator to draw with. Default: ``None`` (torch's global one).

        Returns:
            ``n`` lists of token ids, without ``start`` and ``end``.

        Introduced in chapter 6, *Case study: which language is this word?*.
        """
        if not temperature > 0:
            raise checks.GRUbookValueError(
                f"GRULanguageModel: temperature must be > 0, got {temperature}"
            )
        was_training = self.training
        self.eval()
        token = torch.full((1, n), start, dtype=torch.long)  # (1, B)
        h, words, done = None, [[] for _ in range(n)], [False] * n
        for _ in range(max_length):
            logits, h = self(token, h)  # (1, B, V)
            probs = torch.softmax(logits[0] / temperature, dim=-1)  # (B, V)
            probs[:, 0] = 0.0  # never padding
            token = torch.multinomial(probs, 1, generator=generator).T  # (1, B)
            for b, i in enumerate(token[0].tolist()):
                done[b] = done[b] or i == end
                if not done[b]:
                    words[b].append(i)
            if all(done):
                break
        self.train(was_training)
        return words
