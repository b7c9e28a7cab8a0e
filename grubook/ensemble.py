r"""An ensemble of classifiers that averages their probabilities.

Models trained from different random starts make partly different mistakes; averaging their
predicted distributions (Dietterich 2000, "Ensemble methods in machine learning", §2;
Lakshminarayanan, Pritzel & Blundell 2017, arXiv:1612.01474) usually beats each of them:

.. math::
    p(c \mid x) = \frac{1}{K} \sum_{k=1}^{K} \operatorname{softmax}(f_k(x))_c

where :math:`f_k` is member k's logits and K the number of members. Introduced in chapter 6,
*Case study: which language is this word?*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

__all__ = ["Ensemble"]


class Ensemble(nn.Module):
    """K classifiers called alike; returns the log of their mean probabilities.

    Args:
        members: the K classifiers, each returning logits (B, C) from the same inputs.

    Inputs: the members' inputs, passed on unchanged (e.g. ``x, lengths=lengths``).

    Outputs: log_probs
        - **log_probs** (B, C): :math:`\\log p(c \\mid x)`, usable as logits (argmax, softmax,
          cross-entropy all give the ensemble's answer).

    Example::

        >>> ensemble = Ensemble([GRUClassifier(4, 8, 3), GRUClassifier(4, 8, 3)])
        >>> log_p = ensemble(torch.randn(5, 2, 4))   # (B, C) = (2, 3)

    Introduced in chapter 6, *Case study: which language is this word?*.
    """

    def __init__(self, members: Iterable[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        if len(self.members) == 0:
            raise ValueError("Ensemble: no members given")

    def forward(self, *args, **kwargs) -> Tensor:
        log_p = torch.stack([m(*args, **kwargs).log_softmax(-1) for m in self.members])  # (K, B, C)
        return torch.logsumexp(log_p, dim=0) - math.log(len(self.members))  # (B, C)
